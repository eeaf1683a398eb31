"""Cleartext HTTP/2 through the proxy: prior knowledge and Upgrade: h2c, with real clients (curl,
nghttp, h2load) and a raw-frame client (h2_client.py) for what they cannot do on purpose — 100
streams of one cold object on one connection, a stream reset in the middle of its body, a
rapid-reset flood, windows held shut. Every behaviour of the HTTP/1.1 path is checked per stream:
bytes, statuses and headers of hits, misses, ranges, HEAD, 404, 405, 416, passthrough, and errors
that reset one stream while the others carry on."""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from e2e_util import (
    EMPTY,
    MEDIUM,
    SERVER_HEADER,
    SMALL,
    TEXT,
    Emulator,
    HttpConnection,
    build_request,
    sha256,
    wait_until,
)
from h2_client import (
    CANCEL,
    ENHANCE_YOUR_CALM,
    INTERNAL_ERROR,
    MAX_WINDOW,
    NO_ERROR,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    DATA,
    H2Client,
    frame,
)

MiB = 1024 * 1024
CHUNK_ARGS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB", "--max-concurrency", "8"]

for tool in ("curl", "nghttp", "h2load"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (curl, nghttp2-client)", allow_module_level=True)


# --- clients ----------------------------------------------------------------------------------


class CurlResult:
    def __init__(self, version: str, status: int, blocks: list[list[str]], body: bytes):
        self.version = version  # curl's %{http_version}: "2" or "1.1"
        self.status = status
        self.blocks = blocks  # every response head received (the 101 first, for an upgrade)
        self.body = body
        self.headers: dict[str, str] = {}
        for line in blocks[-1][1:] if blocks else []:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()


def curl(port: int, path: str, *args: str, upgrade: bool = False, tmp=None) -> CurlResult:
    mode = "--http2" if upgrade else "--http2-prior-knowledge"
    hdr = tmp / "curl.headers"
    body = tmp / "curl.body"
    r = subprocess.run(["curl", "-sS", mode, "-D", str(hdr), "-o", str(body), "-w",
                        "%{http_version} %{http_code}", *args, f"http://127.0.0.1:{port}{path}"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    version, code = r.stdout.decode().split()
    text = hdr.read_bytes().decode("latin-1")
    blocks = [b.split("\r\n") for b in text.split("\r\n\r\n") if b.strip()]
    return CurlResult(version, int(code), blocks, body.read_bytes() if body.exists() else b"")


def assert_object(res, obj, cache: str | None = None, length: int | None = None) -> None:
    h = res.headers
    assert h.get("content-length") == str(obj.size if length is None else length), h
    assert h.get("etag") == obj.etag, h
    assert h.get("last-modified") == obj.last_modified, h
    assert h.get("content-type") == obj.content_type, h
    assert h.get("accept-ranges") == "bytes", h
    assert h.get("server") == SERVER_HEADER, h
    assert {k[len("x-amz-meta-"):]: v for k, v in h.items() if k.startswith("x-amz-meta-")} == \
        obj.metadata
    if cache is not None:
        assert h.get("x-cache") == cache, h


def raw_headers(stream) -> dict[str, str]:
    return {k: v for k, v in stream.headers}


def proxy_for(proxy_factory, emu: Emulator, extra: list[str] = (), **kw):
    return proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                         extra_args=[*CHUNK_ARGS, *extra], **kw)


# --- curl: prior knowledge and upgrade ----------------------------------------------------------


def test_prior_knowledge_miss_then_hit(proxy, bucket, tmp_path):
    obj = bucket[MEDIUM]
    cold = curl(proxy.port, obj.path, tmp=tmp_path)
    assert (cold.version, cold.status) == ("2", 200)
    assert sha256(cold.body) == obj.sha256
    assert_object(cold, obj, cache="MISS")
    assert "date" in cold.headers
    wait_until(lambda: len(proxy.cache_files()) == 1, 10, what="the object to be published")
    gets = bucket.key_stats(MEDIUM)["GET"]
    warm = curl(proxy.port, obj.path, tmp=tmp_path)
    assert (warm.version, warm.status) == ("2", 200)
    assert sha256(warm.body) == obj.sha256
    assert_object(warm, obj, cache="HIT")
    assert bucket.key_stats(MEDIUM)["GET"] == gets, "a hit fetches no object bytes"


def test_prior_knowledge_ranges_head_and_errors(proxy, bucket, tmp_path):
    obj = bucket[MEDIUM]
    r = curl(proxy.port, obj.path, "-H", "Range: bytes=1000-1999", tmp=tmp_path)
    assert r.status == 206
    assert r.body == obj.data[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{obj.size}"
    assert_object(r, obj, length=1000)
    r = curl(proxy.port, obj.path, "-H", "Range: bytes=-77", tmp=tmp_path)
    assert r.status == 206 and r.body == obj.data[-77:]
    r = curl(proxy.port, obj.path, "-H", f"Range: bytes={obj.size + 5}-", tmp=tmp_path)
    assert r.status == 416
    assert r.headers["content-range"] == f"bytes */{obj.size}"
    assert b"<Code>InvalidRange</Code>" in r.body

    small = bucket[SMALL]
    h = curl(proxy.port, small.path, "--head", tmp=tmp_path)
    assert (h.version, h.status) == ("2", 200)
    assert_object(h, small)
    with H2Client(proxy.port) as c:
        s = c.get(small.path, method="HEAD")
        assert s.status == 200 and s.ended
        assert s.data_frames == 0 and s.body == b"", "HEAD answers carry no DATA"
        assert raw_headers(s)["content-length"] == str(small.size)

    empty = bucket[EMPTY]
    e = curl(proxy.port, empty.path, tmp=tmp_path)
    assert e.status == 200 and e.body == b"" and e.headers["content-length"] == "0"

    missing = curl(proxy.port, "/no/such/key", tmp=tmp_path)
    assert missing.status == 404
    assert missing.headers["content-type"] == "application/xml"
    assert b"<Code>NoSuchKey</Code>" in missing.body
    assert missing.headers["content-length"] == str(len(missing.body))

    for method in ("DELETE", "PUT", "POST"):
        bad = curl(proxy.port, small.path, "-X", method, tmp=tmp_path)
        assert bad.status == 405, method
        assert bad.headers["allow"] == "GET, HEAD"
        assert b"<Code>MethodNotAllowed</Code>" in bad.body
    ok = curl(proxy.port, "/healthz", tmp=tmp_path)
    assert ok.status == 200 and ok.body == b"ok\n"


def test_upgrade_h2c_get_head_and_reuse(proxy, bucket, tmp_path):
    obj = bucket[MEDIUM]
    r = curl(proxy.port, obj.path, upgrade=True, tmp=tmp_path)
    assert r.blocks[0][0].startswith("HTTP/1.1 101"), r.blocks
    assert (r.version, r.status) == ("2", 200)
    assert sha256(r.body) == obj.sha256
    assert_object(r, obj, cache="MISS")

    small = bucket[SMALL]
    h = curl(proxy.port, small.path, "--head", upgrade=True, tmp=tmp_path)
    assert h.blocks[0][0].startswith("HTTP/1.1 101")
    assert h.version == "2" and h.status == 200
    assert_object(h, small)

    # Two URLs: the second request goes over the upgraded connection (stream 3).
    out1, out2 = tmp_path / "one", tmp_path / "two"
    p = subprocess.run(["curl", "-sS", "--http2", "-v", "-o", str(out1),
                        f"http://127.0.0.1:{proxy.port}{small.path}", "-o", str(out2),
                        f"http://127.0.0.1:{proxy.port}{bucket[TEXT].path}"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert out1.read_bytes() == small.data
    assert out2.read_bytes() == bucket[TEXT].data
    log = p.stderr.decode("latin-1")
    assert "Re-using existing connection" in log or "Reusing existing connection" in log, log


def test_bad_http2_settings_is_answered_over_http1(proxy, bucket):
    small = bucket[SMALL]
    with HttpConnection(proxy.port) as c:
        r = c.request("GET", small.path, {"Connection": "Upgrade, HTTP2-Settings",
                                          "Upgrade": "h2c", "HTTP2-Settings": "!!not base64!!"})
        assert r.version == "HTTP/1.1" and r.status == 200
        assert r.body == small.data
        # The connection stays HTTP/1.1.
        r2 = c.request("GET", small.path)
        assert r2.status == 200 and r2.body == small.data


# --- nghttp and h2load ------------------------------------------------------------------------


def test_nghttp_bytes_statuses_and_upgrade(proxy, bucket):
    base = f"http://127.0.0.1:{proxy.port}"
    obj = bucket[MEDIUM]
    for flags in ([], ["-u"]):
        r = subprocess.run(["nghttp", *flags, base + obj.path], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        assert sha256(r.stdout) == obj.sha256, flags
    paths = [bucket[SMALL].path, bucket[TEXT].path, obj.path, "/missing.bin", bucket[EMPTY].path]
    r = subprocess.run(["nghttp", "-ns", *[base + p for p in paths]], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    codes = {}
    for line in r.stdout.decode().splitlines():
        m = re.match(r"^\s*\d+\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s+\S+\s+(\S+)$", line)
        if m:
            codes[m.group(2)] = int(m.group(1))
    assert codes == {paths[0]: 200, paths[1]: 200, paths[2]: 200, "/missing.bin": 404,
                     paths[4]: 200}, r.stdout.decode()
    r = subprocess.run(["nghttp", "-v", "-H", "range: bytes=10-19", base + bucket[SMALL].path],
                       capture_output=True, timeout=60)
    out = r.stdout.decode("latin-1")
    assert ":status: 206" in out and "content-range: bytes 10-19/1000" in out, out


def test_h2load_many_streams_and_connections(proxy, bucket, tmp_path):
    base = f"http://127.0.0.1:{proxy.port}"
    uris = tmp_path / "uris"
    uris.write_text("".join(f"{base}{bucket[k].path}\n" for k in (SMALL, TEXT, MEDIUM)))
    r = subprocess.run(["h2load", "-n", "300", "-c", "3", "-m", "10", "-i", str(uris)],
                       capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert "300 succeeded, 0 failed, 0 errored" in out, out
    assert "status codes: 300 2xx, 0 3xx, 0 4xx, 0 5xx" in out, out
    r = subprocess.run(["h2load", "-n", "60", "-c", "2", "-m", "8", f"{base}{bucket[MEDIUM].path}"],
                       capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert "60 succeeded, 0 failed, 0 errored" in out, out
    m = re.search(r"traffic: .* \((\d+)\) data", out)
    assert m and int(m.group(1)) == 60 * bucket[MEDIUM].size, out
    r = subprocess.run(["h2load", "-n", "20", "-c", "1", "-m", "4", f"{base}/missing.bin"],
                       capture_output=True, timeout=60)
    assert "status codes: 0 2xx, 0 3xx, 20 4xx, 0 5xx" in r.stdout.decode(), r.stdout.decode()


# --- the raw client: concurrency, resets, floods ---------------------------------------------


@pytest.mark.deadline(180)
def test_100_streams_of_one_cold_object_on_one_connection(emulator_factory, proxy_factory):
    size = 6 * MiB + 3
    emu = emulator_factory([f"name=herd.bin,size={size},seed=41"],
                           args=["--latency", "20ms", "--conn-bandwidth", "100MB"])
    p = proxy_for(proxy_factory, emu)
    with H2Client(p.port, timeout=120) as c:
        ids = [c.request("GET", "/herd.bin") for _ in range(100)]
        streams = c.wait_streams(ids, timeout=150)
        assert c.server_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS) == 100
    digests = set()
    for s in streams:
        assert s.reset is None, (s.id, s.reset)
        assert s.status == 200, (s.id, s.headers)
        assert raw_headers(s)["content-length"] == str(size)
        assert raw_headers(s)["x-cache"] in ("MISS", "HIT")
        assert len(s.body) == size, (s.id, len(s.body))
        assert s.max_frame <= 16384, "DATA frames stay within the client's max frame size"
        digests.add(hashlib.sha256(s.body).hexdigest())
    assert len(digests) == 1, "every stream got the same bytes"
    emu.verify("herd.bin", 41, bytes(streams[0].body), size=size)
    stats = emu.object_stats("herd.bin")
    assert stats["body_bytes"] == size, "the origin sent every byte once, for 100 streams"
    assert stats["get"] == 7  # one GET per 1 MiB chunk
    assert stats["head"] == 0


def test_client_reset_mid_body_leaves_the_other_streams_intact(emulator_factory, proxy_factory):
    size = 4 * MiB + 11
    emu = emulator_factory([f"name=r.bin,size={size},seed=42"])
    p = proxy_for(proxy_factory, emu)
    window = 65535
    with H2Client(p.port, window=window) as c:
        ids = [c.request("GET", "/r.bin") for _ in range(3)]
        # Each stream gets exactly its window, then waits for credit.
        assert c.pump(lambda: all(len(c.streams[i].body) == window for i in ids), 30)
        keep = [ids[0], ids[2]]
        c.rst(ids[1], CANCEL)
        for i in keep:
            c.window_update(i, MAX_WINDOW - window)
        done = c.wait_streams(keep, timeout=60)
        for s in done:
            assert s.status == 200 and s.reset is None and len(s.body) == size
            emu.verify("r.bin", 42, bytes(s.body), size=size)
        cut = c.streams[ids[1]]
        assert len(cut.body) == window and not cut.ended, "nothing after the client's RST_STREAM"
        # The connection is still good: a new stream on it gets the whole object.
        again = c.request("GET", "/r.bin")
        c.window_update(again, MAX_WINDOW - window)
        s = c.wait_streams([again], timeout=60)[0]
        assert s.status == 200 and len(s.body) == size
        emu.verify("r.bin", 42, bytes(s.body), size=size)
        assert c.goaway is None and not c.closed
    assert emu.object_stats("r.bin")["body_bytes"] == size
    assert "response cut off" not in p.log_text(), "a client's reset is not a cut-off response"


def test_rapid_reset_flood_gets_goaway_and_the_server_stays_responsive(proxy_factory, bucket,
                                                                      origin):
    p = proxy_factory(bucket)
    small = bucket[SMALL]
    with H2Client(p.port) as c:
        burst = b""
        for _ in range(400):
            sid, f = c.headers_frame("GET", small.path)
            burst += f + frame(3, 0, sid, (CANCEL).to_bytes(4, "big"))  # RST_STREAM
        try:
            c.send(burst)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.pump(lambda: c.goaway is not None and c.goaway[1] != NO_ERROR, 20) or c.closed
        assert c.goaway is not None, "a flood is answered with GOAWAY"
        assert c.goaway[1] == ENHANCE_YOUR_CALM, c.goaway
        assert c.wait_closed(10), "and the connection is closed"
    wait_until(lambda: "too many streams reset by the client" in p.log_text(), 10,
               what="the flood to be logged")
    # A new connection is served normally, HTTP/2 and HTTP/1.1.
    with H2Client(p.port) as c2:
        ids = [c2.request("GET", small.path) for _ in range(5)]
        for s in c2.wait_streams(ids):
            assert s.status == 200 and bytes(s.body) == small.data
    r = p.get(small.path)
    assert r.status == 200 and r.body == small.data


def test_a_body_error_resets_only_its_stream(emulator_factory, proxy_factory):
    bad_size, good_size = 4 * MiB, 3 * MiB + 5
    emu = emulator_factory([f"name=bad.bin,size={bad_size},seed=43",
                            f"name=good.bin,size={good_size},seed=44"],
                           faults=["reset:object=bad.bin,offset=2500000"],
                           args=["--conn-bandwidth", "50MB"])
    p = proxy_for(proxy_factory, emu, ["--chunk-retries", "0"])
    with H2Client(p.port, timeout=60) as c:
        bad = c.request("GET", "/bad.bin")
        good = c.request("GET", "/good.bin")
        sb, sg = c.wait_streams([bad, good])
        assert sb.status == 200, "the head went out before the origin failed"
        assert sb.reset == INTERNAL_ERROR, "the body that cannot be completed is reset"
        assert not sb.ended and len(sb.body) < bad_size, "never padded"
        emu.verify("bad.bin", 43, bytes(sb.body), offset=0)
        assert sg.status == 200 and sg.reset is None and len(sg.body) == good_size
        emu.verify("good.bin", 44, bytes(sg.body), size=good_size)
        wait_until(lambda: len(p.cache_files()) == 1, 10, what="good.bin to be published")
        again = c.get("/good.bin")
        assert again.status == 200 and raw_headers(again)["x-cache"] == "HIT"
        emu.verify("good.bin", 44, bytes(again.body), size=good_size)
        assert c.goaway is None
    wait_until(lambda: "response cut off" in p.log_text(), 10, what="the cut to be logged")


def test_passthrough_per_stream(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=xl.bin,size=3MiB,seed=45"])
    p = proxy_for(proxy_factory, emu, ["--max-cache-size", "2MiB"])
    with H2Client(p.port, timeout=60) as c:
        # Larger than the cache: passthrough, the client's range straight from the origin.
        part, full = c.wait_streams([c.request("GET", "/xl.bin", {"range": "bytes=1000000-1000099"}),
                                     c.request("GET", "/xl.bin")])
        assert part.status == 206 and raw_headers(part)["x-cache"] == "PASS"
        assert raw_headers(part)["content-range"] == f"bytes 1000000-1000099/{3 * MiB}"
        emu.verify("xl.bin", 45, bytes(part.body), offset=1000000)
        assert full.status == 200 and raw_headers(full)["x-cache"] == "PASS"
        emu.verify("xl.bin", 45, bytes(full.body), size=3 * MiB)
    assert p.cache_files() == []


def test_a_cold_range_streams_before_its_chunk_is_complete(emulator_factory, proxy_factory):
    # 1 MB/s per origin connection: a 1 MiB chunk takes a second, its first bytes come at once.
    emu = emulator_factory(["name=slow.bin,size=8MiB,seed=46"], args=["--conn-bandwidth", "1MB"])
    p = proxy_for(proxy_factory, emu)
    with H2Client(p.port, timeout=60) as c:
        first = 5 * MiB + 100
        sid = c.request("GET", "/slow.bin", {"range": f"bytes={first}-{first + 99_999}"})
        assert c.pump(lambda: len(c.streams[sid].body) > 0 or c.streams[sid].done)
        at_first_byte = emu.object_stats("slow.bin")
        s = c.wait_streams([sid])[0]
        assert s.status == 206 and len(s.body) == 100_000
        assert raw_headers(s)["x-cache"] == "MISS"
        emu.verify("slow.bin", 46, bytes(s.body), offset=first)
        assert at_first_byte["body_bytes"] < 4 * MiB


# --- limits, idle connections, shutdown, protocol errors ---------------------------------------


def test_stream_and_header_limits(proxy_factory, bucket):
    p = proxy_factory(bucket, extra_args=["--h2-max-concurrent-streams", "2",
                                          "--max-header-bytes", "4KiB"])
    obj = bucket[MEDIUM]
    with H2Client(p.port) as c:
        big = c.request("GET", obj.path, {"x-big": "v" * 5000})
        ok = c.request("GET", obj.path, {"x-fine": "v" * 3000})
        s, fine = c.wait_streams([big, ok])
        assert s.status == 431, "a header list above --max-header-bytes"
        assert fine.status == 200 and sha256(bytes(fine.body)) == obj.sha256
    with H2Client(p.port, window=16384) as c:
        assert c.pump(lambda: SETTINGS_MAX_CONCURRENT_STREAMS in c.server_settings, 10)
        assert c.server_settings[SETTINGS_MAX_CONCURRENT_STREAMS] == 2
        ids = [c.request("GET", obj.path) for _ in range(2)]
        assert c.pump(lambda: all(len(c.streams[i].body) == 16384 for i in ids), 30)
        # A third stream while two are open breaks the limit the client acknowledged: nghttp2
        # treats that as a connection error.
        c.request("GET", obj.path)
        assert c.wait_closed(10)
        assert c.goaway is not None and c.goaway[1] in (PROTOCOL_ERROR, REFUSED_STREAM)
    wait_until(lambda: "max concurrent streams exceeded" in p.log_text(), 10,
               what="the GOAWAY to be logged")


def test_idle_http2_connection_gets_goaway_and_is_closed(proxy_factory, bucket):
    p = proxy_factory(bucket, extra_args=["--idle-timeout", "1s"])
    with H2Client(p.port) as c:
        s = c.get(bucket[SMALL].path)
        assert s.status == 200
        t0 = time.monotonic()
        assert c.wait_closed(10), "an idle HTTP/2 connection is closed"
        assert c.goaway is not None and c.goaway[1] == NO_ERROR
        assert c.goaway[0] == s.id, "GOAWAY names the last stream processed"
        assert 0.5 < time.monotonic() - t0 < 8


def test_shutdown_finishes_streams_in_flight_then_goaway(proxy_factory, bucket):
    p = proxy_factory(bucket)
    obj = bucket[MEDIUM]
    with H2Client(p.port, window=65535) as c:
        sid = c.request("GET", obj.path)
        assert c.pump(lambda: len(c.streams[sid].body) == 65535, 30)
        p.proc.send_signal(signal.SIGTERM)
        # The notice (GOAWAY 2^31-1) and the PING, then the final GOAWAY naming our stream.
        assert c.pump(lambda: c.goaway is not None and c.goaway[0] == sid, 10), c.goaway
        assert c.goaway[1] == NO_ERROR
        c.window_update(sid, MAX_WINDOW - 65535)
        s = c.wait_streams([sid], timeout=30)[0]
        assert s.status == 200 and sha256(bytes(s.body)) == obj.sha256
        assert c.wait_closed(10)
    assert p.proc.wait(timeout=20) == 0


def test_protocol_errors_close_the_connection(proxy):
    # DATA on stream 0 is a connection error: GOAWAY PROTOCOL_ERROR, then close.
    with H2Client(proxy.port) as c:
        c.send(frame(DATA, 0, 0, b"oops"))
        assert c.wait_closed(10)
        assert c.goaway is not None and c.goaway[1] == PROTOCOL_ERROR
    # A frame of the wrong size: GOAWAY with an error, then close.
    with H2Client(proxy.port) as c:
        c.send(frame(4, 0, 0, b"12345"))  # SETTINGS whose length is not a multiple of 6
        assert c.wait_closed(10)
        assert c.goaway is not None and c.goaway[1] != NO_ERROR
    # Bytes that start like the preface but are not one are HTTP/1: 400, then close.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        assert got.startswith(b"HTTP/1.1 400"), got[:100]
    wait_until(lambda: "h2 connection closed with GOAWAY" in proxy.log_text(), 10,
               what="the GOAWAY to be logged")
    # The listener still serves HTTP/1.1.
    with HttpConnection(proxy.port) as c:
        c.send(build_request("GET", "/healthz"))
        assert c.read_response().status == 200


@pytest.mark.parametrize("mode", ["copy", "splice"])
def test_many_streams_of_cached_objects_in_both_send_modes(proxy_factory, bucket, mode):
    """40 streams of a cached 3 MiB object (full and ranges from odd offsets) and small ones, at
    once: more read buffers than a connection may hold, so streams wait for each other's bytes
    to leave (copy mode), or every payload is spliced from the file (splice mode)."""
    p = proxy_factory(bucket, extra_args=["--send-mode", mode])
    obj, small = bucket[MEDIUM], bucket[SMALL]
    with H2Client(p.port, timeout=60) as c:
        assert c.get(obj.path).status == 200
        assert c.get(small.path).status == 200
        wait_until(lambda: len(p.cache_files()) == 2, 10, what="both objects to be published")
        wanted = {}
        for i in range(40):
            first = i * 77_777
            sid = c.request("GET", obj.path, {"range": f"bytes={first}-"} if i % 2 else None)
            wanted[sid] = obj.data[first:] if i % 2 else obj.data
            sid = c.request("GET", small.path)
            wanted[sid] = small.data
        for s in c.wait_streams(list(wanted), timeout=120):
            assert s.status in (200, 206) and s.reset is None, (s.id, s.headers)
            assert raw_headers(s)["x-cache"] == "HIT"
            assert bytes(s.body) == wanted[s.id], f"stream {s.id}: {len(s.body)} bytes"


def test_a_few_connections_are_spread_over_the_workers(proxy_factory, bucket):
    """Four HTTP/2 connections, opened one after another, end up two on each of two workers
    whatever SO_REUSEPORT's hash says (an accepted socket goes to the less loaded worker)."""
    p = proxy_factory(bucket, extra_args=["--log-level", "debug"], workers=2)
    small = bucket[SMALL]
    clients = []
    try:
        for _ in range(4):
            c = H2Client(p.port)
            clients.append(c)
            assert c.get(small.path).status == 200
        def placed():
            return re.findall(r"worker=(\d) msg=\"connection speaks HTTP/2\"", p.log_text())
        wait_until(lambda: len(placed()) == 4, 10, what="four HTTP/2 connections in the log")
        assert sorted(placed()) == ["0", "0", "1", "1"], placed()
    finally:
        for c in clients:
            c.close()


def tcp_data_segments_in(sock: socket.socket) -> int:
    """tcpi_data_segs_in of struct tcp_info (linux/tcp.h, offset 152, Linux >= 4.6): segments
    carrying data this socket received (pure ACKs not counted)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    assert len(info) >= 156, "the kernel's tcp_info has no tcpi_data_segs_in"
    return int.from_bytes(info[152:156], "little")


@pytest.mark.parametrize("ttl", ["0s", "60s"])
def test_a_small_hit_leaves_in_one_send(proxy_factory, bucket, ttl):
    """A client asking for one small cached object at a time (nothing else on the connection):
    the HEADERS wait for the body's READ and leave with the DATA in one send, so each answer is
    one TCP segment (two before: the HEADERS were sent on their own). Counted from the client's
    side of loopback: tcp_info's data segments received over 40 answers, whether each hit asks
    S3 first (metadata TTL 0) or not."""
    p = proxy_factory(bucket, extra_args=["--metadata-ttl", ttl])
    small = bucket[SMALL]
    with H2Client(p.port) as c:
        assert c.get(small.path).status == 200
        wait_until(lambda: len(p.cache_files()) == 1, 10, what="the object to be published")
        for _ in range(10):  # past the connection's start (quick ACKs)
            assert raw_headers(c.get(small.path))["x-cache"] == "HIT"
        before = tcp_data_segments_in(c.sock)
        n = 40
        for _ in range(n):
            s = c.get(small.path)
            assert (s.status, s.reset) == (200, None)
            assert raw_headers(s)["x-cache"] == "HIT"
            assert bytes(s.body) == small.data
        segments = tcp_data_segments_in(c.sock) - before
    assert segments == n, f"{segments} segments with data for {n} answers"
