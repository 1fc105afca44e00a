#!/usr/bin/env bash
# dotgate-dataplane on DPDK's net_tap, which offers IPv4/UDP/TCP checksum offload both ways
# (it does in software what a NIC does in hardware): the dataplane writes only the
# pseudo-header sums and takes the device's verdict on receive. The kernel on the other
# side of the TAP device checks every checksum: clients (dig, kdig) and an unbound DoT
# upstream there must be answered, and the kernel's checksum error counters stay at 0.
# With WORKERS 2, two workers share the TAP device's two queues: the kernel spreads flows
# over them by its own hash (the device takes no RSS key from us), and frames reaching the
# wrong worker are handed to their owner. Needs root (exit 77 otherwise); cleans up on any
# exit.
#
#   dataplane_tap.sh PATH/TO/dotgate-dataplane [WORKERS]
set -uo pipefail

dataplane=$1
workers=${2:-1}
if [ "$workers" = 1 ]; then
  placement='lcores = "1"'
else
  placement="lcores = \"1-$workers\"
cpus = \"0-$(($(nproc) - 1))\""
fi
if [ "$(id -u)" != 0 ]; then
  echo "dataplane_tap: needs root, skipped"
  exit 77
fi
for tool in unbound openssl dig kdig nstat dpdk-telemetry.py; do
  command -v "$tool" >/dev/null || { echo "dataplane_tap: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
dp="dgt-d-$$"
prefix="dgtp$$"
work=$(mktemp -d)
chmod 755 "$work"
dp_pid= ub_pid=
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  [ -n "$ub_pid" ] && kill "$ub_pid" 2>/dev/null && wait "$ub_pid" 2>/dev/null
  ip netns del "$dp" 2>/dev/null
  rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"
make_ca dgt-ca || exit 1
issue up1.test 192.0.2.10 && issue dotgate.test 192.0.2.2 || exit 1
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
  for i in $(seq 1 40); do echo "  local-data: \"n$i.example.test. 300 IN A 198.51.100.$i\""; done
} >"$work/unbound.conf"
cat >"$work/dp.toml" <<EOF
[dataplane]
$placement
main_lcore = 0
file_prefix = "$prefix"
eal_args = ["--no-huge", "-m", "256"]

[[dataplane.ports]]
name = "tap0"
device = "net_tap0,iface=dgtap0"
ipv4 = "192.0.2.2/24"
mbuf_pool_size = 4095
rx_descriptors = 512
tx_descriptors = 512

[[listener]]
address = "192.0.2.2"
allow = ["192.0.2.0/24"]

[[listener]]
address = "192.0.2.2"
transport = "dot"
allow = ["192.0.2.0/24"]
tls_cert = "$work/dotgate.test.pem"
tls_key = "$work/dotgate.test.key"

[tls]
ca_bundle = "$work/ca.pem"

[pools.default]
upstreams = ["192.0.2.10#up1.test"]
EOF

ip netns add "$dp" || exit 1
ip -n "$dp" link set lo up
ip netns exec "$dp" timeout 60 "$dataplane" --config "$work/dp.toml" >"$work/dp.out" 2>&1 &
dp_pid=$!
for _ in $(seq 300); do grep -q 'dotgate-dataplane: ready' "$work/dp.out" && break; sleep 0.1; done
grep -q 'dotgate-dataplane: ready' "$work/dp.out" || { echo "dataplane did not start:"; cat "$work/dp.out"; exit 1; }
grep '^dotgate-dataplane' "$work/dp.out"
# The kernel's side of the TAP device: the clients' and the upstream's addresses.
ip -n "$dp" addr add 192.0.2.1/24 dev dgtap0 && ip -n "$dp" addr add 192.0.2.10/24 dev dgtap0 &&
  ip -n "$dp" link set dgtap0 up || exit 1
ip netns exec "$dp" unbound -d -c "$work/unbound.conf" >"$work/unbound.out" 2>&1 &
ub_pid=$!
for _ in $(seq 50); do ip netns exec "$dp" ss -ltn | grep -q '192.0.2.10:853' && break; sleep 0.1; done
ip netns exec "$dp" nstat -n >/dev/null 2>&1  # the counters from here on

check "the port offloads checksums both ways" grep -q 'checksums offloaded both ways' "$work/dp.out"
answers() {  # dig flag, first, last
  local flag=$1 i got ok=0
  for i in $(seq "$2" "$3"); do
    got=$(ip netns exec "$dp" dig +short +time=3 +tries=2 $flag -b 192.0.2.1 @192.0.2.2 "n$i.example.test" A)
    [ "$got" = "198.51.100.$i" ] && ok=$((ok + 1))
  done
  echo "$ok of $(($3 - $2 + 1)) answered ($flag)"
  [ "$ok" -eq $(($3 - $2 + 1)) ]
}
check "UDP clients answered, forwarded over DoT (TCP both ways through the offload)" answers +notcp 1 15
check "TCP clients answered" answers +tcp 16 30
dot() {
  ip netns exec "$dp" kdig +tls-ca="$work/ca.pem" +tls-hostname=dotgate.test +short -b 192.0.2.1 @192.0.2.2 \
    n31.example.test A | tee /dev/stderr | grep -qx 198.51.100.31
}
check "DoT client answered" dot
if [ "$workers" != 1 ]; then
  spread() {
    sleep 0.5  # the workers publish their counters every 100 ms
    echo /dotgate/workers | ip netns exec "$dp" dpdk-telemetry.py -f "$prefix" 2>/dev/null | tail -1 |
      /usr/bin/python3 -c "
import json, sys
w = json.load(sys.stdin)['/dotgate/workers']
for k, v in sorted(w.items()):
    print(k, {f: v[f] for f in ('queries', 'tcp_connections_opened', 'handoff_passed', 'handoff_taken_in')})
assert len(w) == $workers and all(v['tcp_connections_opened'] > 0 for v in w.values()), 'a worker without connections'
assert sum(v['handoff_passed'] for v in w.values()) > 0, 'nothing handed off'"
  }
  check "$workers workers: connections on each, frames handed to their owner" spread
fi
no_errors() {
  ip netns exec "$dp" nstat -az >"$work/nstat"
  grep -E 'TcpInCsumErrors|UdpInCsumErrors|IpInHdrErrors|TcpInSegs|UdpInDatagrams' "$work/nstat"
  grep -Eq '^TcpInSegs +[1-9]' "$work/nstat" &&
    ! grep -Eq '^(TcpInCsumErrors|UdpInCsumErrors|IpInHdrErrors) +[1-9]' "$work/nstat"
}
check "the kernel took our segments and counted no checksum error" no_errors
kill "$dp_pid"; wait "$dp_pid"; rc=$?; dp_pid=
check "SIGTERM: the dataplane stops cleanly (exit 0)" test "$rc" -eq 0

echo "dataplane_tap: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
