#!/usr/bin/python3
"""xs3lerator benchmark harness: runs the scenario set of issue 3 against xs3lerator and against
nginx (proxy_cache + slice) in front of the same S3 emulator, prints a table, and writes CSV, JSON
and gnuplot PNG charts under bench/results/<timestamp>/.

    bench/run.py                      # the full set at --scale full (1 GiB objects)
    bench/run.py --scale small        # seconds: tiny objects (the smoke test uses this)
    bench/run.py --scenarios 1,4 --targets xs3lerator
    bench/run.py --sweep chunk-size=1MiB,4MiB,8MiB --scenarios 4

Only Debian's python3 standard library; wrk, nginx and gnuplot from Debian. See bench/README.md.
"""
import argparse
import csv
import datetime
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MiB = 1 << 20
KiB = 1 << 10

# Object sizes, counts and load per scale. "full" is the set.
SCALES = {
    "small": dict(big=8 * MiB, herd=4 * MiB, medium=256 * KiB, medium_count=8, tiny=4 * KiB,
                  tiny_count=32, clients=8, duration=1, large_runs=2, range_len=256 * KiB),
    "medium": dict(big=256 * MiB, herd=64 * MiB, medium=MiB, medium_count=32, tiny=4 * KiB,
                   tiny_count=256, clients=32, duration=4, large_runs=2, range_len=MiB),
    "full": dict(big=1024 * MiB, herd=256 * MiB, medium=MiB, medium_count=64, tiny=4 * KiB,
                 tiny_count=1000, clients=32, duration=10, large_runs=3, range_len=MiB),
}

SCENARIOS = {
    1: "hit, large object, 1 stream",
    2: "hit, medium objects, N connections",
    3: "hit, 4 KiB objects, req/s",
    4: "cold miss, large object via S3-like origin",
    5: "N clients, same cold object",
    6: "cold Range in the last 10%",
}

TARGETS = ("xs3lerator", "nginx")


class ScenarioError(Exception):
    pass


def parse_size(text):
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?i?B?)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError("bad size: " + text)
    unit = (m.group(2) or "").upper().rstrip("B")
    mult = {"": 1, "K": 1000, "KI": KiB, "M": 1000 ** 2, "MI": MiB, "G": 1000 ** 3, "GI": 1 << 30,
            "T": 1000 ** 4, "TI": 1 << 40}[unit]
    return int(float(m.group(1)) * mult)


