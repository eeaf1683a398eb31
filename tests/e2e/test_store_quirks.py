"""S3-compatible stores as they are: every quirk on, checked first at the origin (the
quirk really is on) and then through the proxy, which must give the right bytes or a clear error
— never a 502 for an object that exists, never bytes of two versions in one body. Each test runs
twice: with the quirk, and with the store answering as AWS documents (the twin), through the same
proxy assertions.

- s3rver without the launcher's fix: an empty object's ranged GET answers 206 "bytes 0-0/0" with a
  Content-Length of 1 and no body (AWS: 416 InvalidRange).
- The emulator (bench/s3emu --quirk): ranged GETs answered 200 with the whole object, an empty
  object's ranged GET answered 206 "bytes 0-0/0" or 200 without Content-Range, a 416 without
  ActualObjectSize or Content-Range, weak ETags (If-Match never matches them), no ETags, and
  If-Match not honoured while the object changes mid-download."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from e2e_util import sha256, wait_until
from test_miss_path import MiB, fetch, proxy_for

BIG = 5 * MiB + 4321  # six 1 MiB chunks (CHUNK_ARGS)
OBJECTS = [f"name=big.bin,size={BIG},seed=81", "name=small.bin,size=1000,seed=82",
           "name=empty.bin,size=0,seed=83"]


def emu_get(emu, name: str, headers: dict | None = None):
    """A raw GET to the emulator: (status, headers, body)."""
    req = urllib.request.Request(f"{emu.endpoint}/{emu.BUCKET}/{name}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def store(emulator_factory, proxy_factory, quirk: str | None, faults=(), extra=()):
    """The emulator with `quirk` on (None: as AWS answers) and a proxy in front of it."""
    args = ["--quirk", quirk] if quirk else []
    emu = emulator_factory(OBJECTS, faults=list(faults), args=args)
    return emu, proxy_for(proxy_factory, emu, list(extra))


def assert_object(emu, resp, name: str, seed: int, size: int, first: int = 0,
                  generation: int = 0):
    assert resp.complete, (resp.status, resp.headers)
    emu.verify(name, seed, resp.body, offset=first, generation=generation,
               size=size if first == 0 else None)


# --- an empty object on s3rver as it is, and as AWS answers -----------------------------------


@pytest.mark.parametrize("quirk", [True, False], ids=["s3rver-206", "aws-416"])
def test_an_empty_object_on_s3rver(proxy_factory, bucket, origin, quirk):
    if quirk:
        origin.control(unpatched=["empty-range"])
    # The store itself: s3rver's 206 "bytes 0-0/0" (quirk), or S3's 416 (the launcher's fix).
    resp = urllib.request.Request(f"{origin.endpoint}/{bucket.name}/empty.bin",
                                  headers={"Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(resp, timeout=10) as r:
            raw = (r.status, r.headers.get("Content-Range"))
    except urllib.error.HTTPError as e:
        raw = (e.code, e.headers.get("Content-Range"))
    assert raw == ((206, "bytes 0-0/0") if quirk else (416, None))
    origin.reset_stats()
    p = proxy_factory(bucket)
    cold = p.get("/empty.bin", timeout=10)
    assert (cold.status, cold.body, cold.header("content-length")) == (200, b"", "0")
    assert cold.header("x-cache") == "MISS"
    assert cold.header("etag") == bucket["empty.bin"].etag
    assert cold.header("content-type") == "application/x-empty"
    assert bucket.key_stats("empty.bin")["GET"] == 1, "one GET, no retries"
    wait_until(lambda: p.cache_files(), 10, what="the empty object to be cached")
    assert p.get("/empty.bin").header("x-cache") == "HIT"
    h = p.head("/empty.bin")
    assert (h.status, h.header("content-length")) == (200, "0")
    # Any range of an empty object is unsatisfiable (S3's answer, whatever the store's).
    for rng in ("bytes=0-0", "bytes=0-", "bytes=-0", "bytes=-5"):
        r = p.get("/empty.bin", {"Range": rng})
        assert r.status == 416, rng
        assert r.header("content-range") == "bytes */0"
        assert b"<Code>InvalidRange</Code>" in r.body
    # A fresh cache: a client that asks a range first.
    p2 = proxy_factory(bucket)
    r = p2.get("/empty.bin", {"Range": "bytes=0-99"})
    assert r.status == 416 and r.header("content-range") == "bytes */0"
    assert p2.get("/empty.bin").status == 200


@pytest.mark.parametrize("quirk", [True, False], ids=["s3rver-206", "aws-416"])
def test_a_zero_length_range(proxy_factory, bucket, origin, quirk):
    if quirk:
        origin.control(unpatched=["empty-range"])
    p = proxy_factory(bucket)
    obj = bucket["small.bin"]
    # A suffix of zero bytes selects nothing: 416 with the size, whether cold or cached.
    for _ in range(2):
        r = p.get("/small.bin", {"Range": "bytes=-0"})
        assert r.status == 416 and r.header("content-range") == f"bytes */{obj.size}"
    full = p.get("/small.bin")
    assert full.status == 200 and sha256(full.body) == obj.sha256
    # The last byte alone, and a range ending before it starts (ignored: the whole object).
    one = p.get("/small.bin", {"Range": f"bytes={obj.size - 1}-{obj.size - 1}"})
    assert one.status == 206 and one.body == obj.data[-1:]
    back = p.get("/small.bin", {"Range": "bytes=5-4"})
    assert back.status == 200 and sha256(back.body) == obj.sha256


# --- the emulator's quirks, each with its AWS twin ---------------------------------------------


@pytest.mark.parametrize("quirk", ["range-ignored", None])
def test_a_store_that_ignores_range(emulator_factory, proxy_factory, quirk):
    emu, p = store(emulator_factory, proxy_factory, quirk)
    status, headers, body = emu_get(emu, "big.bin", {"Range": "bytes=0-99"})
    assert (status, len(body)) == ((200, BIG) if quirk else (206, 100))
    emu.reset_stats()
    # Cold, from the start.
    cold = fetch(p.port, "/big.bin")
    assert cold.status == 200 and cold.headers["x-cache"] == "MISS"
    assert_object(emu, cold, "big.bin", 81, BIG)
    # Such a store sends the whole object whatever is asked: one GET, as one chunk (AWS: six).
    assert emu.object_stats("big.bin")["get"] == (1 if quirk else 6)
    hit = fetch(p.port, "/big.bin", {"Range": "bytes=3000000-3000999"})
    assert hit.status == 206 and hit.headers["x-cache"] == "HIT"
    assert_object(emu, hit, "big.bin", 81, BIG, first=3000000)
    # Cold, from the middle (the probe asked for the fourth chunk and got byte 0 on).
    p2 = proxy_for(proxy_factory, emu)
    mid = fetch(p2.port, "/big.bin", {"Range": f"bytes={3 * MiB + 5}-{3 * MiB + 2004}"})
    assert mid.status == 206
    assert mid.headers["content-range"] == f"bytes {3 * MiB + 5}-{3 * MiB + 2004}/{BIG}"
    assert_object(emu, mid, "big.bin", 81, BIG, first=3 * MiB + 5)
    whole = fetch(p2.port, "/big.bin")  # from the download (or the cache, once it is done)
    assert_object(emu, whole, "big.bin", 81, BIG)
    small = fetch(p2.port, "/small.bin", {"Range": "bytes=10-19"})
    assert small.status == 206
    assert_object(emu, small, "small.bin", 82, 1000, first=10)
    # A range beyond the end of a cold object: 416 with the size.
    p3 = proxy_for(proxy_factory, emu)
    beyond = fetch(p3.port, "/big.bin", {"Range": "bytes=9000000-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == f"bytes */{BIG}"
    # Passthrough (an object larger than the cache): the bytes asked for are taken out of the
    # whole object.
    p4 = proxy_for(proxy_factory, emu, ["--max-cache-size", "2MiB"])
    first = fetch(p4.port, "/big.bin", {"Range": "bytes=0-0"})  # learns the size
    assert first.status == 206 and first.headers["x-cache"] == "PASS"
    part = fetch(p4.port, "/big.bin", {"Range": "bytes=2000000-2099999"})
    assert part.status == 206 and part.headers["x-cache"] == "PASS"
    assert_object(emu, part, "big.bin", 81, BIG, first=2000000)


@pytest.mark.parametrize("quirk,status,content_range",
                         [("empty-range-206", 206, "bytes 0-0/0"),
                          ("empty-range-200", 200, None),
                          (None, 416, "bytes */0")])
def test_an_empty_object_however_the_store_answers(emulator_factory, proxy_factory, quirk,
                                                    status, content_range):
    emu, p = store(emulator_factory, proxy_factory, quirk)
    got, headers, _ = emu_get(emu, "empty.bin", {"Range": "bytes=0-1048575"})
    assert (got, headers.get("content-range")) == (status, content_range)
    emu.reset_stats()
    cold = fetch(p.port, "/empty.bin")
    assert (cold.status, cold.body, cold.headers["content-length"]) == (200, b"", "0")
    assert cold.headers["x-cache"] == "MISS"
    assert emu.object_stats("empty.bin")["get"] == 1, "one GET, no retries"
    wait_until(lambda: p.cache_files(), 10, what="the empty object to be cached")
    assert fetch(p.port, "/empty.bin").headers["x-cache"] == "HIT"
    r = fetch(p.port, "/empty.bin", {"Range": "bytes=0-0"})
    assert r.status == 416 and r.headers["content-range"] == "bytes */0"
    small = fetch(p.port, "/small.bin")
    assert_object(emu, small, "small.bin", 82, 1000)


@pytest.mark.parametrize("quirk", ["bare-416", None])
def test_a_416_that_says_no_size(emulator_factory, proxy_factory, quirk):
    emu, p = store(emulator_factory, proxy_factory, quirk)
    got, headers, body = emu_get(emu, "small.bin", {"Range": "bytes=5000-"})
    assert got == 416
    assert ("content-range" in headers) == (quirk is None)
    assert (b"ActualObjectSize" in body) == (quirk is None)
    # An empty object (the probe's 416 says nothing): a HEAD tells the size.
    cold = fetch(p.port, "/empty.bin")
    assert (cold.status, cold.body, cold.headers["content-length"]) == (200, b"", "0")
    # A range beyond the end: S3's 416, with the size.
    beyond = fetch(p.port, "/small.bin", {"Range": "bytes=2000000-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == "bytes */1000"
    small = fetch(p.port, "/small.bin")
    assert small.status == 200
    assert_object(emu, small, "small.bin", 82, 1000)
    # The empty object's metadata comes from a HEAD either way (a 416 carries none); the
    # quirk's 416s need one more, for the size of small.bin.
    assert emu.stats()["requests"].get("HEAD", {}).get("200", 0) == (2 if quirk else 1)


@pytest.mark.parametrize("quirk", ["weak-etag", None])
def test_weak_etags(emulator_factory, proxy_factory, quirk):
    emu, p = store(emulator_factory, proxy_factory, quirk)
    got, headers, _ = emu_get(emu, "big.bin", {"Range": "bytes=0-9"})
    etag = headers["etag"]
    assert got == 206 and etag.startswith('W/"') == bool(quirk)
    assert emu_get(emu, "big.bin", {"Range": "bytes=0-9", "If-Match": etag})[0] == \
        (412 if quirk else 206)
    emu.reset_stats()
    cold = fetch(p.port, "/big.bin")
    assert cold.status == 200 and cold.headers["etag"] == etag
    assert_object(emu, cold, "big.bin", 81, BIG)
    stats = emu.stats()
    assert emu.object_stats("big.bin")["get"] == 6, "six chunk GETs"
    assert stats["requests"]["GET"].get("412", 0) == 0, "none refused"
    # Cached: a range from the file.
    again = fetch(p.port, "/big.bin", {"Range": "bytes=100-199"})
    assert again.status == 206 and again.headers["x-cache"] == "HIT"
    assert_object(emu, again, "big.bin", 81, BIG, first=100)


@pytest.mark.parametrize("quirk", ["no-etag", None])
def test_no_etags(emulator_factory, proxy_factory, quirk):
    # The object changes just before the second HEAD is answered.
    emu, p = store(emulator_factory, proxy_factory, quirk, extra=["--metadata-ttl", "0"],
                   faults=["etag-change:object=big.bin,method=HEAD,request=2"])
    assert ("etag" in emu_get(emu, "big.bin", {"Range": "bytes=0-9"})[1]) == (quirk is None)
    emu.reset_stats()
    cold = fetch(p.port, "/big.bin")
    assert cold.status == 200 and ("etag" in cold.headers) == (quirk is None)
    assert_object(emu, cold, "big.bin", 81, BIG)
    assert emu.object_stats("big.bin")["get"] == 6
    wait_until(lambda: p.cache_files(), 10, what="the object to be cached")
    # Revalidated at once (--metadata-ttl 0): the HEAD's ETag (304 to If-None-Match), or without
    # tags its Last-Modified and size, confirm the cached copy.
    again = fetch(p.port, "/big.bin")
    assert again.status == 200 and again.headers["x-cache"] == "HIT"
    assert_object(emu, again, "big.bin", 81, BIG)
    assert emu.object_stats("big.bin")["get"] == 6  # the hit made no GET
    # Changed at the store (a new Last-Modified, and a new ETag where there are tags): fetched
    # again, the new version's bytes, never the old copy.
    changed = fetch(p.port, "/big.bin")
    assert changed.status == 200 and changed.headers["x-cache"] == "MISS"
    assert_object(emu, changed, "big.bin", 81, BIG, generation=1)
    assert emu.object_stats("big.bin")["get"] == 12  # fetched again, all of it, once
    wait_until(lambda: not p.temp_files(), 10, what="the new version to be cached")
    latest = fetch(p.port, "/big.bin")
    assert latest.headers["x-cache"] == "HIT"
    assert_object(emu, latest, "big.bin", 81, BIG, generation=1)


@pytest.mark.parametrize("quirk", ["if-match-ignored", None])
def test_a_store_that_ignores_if_match(emulator_factory, proxy_factory, quirk):
    # The object is overwritten right after the probe's GET; a store that ignores If-Match would
    # hand the next chunks the new version's bytes (AWS answers them 412).
    emu, p = store(emulator_factory, proxy_factory, quirk,
                   faults=["etag-change:object=big.bin,method=GET,request=2"])
    if quirk:
        got, _, _ = emu_get(emu, "small.bin", {"Range": "bytes=0-9", "If-Match": '"nope"'})
        assert got == 206
    cold = fetch(p.port, "/big.bin")
    # The head went out with the first version's length; its bytes are never mixed with the
    # second's: the body is cut where the versions would meet.
    assert cold.status == 200
    assert not cold.complete, "a body mixing two versions must not complete"
    assert len(cold.body) <= MiB  # at most the probe's chunk, the first version's
    if cold.body:
        emu.verify("big.bin", 81, cold.body, generation=0)
    assert "object changed while downloading" in p.log_text()
    fresh = fetch(p.port, "/big.bin")
    assert fresh.status == 200
    assert_object(emu, fresh, "big.bin", 81, BIG, generation=1)
