#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one for a bounded time
# on a scratch copy of its committed seed corpus.
#
#   deploy/fuzz.sh            # 30 s per target (what CI runs)
#   FUZZ_SECONDS=600 deploy/fuzz.sh   # the long run
#
# Prints one line per target: "fuzz NAME: ok, N execs in S s" or "fuzz NAME: FAILED".
# Crash inputs are kept in build/fuzz-artifacts/. Exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
build=build/fuzz
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ meson setup "$build" -Dfuzz=true -Db_lto=false -Dtests=disabled -Dbenchmarks=disabled >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { echo "fuzz build failed"; exit 1; }

status=0
mkdir -p build/fuzz-artifacts
for target in dns_parse cache_path net_frames tcp dot_framing config upstream_answers record_channel; do
  work="build/fuzz-corpus/$target"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  log="build/fuzz-artifacts/$target.log"
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix=build/fuzz-artifacts/"$target"- "$work" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ]; then
    echo "fuzz $target: ok, ${execs:-?} execs in ${seconds} s"
  else
    echo "fuzz $target: FAILED (exit $rc), see $log"
    tail -30 "$log"
    status=1
  fi
done
exit $status
