"""Multi-range answers (RFC 9110 14.6): 206 multipart/byteranges from the cache and from an object
still downloading, over HTTP/1.1 and HTTP/2. Each body is read with Python's email parser and
compared byte for byte with the layout the RFC prescribes; curl reads them too. Coalescing,
request order, 416, the part bound (--max-ranges), If-Range and HEAD are covered."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import threading

import pytest

from e2e_util import MEDIUM, SMALL, TEXT, Emulator, assert_full_object, wait_until
from test_miss_path import MiB, fetch

BOUNDARY_RE = re.compile(r"^multipart/byteranges; boundary=(xs3-[0-9a-f]{24})$")


def email_parts(content_type: str, body: bytes) -> list[tuple[str | None, str, bytes]]:
    """(Content-Type, Content-Range, bytes) of each part, as Python's email parser reads them."""
    # compat32 (the default policy) gives header values as sent, not re-rendered.
    msg = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    assert msg.is_multipart() and msg.get_content_type() == "multipart/byteranges"
    assert not msg.defects, msg.defects
    out = []
    for part in msg.get_payload():
        assert not part.defects, part.defects
        out.append((part.get("Content-Type"), part.get("Content-Range"),
                    part.get_payload(decode=True)))
    return out


def expected_body(boundary: str, part_type: str | None, data: bytes,
                  parts: list[tuple[int, int]]) -> bytes:
    out = b""
    for i, (a, b) in enumerate(parts):
        out += (b"" if i == 0 else b"\r\n") + b"--" + boundary.encode() + b"\r\n"
        if part_type:
            out += b"Content-Type: " + part_type.encode() + b"\r\n"
        out += f"Content-Range: bytes {a}-{b}/{len(data)}\r\n\r\n".encode() + data[a:b + 1]
    return out + b"\r\n--" + boundary.encode() + b"--\r\n"


def check_multipart(status: int, headers: dict[str, str], body: bytes, data: bytes,
                    parts: list[tuple[int, int]], part_type: str | None) -> None:
    assert status == 206, (status, headers)
    m = BOUNDARY_RE.match(headers.get("content-type", ""))
    assert m, headers
    assert "content-range" not in headers, headers
    assert headers.get("content-length") == str(len(body)), headers
    # Byte for byte what RFC 9110 14.6 lays out...
    assert body == expected_body(m.group(1), part_type, data, parts)
    # ... and what a MIME parser makes of it.
    got = email_parts(headers["content-type"], body)
    assert [(t, r) for t, r, _ in got] == \
        [(part_type, f"bytes {a}-{b}/{len(data)}") for a, b in parts]
    assert [p for _, _, p in got] == [data[a:b + 1] for a, b in parts]


def cached(proxy, obj):
    assert_full_object(proxy.get(obj.path), obj)


# --- hits -------------------------------------------------------------------------------------


def test_multi_range_hit_is_multipart_byteranges(proxy, bucket):
    obj = bucket[MEDIUM]
    cached(proxy, obj)
    size = obj.size
    r = proxy.get(obj.path, {"Range": "bytes=0-99,200-299,-50"})
    check_multipart(r.status, r.headers, r.body, obj.data,
                    [(0, 99), (200, 299), (size - 50, size - 1)], obj.content_type or None)
    assert r.header("x-cache") == "HIT"
    assert r.header("etag") == obj.etag and r.header("accept-ranges") == "bytes"
    assert r.header("x-amz-meta-kind") == "medium"

    # A typed object: every part says its type; boundaries differ per answer.
    text = bucket[TEXT]
    cached(proxy, text)
    a = proxy.get(text.path, {"Range": "bytes=1-3,10-12"})
    b = proxy.get(text.path, {"Range": "bytes=1-3,10-12"})
    for x in (a, b):
        check_multipart(x.status, x.headers, x.body, text.data, [(1, 3), (10, 12)],
                        text.content_type)
    assert a.header("content-type") != b.header("content-type")


def test_ranges_are_coalesced_and_keep_the_order_asked(proxy, bucket):
    obj = bucket[MEDIUM]
    cached(proxy, obj)
    r = proxy.get(obj.path, {"Range": "bytes=5000-5999,0-99,50-149,150-199"})
    check_multipart(r.status, r.headers, r.body, obj.data, [(5000, 5999), (0, 199)],
                    obj.content_type or None)
    # Everything coalesced into one range: a plain 206.
    r = proxy.get(obj.path, {"Range": "bytes=0-9,10-19,5-15"})
    assert r.status == 206 and r.header("content-range") == f"bytes 0-19/{obj.size}"
    assert r.body == obj.data[:20]
    # An unsatisfiable range next to a good one is left out.
    r = proxy.get(obj.path, {"Range": f"bytes=10-19,{obj.size + 5}-"})
    assert r.status == 206 and r.header("content-range") == f"bytes 10-19/{obj.size}"
    assert r.body == obj.data[10:20]


def test_all_ranges_unsatisfiable_is_416(proxy, bucket):
    obj = bucket[SMALL]
    for _ in range(2):  # cold, then cached
        r = proxy.get(obj.path, {"Range": f"bytes={obj.size}-,{obj.size + 10}-{obj.size + 20}"})
        assert r.status == 416, (r.status, r.raw_head)
        assert r.header("content-range") == f"bytes */{obj.size}"
        assert b"<Code>InvalidRange</Code>" in r.body


