"""Keys never leave their bucket: a request target whose key has a "." or ".." segment, in any
spelling (plain, %2e in either case, mixed, double-encoded, %2F or backslash separators), is
refused with S3's 400 InvalidURI before any request is built, over HTTP/1.1 and HTTP/2, for GET,
HEAD, ranged GETs, relayed part numbers and the admin warm-up, in single- and multi-bucket mode.

The origin is the SigV4-checking s3rver with a second bucket `secret`. s3rver itself resolves
`/<bucket>/../<secret>/key.txt` to the other bucket (checked first, with a request signed by
botocore), so these tests would see an escape if the proxy let one through. Its request log
(every raw target it received) shows what was sent: nothing resolves outside the allowed bucket.
The emulator (bench/s3emu) sees no request at all for such keys."""

from __future__ import annotations

import json
import posixpath
import urllib.parse
import urllib.request

import pytest

from e2e_util import Emulator, HttpConnection, free_port, sha256
from h2_client import H2Client

SECRET_DATA = b"the other bucket's secret\n"


@pytest.fixture
def two_buckets(make_bucket):
    allowed = make_bucket("conf-allowed")
    secret = make_bucket("secret")
    allowed.put("a/key.txt", b"allowed bytes\n", "text/plain")
    secret.put("key.txt", SECRET_DATA, "text/plain")
    return allowed, secret


def escape_spellings(s: str) -> list[str]:
    """Targets (after the allowed bucket's prefix, if any) that a normalising store would resolve
    to bucket `s`, key `key.txt`."""
    return [
        f"/../{s}/key.txt",
        f"/%2e%2e/{s}/key.txt",
        f"/%2E%2E/{s}/key.txt",
        f"/%2e./{s}/key.txt",
        f"/.%2E/{s}/key.txt",
        f"/a/../../{s}/key.txt",
        f"/./../{s}/key.txt",
        f"/a/./../../{s}/key.txt",
        f"/..%2F{s}%2Fkey.txt",
        f"/..%2f{s}/key.txt",
        f"/%2e%2e%2f{s}%2fkey.txt",
        f"/..%5C{s}%5Ckey.txt",
        f"/%2e%2e%5c{s}%5ckey.txt",
        f"/%252e%252e/{s}/key.txt",
        f"/..%252F{s}/key.txt",
        f"//../{s}/key.txt",
        f"/a//..//../{s}/key.txt",
        f"/a/%2e%2E/.%2e/{s}/key.txt",
        f"/%C0%AE%C0%AE/{s}/key.txt",
    ]


def resolved_bucket(target: str) -> str:
    """The bucket a path-style target names after the most generous normalisation a store could
    apply: percent-decoding until nothing changes, backslashes as slashes, dot segments
    resolved."""
    path = target.split("?", 1)[0]
    for _ in range(8):
        decoded = urllib.parse.unquote(path)
        if decoded == path:
            break
        path = decoded
    path = path.replace("\\", "/").replace("\u00c0\u00ae", ".")
    path = posixpath.normpath("/" + path.lstrip("/"))
    return path.lstrip("/").split("/", 1)[0]


def origin_targets(origin) -> list[str]:
    return [r["url"] for r in origin.stats()["requests"] if not r["url"].startswith("/__")]


def assert_confined(origin, allowed: str, secret: str) -> None:
    targets = origin_targets(origin)
    for t in targets:
        assert resolved_bucket(t) == allowed, f"the proxy sent {t!r}, which resolves elsewhere"
    ks = origin.key_stats(secret, "key.txt")
    assert ks["GET"] == 0 and ks["HEAD"] == 0, ks


def assert_invalid_uri(r, target: str) -> None:
    assert r.status == 400, (target, r.status, r.body[:300])
    assert b"<Code>InvalidURI</Code>" in r.body, (target, r.body[:300])
    assert SECRET_DATA not in r.body


def raw(port: int, method: str, target: str, headers: dict | None = None):
    with HttpConnection(port, timeout=20) as c:
        return c.request(method, target, headers)


def test_the_origin_itself_resolves_dot_segments(two_buckets, origin):
    """Why the rule matters: s3rver answers a signed /<allowed>/../<secret>/key.txt with the
    secret bucket's object. (If this ever stops being true, the tests below would pass without
    proving anything: keep it.)"""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    allowed, secret = two_buckets
    target = f"/{allowed.name}/../{secret.name}/key.txt"
    req = botocore.awsrequest.AWSRequest(method="GET", url=origin.endpoint + target)
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("S3RVER", "S3RVER"), "s3",
                              "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    headers.setdefault("Host", f"127.0.0.1:{origin.port}")
    r = raw(origin.port, "GET", target, headers)
    assert r.status == 200 and r.body == SECRET_DATA, (r.status, r.body[:500])


