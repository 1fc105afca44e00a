#!/usr/bin/env bash
# dotgate against unbound and dnsdist, each configured as a UDP-in / DoT-out forwarder, in
# the same lab (deploy/lab) against the same two DoT upstreams, one after the other, with
# the same dnsperf runs from the client namespace. Prints one table:
#
#   forwarder | cache hits: q/s, avg, p50 and p99 latency, CPU cycles per answer
#             (the percentiles from a second, shorter run with dnsperf -v)
#             | cache misses (forwarded over DoT): the same
#
# CPU per answer: for dotgate the dataplane's busy TSC cycles (iterations that had
# packets; the idle polling of its lcore does not count), for unbound and dnsdist the
# process's user + system time, both divided by the answers dnsperf counted. The kernel's
# work for unbound and dnsdist (softirq, socket syscalls not charged to them) is not in
# their figure, so theirs are lower bounds. On this 2-core VM the client, both upstreams
# and the forwarder share the cores: the figures compare, they do not size hardware.
#
#   sudo benchmarks/compare_forwarders.sh [SECONDS_PER_RUN (default 10)]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
readonly RUN=/run/dotgate-lab ZONE=lab.dotgate.test
lab=deploy/lab/lab.sh
dataplane=${DOTGATE_DATAPLANE:-build/release/dataplane/dotgate-dataplane}
[ "$(id -u)" = 0 ] || { echo "compare_forwarders: run as root" >&2; exit 1; }
[ -x "$dataplane" ] || { echo "compare_forwarders: $dataplane not built (ninja -C build/release)" >&2; exit 1; }

brought_up=0
if ! "$lab" status >/dev/null 2>&1; then
  "$lab" up >/dev/null
  brought_up=1
fi
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ "$brought_up" = 1 ] && "$lab" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

work=$(mktemp -d)
cp "$RUN/queries.txt" "$work/hits"  # the zone's names: every one cached after a warm-up

in_client() { ip netns exec dg-client "$@"; }
telemetry() { echo "$1" | dpdk-telemetry.py -f dotgate-lab 2>/dev/null | tail -1; }
tsc_hz=0
cpu_cycles() {  # forwarder: its CPU so far, in TSC cycles
  case $1 in
    dotgate)
      telemetry /dotgate/stats | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['/dotgate/stats']['busy_cycles'])"
      ;;
    *)
      local p ticks
      p=$(pgrep -f "$2" | head -1)
      ticks=$(awk '{print $14 + $15}' "/proc/$p/stat")
      echo $((ticks * (tsc_hz / $(getconf CLK_TCK))))
      ;;
  esac
}
# run QUERYFILE LATENCY_QUERYFILE DNSPERF_ARGS...: prints "qps avg_ms p50_ms p99_ms
# cycles_per_answer answers lost". Two dnsperf runs with the same arguments: the measured
# one (q/s, average, answers, lost, and the forwarder's CPU around it), then a shorter one
# over LATENCY_QUERYFILE with -v, which reports every answer's latency, for the
# percentiles (printing each answer slows dnsperf itself, so its q/s is not the one
# reported). Uses $name and $match of measure().
run() {
  local c0 c1
  c0=$(cpu_cycles "$name" "$match")
  in_client dnsperf -s 10.53.1.2 -d "$1" -l "$secs" "${@:3}" >"$work/run.out" 2>&1
  c1=$(cpu_cycles "$name" "$match")
  cat "$work/run.out" >>"$work/dnsperf.log"
  in_client dnsperf -s 10.53.1.2 -d "$2" -l "$(((secs + 2) / 3))" -v "${@:3}" >"$work/run-v.out" 2>&1
  /usr/bin/python3 - "$work/run.out" "$work/run-v.out" "$((c1 - c0))" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
qps = float(re.search(r"Queries per second:\s+([\d.]+)", t).group(1))
avg = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", t).group(1))
done = int(re.search(r"Queries completed:\s+(\d+)", t).group(1))
lost = int(re.search(r"Queries lost:\s+(\d+)", t).group(1))
lat = sorted(float(m) for m in re.findall(r"^> \S+ \S+ \S+ ([\d.]+)$", open(sys.argv[2]).read(), re.M))
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0
cycles = int(sys.argv[3]) // (done + 1)
print(f"{qps:.0f} {avg * 1000:.3f} {pct(0.50):.3f} {pct(0.99):.2f} {cycles} {done} {lost}")
PY
}