def test_more_parts_than_max_ranges_get_the_whole_object(proxy_factory, bucket, origin):
    p = proxy_factory(bucket, extra_args=["--max-ranges", "3"])
    obj = bucket[MEDIUM]
    cached(p, obj)
    r = p.get(obj.path, {"Range": "bytes=0-0,2-2,4-4"})
    check_multipart(r.status, r.headers, r.body, obj.data, [(0, 0), (2, 2), (4, 4)],
                    obj.content_type or None)
    assert_full_object(p.get(obj.path, {"Range": "bytes=0-0,2-2,4-4,6-6"}), obj, cache="HIT")
    # The bound counts parts after coalescing.
    r = p.get(obj.path, {"Range": "bytes=0-0,1-1,4-4,5-5,8-8"})
    check_multipart(r.status, r.headers, r.body, obj.data, [(0, 1), (4, 5), (8, 8)],
                    obj.content_type or None)


def test_if_range_and_head(proxy, bucket):
    obj = bucket[SMALL]
    cached(proxy, obj)
    r = proxy.get(obj.path, {"Range": "bytes=0-1,5-6", "If-Range": obj.etag})
    check_multipart(r.status, r.headers, r.body, obj.data, [(0, 1), (5, 6)], obj.content_type)
    # A validator that does not match: the whole object, 200.
    assert_full_object(proxy.get(obj.path, {"Range": "bytes=0-1,5-6", "If-Range": '"other"'}),
                       obj, cache="HIT")
    h = proxy.head(obj.path, {"Range": "bytes=0-1,5-6"})
    assert h.status == 206 and h.body == b""
    assert BOUNDARY_RE.match(h.header("content-type")), h.raw_head
    # The length a GET's body would have.
    boundary = BOUNDARY_RE.match(h.header("content-type")).group(1)
    assert int(h.header("content-length")) == \
        len(expected_body(boundary, obj.content_type, obj.data, [(0, 1), (5, 6)]))


# --- real clients ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("proto", ["--http1.1", "--http2-prior-knowledge"])
def test_curl_reads_multipart_over_http1_and_http2(proxy, bucket, tmp_path, proto):
    obj = bucket[MEDIUM]
    cached(proxy, obj)
    hdr, out = tmp_path / "h", tmp_path / "b"
    r = subprocess.run(["curl", "-sS", proto, "-r", "100-199,1048576-1048675,0-9", "-D", str(hdr),
                        "-o", str(out), "-w", "%{http_version} %{http_code}",
                        f"http://127.0.0.1:{proxy.port}{obj.path}"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == ("2 206" if "http2" in proto else "1.1 206")
    headers = {}
    for line in hdr.read_bytes().decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    check_multipart(206, headers, out.read_bytes(), obj.data,
                    [(100, 199), (1048576, 1048675), (0, 9)], obj.content_type or None)
    assert headers["x-cache"] == "HIT"


# --- an object still downloading ---------------------------------------------------------------


CHUNKS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB", "--max-concurrency", "8"]


def test_parts_stream_from_an_object_still_downloading(emulator_factory, proxy_factory):
    # 1 MB/s per origin connection: the 8 MiB object takes about a second per chunk.
    emu = emulator_factory(["name=slow.bin,size=8MiB,seed=71"], args=["--conn-bandwidth", "1MB"])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, extra_args=CHUNKS)
    whole = {}
    t = threading.Thread(target=lambda: whole.update(r=fetch(p.port, "/slow.bin")))
    t.start()
    wait_until(lambda: emu.object_stats("slow.bin")["body_bytes"] > 0, 20,
               what="the download to start")
    parts = [(7 * MiB + 5, 7 * MiB + 104), (100, 199), (3 * MiB, 3 * MiB + 99)]
    spec = ",".join(f"{a}-{b}" for a, b in parts)
    at_first_byte = {}
    r = fetch(p.port, "/slow.bin", {"Range": f"bytes={spec}"},
              on_first_body=lambda: at_first_byte.update(emu.object_stats("slow.bin")))
    assert r.complete
    assert r.headers["x-cache"] == "MISS"  # joined a download that did not hold the bytes yet
    # Its first bytes left while the object was still coming in.
    assert at_first_byte["body_bytes"] < 8 * MiB
    m = BOUNDARY_RE.match(r.headers["content-type"])
    assert m and r.status == 206, r.headers
    got = email_parts(r.headers["content-type"], r.body)
    assert [cr for _, cr, _ in got] == [f"bytes {a}-{b}/{8 * MiB}" for a, b in parts]
    for (a, b), (ctype, _, data) in zip(parts, got):
        assert ctype == "application/octet-stream"
        emu.verify("slow.bin", 71, data, offset=a)
        assert len(data) == b - a + 1
    t.join(60)
    assert whole["r"].complete
    emu.verify("slow.bin", 71, whole["r"].body, size=8 * MiB)
    # The whole object was fetched once, whoever asked.
    assert emu.object_stats("slow.bin")["body_bytes"] == 8 * MiB


def test_a_cold_multi_range_starts_the_download_and_streams(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=cold.bin,size=3MiB,seed=72"])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, extra_args=CHUNKS)
    parts = [(2 * MiB + 1, 2 * MiB + 4096), (0, 0)]
    r = fetch(p.port, "/cold.bin", {"Range": "bytes=2097153-2101248,0-0"})
    assert r.complete and r.status == 206 and r.headers["x-cache"] == "MISS"
    got = email_parts(r.headers["content-type"], r.body)
    assert [cr for _, cr, _ in got] == [f"bytes {a}-{b}/{3 * MiB}" for a, b in parts]
    for (a, _), (_, _, data) in zip(parts, got):
        emu.verify("cold.bin", 72, data, offset=a)
