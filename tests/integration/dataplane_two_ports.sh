#!/usr/bin/env bash
# dotgate-dataplane on two ports, as a gateway sits between its subscribers and its uplink:
# port "clients" (203.0.113.2/24) on a veth into a client namespace, port "uplink"
# (192.0.2.2/24) on a veth into an upstream namespace with an unbound DoT upstream. Two
# workers, each with a queue pair on both ports (af_packet qpairs=2). Checks: UDP, TCP and
# DoT clients answered; the upstream connection leaves by the uplink and the answers by
# the client port, as captures on both links show (TLS to 853 only on the uplink, not one
# packet to port 53 there, and nothing for the upstream on the client side); telemetry
# shows both workers at work. Needs root (exit 77 otherwise); cleans up on any exit.
#
#   dataplane_two_ports.sh PATH/TO/dotgate-dataplane
set -uo pipefail

dataplane=$1
if [ "$(id -u)" != 0 ]; then
  echo "dataplane_two_ports: needs root, skipped"
  exit 77
fi
for tool in unbound openssl dig kdig tcpdump ethtool dpdk-telemetry.py; do
  command -v "$tool" >/dev/null || { echo "dataplane_two_ports: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
cl="dg2-c-$$"
up="dg2-u-$$"
dp="dg2-d-$$"
prefix="dg2p$$"
work=$(mktemp -d)
chmod 755 "$work"
dp_pid= ub_pid= cap_c= cap_u=
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  [ -n "$ub_pid" ] && kill "$ub_pid" 2>/dev/null && wait "$ub_pid" 2>/dev/null
  for p in $cap_c $cap_u; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for ns in "$cl" "$up" "$dp"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"
make_ca dg2-ca || exit 1
issue up1.test 192.0.2.10 && issue dotgate.test 203.0.113.2 || exit 1
chmod 644 "$work"/*
{
  cat <<EOF
server:
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: ""
  use-syslog: no
  logfile: "$work/unbound.log"
  interface: 192.0.2.10@853
  tls-port: 853
  tls-service-key: "$work/up1.test.key"
  tls-service-pem: "$work/up1.test.pem"
  access-control: 192.0.2.0/24 allow
  do-ip6: no
  module-config: "iterator"
  local-zone: "example.test." static
EOF
  for i in $(seq 1 100); do echo "  local-data: \"n$i.example.test. 300 IN A 198.51.100.$i\""; done
} >"$work/unbound.conf"
cat >"$work/dp.toml" <<EOF
[dataplane]
lcores = "1-2"
cpus = "0-$(($(nproc) - 1))"
main_lcore = 0
file_prefix = "$prefix"
eal_args = ["--no-huge", "-m", "256"]

[[dataplane.ports]]
name = "clients"
device = "net_af_packet0,iface=dgc1,framesz=2048,blocksz=4096,framecnt=1024,qpairs=2"
ipv4 = "203.0.113.2/24"
mbuf_pool_size = 8191

[[dataplane.ports]]
name = "uplink"
device = "net_af_packet1,iface=dgu1,framesz=2048,blocksz=4096,framecnt=1024,qpairs=2"
ipv4 = "192.0.2.2/24"
mbuf_pool_size = 8191

[[listener]]
address = "203.0.113.2"
allow = ["203.0.113.0/24"]

[[listener]]
address = "203.0.113.2"
transport = "dot"
allow = ["203.0.113.0/24"]
tls_cert = "$work/dotgate.test.pem"
tls_key = "$work/dotgate.test.key"

[tls]
ca_bundle = "$work/ca.pem"

[pools.default]
upstreams = ["192.0.2.10#up1.test"]
EOF

ip netns add "$cl" && ip netns add "$up" && ip netns add "$dp" || exit 1
ip link add dgc1 netns "$dp" type veth peer name dgc0 netns "$cl" || exit 1
ip link add dgu1 netns "$dp" type veth peer name dgu0 netns "$up" || exit 1
for ns_if in "$dp dgc1" "$dp dgu1" "$cl dgc0" "$up dgu0" "$cl lo" "$up lo"; do
  set -- $ns_if
  ip -n "$1" link set "$2" up
  ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1
done
ip -n "$cl" addr add 203.0.113.9/24 dev dgc0
ip -n "$up" addr add 192.0.2.10/24 dev dgu0

ip netns exec "$up" unbound -d -c "$work/unbound.conf" >"$work/unbound.out" 2>&1 &
ub_pid=$!
for _ in $(seq 50); do ip netns exec "$up" ss -ltn | grep -q '192.0.2.10:853' && break; sleep 0.1; done
ip netns exec "$cl" tcpdump -i dgc0 -n -U -w "$work/clients.pcap" >/dev/null 2>&1 &
cap_c=$!
ip netns exec "$up" tcpdump -i dgu0 -n -U -w "$work/uplink.pcap" >/dev/null 2>&1 &
cap_u=$!
ip netns exec "$dp" timeout 120 "$dataplane" --config "$work/dp.toml" >"$work/dp.out" 2>&1 &
dp_pid=$!
for _ in $(seq 300); do grep -q 'dotgate-dataplane: ready' "$work/dp.out" && break; sleep 0.1; done
grep -q 'dotgate-dataplane: ready' "$work/dp.out" || { echo "dataplane did not start:"; cat "$work/dp.out"; exit 1; }
grep '^dotgate-dataplane' "$work/dp.out"

at_client() { ip netns exec "$cl" "$@"; }
telemetry() { echo "$1" | ip netns exec "$dp" dpdk-telemetry.py -f "$prefix" 2>/dev/null | tail -1; }
answers() {  # transport flag, first, last: every name answered with its address
  local flag=$1 i got ok=0
  for i in $(seq "$2" "$3"); do
    got=$(at_client dig +short +time=3 +tries=2 $flag @203.0.113.2 "n$i.example.test" A)
    [ "$got" = "198.51.100.$i" ] && ok=$((ok + 1))
  done
  echo "$ok of $(($3 - $2 + 1)) answered ($flag)"
  [ "$ok" -eq $(($3 - $2 + 1)) ]
}
check "UDP clients on port 'clients', forwarded over DoT out of port 'uplink'" answers +notcp 1 20
check "TCP clients likewise" answers +tcp 21 40
dot() {
  at_client kdig +tls-ca="$work/ca.pem" +tls-hostname=dotgate.test +short @203.0.113.2 n41.example.test A |
    tee /dev/stderr | grep -qx 198.51.100.41
}
check "DoT client, our certificate verified" dot
check "cache hits" answers +notcp 1 20
workers() {
  sleep 0.5
  telemetry /dotgate/workers | /usr/bin/python3 -c "
import json, sys
w = json.load(sys.stdin)['/dotgate/workers']
for k, v in sorted(w.items()):
    print(k, {f: v[f] for f in ('queries', 'forwarded', 'tcp_connections_opened', 'handoff_passed', 'handoff_taken_in')})
assert len(w) == 2 and all(v['tcp_connections_opened'] > 0 for v in w.values())"
}
check "telemetry: two workers, both with TCP connections" workers
kill "$cap_c" "$cap_u"; wait "$cap_c" "$cap_u" 2>/dev/null; cap_c= cap_u=
links() {
  local up_tls up_plain up_clients cl_upstream cl_answers
  up_tls=$(tcpdump -nr "$work/uplink.pcap" 'src host 192.0.2.2 and tcp dst port 853' 2>/dev/null | wc -l)
  up_plain=$(tcpdump -nr "$work/uplink.pcap" 'port 53' 2>/dev/null | wc -l)
  up_clients=$(tcpdump -nr "$work/uplink.pcap" 'host 203.0.113.9' 2>/dev/null | wc -l)
  cl_upstream=$(tcpdump -nr "$work/clients.pcap" 'host 192.0.2.10 or port 853 and not host 203.0.113.9' 2>/dev/null | wc -l)
  cl_answers=$(tcpdump -nr "$work/clients.pcap" 'src host 203.0.113.2 and src port 53' 2>/dev/null | wc -l)
  echo "uplink: $up_tls to 853, $up_plain on port 53, $up_clients for the client; clients link: $cl_answers answers, $cl_upstream for the upstream"
  [ "$up_tls" -gt 0 ] && [ "$up_plain" -eq 0 ] && [ "$up_clients" -eq 0 ] && [ "$cl_upstream" -eq 0 ] &&
    [ "$cl_answers" -ge 60 ]
}
check "captures: TLS to the upstream only on the uplink, answers only on the client port" links
kill "$dp_pid"; wait "$dp_pid"; rc=$?; dp_pid=
check "SIGTERM: the dataplane stops cleanly (exit 0)" test "$rc" -eq 0
grep '^dotgate-dataplane' "$work/dp.out"

echo "dataplane_two_ports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
