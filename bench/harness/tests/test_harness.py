"""Unit tests of the harness's parsers, aggregation, checks and probes, plus xs3-cachegen's
output (file layout, names, bytes). Run by meson (suite 'bench', test harness/unit) with
XS3_CACHEGEN and S3EMU_VERIFY pointing at the built tools; tests needing them skip otherwise."""
import argparse
import errno
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import types

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from harness import common, load, probe, procs, report, startup  # noqa: E402
from harness.common import ScenarioError, NotAvailable  # noqa: E402

CACHEGEN = os.environ.get("XS3_CACHEGEN", "build/bench/xs3-cachegen")
VERIFY = os.environ.get("S3EMU_VERIFY", "build/bench/s3emu-verify")

H2LOAD_OK = """\
starting benchmark...
Application protocol: h2c
finished in 1.01s, 1948.00 req/s, 1.90GB/s
requests: 1948 total, 1980 started, 1948 done, 1948 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 1951 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.90GB (2044681252) total, 559.10KB (572522) headers (space savings 0.00%), 1.90GB (2044723200) data
                     min         max         mean         sd        +/- sd
time for request:     2.65ms     41.12ms     16.39ms      6.74ms    63.91%
"""

H2LOAD_NONE = """\
Application protocol: h2c
finished in 1.01s, 0.00 req/s, 1.17KB/s
requests: 0 total, 32 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.17KB (1200) total, 0B (0) headers (space savings 0.00%), 0B (0) data
"""


# ---------------------------------------------------------------- sizes and parsers

def test_sizes_and_durations():
    assert common.parse_size("4GiB") == 4 << 30
    assert common.parse_size("100MB") == 100_000_000
    assert common.parse_duration_ms("20ms") == 20
    assert common.parse_duration_ms("1.5s") == 1500
    assert common.parse_duration_ms("500us") == 0.5
    with pytest.raises(argparse.ArgumentTypeError):
        common.parse_duration_ms("soon")
    assert common.fmt_size(4 << 30) == "4 GiB"


def test_object_names_and_seeds():
    scale = {"medium": 1 << 20, "medium_count": 3, "startup_size": 4096, "startup_files": 5}
    assert common.group_names("medium", scale) == ["medium/0.bin", "medium/1.bin", "medium/2.bin"]
    assert common.object_seed("medium/2.bin") == 102
    assert common.object_seed("pop/4.bin") == 1000004
    assert common.object_seed("huge.bin") == 3
    assert common.object_spec("pop", scale) == \
        "name=pop/{i}.bin,size=4096,seed=1000000,sha224=yes,count=5"
    with pytest.raises(KeyError):
        common.object_seed("other.bin")


def test_parse_h2load_success():
    r = load.parse_h2load(H2LOAD_OK)
    assert r["requests"] == 1948
    assert r["rps"] == 1948.0
    assert r["seconds"] == pytest.approx(1.01)
    assert r["data_bytes"] == 2044723200
    assert r["mean_ms"] == pytest.approx(16.39)
    assert r["protocol"] == "h2c"


def test_parse_h2load_nothing_succeeded():
    with pytest.raises(ScenarioError, match="0 of 32 started requests succeeded"):
        load.parse_h2load(H2LOAD_NONE)


def test_parse_h2load_errors_and_garbage():
    bad = H2LOAD_OK.replace("1951 2xx, 0 3xx, 0 4xx", "1900 2xx, 0 3xx, 51 4xx")
    with pytest.raises(ScenarioError, match="51 4xx"):
        load.parse_h2load(bad)
    with pytest.raises(ScenarioError, match="h2load exited 1: connect failed"):
        load.parse_h2load("", "connect failed\n", 1)


