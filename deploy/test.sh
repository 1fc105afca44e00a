#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine, as root: installs whatever is
# missing, builds, and runs every test:
#   1. release build with warnings as errors: unit tests and benchmark smoke runs;
#   2. debug build with AddressSanitizer + UBSan: the unit tests again;
#   3. the libFuzzer targets, each for FUZZ_SECONDS (default 30).
# Ends with one line "N passed, N failed" counting every test case; exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh

jobs=$(nproc)
junit=()

run_suite() {  # build-dir, meson-setup-args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  else
    meson configure "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir" -j "$jobs"
  # meson exits non-zero on failures; the summary below reports them, so keep going.
  meson test -C "$dir" --num-processes "$jobs" --print-errorlogs || true
  junit+=("$dir/meson-logs/testlog.junit.xml")
}

echo "== release build (-Werror): unit tests, benchmark smoke =="
run_suite build/release -Dbuildtype=release -Db_lto=true -Dwerror=true

echo "== debug build with ASan + UBSan: unit tests =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite build/asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lto=false -Dwerror=true \
    -Dbenchmarks=disabled

echo "== fuzzers (${FUZZ_SECONDS:-30} s each) =="
fuzz_out=$(bash deploy/fuzz.sh) && fuzz_rc=0 || fuzz_rc=$?
echo "$fuzz_out"
fuzz_ok=$(grep -c ': ok' <<<"$fuzz_out" || true)
fuzz_failed=$(grep -c ': FAILED' <<<"$fuzz_out" || true)
[ "$fuzz_rc" -ne 0 ] && [ "$fuzz_failed" -eq 0 ] && fuzz_failed=1

echo "== summary =="
/usr/bin/python3 deploy/test-summary.py --extra "$fuzz_ok" "$fuzz_failed" "${junit[@]}"
