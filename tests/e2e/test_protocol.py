"""HTTP/1.1 behaviour of the proxy's listener: methods, limits, bad input, keep-alive and
pipelining, checked on raw sockets."""

import pytest

from e2e_util import (
    MEDIUM,
    SMALL,
    TEXT,
    HttpConnection,
    assert_full_object,
    assert_object_headers,
    build_request,
)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_405(proxy, bucket, origin, method):
    with HttpConnection(proxy.port) as conn:
        r = conn.request(method, "/" + SMALL, {"Content-Length": "5"}, body=b"hello")
        assert r.status == 405
        assert r.header("allow") == "GET, HEAD"
        if not conn.closed_by_peer(wait=0.2):
            # The connection stays usable after the refused request body.
            assert_full_object(conn.request("GET", "/" + SMALL), bucket[SMALL])
    methods = origin.stats()["methods"]
    assert method not in methods, methods


def test_oversized_request_headers_are_431(proxy):
    with HttpConnection(proxy.port) as conn:
        conn.send(build_request("GET", "/" + SMALL, {"X-Big": "a" * (17 * 1024)}))
        r = conn.read_response()
        assert r.status == 431


def test_many_headers_over_16k_are_431(proxy):
    headers = [(f"X-H{i}", "b" * 100) for i in range(200)]  # ~21 KiB in total
    with HttpConnection(proxy.port) as conn:
        conn.send(build_request("GET", "/" + SMALL, headers))
        assert conn.read_response().status == 431


def test_headers_under_limit_are_fine(proxy, bucket):
    with HttpConnection(proxy.port) as conn:
        r = conn.request("GET", "/" + SMALL, {"X-Big": "a" * (8 * 1024)})
        assert_full_object(r, bucket[SMALL])


@pytest.mark.parametrize("garbage", [
    b"THIS IS NOT HTTP\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /x HTTP/1.1 trailing\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
])
def test_malformed_request_is_400_and_closed(proxy, garbage):
    with HttpConnection(proxy.port, timeout=10) as conn:
        conn.send(garbage)
        r = conn.read_response()
        assert r.status == 400
        assert conn.closed_by_peer(wait=5), "connection left open after a malformed request"


def test_keep_alive_serves_several_requests(proxy, bucket):
    with HttpConnection(proxy.port) as conn:
        r1 = conn.request("GET", "/" + SMALL)
        assert_full_object(r1, bucket[SMALL], cache="MISS")
        r2 = conn.request("HEAD", "/" + TEXT)
        assert r2.status == 200
        assert_object_headers(r2, bucket[TEXT])
        r3 = conn.request("GET", "/" + TEXT)
        assert_full_object(r3, bucket[TEXT])
        r4 = conn.request("GET", "/" + SMALL)
        assert_full_object(r4, bucket[SMALL], cache="HIT")
        r5 = conn.request("GET", "/missing-key")
        assert r5.status == 404
        assert_full_object(conn.request("GET", "/" + SMALL), bucket[SMALL])


def test_pipelined_gets_answered_in_order(proxy, bucket):
    with HttpConnection(proxy.port) as conn:
        conn.send(build_request("GET", "/" + TEXT) + build_request("GET", "/" + SMALL))
        first = conn.read_response()
        second = conn.read_response()
    assert_full_object(first, bucket[TEXT])
    assert_full_object(second, bucket[SMALL])


def test_pipelined_mixed_requests(proxy, bucket):
    reqs = (build_request("GET", "/" + MEDIUM, {"Range": "bytes=5-9"})
            + build_request("HEAD", "/" + SMALL)
            + build_request("GET", "/nope")
            + build_request("GET", "/" + MEDIUM))
    with HttpConnection(proxy.port) as conn:
        conn.send(reqs)
        r1 = conn.read_response()
        r2 = conn.read_response("HEAD")
        r3 = conn.read_response()
        r4 = conn.read_response()
    assert r1.status == 206 and r1.body == bucket[MEDIUM].data[5:10]
    assert r2.status == 200 and r2.header("content-length") == str(bucket[SMALL].size)
    assert r3.status == 404 and b"<Code>NoSuchKey</Code>" in r3.body
    assert_full_object(r4, bucket[MEDIUM])


