#!/usr/bin/env bash
# Interop with the Linux kernel over a TAP device in a network namespace this test makes:
# the kernel resolves our IPv4 address by ARP and our IPv6 address by neighbour discovery,
# pings both, and dig asks DNS questions over UDP on both, answered from a real cache;
# then the kernel's TCP talks to ours: DNS over TCP (single and pipelined queries) and
# byte-exact echo of a bulk transfer, clean and through 5 % loss each way (nftables),
# and an active open from our engine to a kernel echo server.
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

start_responder() {  # extra responder arguments...
  ip netns exec "$ns" timeout 120 "$responder" tap0 100 "$@" >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q ready "$work/out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$work/out" || { echo "responder did not start:"; cat "$work/out"; exit 1; }
  in_ns ip link set tap0 up
  in_ns ip addr add 192.0.2.1/24 dev tap0
  in_ns ip -6 addr add 2001:db8::1/64 dev tap0 nodad
}
stop_responder() {  # leaves its counters line in $counters
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
  counters=$(grep '^counters:' "$work/out")
  [ -n "$counters" ] || { echo "no counters from the responder:"; cat "$work/out"; }
  echo "$counters"
}
start_responder

. "$(dirname "$0")/lib.sh"
dig_is() {  # server, name (may carry dig options), type, expected output of +short
  local got
  # shellcheck disable=SC2086
  # Under loss dig may report a timed-out attempt (";;" lines) before the answer that counts.
  got=$(in_ns dig +short +time=2 +tries=2 @"$1" $2 "$3" | grep -v '^;;')
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

pipelined() {  # three queries written back to back on one TCP connection, three answers read
  in_ns /usr/bin/python3 - <<'PY'
import socket, struct, dns.message
s = socket.create_connection(("192.0.2.2", 53), timeout=5)
names = ["www.example.com", "other.example", "www.example.com"]
wire = b"".join(struct.pack("!H", len(m)) + m for m in
                (dns.message.make_query(n, "A").to_wire() for n in names))
s.sendall(wire)
buf = b""
answers = []
while len(answers) < 3:
    chunk = s.recv(4096)
    assert chunk, "connection closed early"
    buf += chunk
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        answers.append(dns.message.from_wire(buf[2:2 + n]))
        buf = buf[2 + n:]
rcodes = [dns.rcode.to_text(a.rcode()) for a in answers]
print(rcodes)
assert rcodes == ["NOERROR", "REFUSED", "NOERROR"], rcodes
assert answers[0].answer[0][0].address == "192.0.2.53"
s.close()
PY
}
echo_exact() {  # bytes [address]: sends that many random bytes to the echo port, compares what returns
  head -c "$1" /dev/urandom >"$work/sent"
  in_ns timeout 60 socat -t 20 - "TCP:${2:-192.0.2.2}:7" <"$work/sent" >"$work/echoed"
  cmp "$work/sent" "$work/echoed" && echo "$1 bytes echoed exactly"
}
check "dig over TCP answered from the cache" dig_is 192.0.2.2 "+tcp www.example.com" A 192.0.2.53
check "pipelined DNS over TCP, answers in order" pipelined
check "bulk echo over TCP (1 MB), byte-exact" echo_exact 1000000
check "dig over TCP/IPv6 answered from the cache" dig_is 2001:db8::2 "+tcp www.example.com" A 192.0.2.53
check "bulk echo over TCP/IPv6 (1 MB), byte-exact" echo_exact 1000000 "[2001:db8::2]"
active_open() {  # our engine connects to a kernel echo server and checks what comes back
  ip netns exec "$ns" timeout 30 socat TCP-LISTEN:9000,reuseaddr EXEC:cat &
  local spid=$!
  sleep 0.3
  in_ns dig +short +time=2 +tries=1 @192.0.2.2 connect.dotgate.test A >/dev/null
  wait "$spid"
}
check "active open: our engine connects to the kernel, 200 kB echoed" active_open
# 5 % loss in each direction on the kernel's side of the link.
in_ns nft -f - <<'NFT'
table inet impair {
  chain out { type filter hook output priority 0; ip daddr 192.0.2.2 numgen random mod 100 < 5 drop; }
  chain in { type filter hook input priority 0; ip saddr 192.0.2.2 numgen random mod 100 < 5 drop; }
}
NFT
check "bulk echo over TCP through 5 % loss each way, byte-exact" echo_exact 300000
check "DNS over TCP through loss" dig_is 192.0.2.2 "+tcp +time=4 +tries=5 www.example.com" A 192.0.2.53

stop_responder
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" ${counters#counters: }"; }
check "ARP requests answered" test "$(counter arp_replies)" -ge 1
check "neighbour solicitations answered" test "$(counter nd_adverts)" -ge 1
check "echo requests answered (v4)" test "$(counter echo4)" -ge 3
check "echo requests answered (v6)" test "$(counter echo6)" -ge 3
check "answers from the cache" test "$(counter dns_answers)" -ge 2
check "TCP connections accepted by our engine" test "$(counter tcp_accepted)" -ge 4
check "TCP answers sent by our engine" test "$(counter tcp_dns_answers)" -ge 4
check "IPv6 connections opened through SYN cookies" test "$(counter syn_cookies_accepted)" -ge 2
check "the active connection got every byte back" test "$(counter active_echo_ok)" -eq 1
check "our engine retransmitted through the loss" test "$(counter tcp_retransmits)" -ge 1

# Again over a long, reordering path: our frames are delayed 100 ms (jittered) by the
# project's impairment stage and 10 % of them are held back to arrive out of order, with
# the 5 % loss each way still in place (the nftables table stays in the namespace).
start_responder 100 10
check "bulk echo over TCP, 100 ms delay, reordering, 5 % loss: byte-exact" echo_exact 200000
check "DNS over TCP over the same path" dig_is 192.0.2.2 "+tcp +time=3 +tries=5 www.example.com" A 192.0.2.53
stop_responder
check "our engine retransmitted on the long path" test "$(counter tcp_retransmits)" -ge 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