def test_every_spelling_is_refused_in_single_bucket_mode(proxy_factory, two_buckets, origin):
    allowed, secret = two_buckets
    p = proxy_factory(allowed, workers=1)
    origin.reset_stats()
    for target in escape_spellings(secret.name):
        for method in ("GET", "HEAD"):
            r = raw(p.port, method, target)
            if method == "GET":
                assert_invalid_uri(r, target)
            else:
                assert r.status == 400, (target, r.status)
        # A ranged GET (the chunk path), a part number (passthrough), relayed sub-resources, and
        # the bucket named in the path (single-bucket mode reads /<bucket>/<key> too).
        assert_invalid_uri(raw(p.port, "GET", target, {"Range": "bytes=0-3"}), target)
        assert_invalid_uri(raw(p.port, "GET", target + "?partNumber=1"), target)
        for relayed in ("?tagging", "?acl", "?attributes"):
            assert raw(p.port, "GET", target + relayed).status == 400, (target, relayed)
        assert_invalid_uri(raw(p.port, "GET", f"/{allowed.name}{target}"), target)
    # Nothing of those reached the origin at all.
    assert origin_targets(origin) == []
    # Harmless neighbours: double slashes and dots inside names stay in the bucket.
    for target, status in ((f"//{secret.name}/key.txt", 404), (f"/{secret.name}/key.txt", 404),
                           ("/a/key.txt", 200), ("/a/..key.txt", 404), ("/a/.../key.txt", 404)):
        r = raw(p.port, "GET", target)
        assert r.status == status, (target, r.status, r.body[:200])
        assert SECRET_DATA not in r.body
    assert_confined(origin, allowed.name, secret.name)
    assert len(origin_targets(origin)) >= 5


def test_every_spelling_is_refused_in_multi_bucket_mode(proxy_factory, tmp_path, two_buckets,
                                                        origin):
    allowed, secret = two_buckets
    cfg = tmp_path / "xs3.toml"
    cfg.write_text(f'[[buckets]]\nname = "{allowed.name}"\n')
    cfg.chmod(0o600)
    p = proxy_factory(allowed, extra_args=["--config", str(cfg)], workers=1)
    origin.reset_stats()
    direct = raw(p.port, "GET", f"/{secret.name}/key.txt")
    assert direct.status == 403 and b"<Code>AccessDenied</Code>" in direct.body
    for spelling in escape_spellings(secret.name):
        target = f"/{allowed.name}{spelling}"
        assert_invalid_uri(raw(p.port, "GET", target), target)
        assert raw(p.port, "HEAD", target).status == 400
    # The bucket itself spelled with dots is not a served bucket.
    for target in (f"/{allowed.name}%2F..%2F{secret.name}/key.txt", f"/../{secret.name}/key.txt",
                   f"/%2e%2e/{secret.name}/key.txt"):
        r = raw(p.port, "GET", target)
        assert r.status in (400, 403), (target, r.status)
        assert SECRET_DATA not in r.body
    assert origin_targets(origin) == []
    ok = raw(p.port, "GET", f"/{allowed.name}/a/key.txt")
    assert ok.status == 200 and ok.body == b"allowed bytes\n"
    assert_confined(origin, allowed.name, secret.name)


def test_http2_streams_are_confined_too(proxy_factory, two_buckets, origin):
    allowed, secret = two_buckets
    p = proxy_factory(allowed, workers=1)
    origin.reset_stats()
    with H2Client(p.port) as c:
        ids = [c.request(m, t) for t in escape_spellings(secret.name) for m in ("GET", "HEAD")]
        for st in c.wait_streams(ids):
            assert st.status == 400, (st.id if hasattr(st, "id") else None, st.headers)
            assert SECRET_DATA not in bytes(st.body)
        good = c.get("/a/key.txt")
        assert good.status == 200 and bytes(good.body) == b"allowed bytes\n"
    assert_confined(origin, allowed.name, secret.name)


def test_the_admin_warm_up_refuses_them(proxy_factory, two_buckets, origin):
    allowed, secret = two_buckets
    admin = free_port()
    p = proxy_factory(allowed, extra_args=["--admin-port", str(admin)], workers=1)
    origin.reset_stats()
    keys = ["../" + secret.name + "/key.txt", "a/../../" + secret.name + "/key.txt",
            "%2e%2e/" + secret.name + "/key.txt", "..\\" + secret.name + "\\key.txt"]
    query = "&".join("key=" + urllib.parse.quote(k, safe="") for k in keys)
    req = urllib.request.Request(f"http://127.0.0.1:{admin}/cache/warm?{query}", data=b"",
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
        answer = json.load(r)
    assert answer["accepted"] == 0
    rejected = {e["key"]: e["reason"] for e in answer["rejected"]}
    assert sorted(rejected) == sorted(keys), answer
    for reason in rejected.values():
        assert "'.' or '..' path segment" in reason, answer
    assert origin_targets(origin) == []


def test_the_emulator_sees_no_request_for_them(proxy_factory, tmp_path):
    emu = Emulator(tmp_path / "emu", ["name=k.bin,size=4096,seed=3"], args=["--bucket", "bench",
                                                                           "--bucket", "secret"])
    try:
        p = proxy_factory("bench", endpoint=emu.endpoint, workers=1)
        emu.reset_stats()
        for target in escape_spellings("secret"):
            assert_invalid_uri(raw(p.port, "GET", target.replace("key.txt", "k.bin")), target)
        assert emu.stats()["requests_total"] == 0
        r = raw(p.port, "GET", "/k.bin")
        assert r.status == 200 and len(r.body) == 4096
        emu.verify("k.bin", 3, r.body, size=4096)
        assert emu.stats()["requests_total"] >= 1
    finally:
        emu.stop()
