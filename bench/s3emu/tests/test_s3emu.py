"""End-to-end tests of the s3emu binary: a real process on a free port, real sockets.

Run by meson (suite 'bench') as: python3 -m pytest bench/s3emu/tests with S3EMU and S3EMU_VERIFY
pointing at the built binaries.
"""
import email.utils
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest

S3EMU = os.environ.get("S3EMU", "build/bench/s3emu")
VERIFY = os.environ.get("S3EMU_VERIFY", "build/bench/s3emu-verify")


class Emu:
    def __init__(self, *args, config=None):
        self.dir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.dir.name, "port")
        cmd = [S3EMU, "--port", "0", "--port-file", port_file, "--log-level", "warn", *args]
        if config is not None:
            path = os.path.join(self.dir.name, "emu.toml")
            with open(path, "w") as f:
                f.write(config)
            cmd += ["--config", path]
        self.log = open(os.path.join(self.dir.name, "log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("s3emu exited: " + self.log.read())
            if time.time() > deadline:
                raise RuntimeError("s3emu did not start")
            time.sleep(0.02)
        self.port = int(open(port_file).read())

    def conn(self, timeout=20):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def get(self, path, **h):
        return self.request("GET", path, h)

    def stats(self):
        return json.loads(self.get("/__stats")[2])

    def close(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        self.dir.cleanup()
        assert rc == 0, text
        assert "level=error" not in text, text


@pytest.fixture
def emu_factory():
    started = []

    def make(*args, **kw):
        e = Emu(*args, **kw)
        started.append(e)
        return e

    yield make
    for e in started:
        e.close()


OBJS = ["--object", "name=a.bin,size=1MiB,seed=7,sha224=yes",
        "--object", "name=dir/b.txt,size=1000,seed=3,content_type=text/plain",
        "--object", "name=empty,size=0"]


@pytest.fixture
def emu(emu_factory):
    return emu_factory(*OBJS)


def verify(name, seed, data, offset=0, size=None, generation=0):
    cmd = [VERIFY, "--name", name, "--seed", str(seed), "--offset", str(offset),
           "--generation", str(generation)]
    if size is not None and offset == 0:
        cmd += ["--size", str(size)]
    p = subprocess.run(cmd + ["-"], input=data, capture_output=True)
    return p.returncode, p.stdout.decode()


def raw_get(port, path, extra=b"", timeout=20):
    """GET over a raw socket: returns (head, body, how_it_ended) where how is 'eof' or 'reset'."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    data = b""
    how = "eof"
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"Content-Length: (\d+)", data[:head_end])
                if m and len(data) - head_end - 4 >= int(m.group(1)):
                    how = "complete"
                    break
    except ConnectionResetError:
        how = "reset"
    s.close()
    head_end = data.find(b"\r\n\r\n")
    return data[:head_end].decode(), data[head_end + 4:], how


def test_get_head_bytes_and_metadata(emu):
    st, h, body = emu.get("/bench/a.bin")
    assert st == 200
    assert len(body) == 1 << 20
    assert verify("a.bin", 7, body, size=1 << 20) == (0, f"OK {1 << 20} bytes at offset 0\n")
    assert h["content-length"] == str(1 << 20)
    assert h["x-amz-meta-sha224"] == hashlib.sha224(body).hexdigest()
    assert re.fullmatch(r'"[0-9a-f]{32}"', h["etag"])
    assert h["last-modified"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert h["content-type"] == "application/octet-stream"
    assert h["accept-ranges"] == "bytes"
    st, hh, hb = emu.request("HEAD", "/bench/a.bin")
    assert (st, hb) == (200, b"")
    for k in ("etag", "content-length", "x-amz-meta-sha224", "last-modified"):
        assert hh[k] == h[k]
    st, h, body = emu.get("/bench/dir/b.txt")
    assert (st, len(body), h["content-type"]) == (200, 1000, "text/plain")
    assert "x-amz-meta-sha224" not in h
    assert verify("dir/b.txt", 3, body, size=1000)[0] == 0
    assert verify("dir/b.txt", 4, body, size=1000)[0] == 1
    st, h, body = emu.get("/bench/empty")
    assert (st, body, h["content-length"]) == (200, b"", "0")


def test_virtual_host_and_path_style_agree(emu):
    a = emu.get("/bench/a.bin")
    st, h, body = emu.request("GET", "/a.bin", {"Host": "bench.s3.local:9000"})
    assert st == 200 and body == a[2] and h["etag"] == a[1]["etag"]
    # An IP literal host is never a bucket; "other" is not a bucket either.
    st, _, body = emu.request("GET", "/other/a.bin")
    assert st == 404 and b"<Code>NoSuchBucket</Code>" in body


def test_sigv4_headers_are_ignored(emu):
    st, _, body = emu.request("GET", "/bench/dir/b.txt?x-id=GetObject", {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=deadbeef",
        "x-amz-date": "20240101T000000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert st == 200 and len(body) == 1000


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-99", 0, 99), ("bytes=100-", 100, (1 << 20) - 1), ("bytes=-100", (1 << 20) - 100,
                                                                  (1 << 20) - 1),
    ("bytes=5-5", 5, 5), ("bytes=1000-99999999", 1000, (1 << 20) - 1),
    ("bytes=-99999999", 0, (1 << 20) - 1)])
def test_range_forms(emu, rng, first, last):
    st, h, body = emu.get("/bench/a.bin", Range=rng)
    assert st == 206
    assert h["content-range"] == f"bytes {first}-{last}/{1 << 20}"
    assert len(body) == last - first + 1
    assert verify("a.bin", 7, body, offset=first)[0] == 0
    if first > 0:
        assert verify("a.bin", 7, body, offset=first - 1)[0] == 1


def test_range_416_and_ignored_forms(emu):
    for rng in ("bytes=1048576-", "bytes=2000000-3000000", "bytes=-0"):
        st, h, body = emu.get("/bench/a.bin", Range=rng)
        assert st == 416, rng
        assert h["content-range"] == "bytes */1048576"
        assert b"<Code>InvalidRange</Code>" in body
    st, h, _ = emu.get("/bench/empty", Range="bytes=0-")
    assert (st, h["content-range"]) == (416, "bytes */0")
    for rng in ("bytes=0-1,5-6", "items=0-5", "bytes=x-y"):
        st, h, body = emu.get("/bench/dir/b.txt", Range=rng)
        assert st == 200 and len(body) == 1000 and "content-range" not in h


def test_conditionals(emu):
    _, h, _ = emu.get("/bench/a.bin")
    etag = h["etag"]
    st, _, body = emu.get("/bench/a.bin", **{"If-Match": etag, "Range": "bytes=0-9"})
    assert (st, len(body)) == (206, 10)
    st, h412, body = emu.get("/bench/a.bin", **{"If-Match": '"0000"'})
    assert st == 412
    assert b"<Code>PreconditionFailed</Code>" in body and b"<Condition>If-Match</Condition>" in body
    assert h412["content-type"] == "application/xml"
    st, h304, body = emu.get("/bench/a.bin", **{"If-None-Match": etag})
    assert (st, body, h304["etag"]) == (304, b"", etag)
    st, _, _ = emu.get("/bench/a.bin", **{"If-None-Match": '"other"'})
    assert st == 200
    st, _, _ = emu.get("/bench/a.bin", **{"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"})
    assert st == 304
    st, _, _ = emu.get("/bench/a.bin", **{"If-Modified-Since": "Sun, 31 Dec 2023 00:00:00 GMT"})
    assert st == 200
    st, _, _ = emu.get("/bench/a.bin", **{"If-Unmodified-Since": "Sun, 31 Dec 2023 00:00:00 GMT"})
    assert st == 412
    # If-Range with a stale ETag: the whole object.
    st, _, body = emu.get("/bench/a.bin", **{"If-Range": '"stale"', "Range": "bytes=0-9"})
    assert (st, len(body)) == (200, 1 << 20)


def test_no_such_key_and_methods(emu):
    st, h, body = emu.get("/bench/missing/key")
    assert st == 404 and h["content-type"] == "application/xml"
    assert b"<Code>NoSuchKey</Code>" in body and b"<Key>missing/key</Key>" in body
    st, _, body = emu.request("HEAD", "/bench/missing")
    assert (st, body) == (404, b"")
    st, _, body = emu.request("PUT", "/bench/a.bin")
    assert st == 501 and b"NotImplemented" in body


def test_keep_alive_and_pipelining(emu):
    s = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
    req = b"GET /bench/dir/b.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-4\r\n\r\n"
    s.sendall(req * 3 + b"GET /bench/dir/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    assert data.count(b"HTTP/1.1 206 Partial Content") == 3
    assert data.count(b"HTTP/1.1 200 OK") == 1
    assert emu.stats()["connections"]["accepted"] >= 1


def test_no_faults_unless_asked(emu_factory):
    e = emu_factory(*OBJS, "--fault", "503:object=dir/b.txt,rate=1")
    for i in range(100):
        st, _, body = e.get("/bench/a.bin", Range=f"bytes={i * 1000}-{i * 1000 + 999}")
        assert st == 206 and verify("a.bin", 7, body, offset=i * 1000)[0] == 0
    s = e.stats()
    assert s["faults"] == {"503": 0, "500": 0, "reset": 0, "short": 0, "stall": 0,
                           "etag-change": 0}
    assert s["truncated_responses"] == 0
    assert e.get("/bench/dir/b.txt")[0] == 503
    assert e.stats()["faults"]["503"] == 1


def test_fault_503_and_500(emu_factory):
    e = emu_factory(*OBJS, "--fault", "503:object=a.bin,rate=1,count=2",
                    "--fault", "500:object=dir/b.txt,request=2")
    st, h, body = e.get("/bench/a.bin")
    assert st == 503 and b"<Code>SlowDown</Code>" in body
    assert e.request("HEAD", "/bench/a.bin")[0] == 503
    assert e.get("/bench/a.bin")[0] == 200
    replies = [e.get("/bench/dir/b.txt") for _ in range(4)]
    assert [r[0] for r in replies] == [200, 500, 200, 200]
    assert b"<Code>InternalError</Code>" in replies[1][2]
    f = e.stats()["faults"]
    assert (f["503"], f["500"]) == (2, 1)


def test_fault_reset_mid_body(emu_factory):
    e = emu_factory(*OBJS, "--fault", "reset:object=a.bin,offset=300000,count=1")
    head, body, how = raw_get(e.port, "/bench/a.bin")
    assert "200 OK" in head
    assert how == "reset"  # RST, not FIN; bytes still in flight may be lost with it
    assert len(body) <= 300000
    assert verify("a.bin", 7, body)[0] == 0
    head, body, how = raw_get(e.port, "/bench/a.bin")
    assert how == "complete" and len(body) == 1 << 20
    s = e.stats()
    assert s["faults"]["reset"] == 1 and s["truncated_responses"] == 1
    assert s["objects"]["a.bin"]["body_bytes"] == 300000 + (1 << 20)


def test_fault_short_body(emu_factory):
    e = emu_factory(*OBJS, "--fault", "short:object=a.bin,request=1,offset=123457")
    head, body, how = raw_get(e.port, "/bench/a.bin")
    assert "Content-Length: 1048576" in head
    assert how == "eof" and len(body) == 123457
    assert verify("a.bin", 7, body)[0] == 0
    # Range that does not cover the offset: untouched (and request=1 is past anyway).
    head, body, how = raw_get(e.port, "/bench/a.bin")
    assert how == "complete"
    assert e.stats()["faults"]["short"] == 1


def test_fault_short_default_is_mid_body(emu_factory):
    e = emu_factory(*OBJS, "--fault", "short:object=dir/b.txt")
    head, body, how = raw_get(e.port, "/bench/dir/b.txt", b"Range: bytes=100-299\r\n")
    assert "206" in head and how == "eof" and len(body) == 100


def test_fault_stall(emu_factory):
    e = emu_factory(*OBJS, "--fault", "stall:object=a.bin,offset=500000,seconds=1200ms,count=1")
    t0 = time.time()
    c = e.conn()
    c.request("GET", "/bench/a.bin")
    r = c.getresponse()
    first = r.read(400000)
    t1 = time.time()
    rest = r.read()
    t2 = time.time()
    assert t1 - t0 < 1.0
    assert t2 - t1 >= 1.1
    body = first + rest
    assert len(body) == 1 << 20 and verify("a.bin", 7, body)[0] == 0
    t0 = time.time()
    assert e.get("/bench/a.bin")[0] == 200
    assert time.time() - t0 < 1.0
    assert e.stats()["faults"]["stall"] == 1


def test_fault_etag_change(emu_factory):
    e = emu_factory(*OBJS, "--fault", "etag-change:object=a.bin,after=2")
    _, h1, b1 = e.get("/bench/a.bin")
    _, h2, _ = e.get("/bench/a.bin", Range="bytes=0-9")
    st, h3, b3 = e.get("/bench/a.bin")
    assert h1["etag"] == h2["etag"] != h3["etag"]
    assert h3["last-modified"] == "Mon, 01 Jan 2024 00:01:00 GMT"
    assert b3 != b1
    assert verify("a.bin", 7, b3, generation=1)[0] == 0
    assert h3["x-amz-meta-sha224"] == hashlib.sha224(b3).hexdigest()
    # A client still holding the old ETag now gets 412.
    assert e.get("/bench/a.bin", **{"If-Match": h1["etag"]})[0] == 412
    s = e.stats()
    assert s["faults"]["etag-change"] == 1 and s["objects"]["a.bin"]["generation"] == 1


def test_status_faults_aimed_at_an_offset(emu_factory):
    e = emu_factory(*OBJS, "--fault", "503:object=a.bin,offset=600000,count=1",
                    "--fault", "etag-change:object=a.bin,offset=900000,count=1")
    assert e.request("HEAD", "/bench/a.bin", {})[0] == 200  # a HEAD is never aimed at
    st, h0, _ = e.get("/bench/a.bin", Range="bytes=0-99")
    assert st == 206  # does not ask for byte 600000
    assert e.get("/bench/a.bin", Range="bytes=500000-600000")[0] == 503
    st, _, body = e.get("/bench/a.bin", Range="bytes=500000-600000")
    assert st == 206 and verify("a.bin", 7, body, offset=500000)[0] == 0  # count=1
    # The object changes just before the GET asking for byte 900000 is answered: its If-Match
    # on the old ETag fails.
    st, h1, _ = e.get("/bench/a.bin", **{"Range": "bytes=800000-999999", "If-Match": h0["etag"]})
    assert st == 412
    s = e.stats()
    assert s["faults"]["503"] == 1 and s["faults"]["etag-change"] == 1
    assert s["objects"]["a.bin"]["generation"] == 1


def test_fault_rate_is_deterministic(emu_factory):
    runs = []
    for _ in range(2):
        e = emu_factory(*OBJS, "--fault", "503:rate=0.3", "--seed", "42")
        runs.append([e.get("/bench/dir/b.txt")[0] for _ in range(40)])
    assert runs[0] == runs[1]
    assert 3 < runs[0].count(503) < 25


def test_counters_add_up(emu_factory):
    e = emu_factory(*OBJS)
    received = 0
    for i in range(5):
        received += len(e.get("/bench/a.bin", Range=f"bytes={i}-{i + 9999}")[2])
    received += len(e.get("/bench/dir/b.txt")[2])
    e.get("/bench/nope")
    e.request("HEAD", "/bench/a.bin")
    e.get("/bench/a.bin", Range="bytes=99999999-")
    s = e.stats()
    total = sum(v for m in s["requests"].values() for v in m.values())
    assert s["requests_total"] == total == 9
    assert s["requests"]["GET"] == {"200": 1, "206": 5, "404": 1, "416": 1}
    assert s["requests"]["HEAD"] == {"200": 1}
    assert s["ranged_requests"] == 5
    assert received == 50000 + 1000
    assert s["body_bytes"] == received == sum(o["body_bytes"] for o in s["objects"].values())
    assert s["objects"]["a.bin"]["get"] == 6 and s["objects"]["a.bin"]["head"] == 1
    # Concurrent connections: hold 5 open at once.
    socks = [socket.create_connection(("127.0.0.1", e.port)) for _ in range(5)]
    time.sleep(0.2)
    assert e.stats()["connections"]["peak"] >= 5
    for s_ in socks:
        s_.close()
    time.sleep(0.2)
    st, _, body = e.request("POST", "/__stats/reset")
    assert st == 200
    s = e.stats()
    assert s["requests_total"] == 0 and s["body_bytes"] == 0
    assert s["connections"]["peak"] <= 2


def test_latency_and_bandwidth(emu_factory):
    e = emu_factory(*OBJS, "--latency", "300ms", "--conn-bandwidth", "4MB")
    t0 = time.time()
    c = e.conn()
    c.request("GET", "/bench/dir/b.txt")
    r = c.getresponse()
    ttfb = time.time() - t0
    r.read()
    assert 0.29 <= ttfb < 2
    t0 = time.time()
    st, _, body = e.get("/bench/a.bin")  # 1 MiB at 4 MB/s: ~0.26 s after the 0.3 s latency
    dt = time.time() - t0
    assert st == 200 and verify("a.bin", 7, body)[0] == 0
    assert 0.5 <= dt < 3
    # The stats endpoint is never delayed.
    t0 = time.time()
    e.stats()
    assert time.time() - t0 < 0.25


def test_total_bandwidth(emu_factory):
    e = emu_factory(*OBJS, "--total-bandwidth", "4MB", "--threads", "2")
    out = []

    def fetch():
        out.append(len(e.get("/bench/a.bin")[2]))

    t0 = time.time()
    ts = [threading.Thread(target=fetch) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.time() - t0
    assert out == [1 << 20] * 3
    assert dt >= 0.7  # 3 MiB at 4 MB/s is 0.79 s


def test_max_connections(emu_factory):
    e = emu_factory(*OBJS, "--max-connections", "2")
    c1, c2 = e.conn(), e.conn()
    assert e.request("GET", "/bench/dir/b.txt", conn=c1)[0] == 200
    assert e.request("GET", "/bench/dir/b.txt", conn=c2)[0] == 200
    st, h, body = e.get("/bench/dir/b.txt")
    assert st == 503 and b"SlowDown" in body and h.get("connection") == "close"
    c1.close()
    c2.close()
    time.sleep(0.2)
    assert e.get("/bench/dir/b.txt")[0] == 200
    assert e.stats()["connections"]["rejected"] == 1


def test_toml_config(emu_factory):
    e = emu_factory(config="""
buckets = ["b1", "b2"]
seed = 5
[[object]]
name = "t/{i}.bin"
size = "2KiB"
seed = 10
count = 3
sha224 = true
[[fault]]
type = "500"
object = "t/1.bin"
""")
    st, h, body = e.get("/b2/t/2.bin")
    assert st == 200 and len(body) == 2048 and verify("t/2.bin", 12, body)[0] == 0
    assert h["x-amz-meta-sha224"] == hashlib.sha224(body).hexdigest()
    assert e.get("/b1/t/1.bin")[0] == 500
    assert e.get("/bench/t/0.bin")[0] == 404  # buckets replaced the default


def test_bad_arguments_exit_2():
    for args in (["--object", "name=x"], ["--fault", "teapot"], ["--bogus", "1"]):
        p = subprocess.run([S3EMU, *args], capture_output=True)
        assert p.returncode == 2, args


def test_big_object_waits_for_its_digest(emu_factory):
    e = emu_factory("--object", "name=big,size=256MiB,seed=1,sha224=yes")
    st, h, _ = e.request("HEAD", "/bench/big")
    assert st == 200 and len(h["x-amz-meta-sha224"]) == 56
    assert e.stats()["sha224_pending"] == 0


# --- --quirk: S3-compatible stores that answer differently from AWS ------------------------


def test_quirk_range_ignored(emu_factory):
    e = emu_factory(*OBJS, "--quirk", "range-ignored")
    st, h, body = e.get("/bench/a.bin", Range="bytes=100-199")
    assert st == 200 and "content-range" not in h and len(body) == 1 << 20
    assert verify("a.bin", 7, body, size=1 << 20)[0] == 0
    st, h, body = e.get("/bench/a.bin", Range="bytes=2000000-")  # beyond the end: ignored too
    assert st == 200 and len(body) == 1 << 20


def test_quirk_empty_object_ranges(emu_factory):
    e = emu_factory(*OBJS, "--quirk", "empty-range-206")
    st, h, body = e.get("/bench/empty", Range="bytes=0-99")
    assert (st, h["content-range"], h["content-length"], body) == (206, "bytes 0-0/0", "0", b"")
    # Only an empty object: a range beyond another object's end is still 416.
    assert e.get("/bench/dir/b.txt", Range="bytes=5000-")[0] == 416
    e2 = emu_factory(*OBJS, "--quirk", "empty-range-200")
    st, h, body = e2.get("/bench/empty", Range="bytes=0-99")
    assert (st, h.get("content-range"), body) == (200, None, b"")


def test_quirk_bare_416(emu_factory):
    e = emu_factory(*OBJS, "--quirk", "bare-416")
    st, h, body = e.get("/bench/dir/b.txt", Range="bytes=5000-")
    assert st == 416 and "content-range" not in h
    assert b"<Code>InvalidRange</Code>" in body and b"ActualObjectSize" not in body


def test_quirk_etags(emu_factory):
    weak = emu_factory(*OBJS, "--quirk", "weak-etag")
    st, h, _ = weak.get("/bench/a.bin", Range="bytes=0-9")
    assert st == 206 and h["etag"].startswith('W/"')
    # RFC 9110: If-Match compares strongly, so a weak tag never matches; If-None-Match weakly.
    assert weak.get("/bench/a.bin", **{"If-Match": h["etag"]})[0] == 412
    assert weak.get("/bench/a.bin", **{"If-Match": h["etag"][2:]})[0] == 412
    assert weak.get("/bench/a.bin", **{"If-None-Match": h["etag"]})[0] == 304
    none = emu_factory(*OBJS, "--quirk", "no-etag")
    st, h, _ = none.get("/bench/a.bin", Range="bytes=0-9")
    assert st == 206 and "etag" not in h and "last-modified" in h


def test_quirk_if_match_ignored(emu_factory):
    e = emu_factory(*OBJS, "--quirk", "if-match-ignored")
    st, _, body = e.get("/bench/a.bin", **{"If-Match": '"0000"', "Range": "bytes=0-9"})
    assert (st, len(body)) == (206, 10)


def test_quirk_names(emu_factory):
    with pytest.raises(RuntimeError, match="unknown quirk nope"):
        emu_factory(*OBJS, "--quirk", "nope")
