"""Every request an S3 client sends gets S3's answer or S3's own error: the classifier in
front of the cache. Read-only operations are relayed (signed by the proxy, uncached, x-cache:
PASS) in both modes; ListBuckets is answered from the configured list; writes get 405 at the end
of the request head (never waiting for a body or for "Expect: 100-continue"); unknown
sub-resources get 501 and never the object's bytes. Addressing: single-bucket /<key> and
/<bucket>/<key>, multi-bucket /<bucket>/<key>, and virtual-hosted Host: <bucket>.<suffix>."""

from __future__ import annotations

import contextlib
import html
import os
import re

import pytest
from botocore.exceptions import ClientError

from e2e_util import (REGION, HttpConnection, build_request, names_to_loopback, sha256,
                      wait_until)

SUFFIX = "proxy.test"


@pytest.fixture(scope="module")
def served(make_bucket):
    b = make_bucket("ops")
    b.put("dir/a.bin", os.urandom(3000), "application/x-a")
    b.put("dir/sub/b.bin", os.urandom(4000))
    b.put("top.txt", b"top level\n", "text/plain")
    b.put("empty.bin", b"")
    b.origin.client.put_object_tagging(
        Bucket=b.name, Key="dir/a.bin",
        Tagging={"TagSet": [{"Key": "colour", "Value": "blue"}]})
    return b


@pytest.fixture(scope="module")
def unserved(make_bucket):
    b = make_bucket("ops-unserved")
    b.put("secret.bin", b"not served")
    return b


def start_proxy(proxy_factory, tmp_path, served, mode: str, extra=()):
    """mode 'single': --bucket only; 'multi': a [[buckets]] list (the served bucket and one that
    is not in S3 at all, to show ListBuckets is not asked of S3)."""
    args = ["--virtual-host-suffix", SUFFIX, "--access-log", *extra]
    if mode == "multi":
        cfg = tmp_path / "buckets.toml"
        cfg.write_text(f'[[buckets]]\nname = "{served.name}"\n'
                       f'[[buckets]]\nname = "e2e-listed-only"\nregion = "eu-west-1"\n'
                       f'endpoint = "{served.origin.endpoint}"\n')
        args += ["--config", str(cfg)]
    return proxy_factory(served, extra_args=args)


def error_of(body: bytes) -> dict:
    text = body.decode()
    out = {}
    for name in ("Code", "Message", "Resource", "RequestId", "Method", "ResourceType", "Key",
                 "BucketName"):
        m = re.search(f"<{name}>(.*?)</{name}>", text, re.S)
        if m:
            out[name] = html.unescape(m.group(1))
    return out


def origin_total(origin) -> int:
    return origin.stats()["total"]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path,resource_type", [
    ("PUT", "/dir/new.bin", "OBJECT"),
    ("DELETE", "/top.txt", "OBJECT"),
    ("POST", "/{bucket}?delete", "BUCKET"),
    ("PUT", "/{bucket}", "BUCKET"),
    ("DELETE", "/", "SERVICE"),
])
def test_writes_get_405_with_s3s_error_and_never_reach_s3(proxy_factory, tmp_path, served,
                                                          origin, method, path, resource_type):
    p = start_proxy(proxy_factory, tmp_path, served, "single")
    path = path.format(bucket=served.name)
    before = origin_total(origin)
    top_before = origin.key_stats(served.name, "top.txt")
    with HttpConnection(p.port) as conn:
        r = conn.request(method, path, {"Content-Length": "0"})
        assert r.status == 405
        assert r.header("allow") == "GET, HEAD"
        assert r.header("content-type") == "application/xml"
        e = error_of(r.body)
        assert e["Code"] == "MethodNotAllowed"
        assert e["Method"] == method
        assert e["ResourceType"] == resource_type
        assert e["Resource"] == path.split("?")[0]
        assert re.fullmatch(r"[0-9A-F]{16}", e["RequestId"])
        assert e["RequestId"] == r.header("x-amz-request-id")
        # Without a body the connection stays usable.
        again = conn.request("GET", "/top.txt")
        assert again.status == 200 and again.body == b"top level\n"
    # Only the GET reached S3: its GET, and a HEAD before it when the start-up scan had not yet
    # catalogued the cache (a name not indexed yet is looked for with a HEAD first; an ASan
    # build's scan of an empty cache took 108 ms, and the GET came first).
    top = origin.key_stats(served.name, "top.txt")
    heads = top["HEAD"] - top_before["HEAD"]
    assert top["GET"] == top_before["GET"] + 1 and heads in (0, 1), (top_before, top)
    assert top["other"] == top_before["other"]
    assert origin_total(origin) == before + 1 + heads


