"""The cache: hits without origin GETs, the on-disk layout, restarts, a kill -9 in the middle of
a download, and concurrent misses of one object."""

import hashlib
import os
import signal
import threading
import time

import pytest

from e2e_util import (
    CACHE_FILE_RE,
    MEDIUM,
    SMALL,
    TEXT,
    ConnectionClosed,
    HttpConnection,
    assert_full_object,
    build_request,
    sha256,
    wait_until,
)


def origin_gets(bucket, key):
    return bucket.key_stats(key)["GET"]


@pytest.mark.parametrize("key", [SMALL, TEXT, MEDIUM])
def test_second_get_is_a_hit_without_origin_get(proxy, bucket, key):
    obj = bucket[key]
    assert origin_gets(bucket, key) == 0
    assert_full_object(proxy.get(obj.path), obj, cache="MISS")
    gets_after_miss = origin_gets(bucket, key)
    assert gets_after_miss >= 1
    fetched = bucket.key_stats(key)["bytes_sent"]
    assert fetched >= obj.size
    for _ in range(2):
        assert_full_object(proxy.get(obj.path), obj, cache="HIT")
    assert origin_gets(bucket, key) == gets_after_miss, "a hit sent a GET to S3"
    assert bucket.key_stats(key)["bytes_sent"] == fetched


def published_files(proxy, count=1):
    return wait_until(lambda: len(proxy.cache_files()) >= count and proxy.cache_files(),
                      timeout=10, what=f"{count} published cache file(s) in {proxy.cache_dir}")


def test_content_addressed_layout(proxy, bucket):
    obj = bucket[MEDIUM]  # carries x-amz-meta-sha224
    assert_full_object(proxy.get(obj.path), obj, cache="MISS")
    files = published_files(proxy)
    assert len(files) == 1, files
    m = CACHE_FILE_RE.match(files[0])
    assert m, f"{files[0]} does not follow <h0>/<h1>/<h2>/<h3>/<56 hex>[.n]"
    digest = hashlib.sha224(obj.data).hexdigest()
    assert obj.metadata["sha224"] == digest
    assert m.group(5) == digest and m.group(6) is None, files[0]
    assert "".join(m.group(i) for i in range(1, 5)) == digest[:4]
    path = proxy.cache_dir / files[0]
    assert path.stat().st_size >= obj.size
    with open(path, "rb") as f:
        f.seek(-obj.size, os.SEEK_END)
        assert sha256(f.read()) == obj.sha256, "cache file does not end with the object's bytes"
    wait_until(lambda: not proxy.temp_files(), timeout=5, what="temp files to be gone")


def test_name_keyed_layout(proxy, bucket):
    obj = bucket[TEXT]  # no sha224 metadata
    assert_full_object(proxy.get(obj.path), obj, cache="MISS")
    files = published_files(proxy)
    assert len(files) == 1, files
    m = CACHE_FILE_RE.match(files[0])
    assert m and m.group(6) == ".n", files[0]
    assert "".join(m.group(i) for i in range(1, 5)) == m.group(5)[:4]
    with open(proxy.cache_dir / files[0], "rb") as f:
        f.seek(-obj.size, os.SEEK_END)
        assert f.read() == obj.data


def test_restart_serves_from_existing_cache(proxy, bucket):
    obj = bucket[SMALL]
    assert_full_object(proxy.get(obj.path), obj, cache="MISS")
    published_files(proxy)
    gets = origin_gets(bucket, SMALL)
    assert proxy.stop() == 0
    proxy.start()
    assert_full_object(proxy.get(obj.path), obj, cache="HIT")
    assert origin_gets(bucket, SMALL) == gets, "restarted proxy fetched a cached object again"


class Downloader(threading.Thread):
    """Reads one GET on a raw socket and records how far it got."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.response = None
        self.error = None

    def run(self):
        try:
            with HttpConnection(self.port, timeout=30) as conn:
                conn.send(build_request("GET", self.path))
                self.response = conn.read_response()
        except (ConnectionClosed, OSError) as e:
            self.error = e


@pytest.mark.deadline(120)
def test_kill_9_mid_download_then_restart(proxy, bucket, origin):
    obj = bucket[MEDIUM]
    origin.control(throttle_bytes_per_sec=256 * 1024, throttle_keys=[f"{bucket.name}/{MEDIUM}"])
    client = Downloader(proxy.port, obj.path)
    client.start()
    wait_until(lambda: bucket.key_stats(MEDIUM)["bytes_sent"] > 0, timeout=20,
               what="the origin to start sending the object")
    parts = wait_until(proxy.temp_files, timeout=10, what="a .tmp/*.part file")
    wait_until(lambda: any(p.exists() and p.stat().st_size > 0 for p in parts), timeout=10,
               what="bytes in the .part file")
    assert proxy.stop(sig=signal.SIGKILL) == -signal.SIGKILL
    client.join(timeout=20)
    assert not client.is_alive()
    if client.response is not None:
        assert client.response.body != obj.data, "a killed proxy cannot have served it all"
    assert proxy.cache_files() == [], "a partial download was published"

    origin.reset_control()
    origin.reset_stats()
    proxy.start()
    first = proxy.get(obj.path)
    assert_full_object(first, obj, cache="MISS")
    assert bucket.key_stats(MEDIUM)["bytes_sent"] >= obj.size
    assert_full_object(proxy.get(obj.path), obj, cache="HIT")


def test_stray_part_file_is_never_served(proxy_factory, bucket, origin, tmp_path):
    obj = bucket[SMALL]
    cache = tmp_path / "planted"
    digest = hashlib.sha224(obj.data).hexdigest()
    (cache / ".tmp").mkdir(parents=True)
    (cache / ".tmp" / f"{digest}.part").write_bytes(b"X" * obj.size)
    p = proxy_factory(bucket, cache_dir=cache)
    assert_full_object(p.get(obj.path), obj, cache="MISS")
    assert_full_object(p.get(obj.path), obj, cache="HIT")


@pytest.mark.deadline(120)
def test_concurrent_misses_share_one_download(proxy, bucket, origin):
    obj = bucket[MEDIUM]
    origin.control(throttle_bytes_per_sec=1024 * 1024, throttle_keys=[f"{bucket.name}/{MEDIUM}"])
    clients = [Downloader(proxy.port, obj.path) for _ in range(4)]
    for c in clients:
        c.start()
        time.sleep(0.05)
    for c in clients:
        c.join(timeout=60)
    for c in clients:
        assert c.error is None, c.error
        assert_full_object(c.response, obj)
    assert bucket.key_stats(MEDIUM)["bytes_sent"] == obj.size, \
        "concurrent misses downloaded the object more than once"


def test_unwritable_cache_dir_gives_passthrough(proxy_factory, bucket, tmp_path):
    """A cache directory that cannot be created (its parent is a regular file) must not stop the
    proxy: it serves every GET straight from S3, marked x-cache: PASS, and caches nothing."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"x")
    p = proxy_factory(bucket, cache_dir=tmp_path / "cache-parent", start=False)
    p.cache_dir = blocker / "cache"
    p.start()
    obj = bucket[MEDIUM]
    before = origin_gets(bucket, MEDIUM)
    for _ in range(2):
        assert_full_object(p.get(obj.path), obj, cache="PASS")
    assert origin_gets(bucket, MEDIUM) == before + 2, "each passthrough GET reaches S3"
    r = p.get(obj.path, headers={"Range": "bytes=100-199"})
    assert r.status == 206
    assert r.body == obj.data[100:200]
    assert r.header("x-cache") == "PASS"
    assert "passthrough" in p.log_path.read_text()
