"""The miss path against the S3 emulator (bench/s3emu): byte-exact objects of every awkward size,
one origin fetch for many concurrent clients, every origin fault ending in correct bytes or a
cut-off connection (never wrong bytes), streaming before a chunk is complete, passthrough when the
cache cannot take the object, O_DIRECT, and what happens when clients leave."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest

from e2e_util import Emulator, build_request, wait_until

MiB = 1024 * 1024
CHUNK_ARGS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB", "--max-concurrency", "8"]


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool  # the whole Content-Length arrived
    first_body_at: float | None = None  # time.monotonic() of the first body byte


def fetch(port: int, path: str, headers: dict | None = None, timeout: float = 60.0,
          on_first_body=None) -> Raw:
    """One GET on a fresh connection, reading the body until Content-Length or the peer closes;
    a cut-off body is returned as it arrived, never an exception."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(build_request("GET", path, headers))
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"closed before a response head: {buf[:200]!r}")
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        want = int(hdrs.get("content-length", "0"))
        parts = [body]
        have = len(body)
        first = time.monotonic() if have else None
        if have and on_first_body:
            on_first_body()
        while have < want:
            try:
                chunk = s.recv(min(1 << 20, want - have))
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            if first is None:
                first = time.monotonic()
                if on_first_body:
                    on_first_body()
            parts.append(chunk)
            have += len(chunk)
        return Raw(status, hdrs, b"".join(parts), have == want, first)


def proxy_for(proxy_factory, emu: Emulator, extra: list[str] = (), **kw):
    return proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                         extra_args=[*CHUNK_ARGS, *extra], **kw)


# --- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, MiB - 1, MiB, MiB + 1, 5 * MiB + 77])
def test_byte_exact_sizes_then_hit(emulator_factory, proxy_factory, size):
    name = f"s{size}.bin"
    emu = emulator_factory([f"name={name},size={size},seed=21,sha224=yes"])
    p = proxy_for(proxy_factory, emu)
    cold = fetch(p.port, f"/{name}")
    assert cold.status == 200 and cold.complete
    assert cold.headers["x-cache"] == "MISS"
    assert cold.headers["content-length"] == str(size)
    assert cold.headers["etag"] == emu.object_stats(name)["etag"]
    assert "x-amz-meta-sha224" in cold.headers
    emu.verify(name, 21, cold.body, size=size)
    stats = emu.object_stats(name)
    assert stats["body_bytes"] == size, "every byte fetched exactly once"
    assert stats["head"] == (1 if size == 0 else 0), "no HEAD before a cold miss"
    wait_until(lambda: len(p.cache_files()) == 1, 10, what="the object to be published")
    warm = fetch(p.port, f"/{name}")
    assert warm.status == 200 and warm.complete and warm.headers["x-cache"] == "HIT"
    emu.verify(name, 21, warm.body, size=size)
    assert emu.object_stats(name)["body_bytes"] == size, "a hit fetches no object bytes"


@pytest.mark.deadline(240)
def test_one_gib_cold_object_byte_exact(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=huge.bin,size=1GiB,seed=22"])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=["--max-cache-size", "4GiB"])
    r = fetch(p.port, "/huge.bin", timeout=180)
    assert r.status == 200 and r.complete and r.headers["x-cache"] == "MISS"
    emu.verify("huge.bin", 22, r.body, size=1 << 30)
    del r
    stats = emu.object_stats("huge.bin")
    assert stats["body_bytes"] == 1 << 30
    assert stats["ranged"] == (1 << 30) // (8 * MiB)  # 8 MiB chunks, each fetched once


# --- many clients, one fetch ------------------------------------------------------------------


@pytest.mark.deadline(120)
def test_32_concurrent_gets_and_ranges_fetch_once(emulator_factory, proxy_factory):
    size = 24 * MiB + 5
    emu = emulator_factory([f"name=shared.bin,size={size},seed=23"],
                           args=["--latency", "20ms", "--conn-bandwidth", "50MB"])
    p = proxy_for(proxy_factory, emu)
    ranges = [None] * 16 + [(i * 1_500_001, i * 1_500_001 + 999_999) for i in range(16)]
    results: list[Raw | Exception | None] = [None] * len(ranges)
    start = threading.Barrier(len(ranges))

    def client(i):
        try:
            start.wait()
            r = ranges[i]
            hdrs = {"Range": f"bytes={r[0]}-{r[1]}"} if r else None
            results[i] = fetch(p.port, "/shared.bin", hdrs, timeout=90)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(ranges))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    for i, res in enumerate(results):
        assert isinstance(res, Raw), res
        assert res.complete, f"client {i} got {len(res.body)} bytes"
        r = ranges[i]
        if r:
            assert res.status == 206
            assert res.headers["content-range"] == f"bytes {r[0]}-{r[1]}/{size}"
            emu.verify("shared.bin", 23, res.body, offset=r[0])
            assert len(res.body) == r[1] - r[0] + 1
        else:
            assert res.status == 200
            emu.verify("shared.bin", 23, res.body, size=size)
    stats = emu.object_stats("shared.bin")
    assert stats["body_bytes"] == size, "the origin sent every byte once, for 32 clients"
    assert stats["get"] == 25  # one GET per 1 MiB chunk
    assert stats["head"] == 0