def fmt_size(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout, what, log_path=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ScenarioError(f"{what} exited with {proc.returncode}: {tail(log_path)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise ScenarioError(f"{what} did not listen on {port} within {timeout}s: {tail(log_path)}")


def tail(path, lines=5):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return " | ".join(f.read().strip().splitlines()[-lines:])


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- process resource accounting

def process_tree(pid):
    """pid and all its descendants (nginx: master, workers, cache manager)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def reset_peak_rss(pids):
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass


def peak_rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- the emulator

class Emulator:
    def __init__(self, h, profile, workdir):
        self.h = h
        self.profile = profile
        self.log = os.path.join(workdir, f"s3emu-{profile}.log")
        self.port = None
        self.proc = None

    def start(self):
        sc = self.h.scale
        port_file = self.log + ".port"
        if os.path.exists(port_file):
            os.unlink(port_file)
        sha = "yes" if self.h.args.sha224 else "no"
        cmd = [self.h.s3emu, "--port", "0", "--port-file", port_file, "--threads",
               str(self.h.args.emu_threads), "--log-level", "warn",
               "--object", f"name=big.bin,size={sc['big']},seed=1,sha224={sha}",
               "--object", f"name=herd.bin,size={sc['herd']},seed=2,sha224={sha}",
               "--object", f"name=medium/{{i}}.bin,size={sc['medium']},seed=100,"
                           f"count={sc['medium_count']},sha224={sha}",
               "--object", f"name=tiny/{{i}}.bin,size={sc['tiny']},seed=10000,"
                           f"count={sc['tiny_count']},sha224={sha}"]
        if self.profile == "s3":
            cmd += ["--latency", self.h.args.origin_latency,
                    "--conn-bandwidth", self.h.args.origin_bandwidth]
        cmd += self.h.args.emu_arg
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise ScenarioError("s3emu did not start: " + tail(self.log))
            time.sleep(0.02)
        self.port = int(open(port_file).read())

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=10) as r:
            return json.load(r)

    def wait_digests(self, timeout=300):
        """Digests are computed in the background at start-up; a request needing one waits, which
        would show up as time to first byte. Measure only once they are all ready."""
        deadline = time.time() + timeout
        while self.stats().get("sha224_pending", 0) > 0:
            if time.time() > deadline:
                raise ScenarioError("s3emu digests not ready after {timeout}s")
            time.sleep(0.1)

    def reset(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/__stats/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self):
        stop_process(self.proc)


def object_seed(name):
    if name == "big.bin":
        return 1
    if name == "herd.bin":
        return 2
    m = re.fullmatch(r"(medium|tiny)/(\d+)\.bin", name)
    return (100 if m.group(1) == "medium" else 10000) + int(m.group(2))


# ---------------------------------------------------------------- the targets

class Target:
    name = "?"

    def __init__(self, h, emu, workdir):
        self.h, self.emu, self.workdir = h, emu, workdir
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(workdir, f"{self.name}.log")

    def pids(self):
        return process_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_process(self.proc)


class Xs3lerator(Target):
    name = "xs3lerator"

    def start(self):
        binary = self.h.args.xs3lerator
        if not os.path.exists(binary):
            raise ScenarioError(f"binary not found: {binary}")
        cache = os.path.join(self.workdir, "xs3-cache")
        os.makedirs(cache, exist_ok=True)
        a = self.h.knobs
        cmd = [binary, "--bind-ip", "127.0.0.1", "--port", str(self.port), "--bucket", "bench",
               "--s3-endpoint-url", f"http://127.0.0.1:{self.emu.port}", "--s3-force-path-style",
               "--region", "us-east-1", "--cache-dir", cache,
               "--max-cache-size", self.h.args.max_cache_size, "--workers", str(a["workers"]),
               "--log-level", "warn"]
        if a.get("chunk-size"):
            cmd += ["--chunk-size", a["chunk-size"]]
        if a.get("concurrency"):
            cmd += ["--max-concurrency", str(a["concurrency"])]
        if a.get("pipe-size"):
            cmd += ["--pipe-size", a["pipe-size"]]
        if a.get("splice-size"):
            cmd += ["--splice-size", a["splice-size"]]
        if a.get("direct-io") in (True, "true", "on", "yes", "1"):
            cmd += ["--direct-io"]
        cmd += self.h.args.xs3_arg
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        wait_port(self.port, self.proc, 15, "xs3lerator", self.log)


NGINX_CONF = """\
{user}worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=bench:64m max_size={max_cache}
                     inactive=7d use_temp_path=off;
    upstream s3 {{
        server 127.0.0.1:{emu_port};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            slice {slice};
            proxy_cache bench;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 7d;
            proxy_cache_lock on;
            proxy_cache_lock_age 10m;
            proxy_cache_lock_timeout 10m;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
            proxy_buffers 64 64k;
            proxy_pass http://s3/bench$uri;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""


class Nginx(Target):
    name = "nginx"

    def start(self):
        binary = self.h.args.nginx
        if not shutil.which(binary):
            raise ScenarioError(f"nginx not found: {binary}")
        prefix = os.path.join(self.workdir, "nginx")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        slice_size = self.h.knobs.get("chunk-size") or self.h.args.nginx_slice
        slice_bytes = parse_size(slice_size)
        conf = NGINX_CONF.format(
            user="user root root;\n" if os.geteuid() == 0 else "",
            workers=self.h.knobs["workers"], prefix=prefix, emu_port=self.emu.port,
            port=self.port, slice=f"{max(1, slice_bytes // KiB)}k",
            max_cache=f"{max(1, parse_size(self.h.args.max_cache_size) // MiB)}m")
        path = os.path.join(prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([binary, "-p", prefix, "-c", path, "-e",
                                          os.path.join(prefix, "error.log")],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_port(self.port, self.proc, 10, "nginx", os.path.join(prefix, "error.log"))
        self.log = os.path.join(prefix, "error.log")


# ---------------------------------------------------------------- load generators

def run_fetch(h, port, items, concurrency=1, requests=None, verify=True, timeout=600):
    """items: [(path, name, seed, (first, last) or None)] -> list of per-request dicts."""
    fd, list_path = tempfile.mkstemp(prefix="fetch-", suffix=".list", dir=h.workdir)
    with os.fdopen(fd, "w") as f:
        for path, name, seed, rng in items:
            f.write(f"{path} {name} {seed}" + (f" {rng[0]}-{rng[1]}" if rng else "") + "\n")
    cmd = [h.s3emu_fetch, "--port", str(port), "--list", list_path,
           "--concurrency", str(concurrency)]
    if requests:
        cmd += ["--requests", str(requests)]
    if not verify:
        cmd += ["--no-verify"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ScenarioError(f"client timed out after {timeout}s")
    if p.returncode != 0:
        raise ScenarioError("s3emu-fetch failed: " + p.stderr.strip())
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def check_results(results, want_status=(200, 206), verify=True):
    bad = [r for r in results if r["status"] not in want_status or r["error"]
           or (verify and not r["verified"])]
    if bad:
        r = bad[0]
        why = r["error"] or (f"status {r['status']}" if r["status"] not in want_status
                             else f"byte mismatch at {r['mismatch']}")
        raise ScenarioError(f"{len(bad)}/{len(results)} requests failed ({r['path']}: {why})")


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


WRK_LUA = """\
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def wrk_unit(value, unit):
    mult = {"": 1, "K": 1024, "KB": 1024, "M": MiB, "MB": MiB, "G": 1 << 30, "GB": 1 << 30,
            "B": 1}[unit.upper()]
    return float(value) * mult


def wrk_time_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(h, port, paths, connections, duration):
    if not shutil.which("wrk"):
        raise ScenarioError("wrk not installed")
    lua = os.path.join(h.workdir, "paths.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA % ", ".join(json.dumps(p) for p in paths))
    threads = max(1, min(connections, h.args.wrk_threads))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
           "-s", lua, f"http://127.0.0.1:{port}/"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    out = p.stdout
    if p.returncode != 0:
        raise ScenarioError("wrk failed: " + (p.stderr or out).strip()[-200:])
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", out)
    if not m:
        raise ScenarioError("cannot parse wrk output: " + out[-200:])
    res = {"requests": int(m.group(1)), "bytes": wrk_unit(m.group(4), m.group(5)),
           "seconds": wrk_time_ms(m.group(2), m.group(3)) / 1000}
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "99"):
        lm = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(\w+)", out, re.M)
        res[f"p{pct}_ms"] = wrk_time_ms(lm.group(1), lm.group(2)) if lm else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in sock.groups()) if sock else 0
    res["raw"] = out
    return res


# ---------------------------------------------------------------- scenarios

def item(name, rng=None):
    return ("/" + name, name, object_seed(name), rng)


def medium_names(sc):
    return [f"medium/{i}.bin" for i in range(sc["medium_count"])]


def tiny_names(sc):
    return [f"tiny/{i}.bin" for i in range(sc["tiny_count"])]


def warm(h, target, names, concurrency=4):
    results = run_fetch(h, target.port, [item(n) for n in names], concurrency=concurrency)
    check_results(results)
    # A second pass should be served from cache; it also finishes any background fill.
    return results


def hit_ratio(results):
    hits = sum(1 for r in results if r["cache"].upper().startswith("HIT"))
    return 100.0 * hits / max(1, len(results))


def scenario_1(h, target, emu, m):
    sc = h.scale
    warm(h, target, ["big.bin"], 1)
    m.start()
    runs = run_fetch(h, target.port, [item("big.bin")] * sc["large_runs"], verify=False)
    m.stop()
    check_results(runs, verify=False)
    secs = sum(r["ms"] for r in runs) / 1000
    served = sum(r["bytes"] for r in runs)
    return {"throughput MB/s": (served / secs / 1e6, "higher"),
            "TTFB ms": (statistics.median(r["ttfb_ms"] for r in runs), "lower"),
            "cache hits %": (hit_ratio(runs), "higher")}, served


def scenario_2(h, target, emu, m):
    sc = h.scale
    names = medium_names(sc)
    warm(h, target, names)
    m.start()
    w = run_wrk(h, target.port, ["/" + n for n in names], sc["clients"], sc["duration"])
    m.stop()
    if w["non2xx"] or w["socket_errors"]:
        raise ScenarioError(f"wrk: {w['non2xx']} non-2xx, {w['socket_errors']} socket errors")
    return {"throughput MB/s": (w["bytes"] / w["seconds"] / 1e6, "higher"),
            "req/s": (w["rps"], "higher"), "latency p99 ms": (w["p99_ms"], "lower")}, w["bytes"]


def scenario_3(h, target, emu, m):
    sc = h.scale
    names = tiny_names(sc)
    warm(h, target, names, 8)
    m.start()
    w = run_wrk(h, target.port, ["/" + n for n in names], sc["clients"], sc["duration"])
    m.stop()
    if w["non2xx"] or w["socket_errors"]:
        raise ScenarioError(f"wrk: {w['non2xx']} non-2xx, {w['socket_errors']} socket errors")
    return {"req/s": (w["rps"], "higher"), "latency p50 ms": (w["p50_ms"], "lower"),
            "latency p99 ms": (w["p99_ms"], "lower")}, w["bytes"]


def origin_body_bytes(emu, name=None):
    s = emu.stats()
    return s["objects"][name]["body_bytes"] if name else s["body_bytes"]


def scenario_4(h, target, emu, m):
    sc = h.scale
    m.start()
    r = run_fetch(h, target.port, [item("big.bin")])
    m.stop()
    check_results(r)
    r = r[0]
    origin = origin_body_bytes(emu, "big.bin")
    return {"throughput MB/s": (r["bytes"] / (r["ms"] / 1000) / 1e6, "higher"),
            "TTFB ms": (r["ttfb_ms"], "lower"),
            "origin bytes / object": (origin / sc["big"], "lower")}, r["bytes"]


def scenario_5(h, target, emu, m):
    sc = h.scale
    n = sc["clients"]
    m.start()
    rs = run_fetch(h, target.port, [item("herd.bin")], concurrency=n, requests=n)
    m.stop()
    check_results(rs)
    ttfb = [r["ttfb_ms"] for r in rs]
    total = [r["ms"] for r in rs]
    origin = origin_body_bytes(emu, "herd.bin")
    return {"TTFB p50 ms": (percentile(ttfb, 50), "lower"),
            "TTFB p99 ms": (percentile(ttfb, 99), "lower"),
            "time p99 ms": (percentile(total, 99), "lower"),
            "origin bytes / object": (origin / sc["herd"], "lower")}, sum(r["bytes"] for r in rs)


def scenario_6(h, target, emu, m):
    sc = h.scale
    first = sc["big"] * 19 // 20  # inside the last 10%
    last = min(sc["big"] - 1, first + sc["range_len"] - 1)
    m.start()
    r = run_fetch(h, target.port, [item("big.bin", (first, last))])
    m.stop()
    check_results(r, want_status=(206,))
    r = r[0]
    if r["bytes"] != last - first + 1:
        raise ScenarioError(f"got {r['bytes']} bytes, want {last - first + 1}")
    origin = origin_body_bytes(emu, "big.bin")
    return {"TTFB ms": (r["ttfb_ms"], "lower"), "time ms": (r["ms"], "lower"),
            "origin MB fetched": (origin / 1e6, "lower")}, r["bytes"]


SCENARIO_FUNCS = {1: (scenario_1, "fast"), 2: (scenario_2, "fast"), 3: (scenario_3, "fast"),
                  4: (scenario_4, "s3"), 5: (scenario_5, "s3"), 6: (scenario_6, "s3")}


class Meter:
    """CPU seconds and peak RSS of the target's processes over the measured phase."""

    def __init__(self, target):
        self.target = target
        self.cpu = 0.0
        self.rss = 0

    def start(self):
        pids = self.target.pids()
        reset_peak_rss(pids)
        self.cpu0 = cpu_seconds(pids)
        self.pids = pids

    def stop(self):
        pids = sorted(set(self.pids) | set(self.target.pids()))
        self.cpu = cpu_seconds(pids) - self.cpu0
        self.rss = peak_rss_bytes(pids)


# ---------------------------------------------------------------- the harness

class Harness:
    def __init__(self, args):
        self.args = args
        self.scale = dict(SCALES[args.scale])
        if args.clients:
            self.scale["clients"] = args.clients
        if args.duration:
            self.scale["duration"] = args.duration
        build = args.build_dir
        self.s3emu = os.path.join(build, "bench", "s3emu")
        self.s3emu_fetch = os.path.join(build, "bench", "s3emu-fetch")
        for b in (self.s3emu, self.s3emu_fetch):
            if not os.path.exists(b):
                sys.exit(f"run.py: {b} not found; build first (ninja -C {build})")
        self.knobs = {"workers": args.workers, "chunk-size": args.chunk_size,
                      "concurrency": args.concurrency, "direct-io": args.direct_io,
                      "pipe-size": args.pipe_size, "splice-size": args.splice_size}
        self.rows = []  # dicts: scenario, title, metric, better, target, value, error, knob

    def run_one(self, number, target_name, knob_label=""):
        func, profile = SCENARIO_FUNCS[number]
        self.workdir = tempfile.mkdtemp(prefix=f"s{number}-{target_name}-", dir=self.tmp)
        emu = Emulator(self, profile, self.workdir)
        target = (Xs3lerator if target_name == "xs3lerator" else Nginx)(self, emu, self.workdir)
        t0 = time.time()
        base = {"scenario": number, "title": SCENARIOS[number], "target": target_name,
                "knob": knob_label}
        try:
            emu.start()
            target.start()
            emu.wait_digests()
            emu.reset()
            meter = Meter(target)
            metrics, served = func(self, target, emu, meter)
            if not target.alive():
                raise ScenarioError("target exited: " + tail(target.log))
            metrics["peak RSS MiB"] = (meter.rss / MiB, "lower")
            metrics["CPU s/GB"] = (meter.cpu / (served / 1e9) if served else float("nan"), "lower")
            for k, (v, better) in metrics.items():
                self.rows.append(dict(base, metric=k, better=better, value=v, error=""))
            status = "ok"
        except (ScenarioError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
            msg = str(e) or type(e).__name__
            if target.proc is not None and not target.alive():
                msg += f" [target exited {target.proc.returncode}]"
            self.rows.append(dict(base, metric="(failed)", better="", value=float("nan"),
                                  error=msg[:300]))
            status = "FAILED: " + msg[:120]
        finally:
            target.stop()
            emu.stop()
            if not self.args.keep_temp:
                shutil.rmtree(self.workdir, ignore_errors=True)
        print(f"  scenario {number} {target_name:<10} {knob_label:<20} {time.time() - t0:6.1f}s "
              f"{status}", flush=True)

    def run(self):
        self.tmp = tempfile.mkdtemp(prefix="xs3bench-", dir=self.args.tmp_dir)
        try:
            if self.args.sweep:
                knob, values = self.args.sweep
                for v in values:
                    self.knobs[knob] = v
                    for n in self.args.scenarios:
                        for t in self.args.targets:
                            self.run_one(n, t, f"{knob}={v}")
            else:
                for n in self.args.scenarios:
                    for t in self.args.targets:
                        self.run_one(n, t)
        finally:
            if self.args.keep_temp:
                print(f"kept caches and logs in {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- reporting

def fmt_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table_rows(rows):
    """Merge per-target rows into (scenario, knob, metric) lines with both targets and a ratio."""
    merged = {}
    order = []
    for r in rows:
        key = (r["knob"], r["scenario"], r["metric"])
        if key not in merged:
            merged[key] = {"scenario": r["scenario"], "title": r["title"], "knob": r["knob"],
                           "metric": r["metric"], "better": r["better"], "values": {},
                           "errors": {}}
            order.append(key)
        merged[key]["values"][r["target"]] = r["value"]
        if r["error"]:
            merged[key]["errors"][r["target"]] = r["error"]
    # A target that failed a scenario shows FAIL on every metric the other target reported;
    # the bare "(failed)" line stays only when nobody produced numbers.
    failed = {(r["knob"], r["scenario"], r["target"]): r["error"] for r in rows if r["error"]}
    has_metrics = {(k[0], k[1]) for k in order if k[2] != "(failed)"}
    out = []
    for key in order:
        m = merged[key]
        if key[2] == "(failed)" and (key[0], key[1]) in has_metrics:
            continue
        for (knob, scenario, target), err in failed.items():
            if (knob, scenario) == (key[0], key[1]):
                m["errors"][target] = err
        x, n = m["values"].get("xs3lerator"), m["values"].get("nginx")
        ratio = x / n if (x is not None and n and not math.isnan(x) and not math.isnan(n)) else None
        m["ratio"] = ratio
        out.append(m)
    return out


def render_table(rows, targets):
    lines = []
    header = ["#", "scenario", "metric"] + list(targets) + (
        ["xs3/nginx"] if len(targets) == 2 else []) + ["better"]
    body = []
    for m in table_rows(rows):
        label = m["title"] + (f" [{m['knob']}]" if m["knob"] else "")
        cells = [str(m["scenario"]), label, m["metric"]]
        for t in targets:
            if t in m["errors"]:
                cells.append("FAIL")
            else:
                cells.append(fmt_value(m["values"].get(t)))
        if len(targets) == 2:
            cells.append(f"{m['ratio']:.2f}x" if m["ratio"] is not None else "-")
        cells.append(m["better"])
        body.append(cells)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    sep = "+".join("-" * (w + 2) for w in widths)
    lines.append(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append(sep)
    for r in body:
        lines.append(" | ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))))
    failures = [(r, r["target"], r["error"]) for r in rows if r["error"]]
    if failures:
        lines.append("")
        lines.append("Failures:")
        for m, t, e in failures:
            lines.append(f"  scenario {m['scenario']} on {t}{' [' + m['knob'] + ']' if m['knob'] else ''}: {e}")
    return "\n".join(lines)


def gnuplot(script, cwd):
    if not shutil.which("gnuplot"):
        return False
    p = subprocess.run(["gnuplot"], input=script, text=True, cwd=cwd, capture_output=True)
    if p.returncode != 0:
        print("gnuplot: " + p.stderr.strip()[:300], file=sys.stderr)
    return p.returncode == 0


def chart_bars(out_dir, name, title, ylabel, entries, targets, log_y=False):
    """entries: [(label, {target: value})] -> clustered bar chart PNG."""
    if not entries:
        return None
    dat = os.path.join(out_dir, name + ".dat")
    with open(dat, "w") as f:
        for label, vals in entries:
            cells = []
            for t in targets:
                v = vals.get(t)
                cells.append("?" if v is None or math.isnan(v) else repr(v))
            f.write(json.dumps(label) + " " + " ".join(cells) + "\n")
    plots = ", ".join(
        f"'{name}.dat' using {i + 2}:xtic(1) title '{t}'" for i, t in enumerate(targets))
    script = f"""
set terminal pngcairo size 1100,520 font ',10'
set output '{name}.png'
set title '{title}'
set ylabel '{ylabel}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics
{"set logscale y" if log_y else "set yrange [0:*]"}
set datafile missing '?'
set xtics rotate by -20 scale 0 font ',9'
plot {plots}
"""
    return name + ".png" if gnuplot(script, out_dir) else None


def write_charts(out_dir, rows, targets):
    merged = table_rows(rows)
    charts = []
    groups = [
        ("throughput", "Throughput (MB/s, higher is better)", "MB/s",
         lambda m: m["metric"] == "throughput MB/s"),
        ("requests", "Requests per second (higher is better)", "req/s",
         lambda m: m["metric"] == "req/s"),
        ("ttfb", "Time to first byte (ms, log scale, lower is better)", "ms",
         lambda m: "TTFB" in m["metric"]),
        ("rss", "Peak RSS during the scenario (MiB, lower is better)", "MiB",
         lambda m: m["metric"] == "peak RSS MiB"),
        ("cpu", "CPU seconds per GB served (lower is better)", "CPU s/GB",
         lambda m: m["metric"] == "CPU s/GB"),
    ]
    for name, title, ylabel, pick in groups:
        entries = []
        for m in merged:
            if pick(m):
                label = f"{m['scenario']}: {m['metric']}" + (f" {m['knob']}" if m["knob"] else "")
                entries.append((label, m["values"]))
        c = chart_bars(out_dir, name, title, ylabel, entries, targets, log_y=(name == "ttfb"))
        if c:
            charts.append(c)
    return charts


def write_sweep_charts(out_dir, rows, targets, knob, values):
    charts = []
    merged = table_rows(rows)
    by_metric = {}
    for m in merged:
        by_metric.setdefault((m["scenario"], m["metric"]), {})[m["knob"]] = m["values"]
    for (scenario, metric), per_knob in by_metric.items():
        if metric == "(failed)":
            continue
        safe = re.sub(r"[^a-z0-9]+", "_", f"sweep_s{scenario}_{metric}".lower()).strip("_")
        dat = os.path.join(out_dir, safe + ".dat")
        with open(dat, "w") as f:
            for v in values:
                vals = per_knob.get(f"{knob}={v}", {})
                cells = []
                for t in targets:
                    x = vals.get(t)
                    cells.append("?" if x is None or math.isnan(x) else repr(x))
                f.write(json.dumps(str(v)) + " " + " ".join(cells) + "\n")
        plots = ", ".join(f"'{safe}.dat' using 0:{i + 2}:xtic(1) with linespoints lw 2 "
                          f"title '{t}'" for i, t in enumerate(targets))
        script = f"""
set terminal pngcairo size 900,480 font ',10'
set output '{safe}.png'
set title 'Scenario {scenario}: {metric} vs {knob}'
set xlabel '{knob}'
set ylabel '{metric}'
set grid
set key bottom right
set offsets 0.25, 0.25, 0, 0
set yrange [0:*]
set datafile missing '?'
plot {plots}
"""
        if gnuplot(script, out_dir):
            charts.append(safe + ".png")
    return charts


def write_results(h, out_dir, started):
    os.makedirs(out_dir, exist_ok=True)
    args = h.args
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "title", "knob", "metric", "better", "target", "value", "error"])
        for r in h.rows:
            w.writerow([r["scenario"], r["title"], r["knob"], r["metric"], r["better"],
                        r["target"], "" if math.isnan(r["value"]) else f"{r['value']:.6g}",
                        r["error"]])
    table = render_table(h.rows, args.targets)
    with open(os.path.join(out_dir, "table.txt"), "w") as f:
        f.write(table + "\n")
    charts = write_charts(out_dir, h.rows, args.targets)
    if args.sweep:
        charts += write_sweep_charts(out_dir, h.rows, args.targets, *args.sweep)
    meta = {
        "started": started, "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "scale": args.scale, "scale_params": h.scale, "knobs": h.knobs,
        "targets": args.targets, "scenarios": args.scenarios,
        "origin": {"latency": args.origin_latency, "conn_bandwidth": args.origin_bandwidth},
        "nginx_slice": args.nginx_slice, "sweep": args.sweep,
        "host": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                 "load": os.getloadavg()},
        "rows": [dict(r, value=None if math.isnan(r["value"]) else r["value"]) for r in h.rows],
        "charts": charts,
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return table, charts


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=sorted(SCALES), default="full")
    p.add_argument("--scenarios", default="1,2,3,4,5,6",
                   help="comma-separated scenario numbers (7, resources, is measured in each)")
    p.add_argument("--targets", default="xs3lerator,nginx")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--xs3lerator", help="proxy binary (default: BUILD/xs3lerator)")
    p.add_argument("--nginx", default="nginx")
    p.add_argument("--out", help="results directory (default: bench/results/<timestamp>)")
    p.add_argument("--tmp-dir", default=None, help="where caches live during a run")
    p.add_argument("--keep-temp", action="store_true", help="keep caches and logs of each run")
    # Knobs.
    p.add_argument("--chunk-size", help="xs3lerator --chunk-size (and nginx slice when given)")
    p.add_argument("--concurrency", help="xs3lerator --max-concurrency")
    p.add_argument("--workers", type=int, default=2, help="xs3lerator workers / nginx processes")
    p.add_argument("--direct-io", action="store_true", help="xs3lerator --direct-io")
    p.add_argument("--pipe-size", help="xs3lerator --pipe-size")
    p.add_argument("--splice-size", help="xs3lerator --splice-size")
    p.add_argument("--nginx-slice", default="8MiB", help="nginx slice size (1-8 MiB)")
    p.add_argument("--sweep", help="KNOB=v1,v2,...: run the scenarios once per value "
                                   "(knobs: chunk-size, concurrency, workers, direct-io, "
                                   "pipe-size, splice-size)")
    # Load and origin.
    p.add_argument("--clients", type=int, help="connections for scenarios 2, 3 and 5")
    p.add_argument("--duration", type=int, help="seconds of wrk load for scenarios 2 and 3")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--origin-latency", default="20ms")
    p.add_argument("--origin-bandwidth", default="100MB", help="per origin connection, per second")
    p.add_argument("--emu-threads", type=int, default=2)
    p.add_argument("--no-sha224", dest="sha224", action="store_false",
                   help="objects without x-amz-meta-sha224")
    p.add_argument("--max-cache-size", default="8GiB")
    p.add_argument("--xs3-arg", action="append", default=[], help="extra xs3lerator argument")
    p.add_argument("--emu-arg", action="append", default=[], help="extra s3emu argument")
    args = p.parse_args(argv)
    args.scenarios = [int(s) for s in args.scenarios.split(",") if s.strip() and s.strip() != "7"]
    for s in args.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s}")
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in args.targets:
        if t not in TARGETS:
            p.error(f"unknown target {t}")
    if args.xs3lerator is None:
        args.xs3lerator = os.path.join(args.build_dir, "xs3lerator")
    if args.sweep:
        knob, _, values = args.sweep.partition("=")
        knobs = ("chunk-size", "concurrency", "workers", "direct-io", "pipe-size", "splice-size")
        if knob not in knobs or not values:
            p.error("--sweep wants KNOB=v1,v2 with KNOB one of " + ", ".join(knobs))
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if knob == "workers":
            vals = [int(v) for v in vals]
        args.sweep = (knob, vals)
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    h = Harness(args)
    started = datetime.datetime.now()
    out_dir = args.out or os.path.join(HERE, "results", started.strftime("%Y%m%d-%H%M%S"))
    sc = h.scale
    print(f"xs3lerator bench: scale={args.scale} (large {fmt_size(sc['big'])}, herd "
          f"{fmt_size(sc['herd'])}, {sc['medium_count']}x{fmt_size(sc['medium'])}, "
          f"{sc['tiny_count']}x{fmt_size(sc['tiny'])}, {sc['clients']} clients), targets="
          f"{','.join(args.targets)}, origin {args.origin_bandwidth}/s per connection + "
          f"{args.origin_latency} first byte", flush=True)
    h.run()
    table, charts = write_results(h, out_dir, started.isoformat(timespec="seconds"))
    print()
    print(table)
    print()
    print(f"results: {out_dir} (table.txt, results.csv, results.json"
          + (", " + ", ".join(charts) if charts else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
