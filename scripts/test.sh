#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and end-to-end) with meson test.
# Extra arguments go to meson test, e.g. `./scripts/test.sh --suite e2e`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\n[test] %s\n' "$*"; }

say "installing what is missing"
"$ROOT/scripts/setup-debian.sh"

say "building"
[[ -f build/build.ninja ]] || meson setup build
ninja -C build -j"${JOBS:-2}"

say "running the tests"
set +e
meson test -C build --print-errorlogs "$@"
rc=$?
set -e

# The fuzz targets as a regression check: each runs briefly from its seed corpus (a clang
# ASan/UBSan build in build-fuzz/). Only for a full run (no arguments); XS3_FUZZ_SECONDS=0 skips.
fuzz_rc=0
if (($# == 0)) && [[ "${XS3_FUZZ_SECONDS:-8}" != 0 ]]; then
  say "fuzzing each target for ${XS3_FUZZ_SECONDS:-8}s"
  "$ROOT/scripts/fuzz.sh" "${XS3_FUZZ_SECONDS:-8}" || fuzz_rc=$?
fi

# One closing line with the counts, from meson's own log.
/usr/bin/python3 - build/meson-logs/testlog.json <<'PYEOF' || true
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as f:
    for line in f:
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"meson: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PYEOF
((rc == 0)) && rc=$fuzz_rc
exit "$rc"