# --- origin faults: correct bytes, or a cut-off connection -----------------------------------


@pytest.mark.parametrize("fault", [
    "503:object=f.bin,request=3",
    "500:object=f.bin,request=2",
    "reset:object=f.bin,offset=2500000,count=1",
    "short:object=f.bin,offset=1600000,count=1",
    "stall:object=f.bin,offset=3300000,seconds=4s,count=1",
])
def test_transient_faults_are_retried_and_bytes_are_exact(emulator_factory, proxy_factory,
                                                          fault):
    size = 4 * MiB + 3
    emu = emulator_factory([f"name=f.bin,size={size},seed=24"], faults=[fault])
    p = proxy_for(proxy_factory, emu, ["--upstream-timeout", "1s"])
    r = fetch(p.port, "/f.bin")
    assert r.status == 200 and r.complete
    emu.verify("f.bin", 24, r.body, size=size)
    fired = emu.stats()["faults"]
    assert sum(fired.values()) == 1, fired
    assert "chunk fetch failed; retrying" in p.log_text()


def test_etag_change_cuts_the_client_and_the_next_request_starts_afresh(emulator_factory,
                                                                       proxy_factory):
    size = 6 * MiB
    # The first GET (the probe) sees generation 0; the object changes before the second.
    emu = emulator_factory([f"name=c.bin,size={size},seed=25"],
                           faults=["etag-change:object=c.bin,request=2"],
                           args=["--conn-bandwidth", "20MB"])
    p = proxy_for(proxy_factory, emu)
    r = fetch(p.port, "/c.bin")
    assert r.status == 200
    assert not r.complete, "a body that cannot be completed is cut off, never padded"
    emu.verify("c.bin", 25, r.body, offset=0, generation=0)  # what arrived is generation 0
    assert "object changed while downloading" in p.log_text()
    wait_until(lambda: not p.temp_files(), 10, what="the temp file to be removed")
    again = fetch(p.port, "/c.bin")
    assert again.status == 200 and again.complete
    emu.verify("c.bin", 25, again.body, generation=1, size=size)


