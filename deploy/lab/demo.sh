#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine, as root,
#
#   sudo ./deploy/lab/demo.sh
#
# installs what is missing (deploy/install-deps.sh), builds the release, brings the lab up
# (deploy/lab/lab.sh), starts dotgate-dataplane in it with config/lab.toml and shows it
# working, printing each command before its output: dig over UDP (IPv4 and IPv6) and TCP,
# kdig over DoT with the appliance's certificate verified, one name asked twice (the
# first a miss forwarded over DoT, the second a cache hit, faster), the upstream
# connections' TLS version, cipher and verified name and the counters from DPDK telemetry,
# and a short dnsperf run. Then it stops the dataplane and takes the lab down, also when a
# step fails or it is interrupted. About a minute after the build.
#
# Exits 0 when every step worked; otherwise names the steps that failed. The dataplane's
# output is kept in build/demo/dataplane.log.
#
# Environment: DOTGATE_DATAPLANE runs another binary in the dataplane's place (same
# command line; it must print a line ending in ": ready" once it serves), for example
# deploy/lab/peer-unbound.sh to rehearse the demo without DPDK.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

readonly NS_CLIENT=dg-client NS_DP=dg-dp PREFIX=dotgate-lab
readonly ZONE=lab.dotgate.test CA=/run/dotgate-lab/ca/ca.pem
bin=${DOTGATE_DATAPLANE:-build/release/dataplane/dotgate-dataplane}
[[ $bin == /* ]] || bin=$repo/$bin
logdir=$repo/build/demo
log=$logdir/dataplane.log

if [ -t 1 ]; then bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'; else bold='' dim='' off=''; fi
say() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
die() { echo "demo: error: $*" >&2; exit 1; }
# show COMMAND: prints the command, then runs it (a fixed string of this script).
show() { printf '%s$ %s%s\n' "$bold" "$1" "$off"; eval "$1"; }

failed=()
step() {  # description, command...: runs a step, remembers a failure, carries on
  local what=$1; shift
  if ! "$@"; then
    printf '%sdemo: FAILED: %s%s\n' "$bold" "$what" "$off"
    failed+=("$what")
  fi
}

[ "$(id -u)" = 0 ] || die "run as root (sudo $0): the lab needs namespaces and hugepages"

say "dependencies (deploy/install-deps.sh)"
bash deploy/install-deps.sh

say "build (build/release)"
if [ ! -f build/release/build.ninja ]; then
  meson setup build/release -Dbuildtype=release
fi
ninja -C build/release
[ -x "$bin" ] || die "dotgate-dataplane not built: $bin is missing (the dataplane arrives with issue #5)"

dp_pid=
stop_dataplane() {  # SIGTERM, then the exit status; SIGKILL after 15 s
  local rc
  [ -n "$dp_pid" ] || return 0
  kill -TERM "$dp_pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$dp_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$dp_pid" 2>/dev/null; then
    echo "demo: dotgate-dataplane did not stop within 15 s of SIGTERM; killing it"
    kill -KILL "$dp_pid" 2>/dev/null || true
  fi
  rc=0
  wait "$dp_pid" 2>/dev/null || rc=$?
  dp_pid=
  echo "demo: dotgate-dataplane exited with status $rc"
  return "$rc"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_dataplane || true
  bash deploy/lab/lab.sh down || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "the lab (deploy/lab/lab.sh up)"
bash deploy/lab/lab.sh up

say "dotgate-dataplane in namespace $NS_DP, on veth dg-dp0 through net_af_packet"
mkdir -p "$logdir"
: >"$log"
printf '%s$ ip netns exec %s %s --config config/lab.toml%s\n' "$bold" "$NS_DP" "${bin#"$repo"/}" "$off"
# setsid: a Ctrl-C in the terminal reaches the demo, which then stops the dataplane itself.
setsid ip netns exec "$NS_DP" "$bin" --config "$repo/config/lab.toml" >"$log" 2>&1 </dev/null &
dp_pid=$!
ready=0
for _ in $(seq 600); do  # 60 s: hugepage set-up and the first upstream connections
  if grep -q ': ready$' "$log"; then ready=1; break; fi
  kill -0 "$dp_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "--- $log"; tail -40 "$log"
  kill -0 "$dp_pid" 2>/dev/null && die "dotgate-dataplane did not report ready within 60 s"
  dp_pid=
  die "dotgate-dataplane exited before it was ready"
fi
grep -m1 ': ready$' "$log"

in_client="ip netns exec $NS_CLIENT"

say "DNS over UDP, IPv4 and IPv6"
step "dig over UDP" show "$in_client dig @10.53.1.2 www.$ZONE A +noall +answer +stats"
step "dig over UDP, IPv6" show "$in_client dig @fd00:53:1::2 h7.$ZONE AAAA +noall +answer"

say "DNS over TCP"
step "dig +tcp" show "$in_client dig +tcp @10.53.1.2 alias.$ZONE A +noall +answer +stats"

say "DNS over TLS (port 853), the appliance's certificate verified against the lab CA"
step "kdig over DoT" show "$in_client kdig +tls-ca=$CA +tls-hostname=dotgate.$ZONE @10.53.1.2 which.$ZONE TXT"

say "a cache miss, then the same name again from the cache"
ms() { grep -o 'in [0-9.]* ms' <<<"$1" | grep -o '[0-9.]*' | head -1; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
cache_hit() {
  local out first second n misses=() hits=()
  out=$(show "$in_client kdig @10.53.1.2 h42.$ZONE A" 2>&1); echo "$out"; first=$(ms "$out")
  out=$(show "$in_client kdig @10.53.1.2 h42.$ZONE A" 2>&1); echo "$out"; second=$(ms "$out")
  [ -n "$first" ] && [ -n "$second" ] || return 1
  echo
  echo "h42: first (a miss, forwarded over DoT) $first ms, second (a cache hit) $second ms"
  # One pair is at the mercy of whatever else the machine is doing; five more say more.
  for n in 101 102 103 104 105; do
    misses+=("$(ms "$($in_client kdig @10.53.1.2 "h$n.$ZONE" A)")")
    hits+=("$(ms "$($in_client kdig @10.53.1.2 "h$n.$ZONE" A)")")
  done
  echo "h101..h105, each asked twice: misses ${misses[*]} ms, hits ${hits[*]} ms"
  echo "median: miss $(median "${misses[@]}") ms, hit $(median "${hits[@]}") ms"
}
step "a miss then a hit" cache_hit

telemetry() {  # command: one DPDK telemetry command, its JSON reply pretty-printed
  local out
  printf '%s$ echo %s | dpdk-telemetry.py -f %s%s\n' "$bold" "$1" "$PREFIX" "$off"
  out=$(echo "$1" | dpdk-telemetry.py -f "$PREFIX" 2>&1) || true
  if [[ $out != '{'* ]]; then echo "$out"; return 1; fi
  /usr/bin/python3 -m json.tool <<<"$out"
}
say "upstream connections: state, TLS version, cipher, verified name (DPDK telemetry)"
step "telemetry /dotgate/upstreams" telemetry /dotgate/upstreams
say "counters (DPDK telemetry)"
step "telemetry /dotgate/stats" telemetry /dotgate/stats

say "load: dnsperf for 5 s at up to 2000 queries/s (1000 names of the zone, A and AAAA)"
dnsperf_run() {
  local out
  out=$(show "$in_client dnsperf -s 10.53.1.2 -d /run/dotgate-lab/queries.txt -l 5 -Q 2000 -c 4" 2>&1)
  sed -n '/Statistics:/,$p' <<<"$out"
  grep -q 'Queries completed: *[1-9]' <<<"$out"
}
step "dnsperf" dnsperf_run

say "stopping"
step "dotgate-dataplane exits 0 on SIGTERM" stop_dataplane

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "${bold}demo: every step worked${off} ${dim}(dataplane output: ${log#"$repo"/})${off}"
else
  echo "${bold}demo: ${#failed[@]} step(s) failed:${off} $(printf '%s; ' "${failed[@]}")"
  echo "dataplane output: ${log#"$repo"/}"
  exit 1
fi
