#!/usr/bin/env bash
# dotgate-dataplane in the lab, as the demo runs it: config/lab.toml, hugepages and its own
# file prefix, so DPDK's secondary processes attach. Checks: clients answered over UDP
# (IPv4 and IPv6) and DoT (our certificate verified against the lab CA); the lab file's
# local zones; a client outside the ACL refused; dpdk-telemetry.py, dpdk-dumpcap (rte_pdump:
# the capture holds the client's query and our TLS to an upstream) and dpdk-proc-info
# attached; a clean exit on SIGTERM. Needs root (exit 77, "skipped", otherwise); skipped
# too when a lab is already up. Tears the lab down even when a check fails.
#
#   lab_dataplane.sh PATH/TO/dotgate-dataplane PATH/TO/deploy/lab/lab.sh
set -uo pipefail

dataplane=$1
lab=$2
config=$(cd "$(dirname "$lab")/../.." && pwd)/config/lab.toml
if [ "$(id -u)" != 0 ]; then
  echo "lab_dataplane: needs root, skipped"
  exit 77
fi
for f in /run/netns/dg-client /run/netns/dg-dp /run/dotgate-lab; do
  if [ -e "$f" ]; then
    echo "lab_dataplane: a lab is already up ($f exists); not touching it, skipped"
    exit 77
  fi
done
for tool in dig kdig tshark dpdk-telemetry.py dpdk-dumpcap dpdk-proc-info; do
  command -v "$tool" >/dev/null || { echo "lab_dataplane: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$lab" down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$lab" up >"$work/lab.out" 2>&1 || { echo "lab up failed:"; cat "$work/lab.out"; exit 1; }
ip netns exec dg-dp timeout 120 "$dataplane" --config "$config" >"$work/dp.out" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q 'dotgate-dataplane: ready' "$work/dp.out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q 'dotgate-dataplane: ready' "$work/dp.out" || { echo "dataplane did not start:"; cat "$work/dp.out"; exit 1; }
grep '^dotgate-dataplane' "$work/dp.out"

. "$(dirname "$0")/lib.sh"
zone=lab.dotgate.test
client() { ip netns exec dg-client "$@"; }
nonempty() {  # dig arguments...: the answer is not empty
  local got
  got=$(client dig +short +time=3 +tries=2 "$@")
  echo "dig $* -> $got"
  [ -n "$got" ]
}
check "UDP over IPv4: forwarded over DoT and answered" nonempty @10.53.1.2 "h1.$zone" A
check "UDP over IPv6: answered" nonempty @fd00:53:1::2 "h2.$zone" AAAA
dot() {
  client kdig +tls-ca=/run/dotgate-lab/ca/ca.pem +tls-hostname=dotgate.lab.dotgate.test +short @10.53.1.2 "h3.$zone" A |
    tee /dev/stderr | grep -q .
}
check "DoT: kdig with our certificate verified against the lab CA" dot
local_zone() { [ "$(client dig +short +time=3 @10.53.1.2 "host.local.$zone" A)" = 10.53.1.2 ]; }
check "the lab file's local zone answers" local_zone
status_of() {  # expected status, dig arguments...
  local want=$1; shift
  client dig +time=3 +tries=1 "$@" | tee /dev/stderr | grep -q "status: $want"
}
check "the lab file's refuse zone: REFUSED" status_of REFUSED @10.53.1.2 "x.refused.$zone" A
check "a client outside the ACL (10.53.4.2): REFUSED" status_of REFUSED -b 10.53.4.2 @10.53.1.2 "h4.$zone" A
telemetry() {
  echo /dotgate/upstreams | dpdk-telemetry.py -f dotgate-lab | tee /dev/stderr | grep -q '"tls_version": "TLSv1.3"'
}
check "dpdk-telemetry.py -f dotgate-lab: upstream TLS 1.3" telemetry
# A DPDK secondary process must map the primary's memory at the primary's addresses; now
# and then (more often when the primary is the ASan build, whose shadow memory pushes DPDK's
# reservation up among the libraries) the secondary's own random layout already has
# something there and EAL gives up ("Cannot get a virtual area at requested address").
# A new process gets a new layout: up to three attempts.
attach_failed() { grep -q 'Cannot get a virtual area\|Cannot init memory' "$1"; }
capture() {
  local try cap
  for try in 1 2 3; do
    timeout 8 dpdk-dumpcap --file-prefix=dotgate-lab -i 0 -w "$work/cap.pcapng" >"$work/dumpcap.out" 2>&1 &
    cap=$!
    sleep 2
    for i in 11 12 13 14 15; do client dig +short +time=2 @10.53.1.2 "h$i.$zone" A >/dev/null; done
    wait "$cap"
    attach_failed "$work/dumpcap.out" || break
    echo "dpdk-dumpcap could not map the primary's memory (attempt $try)"
  done
  tail -2 "$work/dumpcap.out"
  tshark -r "$work/cap.pcapng" 2>/dev/null >"$work/cap.txt"
  echo "$(wc -l <"$work/cap.txt") packets"
  grep -q "Standard query .* A h1[1-5].$zone" "$work/cap.txt" && grep -q '10.53.3.1[01]' "$work/cap.txt"
}
check "dpdk-dumpcap captures on the port (the queries and the traffic to the upstreams)" capture
proc_info() {
  local try
  for try in 1 2 3; do
    dpdk-proc-info --file-prefix=dotgate-lab -- --stats >"$work/proc-info.out" 2>&1
    attach_failed "$work/proc-info.out" || break
    echo "dpdk-proc-info could not map the primary's memory (attempt $try)"
  done
  grep 'RX-packets' "$work/proc-info.out"
}
check "dpdk-proc-info attaches and reads the port's statistics" proc_info
invalid_certificates() {  # both upstreams restarted with a certificate for another name
  ip netns exec dg-router tcpdump -ni dg-rt-up -U -w "$work/strict.pcap" >/dev/null 2>&1 &
  local dump=$! status plain tls
  sleep 1
  "$lab" upstream 1 start wrongname && "$lab" upstream 2 start wrongname || return 1
  status=$(client dig +time=8 +tries=1 @10.53.1.2 "h41.$zone" A | grep -o 'status: [A-Z]*')
  echo "a fresh name with both upstreams misnamed: $status"
  echo /dotgate/upstreams | dpdk-telemetry.py -f dotgate-lab | tail -1 | tee "$work/upstreams.json"
  sleep 0.5
  kill "$dump"; wait "$dump" 2>/dev/null
  plain=$(tcpdump -nr "$work/strict.pcap" 'port 53' 2>/dev/null | wc -l)
  tls=$(tcpdump -nr "$work/strict.pcap" 'tcp port 853' 2>/dev/null | wc -l)
  echo "upstream side: $plain packets on port 53, $tls on 853"
  "$lab" upstream 1 start && "$lab" upstream 2 start
  [ "$status" = "status: SERVFAIL" ] && [ "$plain" -eq 0 ] && [ "$tls" -gt 0 ] &&
    grep -q 'hostname mismatch' "$work/upstreams.json"
}
check "strict: every upstream's certificate for another name -> SERVFAIL, 'hostname mismatch', no packet to port 53" \
  invalid_certificates
kill "$pid"; wait "$pid"; rc=$?; pid=
check "SIGTERM: the dataplane stops cleanly (exit 0)" test "$rc" -eq 0

echo "lab_dataplane: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
