"""--debug-trace end to end: every event of a cold GET (a retried chunk) and of a hit, tied
together by their ids (req -> dl -> chunk/attempt), and of a download whose chunk fails for good;
the timeline PNG drawn from a real trace; rotation by SIGHUP and by the admin listener; and a
trace that cannot be written (a full pipe) costing dropped events, counted, never a request."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

from e2e_util import Emulator, build_request, free_port, wait_until
from test_lifecycle import admin, metric, usage
from test_miss_path import MiB, fetch

CHUNKS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB", "--max-concurrency", "4"]


def events(path: Path) -> list[dict]:
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        out.append(json.loads(line))  # every line is one whole JSON object
    return out


def of(evs: list[dict], name: str, **match) -> list[dict]:
    return [e for e in evs if e["ev"] == name and all(e.get(k) == v for k, v in match.items())]


def traced_proxy(proxy_factory, emu: Emulator, trace: Path, extra=()):
    admin_port = free_port()
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=[*CHUNKS, "--admin-port", str(admin_port), "--debug-trace",
                                  str(trace), *extra])
    p.admin_port = admin_port
    wait_until(lambda: usage(admin_port)["scan"]["state"] == "done", 10, what="the scan")
    return p


def done_requests(path: Path, target: str) -> int:
    """Requests for `target` that ended (the harness's /healthz probes are traced too)."""
    evs = events(path)
    reqs = {e["req"] for e in of(evs, "req.recv", target=target)}
    return sum(1 for e in of(evs, "req.done") if e["req"] in reqs)


def test_a_cold_get_and_a_hit_traced_with_consistent_ids(emulator_factory, proxy_factory,
                                                         tmp_path):
    # 2 MB/s per origin connection: the reader catches up with the chunks and waits for bytes.
    # S3 answers 500 once to the GET of the chunk holding byte 2 MiB + 5 (chunk 2): it is retried.
    emu = emulator_factory(["name=t.bin,size=3MiB,seed=80"],
                           faults=[f"500:object=t.bin,offset={2 * MiB + 5},count=1"],
                           args=["--conn-bandwidth", "2MB"])
    trace = tmp_path / "trace.jsonl"
    p = traced_proxy(proxy_factory, emu, trace, ["--retry-base-delay", "10ms"])
    r = fetch(p.port, "/t.bin")
    assert r.status == 200 and r.complete and r.headers["x-cache"] == "MISS"
    emu.verify("t.bin", 80, r.body, size=3 * MiB)
    wait_until(lambda: metric(p, "xs3_downloads_published_total") == 1, 20, what="publish")
    h = fetch(p.port, "/t.bin")
    assert h.status == 200 and h.complete and h.headers["x-cache"] == "HIT"
    wait_until(lambda: done_requests(trace, "/t.bin") == 2, 10, what="both requests in the trace")
    wait_until(lambda: of(events(trace), "dl.published"), 10, what="dl.published in the trace")

    evs = events(trace)
    assert evs[0]["ev"] == "trace.open" and evs[0]["pid"] == p.proc.pid
    ts = [e["t"] for e in evs]
    assert all(isinstance(t, int) for t in ts)
    for e in evs:
        assert set(e) >= {"t", "w", "ev"}, e

    recv = of(evs, "req.recv", target="/t.bin")
    assert len(recv) == 2
    miss, hit = recv
    assert miss["req"] != hit["req"]
    assert miss["method"] == "GET" and miss["target"] == "/t.bin" and miss["proto"] == "h1"
    assert miss["range"] == ""

    # The miss: routed cold, started the download, waited for its bytes, answered and done.
    assert [e["route"] for e in of(evs, "req.route", req=miss["req"])] == ["cold"]
    joined = of(evs, "req.download", req=miss["req"])
    assert len(joined) == 1 and joined[0]["created"] is True and joined[0]["first"] == 0
    dl = joined[0]["dl"]
    waits = of(evs, "read.wait", req=miss["req"])
    wakes = of(evs, "read.wake", req=miss["req"])
    assert waits and len(wakes) == len(waits)
    assert all(e["dl"] == dl for e in waits + wakes)
    assert all(w["waited_us"] >= 0 for w in wakes)
    [answer] = of(evs, "req.answer", req=miss["req"])
    assert answer["status"] == 200 and answer["cache"] == "MISS" and answer["ttfb_us"] >= 0
    [done] = of(evs, "req.done", req=miss["req"])
    assert done["status"] == 200 and done["cache"] == "MISS" and done["outcome"] == "complete"
    assert done["bytes"] > 3 * MiB  # head and body
    assert done["dur_us"] >= answer["ttfb_us"]
    order = [e["ev"] for e in evs if e.get("req") == miss["req"]]
    assert order[0] == "req.recv" and order[-1] == "req.done"
    assert order.index("req.answer") < order.index("req.done")

    # The download the miss started: every event carries its id, in the order things happened.
    # The download and its chunks are the only ones in the trace.
    assert {e["dl"] for e in evs if "dl" in e} == {dl}
    [start] = of(evs, "dl.start")
    assert start == {**start, "key": "t.bin", "mode": "probe", "first": 0}
    [plan] = of(evs, "dl.plan")
    assert (plan["size"], plan["chunks"], plan["chunk_size"], plan["concurrency"]) == \
        (3 * MiB, 3, MiB, 3)
    [decided] = of(evs, "dl.decided")
    assert decided["decision"] == "cache"
    [published] = of(evs, "dl.published")
    assert published["size"] == 3 * MiB and published["dur_us"] > 0
    assert not of(evs, "dl.failed") and not of(evs, "chunk.failed")
    dl_order = [e["ev"] for e in evs if e.get("dl") == dl and e["ev"].startswith("dl.")]
    assert dl_order == ["dl.start", "dl.plan", "dl.decided", "dl.published"]

    # Chunks: 0 is the probe (its head told the size), 1 and 2 follow with If-Match; 2's first
    # attempt got S3's 500, was retried after a back-off and asked again from its first byte.
    starts = of(evs, "chunk.start")
    assert sorted((e["chunk"], e["attempt"]) for e in starts) == [(0, 1), (1, 1), (2, 1), (2, 2)]
    for e in starts:
        assert e["probe"] is (e["chunk"] == 0)
        assert (e["first"], e["last"]) == (e["chunk"] * MiB, e["chunk"] * MiB + MiB - 1)
    heads = {(e["chunk"], e["attempt"]): e for e in of(evs, "chunk.head")}
    assert {k: e["status"] for k, e in heads.items()} == \
        {(0, 1): 206, (1, 1): 206, (2, 1): 500, (2, 2): 206}
    assert all(e["latency_us"] >= 0 for e in heads.values())
    [retry] = of(evs, "chunk.retry")
    assert (retry["chunk"], retry["attempt"], retry["status"], retry["written"]) == (2, 1, 500, 0)
    assert retry["delay_ms"] >= 0 and "500" in retry["error"]
    dones = {e["chunk"]: e for e in of(evs, "chunk.done")}
    assert sorted(dones) == [0, 1, 2] and len(of(evs, "chunk.done")) == 3
    assert {c: (e["attempt"], e["written"]) for c, e in dones.items()} == \
        {0: (1, MiB), 1: (1, MiB), 2: (2, MiB)}
    for c in range(3):
        progress = [e["written"] for e in of(evs, "chunk.progress", chunk=c)]
        # Coarse: a few along the way (the last bytes of a chunk are told by chunk.done).
        assert progress and progress == sorted(progress) and 0 < progress[0]
        assert progress[-1] <= MiB
        # The chunk's own events, in order: start, head, (retry, start, head,) progress, done.
        mine = [(e["ev"], e.get("attempt")) for e in evs
                if e.get("dl") == dl and e.get("chunk") == c and e["ev"] != "chunk.progress"]
        if c == 2:
            assert mine == [("chunk.start", 1), ("chunk.head", 1), ("chunk.retry", 1),
                            ("chunk.start", 2), ("chunk.head", 2), ("chunk.done", 2)]
        else:
            assert mine == [("chunk.start", 1), ("chunk.head", 1), ("chunk.done", 1)]
    assert of(evs, "chunk.start", chunk=0)[0]["t"] < plan["t"] < of(evs, "chunk.start",
                                                                     chunk=1)[0]["t"]
    assert decided["t"] < published["t"]
    assert max(e["t"] for e in dones.values()) <= published["t"]

    # The same story in /metrics: one attempt retried, three that got their chunk.
    assert chunk_transfers(p, "retried") == 1 and chunk_transfers(p, "ok") == 3
    assert chunk_transfers(p, "failed") == 0 and chunk_transfers(p, "aborted") == 0

    # The hit: the name is known, S3 is asked (--metadata-ttl 0) and says it is unchanged.
    assert [e["route"] for e in of(evs, "req.route", req=hit["req"])] == ["revalidate"]
    [reval] = of(evs, "cache.revalidated", req=hit["req"])
    assert reval["status"] == 304 and reval["changed"] is False
    [answer] = of(evs, "req.answer", req=hit["req"])
    assert answer["cache"] == "HIT"
    assert not of(evs, "req.download", req=hit["req"])


def chunk_transfers(p, outcome: str) -> int:
    """xs3_chunk_transfer_seconds_count{outcome=...}: chunk GET attempts that ended so."""
    want = f'xs3_chunk_transfer_seconds_count{{outcome="{outcome}"}} '
    with urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(want):
                return int(float(line.split()[1]))
    raise AssertionError(f"{want.strip()} not in /metrics")


def test_a_chunk_that_fails_for_good_fails_its_download_in_the_trace(emulator_factory,
                                                                     proxy_factory, tmp_path):
    # Chunk 1's GET always gets a 500: with --chunk-retries 1 it is tried twice, then fails the
    # download; the other chunks still running are stopped; the client's answer is cut. (S3
    # takes 50 ms to answer each GET: the answer's head is out long before chunk 1 fails.)
    emu = emulator_factory(["name=f.bin,size=3MiB,seed=85"],
                           faults=[f"500:object=f.bin,offset={MiB + 7}"],
                           args=["--conn-bandwidth", "1MB", "--latency", "50ms"])
    trace = tmp_path / "trace.jsonl"
    p = traced_proxy(proxy_factory, emu, trace,
                     ["--retry-base-delay", "10ms", "--chunk-retries", "1"])
    r = fetch(p.port, "/f.bin")
    assert r.status == 200 and not r.complete and len(r.body) < 3 * MiB
    wait_until(lambda: done_requests(trace, "/f.bin") == 1, 10, what="req.done in the trace")
    wait_until(lambda: len(of(events(trace), "chunk.failed")) == 3, 10,
               what="the failed chunk and the two stopped")
    evs = events(trace)
    [start] = of(evs, "dl.start")
    dl = start["dl"]
    assert {e["dl"] for e in evs if "dl" in e} == {dl}
    [req] = of(evs, "req.download")
    assert req["dl"] == dl and req["created"] is True
    retries = of(evs, "chunk.retry")
    assert [(e["chunk"], e["attempt"], e["status"]) for e in retries] == [(1, 1, 500)]
    failed = {e["chunk"]: e for e in of(evs, "chunk.failed")}
    assert (failed[1]["attempt"], failed[1]["status"]) == (2, 500)
    assert "500" in failed[1]["error"]
    # Chunks 0 and 2 were still transferring (1 MB/s): stopped when the download failed.
    assert sorted(failed) == [0, 1, 2]
    assert failed[0]["error"] == failed[2]["error"] == "cancelled: aborted"
    [dl_failed] = of(evs, "dl.failed")
    assert dl_failed["status"] == 500 and "500" in dl_failed["error"]
    assert not of(evs, "dl.published")
    assert [e["ev"] for e in evs if e.get("dl") == dl and e["ev"].startswith("dl.")] == \
        ["dl.start", "dl.plan", "dl.decided", "dl.failed"]
    assert failed[1]["t"] <= dl_failed["t"] <= min(failed[0]["t"], failed[2]["t"])
    [done] = of(evs, "req.done", req=req["req"])
    assert done["outcome"] == "cut"
    assert chunk_transfers(p, "failed") == 1 and chunk_transfers(p, "retried") == 1
    assert chunk_transfers(p, "aborted") == 2 and chunk_transfers(p, "ok") == 0


def png_pixels(path: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of colours of an 8-bit RGB PNG (what gnuplot's pngcairo
    writes), decoded here so the test sees what a person would."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2), (depth, colour)  # 8-bit RGB
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 3 * w
    assert len(raw) == h * (stride + 1)
    colours, prev = set(), bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):  # undo the row filter (PNG spec, section 9)
            a = line[x - 3] if x >= 3 else 0
            b, c = prev[x], (prev[x - 3] if x >= 3 else 0)
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        colours.update(zip(line[0::3], line[1::3], line[2::3]))
        prev = line
    return w, h, colours


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_a_timeline_is_drawn_from_a_real_trace(emulator_factory, proxy_factory, tmp_path):
    # 6 chunks, 4 at a time: two wait in the queue. S3 takes 40 ms to answer. The connection of the GET of chunk 2 is
    # reset 300 KiB into its body: the written bytes stay and the retry asks for the rest.
    emu = emulator_factory(["name=pic.bin,size=6MiB,seed=84"],
                           faults=[f"reset:object=pic.bin,offset={2 * MiB + 300 * 1024},count=1"],
                           args=["--conn-bandwidth", "4MB", "--latency", "40ms"])
    trace = tmp_path / "trace.jsonl"
    p = traced_proxy(proxy_factory, emu, trace, ["--retry-base-delay", "100ms"])
    r = fetch(p.port, "/pic.bin")
    assert r.status == 200 and r.complete
    emu.verify("pic.bin", 84, r.body, size=6 * MiB)
    wait_until(lambda: of(events(trace), "dl.published"), 20, what="dl.published in the trace")
    wait_until(lambda: done_requests(trace, "/pic.bin") == 1, 10, what="req.done in the trace")
    [retry] = of(events(trace), "chunk.retry")
    assert retry["chunk"] == 2 and retry["status"] == 206 and 0 < retry["written"] < MiB
    [again] = of(events(trace), "chunk.start", chunk=2, attempt=2)
    assert again["first"] == 2 * MiB + retry["written"]  # only what never arrived

    tool = Path(__file__).resolve().parents[2] / "scripts" / "trace_timeline.py"
    listed = subprocess.run([sys.executable, str(tool), str(trace), "--list"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    dl = of(events(trace), "dl.start")[0]["dl"]
    assert listed.stdout == (f"dl {dl}: key='pic.bin' size={6 * MiB} chunks=6 retries=1 "
                             "published\n")
    png = tmp_path / "timeline.png"
    made = subprocess.run([sys.executable, str(tool), str(trace), "-o", str(png)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(png)
    assert png.stat().st_size > 20_000
    w, h, colours = png_pixels(png)
    assert w == 1280 and h >= 720
    # Every lane state the download surely went through is drawn in its colour: queued,
    # waiting for S3's first byte (40 ms each), transferring, the reset attempt, the reader's
    # waits. (The back-off is random, from 0 ms: it may be too short to see.)
    for state in ("#c8c8c8", "#f0a030", "#3070c0", "#d03030", "#8040a0"):
        # Bars are drawn 90% opaque on white: that colour, give or take the rounding.
        bar = tuple(round(0.9 * v + 0.1 * 255) for v in rgb(state))
        assert any(sum(abs(x - y) for x, y in zip(c, bar)) <= 6 for c in colours), state
    # XS3_TIMELINE_PNG=path keeps the picture (docs/timeline.png is made this way).
    if os.environ.get("XS3_TIMELINE_PNG"):
        shutil.copyfile(png, os.environ["XS3_TIMELINE_PNG"])


def test_sighup_and_the_admin_route_reopen_a_removed_trace(emulator_factory, proxy_factory,
                                                          tmp_path):
    emu = emulator_factory(["name=s.bin,size=1000,seed=81"])
    trace = tmp_path / "trace.jsonl"
    p = traced_proxy(proxy_factory, emu, trace)
    assert fetch(p.port, "/s.bin").complete
    wait_until(lambda: done_requests(trace, "/s.bin") == 1, 10,
               what="the first request in the trace")

    # logrotate's way: move the file, then SIGHUP.
    trace.rename(tmp_path / "trace.jsonl.1")
    os.kill(p.proc.pid, signal.SIGHUP)
    wait_until(lambda: trace.exists(), 10, what="a new trace file after SIGHUP")
    assert fetch(p.port, "/s.bin").complete
    wait_until(lambda: done_requests(trace, "/s.bin") == 1, 10,
               what="the second request in the new file")
    new = events(trace)
    assert new[0]["ev"] == "trace.open"
    # The old file kept the first request only.
    assert done_requests(tmp_path / "trace.jsonl.1", "/s.bin") == 1
    assert "SIGHUP: reopening the trace file" in p.log_text()

    # Removed, then SIGHUP: a new file again (the writer held the removed one open).
    trace.unlink()
    os.kill(p.proc.pid, signal.SIGHUP)
    wait_until(lambda: trace.exists(), 10, what="a new trace file after removal and SIGHUP")
    assert fetch(p.port, "/s.bin").complete
    wait_until(lambda: done_requests(trace, "/s.bin") == 1, 10,
               what="the third request in the new file")
    assert events(trace)[0]["ev"] == "trace.open"
    assert p.log_text().count("SIGHUP: reopening the trace file") == 2

    # Removed, then the admin route.
    trace.unlink()
    status, body = admin(p.admin_port, "POST", "/debug/trace/reopen")
    assert status == 200 and body == {"reopened": str(trace)}
    wait_until(lambda: trace.exists(), 10, what="a new trace file after the admin route")
    assert fetch(p.port, "/s.bin").complete
    wait_until(lambda: done_requests(trace, "/s.bin") == 1, 10,
               what="the fourth request in the new file")
    assert metric(p, "xs3_trace_write_errors_total") == 0
    assert p.proc.poll() is None  # SIGHUP did not stop it


def test_reopen_without_tracing_says_how_to_turn_it_on(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=s.bin,size=1000,seed=82"])
    admin_port = free_port()
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=["--admin-port", str(admin_port)])
    status, body = admin(admin_port, "POST", "/debug/trace/reopen")
    assert status == 404 and "--debug-trace" in body["error"]
    os.kill(p.proc.pid, signal.SIGHUP)  # no trace: nothing to reopen, and no harm done
    wait_until(lambda: "SIGHUP: nothing to reopen" in p.log_text(), 10, what="the SIGHUP log")
    assert fetch(p.port, "/s.bin").complete


def ranged_gets(port: int, n: int, want: bytes) -> float:
    """n `Range: bytes=0-99` GETs on one connection, each checked; the seconds they took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")
        for _ in range(n):
            s.sendall(build_request("GET", "/d.bin", {"Range": "bytes=0-99"}))
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 206"), status
            length = None
            while (line := f.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert length == 100
            assert f.read(length) == want
    return time.monotonic() - started


def test_a_trace_that_cannot_be_written_drops_events_not_requests(emulator_factory,
                                                                  proxy_factory, tmp_path):
    emu = emulator_factory(["name=d.bin,size=4096,seed=83"])
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    # A reader that never reads: once the pipe is full the writer thread is stuck in write().
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        p = traced_proxy(proxy_factory, emu, fifo,
                         ["--debug-trace-queue", "64", "--metadata-ttl", "60s"])
        # The peer: the same requests to a proxy without a trace, in the same run.
        peer = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                             extra_args=[*CHUNKS, "--metadata-ttl", "60s"])
        first = fetch(p.port, "/d.bin")
        assert first.complete
        assert fetch(peer.port, "/d.bin").body == first.body
        n = 3000
        took = ranged_gets(p.port, n, first.body[:100])
        took_peer = ranged_gets(peer.port, n, first.body[:100])
        dropped = metric(p, "xs3_trace_events_dropped_total")
        # Every request was answered; the events that found the queue full were counted.
        assert dropped > 0
        # 4 events a request (recv, route, answer, done); at most 64 still queued.
        assert metric(p, "xs3_trace_events_written_total") + dropped + 64 >= 4 * (n + 1)
        assert p.proc.poll() is None
        # Timings are printed, never asserted (a shared machine): the ratio is the figure.
        print(f"{n} requests with a stuck trace file: {took:.2f}s, without a trace: "
              f"{took_peer:.2f}s (ratio {took / took_peer:.2f}), {dropped} events dropped")
    finally:
        os.close(reader)
