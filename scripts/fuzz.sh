#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-14, ASan and UBSan (in build-fuzz/) and
# runs each one for SECONDS seconds, starting from its committed seed corpus
# (tests/fuzz/corpus/<target>/). Exits non-zero when any target finds a crash, a sanitizer
# report, a leak, a timeout or an out-of-memory; the input that did it is kept under
# build-fuzz/findings/<target>/ and the command to reproduce it is printed.
#
#   scripts/fuzz.sh SECONDS [TARGET...]     e.g. scripts/fuzz.sh 10 (what CI runs)
#
# Environment:
#   FUZZ_RUNS=N        stop each target after N executions instead of (or before) SECONDS
#   FUZZ_BUILD_DIR     build directory (default build-fuzz)
#   FUZZ_NICE=N        run the fuzzers under nice -n N (long local campaigns on a shared box)
#   FUZZ_TIMEOUT=S     libFuzzer's per-input timeout (default 10 s); it is wall-clock time, so a
#                      campaign at nice 19 on a busy box needs more, or a starved run is a "finding"
#   JOBS               ninja -j (default 2)
# New inputs a run finds go to build-fuzz/corpus/<target>/ (not the committed seeds); the
# summary table gives executions, seconds and the result per target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-}"
if [[ -z "$SECONDS_EACH" || ! "$SECONDS_EACH" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 2
fi
shift
BUILD="${FUZZ_BUILD_DIR:-build-fuzz}"
ALL_TARGETS=(fuzz_h1_request fuzz_h2_input fuzz_http_fields fuzz_object_extent
             fuzz_s3_error_xml fuzz_credentials fuzz_profile_file fuzz_toml_config
             fuzz_cache_header fuzz_query fuzz_sigv4 fuzz_sigv4_verify fuzz_cidr
             fuzz_s3_request)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")

say() { printf '[fuzz] %s\n' "$*"; }

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || { echo "[fuzz] $tool is missing: run scripts/setup-debian.sh" >&2; exit 2; }
done

if [[ ! -f "$BUILD/build.ninja" ]]; then
  say "configuring $BUILD (clang-14, ASan + UBSan + libFuzzer)"
  # --reconfigure when a configure step was interrupted (meson-private exists, build.ninja not).
  reconf=()
  [[ -d "$BUILD/meson-private" ]] && reconf=(--reconfigure)
  CC=clang-14 CXX=clang++-14 meson setup "${reconf[@]}" "$BUILD" -Dfuzz=enabled -Dtests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=plain >/dev/null
fi
say "building ${#TARGETS[@]} targets"
mkdir -p "$BUILD/logs"
if ! ninja -C "$BUILD" -j"${JOBS:-2}" $(printf 'tests/fuzz/%s ' "${TARGETS[@]}") \
    >"$BUILD/logs/build.log" 2>&1; then
  tail -40 "$BUILD/logs/build.log" >&2
  say "build failed (log $BUILD/logs/build.log)"
  exit 2
fi

NICE=()
[[ -n "${FUZZ_NICE:-}" ]] && NICE=(nice -n "$FUZZ_NICE")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  seeds="tests/fuzz/corpus/$t"
  work="$BUILD/corpus/$t"
  findings="$BUILD/findings/$t"
  log="$BUILD/logs/$t.log"
  mkdir -p "$work" "$findings" "$(dirname "$log")" "$seeds"
  args=(-max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$findings/")
  [[ -n "${FUZZ_RUNS:-}" ]] && args+=(-runs="$FUZZ_RUNS")
  ((SECONDS_EACH == 0)) && args=("${args[@]:1}")
  start=$(date +%s)
  set +e
  "${NICE[@]}" "$BUILD/tests/fuzz/$t" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if ((rc == 0)); then
    result=ok
  else
    result="FINDING (exit $rc)"
    failed+=("$t")
    say "$t: finding; log $log"
    grep -E 'ERROR: |runtime error:|fuzz invariant failed|SUMMARY:|Test unit written to' "$log" | head -8 >&2 || true
    for a in "$findings"/*; do
      [[ -f "$a" ]] && say "reproduce: $BUILD/tests/fuzz/$t $a"
    done
  fi
  summary+=("$(printf '%-20s %12s %6ss  %s' "$t" "${execs:-?}" "$took" "$result")")
done

printf '\n%-20s %12s %7s  %s\n' target executions time result
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  say "findings in: ${failed[*]}"
  exit 1
fi
