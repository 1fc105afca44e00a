#!/usr/bin/env bash
# dnsdist in the dataplane's place, as peer-unbound.sh does it for unbound: the kernel's
# stack on dg-dp0 with the dataplane's address (10.53.1.2), dnsdist answering the lab's
# clients on UDP/TCP 53 from its packet cache and forwarding misses over DoT to the two lab
# upstreams, their certificates checked against the lab CA. The dnsdist peer of the lab
# benchmark (benchmarks/compare_forwarders.sh). Runs in the foreground inside namespace
# dg-dp, prints "peer-dnsdist: ready" once it serves, and on SIGTERM/SIGINT stops dnsdist
# and gives dg-dp0 back to af_packet.
#
#   ip netns exec dg-dp deploy/lab/peer-dnsdist.sh
set -euo pipefail

readonly RUN=/run/dotgate-lab ZONE=lab.dotgate.test
ip link show dg-dp0 >/dev/null 2>&1 || { echo "peer-dnsdist: no dg-dp0 here; run it in namespace dg-dp" >&2; exit 1; }
[ -s "$RUN/ca/ca.pem" ] || { echo "peer-dnsdist: the lab is not up (deploy/lab/lab.sh up)" >&2; exit 1; }

d=$RUN/peer-dnsdist
mkdir -p "$d"
cat >"$d/dnsdist.conf" <<EOF
setLocal("10.53.1.2:53")
setACL({"10.53.2.0/24", "fd00:53:2::/64"})
newServer({address="10.53.3.10:853", tls="openssl", subjectName="upstream1.$ZONE",
           caStore="$RUN/ca/ca.pem", validateCertificates=true})
newServer({address="10.53.3.11:853", tls="openssl", subjectName="upstream2.$ZONE",
           caStore="$RUN/ca/ca.pem", validateCertificates=true})
setServerPolicy(leastOutstanding)
pc = newPacketCache(200000, {maxTTL=86400, minTTL=0, temporaryFailureTTL=5, staleTTL=60})
getPool(""):setCache(pc)
EOF

# shellcheck disable=SC2317  # reached through the traps
release() {
  ip addr flush dev dg-dp0 2>/dev/null || true
  ip route flush dev dg-dp0 2>/dev/null || true
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

ip addr replace 10.53.1.2/24 dev dg-dp0
ip route replace default via 10.53.1.1 dev dg-dp0
dnsdist --supervised --disable-syslog -C "$d/dnsdist.conf" >"$d/dnsdist.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  ss -lun | grep -q '10.53.1.2:53' && break
  kill -0 "$pid" 2>/dev/null || { cat "$d/dnsdist.log" >&2; exit 1; }
  sleep 0.1
done
echo "peer-dnsdist: ready (pid $pid)"
wait "$pid"
