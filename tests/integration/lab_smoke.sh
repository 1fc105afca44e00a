#!/usr/bin/env bash
# The lab (deploy/lab/lab.sh) without the dataplane: brings it up, checks that both unbound
# upstreams answer DoT with certificates that verify against the lab CA (kdig from the
# router namespace, over IPv4 and IPv6), that each serves its own "which" answer, the
# large TXT and NXDOMAIN with the SOA, that a certificate for the wrong name is refused,
# that the client namespace reaches the router on every link, that the dataplane's veth
# end is up with no kernel address and its offloads off, that hugepages are reserved, that
# upstream loss can be switched on and off, and that down removes everything and gives the
# hugepages back. Needs root (exit 77, "skipped", otherwise); also skipped when a lab is
# already up, which it would otherwise tear down. Tears the lab down even when a check
# fails. Bounded: about 10 s.
#
#   lab_smoke.sh PATH/TO/deploy/lab/lab.sh
set -uo pipefail

lab=$1
if [ "$(id -u)" != 0 ]; then
  echo "lab_smoke: needs root, skipped"
  exit 77
fi
for tool in kdig ping ethtool; do
  command -v "$tool" >/dev/null || { echo "lab_smoke: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
for f in /run/netns/dg-client /run/netns/dg-router /run/netns/dg-upstream /run/netns/dg-dp /run/dotgate-lab; do
  if [ -e "$f" ]; then
    echo "lab_smoke: a lab is already up ($f exists); not touching it, skipped ('$lab down' removes it)"
    exit 77
  fi
done

work=$(mktemp -d)
hugepages_before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
torn_down=0
cleanup() {
  [ "$torn_down" = 1 ] || "$lab" down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

ca=/run/dotgate-lab/ca/ca.pem
zone=lab.dotgate.test
dot() {  # namespace, server address, auth name, kdig arguments...: an answer over verified DoT
  local ns=$1 server=$2 name=$3; shift 3
  ip netns exec "$ns" kdig +tls-ca="$ca" +tls-hostname="$name" +time=3 +retry=1 @"$server" "$@"
}
dot_is() {  # server, auth name, qname, qtype, expected +short output
  local got
  got=$(dot dg-router "$1" "$2" +short "$3" "$4" 2>&1)
  echo "kdig +tls @$1 ($2) $3 $4 -> '$got'"
  [ "$got" = "$5" ]
}

check "lab.sh up" "$lab" up
check "lab.sh up again (idempotent)" "$lab" up
check "lab.sh status: complete" "$lab" status

check "upstream1 over DoT (10.53.3.10), verified, its own answer" \
  dot_is 10.53.3.10 "upstream1.$zone" "which.$zone" TXT '"upstream1"'
check "upstream2 over DoT (10.53.3.11), verified, its own answer" \
  dot_is 10.53.3.11 "upstream2.$zone" "which.$zone" TXT '"upstream2"'
check "upstream2 over DoT on IPv6 (fd00:53:3::11)" \
  dot_is fd00:53:3::11 "upstream2.$zone" "which.$zone" A 10.53.3.11
check "upstream1 answers the zone's names" dot_is 10.53.3.10 "upstream1.$zone" "h300.$zone" A 198.18.1.44
tls13() { dot dg-router 10.53.3.10 "upstream1.$zone" "www.$zone" A | grep -q 'TLS session (TLS1.3)'; }
check "the upstream session is TLS 1.3" tls13
big() {  # the large TXT: over 1232 bytes, for the TC=1 tests
  local size
  size=$(dot dg-router 10.53.3.11 "upstream2.$zone" "big.$zone" TXT | grep -o 'Received [0-9]* B' | grep -o '[0-9]*')
  echo "big.$zone TXT: $size bytes"
  [ "${size:-0}" -gt 1232 ]
}
check "big.$zone TXT is larger than 1232 bytes" big
nxdomain() { dot dg-router 10.53.3.10 "upstream1.$zone" "nx.$zone" A | tee /dev/stderr | grep -q 'status: NXDOMAIN'; }
check "a name outside the zone's data: NXDOMAIN" nxdomain
wrong_name() { ! dot dg-router 10.53.3.10 "upstream2.$zone" "www.$zone" A; }
check "kdig refuses upstream1's certificate under upstream2's name" wrong_name

check "client reaches its gateway 10.53.2.1" ip netns exec dg-client ping -c 1 -W 2 10.53.2.1
check "client reaches the dataplane link's gateway 10.53.1.1" ip netns exec dg-client ping -c 1 -W 2 10.53.1.1
check "client reaches fd00:53:1::1 over IPv6" ip netns exec dg-client ping -6 -c 1 -W 2 fd00:53:1::1
check "client reaches an upstream through the router" ip netns exec dg-client ping -c 1 -W 2 10.53.3.10
check "the outside-the-ACL client address 10.53.4.2 is routed" \
  ip netns exec dg-client ping -c 1 -W 2 -I 10.53.4.2 10.53.1.1

dp_end() {
  local link features
  link=$(ip -n dg-dp -o link show dg-dp0)
  echo "$link"
  grep -q 'state UP' <<<"$link" && grep -q PROMISC <<<"$link" || return 1
  # No kernel address at all (not even IPv6 link-local) on the dataplane's end.
  [ -z "$(ip -n dg-dp -o addr show dev dg-dp0)" ] || { ip -n dg-dp addr show dev dg-dp0; return 1; }
  features=$(ip netns exec dg-dp ethtool -k dg-dp0)
  for f in rx-checksumming tx-checksumming tcp-segmentation-offload generic-segmentation-offload \
           generic-receive-offload; do
    grep -q "^$f: off" <<<"$features" || { echo "$f is not off"; return 1; }
  done
}
check "dg-dp0: up, promiscuous, no kernel address, offloads off" dp_end
hugepages() {
  local n
  n=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
  echo "2 MiB hugepages: $n"
  [ "$n" -ge 512 ] && awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}
check "hugepages reserved and hugetlbfs mounted" hugepages

check "lab.sh loss 100" "$lab" loss 100
lost() { ! dot dg-router 10.53.3.10 "upstream1.$zone" +time=1 +retry=0 "www.$zone" A; }
check "with 100 % loss the upstream does not answer" lost
check "lab.sh loss 0" "$lab" loss 0
check "without loss it answers again" dot_is 10.53.3.10 "upstream1.$zone" "www.$zone" A 198.18.0.80

check "lab.sh upstream 2 stop" "$lab" upstream 2 stop
stopped() { ! dot dg-router 10.53.3.11 "upstream2.$zone" +time=1 +retry=0 "www.$zone" A; }
check "a stopped upstream does not answer" stopped
check "lab.sh upstream 2 start" "$lab" upstream 2 start
check "a restarted upstream answers" dot_is 10.53.3.11 "upstream2.$zone" "which.$zone" TXT '"upstream2"'

check "lab.sh down" "$lab" down
torn_down=1
gone() {
  local ns
  for ns in dg-client dg-router dg-upstream dg-dp; do
    [ ! -e "/run/netns/$ns" ] || { echo "namespace $ns left"; return 1; }
  done
  [ ! -e /run/dotgate-lab ] || { echo "/run/dotgate-lab left"; return 1; }
  ! pgrep -f 'unbound -d -c /run/dotgate-lab/' || { echo "unbound left"; return 1; }
  [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)" = "$hugepages_before" ] ||
    { echo "nr_hugepages not restored to $hugepages_before"; return 1; }
}
check "down left no namespace, file, process or hugepage behind" gone
check "lab.sh down again (nothing to do)" "$lab" down

echo "lab_smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
