"""The operator's live view on the admin listener: /debug/connections counts connections by
protocol and state, /debug/downloads shows a download in flight chunk by chunk, and /metrics
carries latency histograms (request duration and time to first byte by x-cache and protocol,
S3's first byte by outcome, readers' waits) that promtool accepts."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import urllib.request

import pytest

from e2e_util import Emulator, build_request, free_port, wait_until
from h2_client import H2Client
from test_lifecycle import admin, usage
from test_miss_path import MiB, fetch

CHUNKS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB", "--max-concurrency", "4"]


def start(proxy_factory, emu: Emulator, extra=()):
    admin_port = free_port()
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=[*CHUNKS, "--admin-port", str(admin_port), *extra])
    p.admin_port = admin_port
    wait_until(lambda: usage(admin_port)["scan"]["state"] == "done", 10, what="the scan")
    return p


def metrics_text(p) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
        return r.read().decode()


def sample(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    line_re = re.compile(re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") +
                         r" (\S+)$")
    for line in text.splitlines():
        m = line_re.match(line)
        if m:
            return float(m.group(1))
    raise AssertionError(f"{name}{{{want}}} not in /metrics")


def settled_metrics(p) -> str:
    """/metrics once every request received has ended: a request's duration is counted when its
    last byte is sent, which may be just after the client has read it."""
    def settled():
        text = metrics_text(p)
        ended = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                    if line.startswith("xs3_request_duration_seconds_count{"))
        return text if ended == sample(text, "xs3_requests_total") else None

    return wait_until(settled, 10, what="every request's duration counted")


# --- /debug/connections -------------------------------------------------------------------------


def test_connections_are_counted_by_protocol_and_state(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=c.bin,size=1000,seed=90"])
    p = start(proxy_factory, emu)
    idle = []
    for _ in range(3):  # answered, kept alive, idle
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        s.sendall(build_request("GET", "/c.bin"))
        f = s.makefile("rb")
        assert f.readline().startswith(b"HTTP/1.1 200")
        while f.readline() != b"\r\n":
            pass
        assert len(f.read(1000)) == 1000
        idle.append((s, f))
    partial = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    partial.sendall(b"GET /c.bin HTTP/1.1\r\nHost: x\r\n")  # a head not finished yet
    h2 = H2Client(p.port)
    try:
        assert h2.get("/c.bin").status == 200  # then no stream open
        expected = {"h1.idle": 3, "h1.reading": 1, "h2.idle": 1}

        def counts():
            status, body = admin(p.admin_port, "GET", "/debug/connections")
            assert status == 200
            return body if body["by_state"] == expected else None

        body = wait_until(counts, 10, what=f"connections {expected}")
        assert body["total"] == 5 and body["complete"] is True
        assert body["h2_streams"] == 0
        assert len(body["per_worker"]) == 2 and sum(body["per_worker"]) == 5
    finally:
        h2.close()
        partial.close()
        for s, f in idle:
            f.close()
            s.close()
    wait_until(lambda: admin(p.admin_port, "GET", "/debug/connections")[1]["total"] == 0, 10,
               what="no connection left")


# --- /debug/downloads ---------------------------------------------------------------------------


def test_a_download_in_flight_is_shown_chunk_by_chunk(emulator_factory, proxy_factory):
    # 1 MB/s per origin connection: 8 chunks of 1 MiB, 4 at a time, take seconds.
    emu = emulator_factory(["name=slow.bin,size=8MiB,seed=91"], args=["--conn-bandwidth", "1MB"])
    p = start(proxy_factory, emu)
    got = {}
    t = threading.Thread(target=lambda: got.update(r=fetch(p.port, "/slow.bin")))
    t.start()

    def running():
        status, body = admin(p.admin_port, "GET", "/debug/downloads")
        assert status == 200
        ds = body["downloads"]
        return ds[0] if ds and ds[0]["state"] == "running" and ds[0]["bytes_written"] > 0 \
            else None

    d = wait_until(running, 20, what="a running download with bytes on disk")
    assert d["name"].endswith("slow.bin")
    assert d["size"] == 8 * MiB
    assert d["readers"] == 1
    assert d["age_ms"] >= 0 and isinstance(d["id"], int)
    chunks = d["chunks"]
    assert [(c["index"], c["offset"], c["length"]) for c in chunks] == \
        [(i, i * MiB, MiB) for i in range(8)]
    assert all(0 <= c["written"] <= c["length"] for c in chunks)
    assert d["bytes_written"] == sum(c["written"] for c in chunks)
    assert d["bytes_written"] < 8 * MiB
    t.join(60)
    assert got["r"].complete
    emu.verify("slow.bin", 91, got["r"].body, size=8 * MiB)
    wait_until(lambda: admin(p.admin_port, "GET", "/debug/downloads")[1] == {"downloads": []}, 10,
               what="the finished download to leave the list")


# --- histograms ---------------------------------------------------------------------------------


def test_latency_histograms_count_each_request_once(emulator_factory, proxy_factory, tmp_path):
    emu = emulator_factory(["name=h.bin,size=5000,seed=92"])
    p = start(proxy_factory, emu)
    before = settled_metrics(p)  # the harness's /healthz probes are counted too
    assert fetch(p.port, "/h.bin").headers["x-cache"] == "MISS"  # one GET to S3 (the probe)
    wait_until(lambda: usage(p.admin_port)["objects"] == 1, 10, what="publish")
    assert fetch(p.port, "/h.bin").headers["x-cache"] == "HIT"  # one HEAD: 304
    with H2Client(p.port) as h2:
        s = h2.get("/h.bin")
        assert s.status == 200 and dict(s.headers)["x-cache"] == "HIT"  # one HEAD: 304
    assert fetch(p.port, "/nope.bin").status == 404  # one GET: 404
    text = settled_metrics(p)

    for family in ("xs3_request_duration_seconds", "xs3_request_ttfb_seconds"):
        for cache, proto, n in [("MISS", "h1", 1), ("HIT", "h1", 1), ("HIT", "h2", 1),
                                ("none", "h1", 1), ("MISS", "h2", 0), ("PASS", "h1", 0)]:
            def delta(name, **labels):
                return sample(text, name, **labels) - sample(before, name, **labels)

            assert delta(family + "_count", cache=cache, proto=proto) == n, \
                (family, cache, proto)
            assert delta(family + "_bucket", cache=cache, proto=proto, le="+Inf") == n
    assert sample(text, "xs3_s3_first_byte_seconds_count", outcome="ok") == 3
    assert sample(text, "xs3_s3_first_byte_seconds_count", outcome="error") == 1
    assert sample(text, "xs3_s3_first_byte_seconds_count", outcome="failed") == 0
    assert sample(text, "xs3_reader_wait_seconds_count") >= 0
    # Buckets are cumulative and end at the count.
    buckets = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('xs3_request_duration_seconds_bucket{cache="HIT",proto="h1"')]
    assert buckets == sorted(buckets) and len(buckets) == 19
    assert buckets[-1] == sample(text, "xs3_request_duration_seconds_count", cache="HIT",
                                 proto="h1")


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed (Debian package prometheus)")
def test_promtool_accepts_metrics(emulator_factory, proxy_factory, tmp_path):
    emu = emulator_factory(["name=m.bin,size=3MiB,seed=93"], args=["--conn-bandwidth", "4MB"])
    p = start(proxy_factory, emu)
    assert fetch(p.port, "/m.bin").complete
    assert fetch(p.port, "/m.bin", {"Range": "bytes=0-1,5-6"}).status == 206
    text = metrics_text(p)
    assert "# TYPE xs3_request_duration_seconds histogram" in text
    assert "# TYPE xs3_reader_wait_seconds histogram" in text
    assert "# TYPE xs3_chunk_transfer_seconds histogram" in text
    # The cold GET's 3 chunks, each got in one attempt (counted just after its last write, which
    # a reader may see first).
    wait_until(lambda: sample(metrics_text(p), "xs3_chunk_transfer_seconds_count",
                              outcome="ok") == 3, 10, what="3 chunk attempts counted")
    text = metrics_text(p)
    r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout.decode() + r.stderr.decode())[:3000]
    assert r.stdout.decode().strip() == "" and r.stderr.decode().strip() == ""