def test_origin_errors_reach_the_client_as_s3_errors(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=e.bin,size=1000,seed=26"], faults=["503:object=e.bin"])
    p = proxy_for(proxy_factory, emu, ["--chunk-retries", "1"])
    missing = fetch(p.port, "/nope.bin")
    assert missing.status == 404
    assert b"<Code>NoSuchKey</Code>" in missing.body
    busy = fetch(p.port, "/e.bin")
    assert busy.status == 503  # what S3 said last, so SDK clients back off as well
    assert b"<Code>SlowDown</Code>" in busy.body
    assert emu.stats()["requests"]["GET"]["503"] == 2  # first try and one retry


def test_range_beyond_the_end_of_a_cold_object_is_416(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=r.bin,size=3000000,seed=27"])
    p = proxy_for(proxy_factory, emu)
    r = fetch(p.port, "/r.bin", {"Range": "bytes=5000000-"})
    assert r.status == 416
    assert r.headers["content-range"] == "bytes */3000000"
    ok = fetch(p.port, "/r.bin", {"Range": "bytes=2999990-"})
    assert ok.status == 206 and ok.complete
    emu.verify("r.bin", 27, ok.body, offset=2999990)


# --- streaming while the download runs ---------------------------------------------------------


def test_a_cold_range_streams_before_its_chunk_is_complete(emulator_factory, proxy_factory):
    # 1 MB/s per origin connection: a 1 MiB chunk takes a second, its first bytes come at once.
    emu = emulator_factory(["name=slow.bin,size=8MiB,seed=28"], args=["--conn-bandwidth", "1MB"])
    p = proxy_for(proxy_factory, emu)
    seen_at_first_byte = {}

    def first_byte():
        seen_at_first_byte.update(emu.object_stats("slow.bin"))

    first = 5 * MiB + 100
    r = fetch(p.port, "/slow.bin", {"Range": f"bytes={first}-{first + 99_999}"},
              on_first_body=first_byte)
    assert r.status == 206 and r.complete
    emu.verify("slow.bin", 28, r.body, offset=first)
    # When the client had its first body byte, the origin had sent far less than the chunk.
    assert seen_at_first_byte["body_bytes"] < 4 * MiB
    assert seen_at_first_byte["ranged"] >= 1


# --- passthrough ---------------------------------------------------------------------------


def mount_tmpfs(path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0


def umount(path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_full_small_filesystem_serves_passthrough(emulator_factory, proxy_factory, tmp_path):
    cache = tmp_path / "small-fs"
    if not mount_tmpfs(cache, "size=2m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        emu = emulator_factory(["name=big.bin,size=6MiB,seed=29"])
        p = proxy_for(proxy_factory, emu, cache_dir=cache)
        r = fetch(p.port, "/big.bin")
        assert r.status == 200 and r.complete
        assert r.headers["x-cache"] == "PASS"
        emu.verify("big.bin", 29, r.body, size=6 * MiB)
        part = fetch(p.port, "/big.bin", {"Range": "bytes=3000000-3000099"})
        assert part.status == 206 and part.complete
        assert part.headers["content-range"] == f"bytes 3000000-3000099/{6 * MiB}"
        emu.verify("big.bin", 29, part.body, offset=3000000)
        assert "passthrough" in p.log_text()
        p.stop()
    finally:
        umount(cache)


def test_read_only_cache_dir_serves_passthrough(emulator_factory, proxy_factory, tmp_path):
    cache = tmp_path / "ro-fs"
    if not mount_tmpfs(cache, "ro,size=1m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        emu = emulator_factory(["name=ro.bin,size=3MiB,seed=30"])
        p = proxy_for(proxy_factory, emu, cache_dir=cache)
        r = fetch(p.port, "/ro.bin", {"Range": "bytes=-1000"})
        assert r.status == 206 and r.complete and r.headers["x-cache"] == "PASS"
        assert r.headers["content-range"] == f"bytes {3 * MiB - 1000}-{3 * MiB - 1}/{3 * MiB}"
        emu.verify("ro.bin", 30, r.body, offset=3 * MiB - 1000)
        full = fetch(p.port, "/ro.bin")
        assert full.status == 200 and full.complete and full.headers["x-cache"] == "PASS"
        emu.verify("ro.bin", 30, full.body, size=3 * MiB)
        p.stop()
    finally:
        umount(cache)


def test_object_larger_than_the_cache_is_passthrough(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=xl.bin,size=3MiB,seed=31"])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=[*CHUNK_ARGS, "--max-cache-size", "2MiB"])
    r = fetch(p.port, "/xl.bin")
    assert r.status == 200 and r.complete and r.headers["x-cache"] == "PASS"
    emu.verify("xl.bin", 31, r.body, size=3 * MiB)
    assert p.cache_files() == []


# --- O_DIRECT ------------------------------------------------------------------------------


def test_direct_io_cold_and_hit_byte_exact(emulator_factory, proxy_factory):
    size = 3 * MiB + 4097  # an unaligned tail
    emu = emulator_factory([f"name=d.bin,size={size},seed=32"])
    p = proxy_for(proxy_factory, emu, ["--direct-io"])
    cold = fetch(p.port, "/d.bin")
    assert cold.status == 200 and cold.complete
    emu.verify("d.bin", 32, cold.body, size=size)
    wait_until(lambda: len(p.cache_files()) == 1, 10, what="publish")
    hit = fetch(p.port, "/d.bin", {"Range": f"bytes={size - 5000}-"})
    assert hit.status == 206 and hit.complete and hit.headers["x-cache"] == "HIT"
    emu.verify("d.bin", 32, hit.body, offset=size - 5000)


# --- clients leaving ---------------------------------------------------------------------------


def read_a_little_then_leave(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(build_request("GET", path))
        got = b""
        while len(got) < 100_000:
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_download_goes_on_when_every_client_leaves(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=w.bin,size=8MiB,seed=33"], args=["--conn-bandwidth", "8MB"])
    p = proxy_for(proxy_factory, emu)
    read_a_little_then_leave(p.port, "/w.bin")
    wait_until(lambda: len(p.cache_files()) == 1, 30, what="the download to finish and publish")
    assert emu.object_stats("w.bin")["body_bytes"] == 8 * MiB
    hit = fetch(p.port, "/w.bin")
    assert hit.headers["x-cache"] == "HIT" and hit.complete
    emu.verify("w.bin", 33, hit.body, size=8 * MiB)


def test_abandon_on_disconnect_stops_the_download(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=a.bin,size=32MiB,seed=34"], args=["--conn-bandwidth", "2MB"])
    p = proxy_for(proxy_factory, emu, ["--abandon-on-disconnect"])
    read_a_little_then_leave(p.port, "/a.bin")
    wait_until(lambda: "abandoning the download" in p.log_text(), 10, what="the abandon")
    wait_until(lambda: not p.temp_files(), 10, what="the temp file to be removed")
    sent = emu.object_stats("a.bin")["body_bytes"]
    time.sleep(0.5)
    assert emu.object_stats("a.bin")["body_bytes"] - sent < MiB, "the origin kept sending"
    assert sent < 32 * MiB
    assert p.cache_files() == []


# --- verification --------------------------------------------------------------------------


def test_sha224_mismatch_discards_the_file(proxy, bucket):
    import hashlib
    import os

    data = os.urandom(300_000)
    wrong = hashlib.sha224(b"some other bytes").hexdigest()
    obj = bucket.put("bad-digest.bin", data, "application/octet-stream", {"sha224": wrong})
    r = proxy.get(obj.path)
    assert r.status == 200 and r.body == data  # the client gets S3's bytes
    wait_until(lambda: "sha224 mismatch" in proxy.log_text(), 10, what="the mismatch log line")
    wait_until(lambda: not proxy.temp_files(), 10, what="the temp file to be removed")
    assert proxy.cache_files() == [], "a file that fails its digest is never published"
    again = proxy.get(obj.path)
    assert again.status == 200 and again.body == data
    assert again.header("x-cache") == "MISS"


def test_disk_full_mid_download_finishes_the_response_from_the_origin(emulator_factory,
                                                                      proxy_factory, tmp_path):
    cache = tmp_path / "filling-fs"
    if not mount_tmpfs(cache, "size=8m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        size = 5 * MiB
        emu = emulator_factory([f"name=full.bin,size={size},seed=35"],
                               args=["--conn-bandwidth", "2MB"])
        # Without preallocation the blocks are taken as data lands, so filling the disk under
        # the download makes its writes fail mid-way.
        p = proxy_for(proxy_factory, emu, ["--preallocate=false", "--max-concurrency", "2"],
                      cache_dir=cache)
        filled = threading.Event()

        def fill_the_disk():
            with open(cache / "filler", "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            filled.set()

        r = fetch(p.port, "/full.bin",
                  on_first_body=lambda: threading.Thread(target=fill_the_disk).start())
        assert filled.wait(10)
        assert r.status == 200 and r.complete, "the rest came from the origin, not a cut"
        emu.verify("full.bin", 35, r.body, size=size)
        assert "download failed" in p.log_text()
        assert p.cache_files() == []
        p.stop()
    finally:
        umount(cache)