measure() {  # name, start command..., with $match the process to charge
  local name=$1 match=$2; shift 2
  "$@" >"$work/$name.out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q 'ready' "$work/$name.out" && break; sleep 0.1; done
  grep -q 'ready' "$work/$name.out" || { echo "$name did not start:"; cat "$work/$name.out"; exit 1; }
  sleep 1
  if [ "$name" = dotgate ]; then
    tsc_hz=$(telemetry /dotgate/stats | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['/dotgate/stats']['tsc_hz'])")
  fi
  # Warm-up: every name once, so the hit run finds them all cached.
  in_client dnsperf -s 10.53.1.2 -d "$work/hits" -n 1 -Q 2000 >/dev/null 2>&1
  # Misses: names never asked before (the zone answers them NXDOMAIN), at a rate the
  # upstreams on this VM keep up with.
  for i in $(seq 1 $((secs * 1500))); do echo "m$i-$name.$ZONE A"; done >"$work/misses-$name"
  for i in $(seq 1 $((secs * 600))); do echo "v$i-$name.$ZONE A"; done >"$work/vmisses-$name"
  local hit miss
  hit=$(run "$work/hits" "$work/hits" -c 4 -q 256)
  miss=$(run "$work/misses-$name" "$work/vmisses-$name" -n 1 -Q 1000 -c 4 -q 256)
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  read -r hq ha h50 h99 hit_cycles hd hl <<<"$hit"
  read -r mq ma m50 m99 miss_cycles md ml <<<"$miss"
  printf '| %-8s | %8s | %7s | %7s | %7s | %8s | %6s | %8s | %7s | %7s | %7s | %8s | %6s |\n' \
    "$name" "$hq" "$ha" "$h50" "$h99" "$hit_cycles" "$hl" "$mq" "$ma" "$m50" "$m99" "$miss_cycles" "$ml" >>"$work/table"
}

# dotgate first: its telemetry also gives the TSC frequency for the others' CPU time.
measure dotgate dotgate-dataplane ip netns exec dg-dp "$dataplane" --config config/lab.toml
[ "$tsc_hz" -gt 0 ] || tsc_hz=$(awk '/cpu MHz/ {printf "%d", $4 * 1000000; exit}' /proc/cpuinfo)
measure unbound "unbound -d -c $RUN/peer-unbound" ip netns exec dg-dp deploy/lab/peer-unbound.sh
measure dnsdist "dnsdist --supervised" ip netns exec dg-dp deploy/lab/peer-dnsdist.sh

echo
echo "Forwarders in the lab, one after the other; dnsperf from the client namespace for ${secs} s each."
echo "Hits: the zone's 1000 names, cached by a warm-up pass, 4 clients x 256 outstanding."
echo "Misses: names never asked before, 1000 q/s offered, each forwarded over DoT."
echo
printf '| %-8s | %8s | %7s | %7s | %7s | %8s | %6s | %8s | %7s | %7s | %7s | %8s | %6s |\n' forwarder \
  "hit q/s" "avg ms" "p50 ms" "p99 ms" "cyc/ans" "lost" "miss q/s" "avg ms" "p50 ms" "p99 ms" "cyc/ans" "lost"
printf '| %-8s | %8s | %7s | %7s | %7s | %8s | %6s | %8s | %7s | %7s | %7s | %8s | %6s |\n' -------- -------- ------- \
  ------- ------- -------- ------ -------- ------- ------- ------- -------- ------
cat "$work/table"
echo
echo "(dnsperf output: $work/dnsperf.log)"
