#!/usr/bin/python3
"""Smoke test of the benchmark harness (meson suite 'bench'): bench/run.py at tiny scale against
the emulator, nginx and whatever xs3lerator the build has. It passes when the harness itself works:
- a table, CSV, JSON and charts appear, with the comparison and issue-target sections;
- nginx (the reference) produced numbers for every scenario it takes part in, fetched every cold
  byte from the origin exactly once, and served the HTTP/2 scenarios (when h2load and nginx's
  http2 module exist);
- the machine probe produced loopback and disk figures and the limit is the lower of them;
- xs3lerator and xs3lerator-ttl have numbers (status ok) in every row of their scenarios — a
  FAIL row is a regression, n/a is accepted only where the tool it needs is missing (h2load for
  the HTTP/2 scenarios) — fetched every cold byte from the origin exactly once (scenarios 4, 5,
  9), and the start-up scenario ran, its GET a HIT on the xs3-cachegen cache (so the generated
  format is the one the proxy reads).
Skipped (77) when nginx or wrk is not installed."""
import csv
import json
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
        errors = check(out)
        for e in errors:
            print(e)
        return 1 if errors else 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


def check(out):
    errors = []
    table = open(os.path.join(out, "table.txt")).read()
    header = table.splitlines()[0]
    for w in ("xs3lerator", "xs3lerator-ttl", "nginx", "xs3/nginx", "xs3/ttl"):
        if w not in header:
            errors.append(f"table header has no '{w}' column: {header}")
    for section in ("Machine limits (scenario 8):", "Issue targets"):
        if section not in table:
            errors.append(f"table has no '{section}' section")
    rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))

    def pick(scenario, target, metric=None):
        return [r for r in rows if r["scenario"] == str(scenario) and r["target"] == target
                and (metric is None or r["metric"] == metric)]

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    v = subprocess.run([nginx, "-V"], capture_output=True, text=True)
    h2_possible = shutil.which("h2load") is not None and "http_v2" in v.stdout + v.stderr
    for scenario in (1, 2, 3, 4, 5, 6, 9, 10, 11):
        ng = pick(scenario, "nginx")
        if scenario in (10, 11) and not h2_possible:
            continue
        if not ng or any(r["status"] != "ok" for r in ng) or not any(r["value"] for r in ng):
            errors.append(f"scenario {scenario}: nginx has no numbers: {ng}")
        if scenario in (4, 5, 9) and ng:
            amp = [r for r in ng if r["metric"] == "origin bytes / object"]
            if not amp or abs(float(amp[0]["value"]) - 1.0) > 1e-9:
                errors.append(f"scenario {scenario}: nginx origin bytes / object {amp}")
    for target, scenarios in (("xs3lerator", (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)),
                              ("xs3lerator-ttl", (2, 3, 10, 11))):
        for scenario in scenarios:
            xs = pick(scenario, target)
            if not xs:
                errors.append(f"scenario {scenario}: no {target} row")
            for r in xs:
                if r["status"] == "ok" and r["value"]:
                    continue
                if r["status"] == "na" and scenario in (10, 11) and not h2_possible:
                    continue
                errors.append(f"scenario {scenario}: {target} {r['metric']}: {r['status']} "
                              f"{r['reason']!r}")
    for scenario in (4, 5, 9):
        amp = pick(scenario, "xs3lerator", "origin bytes / object")
        if not amp or abs(float(amp[0]["value"] or "nan") - 1.0) > 1e-9:
            errors.append(f"scenario {scenario}: xs3lerator origin bytes / object {amp}")
    for scenario in (1, 4, 12):
        if pick(scenario, "xs3lerator-ttl"):
            errors.append(f"scenario {scenario}: xs3lerator-ttl ran where it should not")
    for scenario in (10, 11):
        for metric in ("h2c req/s", "HTTP/1.1 req/s"):
            got = pick(scenario, "xs3lerator", metric) + \
                [r for r in pick(scenario, "xs3lerator") if r["metric"] == "(failed)"]
            if not got:
                errors.append(f"scenario {scenario}: xs3lerator has no '{metric}' row")

    machine = {r["metric"]: r for r in pick(8, "machine")}
    try:
        lb = float(machine["loopback MB/s"]["value"])
        disk = max(float(machine[k]["value"]) for k in ("disk write+fsync MB/s",
                                                          "disk O_DIRECT MB/s")
                   if machine.get(k, {}).get("status") == "ok")
        limit = float(machine["machine limit MB/s"]["value"])
        if not (lb > 0 and disk > 0 and abs(limit - min(lb, disk)) < 1e-6 * limit):
            errors.append(f"machine limit {limit} is not min(loopback {lb}, disk {disk})")
    except (KeyError, ValueError) as e:
        errors.append(f"machine probe rows missing or empty ({e}): {machine}")

    start = {r["metric"]: r for r in pick(12, "xs3lerator")}
    if "(failed)" in start:
        errors.append(f"start-up scenario failed: {start['(failed)']}")
    else:
        hit = start.get("object GET cache hits %")
        if not hit or hit["value"] != "100":
            errors.append(f"start-up GET was not a HIT on the generated cache: {hit}")
        for metric in ("exec → /healthz ms", "exec → object GET ms"):
            if metric not in start or not start[metric]["value"]:
                errors.append(f"start-up: no '{metric}' value")
        scan = start.get("exec → scan complete ms")
        if not scan or (scan["status"] != "ok" and not scan["reason"]):
            errors.append(f"start-up: scan row missing or without a reason: {scan}")

    meta = json.load(open(os.path.join(out, "results.json")))
    if not meta.get("checks") or not any(c["issue"] == "7" for c in meta["checks"]):
        errors.append("results.json has no issue checks")
    if not os.path.exists(os.path.join(out, "throughput.png")) and shutil.which("gnuplot"):
        errors.append("no throughput.png")
    return errors


if __name__ == "__main__":
    sys.exit(main())
