"""Load generators and their parsers: s3emu-fetch (the harness's verifying client), wrk
(HTTP/1.1 keep-alive load), h2load (HTTP/2 prior knowledge, and HTTP/1.1 with --h1), an HTTP/2
preface probe that says why a server does not speak h2c, and a plain GET."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from .common import KiB, MiB, GiB, ScenarioError, NotAvailable


def run_fetch(h, port, items, concurrency=1, requests=None, verify=True, timeout=900):
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


def wait_for_hits(port, paths, timeout=120.0):
    """Asks for the first byte of each path until the answer says x-cache: HIT (a download's
    SHA-224 check and publication run after its last byte went out: a measurement started before
    would count that work and serve a MISS). Returns the paths that never became hits."""
    deadline = time.monotonic() + timeout
    left = []
    for path in paths:
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", path, headers={"Range": "bytes=0-0"})
                r = conn.getresponse()
                r.read()
                hit = (r.getheader("x-cache") or "").upper().startswith("HIT")
            finally:
                conn.close()
            if hit:
                break
            if time.monotonic() > deadline:
                left.append(path)
                break
            time.sleep(0.05)
    return left


def wait_published(cache_dir, timeout=120.0):
    """Waits until no download's temp file (cache_dir/.tmp/*.part) is left: its SHA-224 check and
    publication are over. A GET during them is already a hit (served from the complete
    download), so wait_for_hits returns then; but the check's CPU would count in the
    measurement that follows. Returns False on timeout."""
    tmp = os.path.join(cache_dir, ".tmp")
    deadline = time.monotonic() + timeout
    while True:
        try:
            parts = [f for f in os.listdir(tmp) if f.endswith(".part")]
        except FileNotFoundError:
            parts = []
        if not parts:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def http_get(port, path, timeout=5):
    """One GET on a fresh connection -> (status, {lowercased header: value}, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


# ---------------------------------------------------------------- wrk

WRK_LUA = """\
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def wrk_unit(value, unit):
    mult = {"": 1, "K": KiB, "KB": KiB, "M": MiB, "MB": MiB, "G": GiB, "GB": GiB,
            "B": 1}[unit.upper()]
    return float(value) * mult


def time_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(h, port, paths, connections, duration):
    if not shutil.which("wrk"):
        raise NotAvailable("wrk not installed")
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
           "seconds": time_ms(m.group(2), m.group(3)) / 1000}
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "99"):
        lm = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(\w+)", out, re.M)
        res[f"p{pct}_ms"] = time_ms(lm.group(1), lm.group(2)) if lm else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in sock.groups()) if sock else 0
    res["raw"] = out
    return res


# ---------------------------------------------------------------- HTTP/2

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def h2c_refusal(port, timeout=2.0):
    """None when the server on port answers the HTTP/2 connection preface (prior knowledge) with
    a SETTINGS frame, as RFC 9113 section 3.4 requires; otherwise a sentence saying what it did."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return f"cannot connect: {e}"
    data = b""
    try:
        s.sendall(H2_PREFACE + H2_EMPTY_SETTINGS)
        while len(data) < 9:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    except OSError as e:
        if not data:
            return f"connection error after the HTTP/2 preface: {e}"
    finally:
        s.close()
    if len(data) >= 9 and data[3] == 0x4:
        return None
    if data.startswith(b"HTTP/"):
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        return f"answered the HTTP/2 preface with HTTP/1.x '{line}' (no h2c prior knowledge)"
    if not data:
        return "sent nothing back to the HTTP/2 preface (no h2c prior knowledge)"
    return f"answered the HTTP/2 preface with {data[:16]!r}, not a SETTINGS frame"


def run_h2load(h, port, paths, connections, streams, duration, h1=False):
    """Timing-based h2load (-D) over `connections` connections with `streams` concurrent
    requests each (HTTP/2 streams; with h1, streams must be 1: no pipelining)."""
    if not shutil.which("h2load"):
        raise NotAvailable("h2load not installed (Debian package nghttp2-client)")
    if not h1:
        why = h2c_refusal(port)
        if why:
            raise ScenarioError("h2c: server " + why)
    uris = os.path.join(h.workdir, "h2load-uris.txt")
    with open(uris, "w") as f:
        for p in paths:
            f.write(f"http://127.0.0.1:{port}{p}\n")
    threads = max(1, min(connections, h.args.h2load_threads))
    cmd = ["h2load", "-t", str(threads), "-c", str(connections), "-m", str(streams),
           "-D", str(duration), "-i", uris]
    if h1:
        cmd.append("--h1")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    except subprocess.TimeoutExpired:
        raise ScenarioError(f"h2load did not finish within {duration + 60}s")
    return parse_h2load(p.stdout, p.stderr, p.returncode)


def parse_h2load(out, err="", returncode=0):
    proto = "HTTP/1.1" if "Application protocol: http/1.1" in out else "h2c"
    fin = re.search(r"finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    traffic = re.search(r"traffic: .*?\((\d+)\) total.*?\((\d+)\) data", out)
    if not (fin and req and codes and traffic):
        last = (err.strip() or out.strip()).splitlines()[-3:]
        raise ScenarioError(f"h2load exited {returncode}: " + " | ".join(last)[:240])
    total, started, done, ok, failed, errored, timeouts = map(int, req.groups())
    c2, c3, c4, c5 = map(int, codes.groups())
    if ok == 0:
        hint = [l.strip() for l in (err + out).splitlines()
                if re.search(r"error|refused|reset|negotiat|GOAWAY|failed", l, re.I)
                and not l.startswith("requests:")]
        raise ScenarioError(f"h2load ({proto}): 0 of {started} started requests succeeded"
                            + (f" ({hint[0][:160]})" if hint else ""))
    if failed or errored or timeouts or c3 or c4 or c5:
        raise ScenarioError(f"h2load ({proto}): {failed} failed, {errored} errored, "
                            f"{timeouts} timed out, status {c3} 3xx {c4} 4xx {c5} 5xx")
    seconds = time_ms(fin.group(1), fin.group(2)) / 1000
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    return {"requests": ok, "seconds": seconds, "rps": float(fin.group(3)),
            "data_bytes": int(traffic.group(2)), "total_bytes": int(traffic.group(1)),
            "mean_ms": time_ms(mean.group(1), mean.group(2)) if mean else float("nan"),
            "protocol": proto, "raw": out}