def test_a_write_with_a_body_is_answered_at_its_head(proxy_factory, tmp_path, served, origin):
    p = start_proxy(proxy_factory, tmp_path, served, "multi")
    before = origin_total(origin)
    # Expect: 100-continue and 5 MiB announced, no body sent: the final answer comes anyway
    # (no 100 Continue first), and the connection is closed after it.
    with HttpConnection(p.port, timeout=10) as conn:
        conn.send(build_request("PUT", f"/{served.name}/big.bin",
                                {"Content-Length": str(5 << 20), "Expect": "100-continue"}))
        r = conn.read_response()
        assert r.status == 405, r.raw_head
        assert r.header("connection") == "close"
        assert error_of(r.body)["Code"] == "MethodNotAllowed"
        assert b"100 Continue" not in r.raw_head
        assert conn.closed_by_peer(wait=5)
    # A client that sends its 3 MiB body without waiting still reads the whole answer (the
    # proxy drops what it is sent until the client is done, instead of resetting).
    with HttpConnection(p.port, timeout=10) as conn:
        conn.send(build_request("PUT", f"/{served.name}/up.bin", body=os.urandom(3 << 20)))
        r = conn.read_response()
        assert r.status == 405
        assert error_of(r.body)["Resource"] == f"/{served.name}/up.bin"
    # Chunked (as SDKs upload), POST.
    with HttpConnection(p.port, timeout=10) as conn:
        conn.send(build_request("POST", f"/{served.name}/x?uploads",
                                {"Transfer-Encoding": "chunked"}) + b"5\r\nhello\r\n")
        assert conn.read_response().status == 405
    assert origin_total(origin) == before
    lines = [line for line in p.log_text().splitlines() if 'msg="access"' in line]
    put = [line for line in lines if "method=PUT" in line and f"/{served.name}/big.bin" in line]
    assert len(put) == 1 and "status=405" in put[0], lines


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_unknown_sub_resources_are_501_and_never_object_bytes(proxy_factory, tmp_path, served,
                                                              origin, mode):
    p = start_proxy(proxy_factory, tmp_path, served, mode)
    obj = f"/{served.name}/dir/a.bin"
    before = origin_total(origin)
    for path in (obj + "?torrent", obj + "?select&select-type=2", obj + "?restore",
                 obj + "?colour=blue", obj + "?tagging&acl", f"/{served.name}?policy",
                 f"/{served.name}/?cors", f"/{served.name}?uploads", f"/{served.name}?versioning",
                 f"/{served.name}?location&versions", "/?list-type=2"):
        r = p.get(path)
        assert r.status == 501, (path, r.body)
        e = error_of(r.body)
        assert e["Code"] == "NotImplemented"
        assert e["RequestId"] == r.header("x-amz-request-id")
        assert served["dir/a.bin"].data not in r.body
    h = p.head(obj + "?tagging")
    assert h.status == 501 and h.body == b""
    assert origin_total(origin) == before
    assert p.cache_files() == []


# --- relayed reads ------------------------------------------------------------------------------


def sdk_for(s3_origin, port: int, style: str = "path"):
    import boto3
    from botocore.config import Config

    cfg = Config(s3={"addressing_style": style}, retries={"max_attempts": 1},
                 signature_version="s3v4")
    return boto3.client("s3", endpoint_url=f"http://localhost:{port}", region_name=REGION,
                        aws_access_key_id="client", aws_secret_access_key="client-secret",
                        config=cfg)


