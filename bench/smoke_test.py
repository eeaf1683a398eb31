#!/usr/bin/python3
"""Smoke test of the benchmark harness (meson suite 'bench'): bench/run.py at tiny scale against
the emulator, nginx and whatever xs3lerator the build has. It passes when the harness itself works:
a table and CSV appear, nginx (the reference) produced numbers for every scenario, and xs3lerator
has a row per scenario (numbers, or a reported failure while the proxy is incomplete).
Skipped (77) when nginx or wrk is not installed."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    build = os.environ.get("BENCH_BUILD_DIR") or os.path.join(os.path.dirname(HERE), "build")
    xs3 = os.environ.get("XS3LERATOR") or os.path.join(build, "xs3lerator")
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            print(f"{tool} is not installed; skipping")
            return 77
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    out = tempfile.mkdtemp(prefix="bench-smoke-")
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--scale", "small",
                            "--build-dir", build, "--xs3lerator", xs3, "--nginx", nginx,
                            "--out", out, "--duration", "1", "--clients", "4"],
                           capture_output=True, text=True, timeout=600)
        print(p.stdout)
        print(p.stderr, file=sys.stderr)
        if p.returncode != 0:
            print(f"run.py exited {p.returncode}")
            return 1
        for name in ("table.txt", "results.csv", "results.json"):
            if not os.path.getsize(os.path.join(out, name)):
                print(f"{name} is empty")
                return 1
        table = open(os.path.join(out, "table.txt")).read()
        header = table.splitlines()[0]
        if not all(w in header for w in ("xs3lerator", "nginx", "xs3/nginx")):
            print("table has no comparison columns")
            return 1
        rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
        errors = []
        for scenario in map(str, range(1, 7)):
            ng = [r for r in rows if r["scenario"] == scenario and r["target"] == "nginx"]
            if not ng or any(r["error"] for r in ng) or not any(r["value"] for r in ng):
                errors.append(f"scenario {scenario}: nginx has no numbers: {ng}")
            if not [r for r in rows if r["scenario"] == scenario and r["target"] == "xs3lerator"]:
                errors.append(f"scenario {scenario}: no xs3lerator row")
            if scenario in ("4", "5") and ng:
                amp = [r for r in ng if r["metric"] == "origin bytes / object"]
                if not amp or abs(float(amp[0]["value"]) - 1.0) > 1e-9:
                    errors.append(f"scenario {scenario}: nginx origin bytes / object {amp}")
        if not os.path.exists(os.path.join(out, "throughput.png")) and shutil.which("gnuplot"):
            errors.append("no throughput.png")
        for e in errors:
            print(e)
        return 1 if errors else 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
