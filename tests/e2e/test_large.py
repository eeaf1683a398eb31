"""A 64 MiB object through the proxy: several chunks, byte-exact on miss, hit and ranges."""

import os

import pytest

from e2e_util import assert_full_object, assert_object_headers

BIG = "large/64MiB.bin"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_bucket(make_bucket):
    b = make_bucket("large")
    b.put(BIG, os.urandom(64 * MiB), "application/octet-stream", {"size": "64MiB"},
          with_sha224=True)
    return b


@pytest.mark.deadline(150)
def test_64mib_object_miss_hit_and_ranges(proxy_factory, big_bucket, origin):
    obj = big_bucket[BIG]
    p = proxy_factory(big_bucket)
    origin.reset_stats()
    assert_full_object(p.get(obj.path, timeout=120), obj, cache="MISS")
    # Every byte fetched once: eight 8 MiB chunk GETs (the first one is the probe), no HEAD.
    fetched = big_bucket.key_stats(BIG)["bytes_sent"]
    assert fetched == obj.size
    gets = big_bucket.key_stats(BIG)["GET"]
    assert gets == 8
    assert_full_object(p.get(obj.path, timeout=120), obj, cache="HIT")
    # Ranges across 1 MiB and 8 MiB boundaries, and the last byte.
    for first, last in [(8 * MiB - 10, 8 * MiB + 10), (MiB - 1, 3 * MiB), (64 * MiB - 1, 64 * MiB - 1),
                        (17 * MiB + 5, 40 * MiB + 7)]:
        r = p.get(obj.path, {"Range": f"bytes={first}-{last}"}, timeout=60)
        assert r.status == 206
        assert r.header("content-range") == f"bytes {first}-{last}/{obj.size}"
        assert r.body == obj.data[first:last + 1]
        assert_object_headers(r, obj, cache="HIT", content_length=last - first + 1)
    assert big_bucket.key_stats(BIG)["GET"] == gets
    assert big_bucket.key_stats(BIG)["bytes_sent"] == fetched


@pytest.mark.deadline(150)
def test_64mib_range_on_cold_cache(proxy_factory, big_bucket, origin):
    obj = big_bucket[BIG]
    p = proxy_factory(big_bucket)
    first, last = 33 * MiB + 3, 34 * MiB + 4
    r = p.get(obj.path, {"Range": f"bytes={first}-{last}"}, timeout=120)
    assert r.status == 206
    assert r.body == obj.data[first:last + 1]
    assert_full_object(p.get(obj.path, timeout=120), obj)
