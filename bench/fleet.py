#!/usr/bin/python3
"""The fleet against independent caches, in the same run, in front of one s3emu.

Each repeat reads a fresh cold object through three setups, one client per node, all at once:
- fleet:       three xs3lerator members of one static fleet (--peers): the object's owner
               fetches it from the origin, the other two fill from the owner;
- independent: three xs3lerator with no fleet, each fetching the object itself;
- single:      one xs3lerator alone, one client (the baseline for "no slower than one node").
Reported per setup (medians over the repeats, with min and max): origin bytes / object size
(goal: fleet 1.0x, independent 3.0x), ms until every client has the whole object (all nodes
streamed it), and ms until every node has published it into its cache (it would now answer a
hit), and the CPU the nodes and the origin spent meanwhile (on a small shared box the setups are
CPU-bound: the fleet's three nodes and the independent caches share the cores that one node alone
has to itself; the nodes' threads' time runnable but waiting for a CPU says how much). Every body is checked byte for byte with s3emu-verify. The setups run interleaved
(fleet, independent, single, fleet, ...) so a noisy minute of the shared box hits all alike.

    bench/fleet.py [--build build] [--size 64MiB] [--repeat 3] [--latency 20ms]
                   [--conn-bandwidth 100MB] [--chunk-size 8MiB] [--workers 1] [--out FILE]
                   [--trace DIR] [--only fleet,single] [--xs3-args "--send-mode splice"]

--trace DIR gives every node --debug-trace DIR/<setup>-r<run>-<node>.jsonl and writes
DIR/t0.json (each read's start on the trace clock, CLOCK_MONOTONIC µs) to line them up.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness.common import (cpu_seconds, free_port, parse_size, stop_process,  # noqa: E402
                            wait_port, wait_port_file)


def cpu_wait_ms(pids):
    """ms the threads of `pids` have spent runnable but waiting for a CPU (schedstat); threads
    that exited meanwhile are not counted."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return total / 1e6


def http_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.load(r)