class OneShotServer:
    """Accepts one connection, reads the client's bytes, answers `reply` (or closes)."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        c, _ = self.sock.accept()
        c.recv(4096)
        if self.reply:
            c.sendall(self.reply)
            time.sleep(0.1)
        c.close()
        self.sock.close()


def test_h2c_refusal_says_what_the_server_did():
    s = OneShotServer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    assert "'HTTP/1.1 400 Bad Request'" in load.h2c_refusal(s.port)
    s = OneShotServer(b"")
    assert "sent nothing back" in load.h2c_refusal(s.port)
    s = OneShotServer(b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64")
    assert load.h2c_refusal(s.port) is None
    port = common.free_port()
    assert load.h2c_refusal(port).startswith("cannot connect")


# ---------------------------------------------------------------- aggregation and checks

def row(scenario, target, metric, value, run=0, status="ok", reason="", better="higher"):
    return {"scenario": scenario, "title": f"s{scenario}", "knob": "", "target": target,
            "run": run, "metric": metric, "better": better, "value": value, "status": status,
            "reason": reason}


def test_aggregate_medians_and_spread():
    rows = [row(4, "xs3lerator", "throughput MB/s", v, run=i) for i, v in enumerate((90, 100, 110))]
    agg = report.aggregate(rows)
    assert len(agg) == 1
    assert agg[0]["value"] == 100
    assert agg[0]["spread_pct"] == pytest.approx(20)
    assert agg[0]["runs"] == 3
    assert report.fmt_cell(agg[0]) == "100 ±10%"


def test_aggregate_one_failed_run_fails_the_target():
    rows = [row(4, "xs3lerator", "throughput MB/s", 100, run=0),
            row(4, "xs3lerator", "(failed)", float("nan"), run=1, status="fail",
                reason="byte mismatch at 7"),
            row(4, "nginx", "throughput MB/s", 80)]
    agg = report.aggregate(rows)
    x = [r for r in agg if r["target"] == "xs3lerator"]
    assert [(r["metric"], r["status"], r["reason"]) for r in x] == \
        [("throughput MB/s", "fail", "byte mismatch at 7")]
    table = "\n".join(report.render_table(agg, ["xs3lerator", "nginx"]))
    assert "FAIL" in table and "80.0" in table


def test_aggregate_metric_level_states():
    rows = [row(10, "xs3lerator", "h2c req/s", float("nan"), status="fail", reason="no h2c"),
            row(10, "xs3lerator", "HTTP/1.1 req/s", 5000),
            row(10, "nginx", "(n/a)", float("nan"), status="na", reason="no http_v2 module")]
    agg = report.aggregate(rows)
    by = {(r["target"], r["metric"]): r for r in agg}
    assert by[("xs3lerator", "h2c req/s")]["status"] == "fail"
    assert by[("xs3lerator", "HTTP/1.1 req/s")]["value"] == 5000
    assert by[("nginx", "(n/a)")]["status"] == "na"
    lines = report.render_table(agg, ["xs3lerator", "nginx"])
    h1 = [l for l in lines if "HTTP/1.1 req/s" in l][0]
    assert "5,000" in h1 and "n/a" in h1
    problems = "\n".join(report.render_problems(agg))
    assert "scenario 10 on xs3lerator (h2c req/s): no h2c" in problems
    assert "scenario 10 on nginx: no http_v2 module" in problems


def fake_harness(scale="full"):
    args = types.SimpleNamespace(origin_latency="20ms", ttl="60s", scale=scale)
    sc = {"big": 1 << 30, "huge": 4 << 30, "medium": 1 << 20, "tiny": 4096, "clients": 32,
          "startup_files": 100000}
    return types.SimpleNamespace(args=args, scale=sc)


def test_checks_compute_ratios_and_verdicts():
    rows = [row(8, "machine", "machine limit MB/s", 1000),
            row(4, "xs3lerator", "throughput MB/s", 900), row(4, "nginx", "throughput MB/s", 80),
            row(4, "xs3lerator", "TTFB ms", 24.0, better="lower"),
            row(5, "xs3lerator", "origin bytes / object", 1.0),
            row(5, "xs3lerator", "waiter TTFB p99 / first", 2.5),
            row(10, "xs3lerator", "h2c MB/s", float("nan"), status="fail",
                reason="h2c: server answered the HTTP/2 preface with HTTP/1.x"),
            row(10, "xs3lerator", "HTTP/1.1 MB/s", 1000)]
    res = report.Results(report.aggregate(rows))
    got = {label: (value, why, pred(value) if pred and value is not None else None)
           for _, label, (value, why), _, pred, _ in report.checks(res, "", fake_harness())}
    assert got["cold 1 GiB: xs3lerator MB/s / machine limit"][0] == pytest.approx(0.9)
    assert got["cold 1 GiB: xs3lerator MB/s / machine limit"][2] is True
    assert got["cold 1 GiB: xs3lerator / nginx MB/s"][0] == pytest.approx(11.25)
    assert got["cold 1 GiB: TTFB - origin latency (20ms) ms"][0] == pytest.approx(4.0)
    assert got["32 clients: waiter TTFB p99 / first client's TTFB"][2] is False
    h2 = got["h2 hits 1 MiB: xs3lerator h2c / xs3lerator HTTP/1.1 MB/s"]
    assert h2[0] is None and "FAIL" in h2[1] and "preface" in h2[1]
    assert "not run" in got["cold 4 GiB: xs3lerator peak RSS MiB"][1]
    text = "\n".join(report.render_checks(res, [""], fake_harness()))
    assert "PASS" in text and "FAIL [1]" in text and "[1] xs3lerator 'h2c MB/s' FAIL" in text
    assert "peak RSS" not in text  # scenario 9 did not run: no line


def test_issue15_checks_use_the_ttl_variant_and_the_baseline():
    rows = [row(1, "xs3lerator", "throughput MB/s", 2000), row(1, "nginx", "throughput MB/s", 1600),
            row(2, "xs3lerator", "throughput MB/s", 1000), row(2, "xs3lerator", "req/s", 1000),
            row(2, "xs3lerator-ttl", "throughput MB/s", 1500),
            row(2, "xs3lerator-ttl", "req/s", 1500),
            row(2, "xs3lerator-ttl", "CPU s/GB", 0.2, better="lower"),
            row(2, "nginx", "throughput MB/s", 1000), row(2, "nginx", "CPU s/GB", 0.4,
                                                          better="lower"),
            row(3, "xs3lerator", "req/s", 30000), row(3, "nginx", "req/s", 15000),
            row(4, "xs3lerator", "CPU s/GB", 2.5, better="lower"),
            row(10, "xs3lerator", "h2c MB/s", 900), row(10, "xs3lerator", "HTTP/1.1 MB/s", 1000),
            row(10, "xs3-base", "h2c MB/s", 800), row(10, "xs3-base", "HTTP/1.1 MB/s", 1000)]
    res = report.Results(report.aggregate(rows))
    got = {label: (value, pred(value) if pred and value is not None else None)
           for issue, label, (value, why), _, pred, _ in report.checks(res, "", fake_harness())
           if issue == "15"}
    assert got["hit 1 GiB, 1 stream: xs3lerator / nginx MB/s"] == (pytest.approx(1.25), False)
    # Scenario 2 ran with the TTL variant: it is the one compared; scenario 3 did not.
    assert got["hit 1 MiB x 32 conns: xs3lerator-ttl / nginx MB/s"] == (pytest.approx(1.5), True)
    assert got["hit 1 MiB x 32 conns: xs3lerator-ttl / nginx CPU s/GB"] == \
        (pytest.approx(0.5), True)
    assert got["hit 4 KiB: xs3lerator / nginx req/s"] == (pytest.approx(2.0), True)
    assert got["cold 1 GiB: xs3lerator CPU s/GB"] == (pytest.approx(2.5), False)
    assert got["h2 hits 1 MiB: (h2c / HTTP/1.1) of xs3lerator / of xs3-base"] == \
        (pytest.approx(0.9 / 0.8), True)
    assert got["h2 hits 4 KiB: h2c req/s of xs3lerator / of xs3-base"][0] is None


def test_baseline_is_a_target_with_its_own_binary():
    import run
    args = run.parse_args(["--baseline", sys.executable, "--scenarios", "1"])
    assert args.targets == ["xs3lerator", "xs3lerator-ttl", "xs3-base", "nginx"]
    args = run.parse_args(["--baseline", sys.executable, "--targets", "xs3lerator,xs3-base"])
    assert args.targets == ["xs3lerator", "xs3-base"]
    with pytest.raises(SystemExit):
        run.parse_args(["--targets", "xs3-base"])  # no --baseline: not a known target
    with pytest.raises(SystemExit):
        run.parse_args(["--baseline", "/nonexistent/xs3lerator"])


# ---------------------------------------------------------------- scan detection

def test_log_scan_done(tmp_path):
    log = tmp_path / "x.log"
    log.write_text('2026-12-01T21:37:59.844Z level=info msg="xs3lerator listening" port=1\n'
                   '2026-12-01T21:38:00.000Z level=info msg="cache scan started"\n')
    assert startup.log_scan_done(str(log)) == (None, None, True)
    with open(log, "a") as f:
        f.write('2026-12-01T21:38:01.250Z level=info msg="cache scan complete" files=2000 '
                'bytes=1\n')
    when, count, mentioned = startup.log_scan_done(str(log))
    assert mentioned and count == 2000
    assert when == pytest.approx(1796161081.25)


def test_json_scan_state():
    assert startup.json_scan_state({"used_bytes": 5}) == (None, None)
    assert startup.json_scan_state({"scan": "running", "files": 10}) == (False, 10)
    assert startup.json_scan_state({"scan": {"state": "complete", "entries": 7}}) == (True, 7)
    assert startup.json_scan_state({"scanning": False, "objects": 3}) == (True, 3)
    assert startup.json_scan_state({"scan_complete": True}) == (True, None)


class FakeProxy:
    def __init__(self, log, admin_port=None):
        self.log = log
        self.admin_port = admin_port
        self.started_at = time.monotonic()
        self.started_wall = time.time()
        self.proc = types.SimpleNamespace(returncode=None)

    def alive(self):
        return True


def test_wait_scan_from_the_log(tmp_path):
    log = tmp_path / "x.log"
    p = FakeProxy(str(log))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(p.started_wall + 0.5)) + ".%03dZ" % (
        int((p.started_wall + 0.5) * 1000) % 1000)
    log.write_text(f'{stamp} level=info msg="index scan finished" entries=42\n')
    ms, count, why, is_failure = startup.wait_scan(p, timeout=5)
    assert ms == pytest.approx(500, abs=2) and count == 42 and why is None


def test_wait_scan_from_the_admin_listener(tmp_path):
    states = ["running", "running", "done"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"scan": {"state": states.pop(0) if len(states) > 1 else states[0],
                                        "files": 9}}).encode()
            self.send_response(200 if self.path == "/cache/usage" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        (tmp_path / "x.log").write_text("")
        p = FakeProxy(str(tmp_path / "x.log"), srv.server_address[1])
        ms, count, why, _ = startup.wait_scan(p, timeout=5)
        assert ms is not None and ms > 0 and count == 9 and why is None
    finally:
        srv.shutdown()


def test_wait_scan_without_any_report_is_na(tmp_path):
    (tmp_path / "x.log").write_text('2026-01-01T00:00:00.000Z level=info msg="listening"\n')
    p = FakeProxy(str(tmp_path / "x.log"), common.free_port())
    ms, count, why, is_failure = startup.wait_scan(p, timeout=5, grace=0.1)
    assert ms is None and not is_failure and "reports no scan completion" in why


def test_wait_scan_started_but_never_finished_is_a_failure(tmp_path):
    (tmp_path / "x.log").write_text('2026-01-01T00:00:00.000Z level=info msg="scan started"\n')
    p = FakeProxy(str(tmp_path / "x.log"))
    ms, count, why, is_failure = startup.wait_scan(p, timeout=0.2, grace=0.1)
    assert ms is None and is_failure and "did not finish" in why


# ---------------------------------------------------------------- disk probe

def test_disk_probe_writes_and_cleans_up(tmp_path):
    before, synced = probe.disk_write_mbps(str(tmp_path), 2 << 20, direct=False)
    assert before > 0 and synced > 0 and synced <= before
    assert os.listdir(tmp_path) == []


def test_disk_probe_without_o_direct_is_na(tmp_path, monkeypatch):
    real_open = os.open

    def refuse_direct(path, flags, *a):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *a)

    monkeypatch.setattr(os, "open", refuse_direct)
    with pytest.raises(NotAvailable, match="refuses O_DIRECT"):
        probe.disk_write_mbps(str(tmp_path), 1 << 20, direct=True)


# ---------------------------------------------------------------- xs3-cachegen

needs_tools = pytest.mark.skipif(not (os.path.exists(CACHEGEN) and os.path.exists(VERIFY)),
                                 reason="xs3-cachegen / s3emu-verify not built")


def cache_files(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files]
    return sorted(out)


@needs_tools
def test_cachegen_content_keys(tmp_path):
    root = tmp_path / "cache"
    p = subprocess.run([CACHEGEN, "--cache-dir", str(root), "--object",
                        "name=pop/{i}.bin,size=5000,seed=1000000,count=3,sha224=yes"],
                       capture_output=True, text=True, check=True)
    summary = json.loads(p.stdout)
    assert summary["files"] == 3 and summary["bytes"] == 3 * (4096 + 5000)
    files = cache_files(root)
    assert len(files) == 3
    seen = set()
    for path in files:
        data = open(path, "rb").read()
        assert len(data) == 4096 + 5000 and data[:8] == b"XS3CACHE"
        name = os.path.basename(path)
        rel = os.path.relpath(path, root).split(os.sep)
        # <h0>/<h1>/<h2>/<h3>/<sha224 of the bytes>: a content-addressed key.
        assert name == hashlib.sha224(data[4096:]).hexdigest()
        assert rel[:4] == list(name[:4])
        key = [k for k in (b"pop/0.bin", b"pop/1.bin", b"pop/2.bin") if k in data[:4096]]
        assert len(key) == 1
        seen.add(key[0])
        v = subprocess.run([VERIFY, "--name", key[0].decode(),
                            "--seed", str(1000000 + int(key[0][4:5])), "--size", "5000", "-"],
                           input=data[4096:], capture_output=True)
        assert v.returncode == 0, v.stdout
    assert len(seen) == 3


@needs_tools
def test_cachegen_name_keys_and_levels(tmp_path):
    root = tmp_path / "cache"
    subprocess.run([CACHEGEN, "--cache-dir", str(root), "--level", "2", "--bucket", "bk",
                    "--object", "name=a/b.bin,size=10,seed=5,sha224=no"], check=True,
                   capture_output=True)
    files = cache_files(root)
    assert len(files) == 1
    want = hashlib.sha224(b"xs3-name\0bk\0a/b.bin").hexdigest()
    assert os.path.relpath(files[0], root) == os.path.join(want[0], want[1], want + ".n")


@needs_tools
def test_cachegen_rejects_bad_arguments(tmp_path):
    for args in (["--cache-dir", str(tmp_path)],
                 ["--cache-dir", str(tmp_path), "--object", "name=x,size=zz"],
                 ["--cache-dir", str(tmp_path), "--level", "13", "--object", "name=x,size=1"]):
        p = subprocess.run([CACHEGEN, *args], capture_output=True, text=True)
        assert p.returncode == 2, args
