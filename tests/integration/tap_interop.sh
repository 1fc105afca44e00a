#!/usr/bin/env bash
# Interop with the Linux kernel over a TAP device in a network namespace this test makes:
# the kernel resolves our IPv4 address by ARP and our IPv6 address by neighbour discovery,
# pings both, and dig asks DNS questions over UDP on both, answered from a real cache.
# Needs root (exit 77, "skipped", otherwise). Cleans up even when a check fails.
#
#   tap_interop.sh PATH/TO/tap_responder
set -uo pipefail

responder=$1
if [ "$(id -u)" != 0 ]; then
  echo "tap_interop: needs root, skipped"
  exit 77
fi
ns="dg-tap-$$"
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" || exit 1
in_ns ip link set lo up
ip netns exec "$ns" timeout 60 "$responder" tap0 50 >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q ready "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/out" || { echo "responder did not start:"; cat "$work/out"; exit 1; }
in_ns ip link set tap0 up
in_ns ip addr add 192.0.2.1/24 dev tap0
in_ns ip -6 addr add 2001:db8::1/64 dev tap0 nodad

passed=0
failed=0
check() {  # description, command...
  local what=$1; shift
  if "$@" >"$work/last" 2>&1; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    sed 's/^/    /' "$work/last"
    failed=$((failed + 1))
  fi
}
dig_is() {  # server, name, type, expected output of +short
  local got
  got=$(in_ns dig +short +time=2 +tries=2 @"$1" "$2" "$3")
  echo "dig @$1 $2 $3 -> '$got'"
  [ "$got" = "$4" ]
}
dig_status() {  # server, expected status, dig arguments...
  local server=$1 status=$2
  shift 2
  in_ns dig +time=2 +tries=2 @"$server" "$@" | tee /dev/stderr | grep -q "status: $status"
}

check "ping over IPv4 (ARP resolution first)" in_ns ping -c 3 -i 0.2 -W 2 192.0.2.2
check "ping over IPv6 (neighbour discovery first)" in_ns ping -6 -c 3 -i 0.2 -W 2 2001:db8::2
check "dig over UDP/IPv4 answered from the cache" dig_is 192.0.2.2 www.example.com A 192.0.2.53
check "dig over UDP/IPv6 answered from the cache" dig_is 2001:db8::2 WWW.Example.COM A 192.0.2.53
check "a name not cached is REFUSED" dig_status 192.0.2.2 REFUSED other.example A
check "EDNS version 1 gets BADVERS" dig_status 192.0.2.2 BADVERS +edns=1 +noednsneg www.example.com A

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
counters=$(grep '^counters:' "$work/out")
[ -n "$counters" ] || { echo "no counters from the responder:"; cat "$work/out"; }
echo "$counters"
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" ${counters#counters: }"; }
check "ARP requests answered" test "$(counter arp_replies)" -ge 1
check "neighbour solicitations answered" test "$(counter nd_adverts)" -ge 1
check "echo requests answered (v4)" test "$(counter echo4)" -ge 3
check "echo requests answered (v6)" test "$(counter echo6)" -ge 3
check "answers from the cache" test "$(counter dns_answers)" -ge 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