def metric(admin_port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        m = re.search(rf"^{name} (\d+)$", r.read().decode(), re.M)
    return int(m.group(1)) if m else 0


class Emu:
    def __init__(self, args, workdir, objects):
        self.log = os.path.join(workdir, "s3emu.log")
        port_file = self.log + ".port"
        cmd = [os.path.join(args.build, "bench", "s3emu"), "--port", "0", "--port-file",
               port_file, "--threads", "2", "--log-level", "warn", "--latency", args.latency,
               "--conn-bandwidth", args.conn_bandwidth]
        for name, seed in objects:
            cmd += ["--object", f"name={name},size={args.size},seed={seed}"]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.port = wait_port_file(self.proc, port_file, self.log, "s3emu", error=SystemExit)

    def body_bytes(self, name):
        return http_json(self.port, "/__stats")["objects"][name]["body_bytes"]

    def stop(self):
        stop_process(self.proc)


class Node:
    def __init__(self, args, emu, workdir, name, port, admin, peers=None):
        self.port, self.admin = port, admin
        self.cache = os.path.join(workdir, name + "-cache")
        self.log = os.path.join(workdir, name + ".log")
        os.makedirs(self.cache, exist_ok=True)
        cmd = [args.xs3lerator, "--bind-ip", "127.0.0.1", "--port", str(port), "--bucket", "bench",
               "--s3-endpoint-url", f"http://127.0.0.1:{emu.port}", "--s3-force-path-style",
               "--region", "us-east-1", "--cache-dir", self.cache, "--max-cache-size", "16GiB",
               "--workers", str(args.workers), "--chunk-size", args.chunk_size,
               "--admin-port", str(admin), "--log-level", "warn"]
        if peers:
            cmd += ["--peers", peers, "--peer-probe-interval", "200ms"]
        cmd += shlex.split(args.xs3_args)
        if args.trace:
            cmd += ["--debug-trace", os.path.join(args.trace, name + ".jsonl")]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        wait_port(port, self.proc, 20, name, self.log)

    def stop(self):
        stop_process(self.proc)


def start_nodes(args, emu, workdir, label, n, fleet):
    ports = [free_port() for _ in range(n)]
    admins = [free_port() for _ in range(n)]
    peers = ",".join(f"127.0.0.1:{p}" for p in ports) if fleet else None
    nodes = []
    try:
        for i in range(n):
            nodes.append(Node(args, emu, workdir, f"{label}-{i}", ports[i], admins[i], peers))
        if fleet:
            deadline = time.time() + 30
            for node in nodes:
                while {p["state"] for p in http_json(node.admin, "/fleet")["peers"]} != {"live"}:
                    if time.time() > deadline:
                        raise SystemExit(f"{label}: members did not see each other live")
                    time.sleep(0.05)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def fetch(port, name, out_path, result, i):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", "/" + name)
    r = conn.getresponse()
    size = 0
    with open(out_path, "wb") as f:
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            f.write(chunk)
            size += len(chunk)
    conn.close()
    result[i] = (r.status, r.getheader("x-cache"), size, time.monotonic())


def measure(args, emu, workdir, label, n, fleet, name, seed):
    """One cold read of `name` from n nodes at once -> (metrics dict, x-cache values)."""
    nodes = start_nodes(args, emu, workdir, label, n, fleet)
    try:
        before = emu.body_bytes(name)
        pids = [node.proc.pid for node in nodes]
        cpu_nodes, cpu_emu = cpu_seconds(pids), cpu_seconds([emu.proc.pid])
        waited = cpu_wait_ms(pids)
        results = [None] * n
        outs = [os.path.join(workdir, f"{label}-{i}.body") for i in range(n)]
        threads = [threading.Thread(target=fetch, args=(nodes[i].port, name, outs[i], results, i))
                   for i in range(n)]
        t0 = time.monotonic()
        if args.trace:
            args.t0[label] = int(t0 * 1e6)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clients_done = max(r[3] for r in results if r) - t0
        published = set()
        while len(published) < n:
            for i, node in enumerate(nodes):
                if i not in published and metric(node.admin, "xs3_downloads_published_total") >= 1:
                    published.add(i)
            if time.monotonic() - t0 > 300:
                raise SystemExit(f"{label}: not every node published {name}")
            time.sleep(0.005)
        all_published = time.monotonic() - t0
        cpu_nodes = cpu_seconds(pids) - cpu_nodes
        cpu_emu = cpu_seconds([emu.proc.pid]) - cpu_emu
        waited = cpu_wait_ms(pids) - waited
        size = parse_size(args.size)
        for i, r in enumerate(results):
            if r is None or r[0] != 200 or r[2] != size:
                raise SystemExit(f"{label}: node {i} answered {r}")
            v = subprocess.run([os.path.join(args.build, "bench", "s3emu-verify"), "--name", name,
                                "--seed", str(seed), "--size", str(size), outs[i]],
                               capture_output=True, text=True)
            if v.returncode != 0:
                raise SystemExit(f"{label}: node {i}: wrong bytes: {v.stdout.strip()}")
            os.unlink(outs[i])
        origin = emu.body_bytes(name) - before
        peer_bytes = sum(metric(node.admin, "xs3_peer_bytes_total") for node in nodes)
        return {"origin bytes / object": origin / size,
                "ms until every client has it": clients_done * 1000,
                "ms until every node published it": all_published * 1000,
                "peer bytes / object": peer_bytes / size,
                "CPU ms of the nodes": cpu_nodes * 1000,
                "CPU ms of the origin": cpu_emu * 1000,
                "ms the nodes waited for a CPU": waited}, [r[1] for r in results]
    finally:
        for node in nodes:
            node.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    p.add_argument("--xs3lerator")
    p.add_argument("--size", default="64MiB")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--latency", default="20ms", help="s3emu first-byte latency")
    p.add_argument("--conn-bandwidth", default="100MB", help="s3emu bandwidth per connection")
    p.add_argument("--chunk-size", default="8MiB")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--trace", help="a --debug-trace per node in this directory")
    p.add_argument("--only", help="run only these setups (comma-separated)")
    p.add_argument("--xs3-args", default="",
                   help="more options for every node, e.g. \"--send-mode splice\"")
    args = p.parse_args()
    args.xs3lerator = args.xs3lerator or os.path.join(args.build, "xs3lerator")
    setups = [("fleet", 3, True), ("independent", 3, False), ("single", 1, False)]
    if args.only:
        setups = [s for s in setups if s[0] in args.only.split(",")]
    args.t0 = {}
    if args.trace:
        os.makedirs(args.trace, exist_ok=True)
    objects = [(f"{label}-{r}.bin", 1000 + 10 * r + k)
               for r in range(args.repeat) for k, (label, _, _) in enumerate(setups)]
    seeds = dict(objects)
    workdir = tempfile.mkdtemp(prefix="xs3-bench-fleet-")
    emu = Emu(args, workdir, objects)
    runs = {label: [] for label, _, _ in setups}
    caches = {label: [] for label, _, _ in setups}
    try:
        for r in range(args.repeat):
            for label, n, fleet in setups:
                name = f"{label}-{r}.bin"
                m, xc = measure(args, emu, workdir, f"{label}-r{r}", n, fleet, name, seeds[name])
                runs[label].append(m)
                caches[label].append(xc)
                print(f"  run {r + 1} {label:12s} " + "  ".join(
                    f"{k} {v:.2f}" for k, v in m.items()) + f"  x-cache {xc}", flush=True)
    finally:
        emu.stop()
    print(f"\nobject {args.size}, origin {args.conn_bandwidth}/s per connection + {args.latency} "
          f"first byte, chunk {args.chunk_size}, {args.workers} worker(s) per node; medians of "
          f"{args.repeat} (min-max)")
    if args.trace:
        with open(os.path.join(args.trace, "t0.json"), "w") as f:
            json.dump(args.t0, f, indent=2)
    keys = list(runs[setups[0][0]][0].keys())
    table = {}
    print(f"{'metric':36s}" + "".join(f"{label:>26s}" for label, _, _ in setups))
    for k in keys:
        row = f"{k:36s}"
        for label, _, _ in setups:
            vals = [m[k] for m in runs[label]]
            med = statistics.median(vals)
            table.setdefault(k, {})[label] = {"median": med, "min": min(vals), "max": max(vals),
                                              "runs": vals}
            row += f"{med:>12.2f} ({min(vals):.1f}-{max(vals):.1f})".rjust(26)
        print(row)
    t = table["ms until every client has it"]
    if "fleet" in t and "single" in t:
        fleet_t, single_t = t["fleet"]["median"], t["single"]["median"]
        print(f"\nfleet / single (every client has it): {fleet_t / single_t:.2f}x; "
              f"fleet - single: {fleet_t - single_t:+.0f} ms")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "table": table, "x_cache": caches}, f, indent=2)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
