#!/usr/bin/env bash
# unbound in the dataplane's place: the kernel's stack on dg-dp0 with the dataplane's
# addresses (10.53.1.2, fd00:53:1::2), unbound answering the lab's clients on UDP/TCP 53
# and DoT 853 (the dataplane's certificate) and forwarding every miss over DoT to the two
# lab upstreams, authenticated by name against the lab CA: the same job as
# dotgate-dataplane with config/lab.toml. For rehearsing the demo without DPDK
# (DOTGATE_DATAPLANE=deploy/lab/peer-unbound.sh deploy/lab/demo.sh) and as the unbound
# peer in lab benchmarks. Runs in the foreground inside namespace dg-dp, prints
# "peer-unbound: ready" once it serves, and on SIGTERM/SIGINT stops unbound and gives
# dg-dp0 back to af_packet (no kernel address, IPv6 off).
#
#   ip netns exec dg-dp deploy/lab/peer-unbound.sh [--config FILE (ignored)]
set -euo pipefail

readonly RUN=/run/dotgate-lab ZONE=lab.dotgate.test
ip link show dg-dp0 >/dev/null 2>&1 || { echo "peer-unbound: no dg-dp0 here; run it in namespace dg-dp" >&2; exit 1; }
[ -s "$RUN/tls/dotgate.lab.pem" ] || { echo "peer-unbound: the lab is not up (deploy/lab/lab.sh up)" >&2; exit 1; }

d=$RUN/peer-unbound
mkdir -p "$d"
cat >"$d/unbound.conf" <<EOF
server:
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: ""
  use-syslog: no
  logfile: "$d/unbound.log"
  verbosity: 1
  num-threads: 1
  interface-automatic: no
  interface: 10.53.1.2@53
  interface: fd00:53:1::2@53
  interface: 10.53.1.2@853
  tls-port: 853
  tls-service-key: "$RUN/tls/dotgate.lab.key"
  tls-service-pem: "$RUN/tls/dotgate.lab.pem"
  tls-cert-bundle: "$RUN/ca/ca.pem"
  do-ip6: yes
  incoming-num-tcp: 256
  access-control: 0.0.0.0/0 refuse
  access-control: ::/0 refuse
  access-control: 10.53.2.0/24 allow
  access-control: fd00:53:2::/64 allow
  module-config: "iterator"
  qname-minimisation: no
  msg-cache-size: 64m
  rrset-cache-size: 64m
  # unbound answers the special-use name "test." itself unless told not to (RFC 6761).
  local-zone: "test." nodefault
  local-zone: "local.$ZONE." static
  local-data: "host.local.$ZONE. 60 IN A 10.53.1.2"
  local-zone: "refused.$ZONE." refuse
forward-zone:
  name: "."
  forward-tls-upstream: yes
  forward-addr: 10.53.3.10@853#upstream1.$ZONE
  forward-addr: fd00:53:3::11@853#upstream2.$ZONE
EOF

# shellcheck disable=SC2317  # reached through the traps
release() {
  ip addr flush dev dg-dp0 2>/dev/null || true
  ip route flush dev dg-dp0 2>/dev/null || true
  sysctl -qw net.ipv6.conf.dg-dp0.disable_ipv6=1 || true
}
pid=
# shellcheck disable=SC2317
stop() {  # exit status
  trap - EXIT INT TERM
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  release
  exit "$1"
}
trap 'stop $?' EXIT
trap 'stop 0' INT TERM

sysctl -qw net.ipv6.conf.dg-dp0.disable_ipv6=0
ip addr replace 10.53.1.2/24 dev dg-dp0
ip -6 addr replace fd00:53:1::2/64 dev dg-dp0 nodad
ip route replace default via 10.53.1.1
ip -6 route replace default via fd00:53:1::1

unbound -d -c "$d/unbound.conf" &
pid=$!
for _ in $(seq 100); do
  if ss -ltnH 'sport = :853' | grep -q 10.53.1.2; then
    echo "peer-unbound: ready"
    wait "$pid" || true
    pid=
    echo "peer-unbound: unbound exited" >&2
    exit 1
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "peer-unbound: unbound did not start" >&2
exit 1