def test_connection_close_is_honoured(proxy, bucket):
    with HttpConnection(proxy.port) as conn:
        r = conn.request("GET", "/" + SMALL, {"Connection": "close"})
        assert_full_object(r, bucket[SMALL])
        assert conn.closed_by_peer(wait=5)


def test_http10_request(proxy, bucket):
    with HttpConnection(proxy.port) as conn:
        conn.send(b"GET /" + SMALL.encode() + b" HTTP/1.0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200 and r.body == bucket[SMALL].data
        assert conn.closed_by_peer(wait=5)


def test_http10_keep_alive_is_said_in_the_answer(proxy, bucket):
    # An HTTP/1.0 client keeps a connection only when the answer says `Connection: keep-alive`
    # (ab -k reconnects otherwise); the last request, without it, closes.
    req = b"GET /" + SMALL.encode() + b" HTTP/1.0\r\nConnection: keep-alive\r\n"
    with HttpConnection(proxy.port) as conn:
        conn.send(req + b"Range: bytes=0-9\r\n\r\n")
        r = conn.read_response()
        assert r.status == 206 and r.body == bucket[SMALL].data[:10]
        assert r.header("connection") == "keep-alive"
        conn.send(req + b"\r\n")
        r = conn.read_response()
        assert r.status == 200 and r.body == bucket[SMALL].data
        assert r.header("connection") == "keep-alive"
        conn.send(b"HEAD /" + SMALL.encode() + b" HTTP/1.0\r\n\r\n")
        r = conn.read_response("HEAD")
        assert r.status == 200 and r.header("connection") == "close"
        assert conn.closed_by_peer(wait=5)
    # HTTP/1.1 keeps the connection without saying so.
    with HttpConnection(proxy.port) as conn:
        assert conn.request("GET", "/" + SMALL).header("connection") is None


def test_slow_request_head_gets_408_and_idle_connection_is_closed(proxy_factory, bucket):
    p = proxy_factory(bucket, extra_args=["--header-timeout", "500ms", "--idle-timeout", "1s"])
    # Half a request head, then silence: 408 with an S3-style body, then close.
    with HttpConnection(p.port) as conn:
        conn.send(b"GET /" + SMALL.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        r = conn.read_response()
        assert r.status == 408, r.raw_head
        assert b"<Code>RequestTimeout</Code>" in r.body
        assert conn.closed_by_peer(wait=3.0)
    # A keep-alive connection that stays idle is closed after --idle-timeout, silently.
    with HttpConnection(p.port) as conn:
        conn.send(build_request("GET", "/healthz"))
        assert conn.read_response().status == 200
        assert conn.closed_by_peer(wait=4.0)


def test_a_get_with_a_body_and_expect_100_continue_is_answered_at_its_head(proxy, bucket):
    # The client holds its body back until it hears a 100 or an answer (RFC 9110 10.1.1); the
    # proxy sends no 100, so it answers at the head, drops the body and closes after the answer.
    # Before: both sides waited, and the client got 408 after --header-timeout (10 s).
    for method in ("GET", "HEAD"):
        with HttpConnection(proxy.port, timeout=5) as conn:
            conn.send(build_request(method, "/" + SMALL,
                                    {"Content-Length": "5", "Expect": "100-continue"}))
            r = conn.read_response(method)
            assert r.status == 200, r.raw_head
            assert b"100 Continue" not in r.raw_head
            assert r.header("connection") == "close"
            assert r.header("content-length") == str(bucket[SMALL].size)
            assert r.body == (bucket[SMALL].data if method == "GET" else b"")
            conn.send(b"hello")  # the body it then sends is dropped, never read as a request
            assert conn.closed_by_peer(wait=5)
    # Without a body the expectation changes nothing: the connection stays open.
    with HttpConnection(proxy.port, timeout=5) as conn:
        r = conn.request("GET", "/" + SMALL, {"Expect": "100-continue"})
        assert_full_object(r, bucket[SMALL])
        assert r.header("connection") is None
        assert_full_object(conn.request("GET", "/" + SMALL), bucket[SMALL])
