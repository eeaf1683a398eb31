"""GET and HEAD through the proxy: bytes, S3's headers, errors, key decoding."""

import pytest

from e2e_util import (
    EMPTY,
    HEALTHZ_KEY,
    MEDIUM,
    ODD_KEY,
    SMALL,
    TEXT,
    HttpConnection,
    assert_full_object,
    assert_object_headers,
    sha256,
    url_path,
    wait_until,
)


@pytest.mark.parametrize("key", [SMALL, TEXT, MEDIUM, ODD_KEY])
def test_get_miss_returns_object_and_s3_headers(proxy, bucket, key):
    obj = bucket[key]
    r = proxy.get(obj.path)
    assert_full_object(r, obj, cache="MISS")


def test_head_has_get_headers_and_no_body(proxy, bucket):
    obj = bucket[TEXT]
    with HttpConnection(proxy.port) as conn:
        head = conn.request("HEAD", obj.path)
        assert head.status == 200
        assert_object_headers(head, obj)
        # A body after the HEAD response would be read as the start of the next response.
        get = conn.request("GET", obj.path)
        assert_full_object(get, obj)
    for name in ["content-length", "etag", "last-modified", "content-type", "accept-ranges",
                 "server"]:
        assert head.header(name) == get.header(name), name


def test_head_of_cached_object(proxy, bucket):
    obj = bucket[SMALL]
    assert_full_object(proxy.get(obj.path), obj, cache="MISS")
    with HttpConnection(proxy.port) as conn:
        head = conn.request("HEAD", obj.path)
        assert head.status == 200
        # --metadata-ttl 0: the cached copy is not fresh, so S3's HEAD answers (MISS).
        assert_object_headers(head, obj, cache="MISS")
        assert conn.request("GET", obj.path).body == obj.data


@pytest.mark.parametrize("flag", [["--metadata-ttl", "60s"], ["--immutable"]])
def test_a_head_of_a_fresh_cached_object_never_asks_s3(proxy_factory, bucket, origin, flag):
    # Before, every client HEAD went to S3, whatever --metadata-ttl or --immutable said (and
    # `aws s3 cp` HEADs before each GET); docs/status.md promised the cached copy's metadata.
    obj = bucket[SMALL]  # content type and x-amz-meta-* of its own
    p = proxy_factory(bucket, extra_args=flag)
    s3s = p.head(obj.path)  # not cached yet: S3's HEAD answers
    assert s3s.status == 200 and s3s.header("x-cache") == "MISS"
    assert_object_headers(s3s, obj)
    assert_full_object(p.get(obj.path), obj, cache="MISS")
    wait_until(lambda: p.cache_files(), timeout=10, what="the object to be published")
    before = origin.key_stats(bucket.name, SMALL)
    for _ in range(3):
        h = p.head(obj.path)
        assert h.status == 200 and h.body == b""
        assert_object_headers(h, obj, cache="HIT")
    r = p.head(obj.path, {"Range": "bytes=10-19"})
    assert r.status == 206 and r.header("content-range") == f"bytes 10-19/{obj.size}"
    assert r.header("content-length") == "10" and r.header("x-cache") == "HIT"
    r = p.head(obj.path, {"If-None-Match": obj.etag})
    assert r.status == 304 and r.header("etag") == obj.etag
    after = origin.key_stats(bucket.name, SMALL)
    assert (after["HEAD"], after["GET"]) == (before["HEAD"], before["GET"])
    # A part number's headers are the part's: S3 answers.
    part = p.head(obj.path + "?partNumber=1")
    assert part.status == 200 and part.header("x-cache") == "MISS"
    assert origin.key_stats(bucket.name, SMALL)["HEAD"] == before["HEAD"] + 1


def test_zero_length_object(proxy, bucket):
    obj = bucket[EMPTY]
    for _ in range(2):
        r = proxy.get(obj.path)
        assert r.status == 200
        assert r.body == b""
        assert_object_headers(r, obj, content_length=0)
    head = proxy.head(obj.path)
    assert head.status == 200 and head.header("content-length") == "0"


def test_missing_key_is_404_nosuchkey(proxy, bucket, origin):
    r = proxy.get("/no/such/key.bin")
    assert r.status == 404
    assert b"<Code>NoSuchKey</Code>" in r.body, r.body
    assert "xml" in (r.header("content-type") or ""), r.raw_head
    head = proxy.head("/no/such/key.bin")
    assert head.status == 404
    assert origin.stats()["statuses"].get("404", 0) >= 1


def test_wrong_secret_gives_403_xml(proxy_factory, bucket, origin):
    p = proxy_factory(bucket, secret="definitely-wrong")
    r = p.get("/" + SMALL)
    assert r.status == 403
    assert b"<Error>" in r.body and b"<Code>" in r.body, r.body
    assert origin.stats()["statuses"].get("403", 0) >= 1
    assert origin.key_stats(bucket.name, SMALL)["bytes_sent"] == 0


def test_healthz_and_escaped_key_named_healthz(proxy, bucket, origin):
    r = proxy.get("/healthz")
    assert r.status == 200
    assert origin.stats()["total"] == 0, "GET /healthz must not reach S3"
    obj = bucket[HEALTHZ_KEY]
    r = proxy.get("/%68ealthz")
    assert_full_object(r, obj, cache="MISS")


def test_percent_encoded_slash_and_spaces_are_decoded(proxy, bucket):
    obj = bucket[TEXT]
    r = proxy.get("/text%2Fhello.txt")
    assert_full_object(r, obj)
    odd = bucket[ODD_KEY]
    assert url_path(ODD_KEY) != "/" + ODD_KEY  # the test really exercises decoding
    r = proxy.get(url_path(ODD_KEY))
    assert r.status == 200 and sha256(r.body) == odd.sha256


def test_a_key_that_is_not_utf8_is_400_and_never_asked_of_s3(proxy, bucket, origin):
    # S3 keys are UTF-8. Before, the bytes went to S3, and s3rver's answer (403
    # SignatureDoesNotMatch) read as the proxy's own credentials being wrong.
    for target in ("/%ff%fe", "/dir/a%c0%afb", "/%e6%97"):
        for method in ("GET", "HEAD"):
            r = proxy.request(method, target)
            assert r.status == 400, (method, target, r.raw_head)
            assert r.header("x-amz-request-id")
            if method == "GET":
                assert b"<Code>InvalidURI</Code>" in r.body, r.body
                assert b"not valid UTF-8" in r.body
    assert origin.stats()["total"] == 0
    r = proxy.get(url_path(ODD_KEY))  # UTF-8 beyond ASCII is a key like any other
    assert r.status == 200 and sha256(r.body) == bucket[ODD_KEY].sha256


def test_query_string_is_not_part_of_the_key(proxy, bucket):
    obj = bucket[SMALL]
    r = proxy.get(obj.path + "?x-id=GetObject")
    assert_full_object(r, obj)


def test_ip_endpoint_uses_path_style_without_the_flag(proxy_factory, bucket):
    """An endpoint given as an IP address cannot carry the bucket as a subdomain, so the proxy
    addresses it path-style even when --s3-force-path-style is not given."""
    p = proxy_factory(bucket, start=False)
    p.force_path_style = False
    p.start()
    assert "--s3-force-path-style" not in p.command()
    obj = bucket[SMALL]
    r = p.get(obj.path)
    assert r.status == 200, r.raw_head
    assert r.body == obj.data