def passed(resp) -> bool:
    h = resp["ResponseMetadata"]["HTTPHeaders"]
    return h.get("x-cache") == "PASS" and re.fullmatch(r"[0-9A-F]{16}", h["x-amz-request-id"])


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_read_only_operations_are_relayed_uncached(proxy_factory, tmp_path, served, origin,
                                                   s3_origin, mode):
    p = start_proxy(proxy_factory, tmp_path, served, mode)
    sdk = sdk_for(s3_origin, p.port)
    b = served.name

    v2 = sdk.list_objects_v2(Bucket=b, Prefix="dir/")
    assert passed(v2)
    assert [o["Key"] for o in v2["Contents"]] == ["dir/a.bin", "dir/sub/b.bin"]
    assert v2["Contents"][0]["Size"] == 3000
    delim = sdk.list_objects_v2(Bucket=b, Delimiter="/")
    assert [o["Key"] for o in delim["Contents"]] == ["empty.bin", "top.txt"]
    assert [c["Prefix"] for c in delim["CommonPrefixes"]] == ["dir/"]
    v1 = sdk.list_objects(Bucket=b, Prefix="dir/sub/")
    assert passed(v1) and [o["Key"] for o in v1["Contents"]] == ["dir/sub/b.bin"]
    versions = sdk.list_object_versions(Bucket=b, Prefix="top")
    assert passed(versions)
    assert [(v["Key"], v["VersionId"]) for v in versions["Versions"]] == [("top.txt", "null")]
    assert passed(sdk.head_bucket(Bucket=b))
    loc = sdk.get_bucket_location(Bucket=b)
    assert passed(loc) and loc.get("LocationConstraint") in (None, "")
    tags = sdk.get_object_tagging(Bucket=b, Key="dir/a.bin")
    assert passed(tags) and tags["TagSet"] == [{"Key": "colour", "Value": "blue"}]
    acl = sdk.get_object_acl(Bucket=b, Key="dir/a.bin")
    assert passed(acl) and acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    attrs = sdk.get_object_attributes(Bucket=b, Key="dir/a.bin",
                                      ObjectAttributes=["ETag", "ObjectSize"])
    assert passed(attrs)
    assert attrs["ObjectSize"] == 3000
    assert attrs["ETag"] == served["dir/a.bin"].etag.strip('"')
    # S3's own errors come back with S3's code and status, under the proxy's request id.
    for call, code, status in (
            (lambda: sdk.get_object_retention(Bucket=b, Key="dir/a.bin"), "InvalidRequest", 400),
            (lambda: sdk.get_object_legal_hold(Bucket=b, Key="dir/a.bin"), "InvalidRequest", 400),
            (lambda: sdk.list_parts(Bucket=b, Key="dir/a.bin", UploadId="u-1"), "NoSuchUpload",
             404),
            (lambda: sdk.get_object_tagging(Bucket=b, Key="missing.bin"), "NoSuchKey", 404)):
        with pytest.raises(ClientError) as e:
            call()
        err = e.value.response
        assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        assert err["ResponseMetadata"]["RequestId"] == \
            err["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    assert p.cache_files() == [], "relayed answers are never cached"
    # Every relay reached S3 signed by the proxy (s3rver checks) with the client's parameters.
    assert origin.stats()["statuses"].get("403", 0) == 0


def test_list_buckets_comes_from_the_configuration(proxy_factory, tmp_path, served, unserved,
                                                   origin, s3_origin):
    p = start_proxy(proxy_factory, tmp_path, served, "multi")
    sdk = sdk_for(s3_origin, p.port)
    before = origin_total(origin)
    r = sdk.list_buckets()
    assert [b["Name"] for b in r["Buckets"]] == [served.name, "e2e-listed-only"]
    assert r["Buckets"][0]["CreationDate"].year >= 2024
    assert origin_total(origin) == before, "ListBuckets is never asked of S3"
    # A bucket that is not served is never relayed to, whatever the operation.
    for call in (lambda: sdk.list_objects_v2(Bucket=unserved.name),
                 lambda: sdk.head_bucket(Bucket=unserved.name),
                 lambda: sdk.get_object_tagging(Bucket=unserved.name, Key="secret.bin"),
                 lambda: sdk.get_object(Bucket=unserved.name, Key="secret.bin")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert origin_total(origin) == before
    raw = p.get("/?prefix=e2e-l&max-buckets=5")
    assert raw.status == 200 and raw.header("content-type") == "application/xml"
    assert re.findall(rb"<Name>(.*?)</Name>", raw.body) == [b"e2e-listed-only"]


# --- addressing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_virtual_hosted_requests(proxy_factory, tmp_path, served, unserved, origin, s3_origin,
                                 mode):
    p = start_proxy(proxy_factory, tmp_path, served, mode)
    host = f"{served.name}.{SUFFIX}:{p.port}"
    obj = served["dir/a.bin"]
    with HttpConnection(p.port) as conn:
        r = conn.request("GET", "/dir/a.bin", host=host)
        assert r.status == 200 and sha256(r.body) == obj.sha256
        assert r.header("x-cache") == "MISS"
        r = conn.request("GET", "/dir/a.bin", host=host.upper())  # host names ignore case
        assert r.status == 200 and r.header("x-cache") == "HIT"
        listing = conn.request("GET", "/?list-type=2&prefix=dir%2Fsub%2F", host=host)
        assert listing.status == 200 and b"<Key>dir/sub/b.bin</Key>" in listing.body
        # The suffix itself is path-style.
        r = conn.request("GET", f"/{served.name}/top.txt", host=f"{SUFFIX}:{p.port}")
        assert r.status == 200 and r.body == b"top level\n"
        denied = conn.request("GET", "/secret.bin", host=f"{unserved.name}.{SUFFIX}")
        assert denied.status == 403
        assert error_of(denied.body)["BucketName"] == unserved.name
    with names_to_loopback(SUFFIX):
        import boto3
        from botocore.config import Config

        sdk = boto3.client("s3", endpoint_url=f"http://{SUFFIX}:{p.port}", region_name=REGION,
                           aws_access_key_id="c", aws_secret_access_key="s",
                           config=Config(s3={"addressing_style": "virtual"},
                                         retries={"max_attempts": 1}))
        got = sdk.get_object(Bucket=served.name, Key="dir/sub/b.bin")
        assert sha256(got["Body"].read()) == served["dir/sub/b.bin"].sha256
        keys = [o["Key"] for o in sdk.list_objects_v2(Bucket=served.name)["Contents"]]
        assert keys == ["dir/a.bin", "dir/sub/b.bin", "empty.bin", "top.txt"]
    lines = [line for line in p.log_text().splitlines() if 'msg="access"' in line]
    assert any('target="/dir/sub/b.bin"' in line or "target=/dir/sub/b.bin" in line
               for line in lines)


def test_single_bucket_mode_reads_both_forms_and_says_which_key_it_looked_up(
        proxy_factory, tmp_path, served, origin, s3_origin):
    p = start_proxy(proxy_factory, tmp_path, served, "single")
    obj = served["dir/a.bin"]
    bare = p.get("/dir/a.bin")
    assert bare.status == 200 and sha256(bare.body) == obj.sha256
    path_style = p.get(f"/{served.name}/dir/a.bin")
    assert path_style.status == 200 and path_style.header("x-cache") == "HIT"
    sdk = sdk_for(s3_origin, p.port)
    got = sdk.get_object(Bucket=served.name, Key="dir/a.bin")
    assert sha256(got["Body"].read()) == obj.sha256
    # Another bucket's name in the path is part of the key: the error says so.
    r = p.get("/other-bucket/dir/a.bin")
    assert r.status == 404
    e = error_of(r.body)
    assert e["Code"] == "NoSuchKey"
    assert e["Key"] == "other-bucket/dir/a.bin"
    assert e["BucketName"] == served.name
    assert "whole path was looked up as the key 'other-bucket/dir/a.bin'" in e["Message"]
    assert e["Resource"] == "/other-bucket/dir/a.bin"
    # The same through an SDK: its bucket is not the one served.
    with pytest.raises(ClientError) as err:
        sdk.get_object(Bucket="other-bucket", Key="dir/a.bin")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    assert err.value.response["Error"]["Key"] == "other-bucket/dir/a.bin"
    # ListBuckets in single-bucket mode lists the one bucket.
    assert [b["Name"] for b in sdk.list_buckets()["Buckets"]] == [served.name]
    # A bucket read of another bucket (`aws s3 ls s3://other-bucket/`, s3cmd's `ls`,
    # GetBucketLocation) is refused as that bucket's, never relayed; before, it was read as a key
    # with an unknown sub-resource: "501 GET with ?list-type is not an operation this proxy serves".
    before = origin_total(origin)
    for target in ("/other-bucket?list-type=2&prefix=&delimiter=%2F&encoding-type=url",
                   "/other-bucket/?delimiter=%2F", "/other-bucket?location"):
        r = p.get(target)
        assert r.status == 403, (target, r.body)
        e = error_of(r.body)
        assert (e["Code"], e["BucketName"]) == ("AccessDenied", "other-bucket"), target
        assert e["Message"] == "This proxy does not serve that bucket."
        assert e["Resource"] == target.split("?")[0]
    with pytest.raises(ClientError) as err:
        sdk.list_objects_v2(Bucket="other-bucket")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert origin_total(origin) == before


def test_presigned_urls_and_sdk_markers_reach_the_cache(proxy_factory, tmp_path, served, origin,
                                                        s3_origin):
    p = start_proxy(proxy_factory, tmp_path, served, "multi")
    sdk = sdk_for(s3_origin, p.port)
    url = sdk.generate_presigned_url("get_object", Params={"Bucket": served.name,
                                                           "Key": "top.txt"}, ExpiresIn=60)
    target = url.split(f":{p.port}", 1)[1]
    assert "X-Amz-Signature=" in target
    r = p.get(target)
    assert r.status == 200 and r.body == b"top level\n"
    assert p.get(f"/{served.name}/top.txt?x-id=GetObject").header("x-cache") == "HIT"
    # SigV2 presigned URLs: boto3's S3 client without signature_version="s3v4" (Debian's
    # botocore) and the AWS CLI v1's `aws s3 presign` make these. Before: 501 NotImplemented
    # ("GET with ?AWSAccessKeyId is not an operation this proxy serves").
    import boto3
    from botocore.config import Config
    v2 = boto3.client("s3", endpoint_url=f"http://localhost:{p.port}", region_name=REGION,
                      aws_access_key_id="client", aws_secret_access_key="client-secret",
                      aws_session_token="session",
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3"))
    url = v2.generate_presigned_url("get_object", Params={"Bucket": served.name,
                                                          "Key": "dir/a.bin"}, ExpiresIn=60)
    target = url.split(f":{p.port}", 1)[1]
    for name in ("AWSAccessKeyId=", "Signature=", "Expires=", "x-amz-security-token="):
        assert name in target, target
    r = p.get(target)
    assert r.status == 200 and sha256(r.body) == served["dir/a.bin"].sha256
    assert r.header("x-cache") == "MISS"
    r = p.get(f"/{served.name}?list-type=2&prefix=dir%2Fsub%2F&AWSAccessKeyId=client"
              f"&Signature=abc%3D&Expires=1796538158")
    assert r.status == 200 and r.header("x-cache") == "PASS"
    assert re.findall(rb"<Key>(.*?)</Key>", r.body) == [b"dir/sub/b.bin"]


def test_port_zero_binds_one_port_for_every_worker(tmp_path, served):
    import subprocess

    from e2e_util import S3_ACCESS_KEY, S3_SECRET_KEY, clean_env, proxy_binary

    log = tmp_path / "p0.log"
    cmd = [str(proxy_binary()), "--bind-ip", "127.0.0.1", "--port", "0", "--workers", "3",
           "--bucket", served.name, "--s3-endpoint-url", served.origin.endpoint,
           "--s3-force-path-style", "--region", REGION, "--cache-dir", str(tmp_path / "c"),
           "--max-cache-size", "1GiB"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                env=clean_env({"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
                                               "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}))
    try:
        line = wait_until(lambda: next((x for x in log.read_text().splitlines()
                                        if 'msg="xs3lerator listening"' in x), None), 20,
                          what="the listening line")
        port = int(re.search(r" port=(\d+)", line).group(1))
        assert port != 0
        # Every worker's socket listens on that port, and no other port is open.
        inodes = set()
        for fd in os.listdir(f"/proc/{proc.pid}/fd"):
            with contextlib.suppress(OSError):
                m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{proc.pid}/fd/{fd}"))
                if m:
                    inodes.add(m.group(1))
        ports = []
        with open("/proc/net/tcp") as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    ports.append(int(cols[1].split(":")[1], 16))
        assert ports == [port] * 3
        with HttpConnection(port) as conn:
            assert conn.request("GET", "/top.txt").body == b"top level\n"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
