"""Range requests through the proxy, on a cold cache and on a cached object."""

import pytest

from e2e_util import MEDIUM, SMALL, assert_full_object, assert_object_headers, sha256

SIZE = 3 * 1024 * 1024 + 123  # the standard MEDIUM object


def spans():
    # (Range header, first byte, last byte) for the MEDIUM object.
    return [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=1048570-2097160", 1048570, 2097160),
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE - 1),
        ("bytes=-100", SIZE - 100, SIZE - 1),
        (f"bytes=-{SIZE + 100}", 0, SIZE - 1),
        (f"bytes={SIZE - 5}-{SIZE + 1000}", SIZE - 5, SIZE - 1),
        ("bytes=0-", 0, SIZE - 1),
    ]


def check_partial(r, obj, first, last):
    assert r.status == 206, (r.status, r.raw_head)
    assert r.header("content-range") == f"bytes {first}-{last}/{obj.size}", r.raw_head
    assert r.body == obj.data[first:last + 1]
    assert_object_headers(r, obj, content_length=last - first + 1)


@pytest.mark.parametrize("rng,first,last", spans())
def test_range_cold_and_cached(proxy, bucket, rng, first, last):
    obj = bucket[MEDIUM]
    assert obj.size == SIZE
    check_partial(proxy.get(obj.path, {"Range": rng}), obj, first, last)
    assert_full_object(proxy.get(obj.path), obj)
    cached = proxy.get(obj.path, {"Range": rng})
    check_partial(cached, obj, first, last)
    assert cached.header("x-cache") == "HIT"


@pytest.mark.parametrize("rng", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}"])
def test_unsatisfiable_range_is_416(proxy, bucket, rng):
    obj = bucket[MEDIUM]
    for _ in range(2):  # cold, then with the object cached
        r = proxy.get(obj.path, {"Range": rng})
        assert r.status == 416, (r.status, r.raw_head)
        assert r.header("content-range") == f"bytes */{obj.size}"
        assert_full_object(proxy.get(obj.path), obj)


def test_head_with_range(proxy, bucket):
    obj = bucket[SMALL]
    r = proxy.head(obj.path, {"Range": "bytes=10-19"})
    assert r.status == 206
    assert r.header("content-range") == f"bytes 10-19/{obj.size}"
    assert r.header("content-length") == "10"
    assert r.body == b""
    assert sha256(proxy.get(obj.path).body) == obj.sha256
