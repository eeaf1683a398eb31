"""The smaller doors of the listener: client bytes in the access log are escaped, two Range headers
are ignored (not one picked), only `Transfer-Encoding: chunked` alone is accepted, an HTTP/2
client going back to a lower (or finished) stream id gets a connection error, and a credential
with whitespace is refused from the environment as it is from the config file."""

from __future__ import annotations

import shlex
import struct
import subprocess

from e2e_util import (SMALL, HttpConnection, assert_full_object, clean_env, proxy_binary,
                      wait_until)
from h2_client import (END_HEADERS, END_STREAM, HEADERS, PROTOCOL_ERROR, H2Client, Stream, frame,
                       hpack_encode)


def access_targets(p) -> list[str]:
    out = []
    for line in p.log_text().splitlines():
        if ' msg="access" ' not in line and ' msg=access ' not in line:
            continue
        fields = dict(tok.partition("=")[::2] for tok in shlex.split(line))
        if fields.get("target") != "/healthz":
            out.append((line, fields.get("target")))
    return out


def test_access_log_escapes_bytes_beyond_ascii_and_controls(proxy_factory, bucket, origin):
    p = proxy_factory(bucket, extra_args=["--access-log"])
    with HttpConnection(p.port) as c:
        # llhttp lets bytes >= 0x80 and a tab through in a target (other controls are a 400).
        c.send(b"GET /caf\xc3\xa9/a\tb HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    assert r.status in (400, 404), r.status
    lines = wait_until(lambda: access_targets(p), 10, what="the access line")
    line, target = lines[0]
    raw = p.log_path.read_bytes()
    assert b"\xc3\xa9" not in raw and b"a\tb" not in raw
    assert all(32 <= b < 127 or b == 10 for b in raw), "the log has non-printable bytes"
    assert 'target="/caf\\xc3\\xa9/a\\x09b"' in line, line


def test_two_range_headers_are_ignored(proxy_factory, bucket, origin):
    p = proxy_factory(bucket)
    for _ in range(2):  # a miss, then a hit
        r = p.get("/" + SMALL, [("Range", "bytes=0-9"), ("Range", "bytes=10-19")])
        assert_full_object(r, bucket[SMALL])
        assert r.header("content-range") is None
    one = p.get("/" + SMALL, {"Range": "bytes=10-19"})
    assert one.status == 206 and one.body == bucket[SMALL].data[10:20]


def test_only_chunked_alone_is_a_transfer_coding(proxy_factory, bucket, origin):
    p = proxy_factory(bucket)
    for te in ("identity, chunked", "gzip, chunked", "chunked, chunked"):
        with HttpConnection(p.port) as c:
            c.send(f"GET /{SMALL} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {te}\r\n\r\n"
                   f"0\r\n\r\n".encode())
            r = c.read_response()
            assert r.status == 400, (te, r.status)
            assert r.header("connection") == "close"
    with HttpConnection(p.port) as c:
        c.send(f"GET /{SMALL} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
        assert c.read_response().status == 400
    with HttpConnection(p.port) as c:
        c.send(f"GET /{SMALL} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               f"0\r\n\r\n".encode())
        assert_full_object(c.read_response(), bucket[SMALL])


def _headers(sid: int, path: str) -> bytes:
    fields = [(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", path)]
    return frame(HEADERS, END_HEADERS | END_STREAM, sid, hpack_encode(fields))


def test_h2_stream_ids_going_back_or_reused_are_a_connection_error(proxy_factory, bucket, origin):
    p = proxy_factory(bucket)
    for second in (3, 5):  # 3: lower than 5 and never used; 5: finished already
        with H2Client(p.port) as c:
            c.streams[5] = Stream(5)
            c.send(_headers(5, "/" + SMALL))
            c.wait_streams([5])
            assert c.streams[5].status == 200
            c.send(_headers(second, "/" + SMALL))
            assert c.pump(lambda: c.goaway is not None, 10), "no GOAWAY"
            assert c.goaway[1] == PROTOCOL_ERROR
            assert c.goaway[0] == 5  # the last stream processed
            assert c.wait_closed(10)
    # The log line may be written just after the GOAWAY is read.
    wait_until(lambda: "HEADERS on a closed or lower stream id" in p.log_text(), 10,
               what="the protocol error's log line")


def test_credentials_with_whitespace_are_refused_from_the_environment(tmp_path):
    for name, value in (("AWS_SECRET_ACCESS_KEY", "S3RVER with spaces"),
                        ("AWS_SECRET_ACCESS_KEY", "S3RVER\n"),
                        ("AWS_ACCESS_KEY_ID", "S3 RVER")):
        env = clean_env({"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"})
        env[name] = value
        cmd = [str(proxy_binary()), "--bind-ip", "127.0.0.1", "--port", "0", "--bucket", "b-1",
               "--cache-dir", str(tmp_path / "cache"), "--max-cache-size", "1GiB",
               "--region", "us-east-1"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (name, r.returncode, r.stderr[-500:])
        assert f"{name} contains whitespace or control characters" in r.stderr, r.stderr[-500:]
        assert value.strip() not in r.stderr or value.strip() == "S3RVER"
