"""Several buckets behind one proxy: a [[buckets]] list in the config file turns on /<bucket>/<key>
URLs (the path-style form S3 SDKs use with a custom endpoint), each bucket with its own
credentials if given; buckets not listed get 403. versionId makes the version part of the cache
key, partNumber is relayed, response-* overrides apply to the response only. Against the
SigV4-checking s3rver, so every signed query (versionId, partNumber) must be signed right."""

from __future__ import annotations

import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from e2e_util import sha256


@pytest.fixture
def buckets(make_bucket):
    one, two, other = make_bucket("bk-one"), make_bucket("bk-two"), make_bucket("bk-other")
    one.put("dir/one.bin", os.urandom(5000), "application/x-one", {"n": "1"})
    two.put("two.bin", os.urandom(7000), "application/x-two")
    other.put("x.bin", b"not served")
    return one, two, other


def proxy_with(proxy_factory, tmp_path, first, toml: str, name: str = "xs3.toml"):
    cfg = tmp_path / name
    cfg.write_text(toml)
    cfg.chmod(0o600)
    return proxy_factory(first, extra_args=["--config", str(cfg)])


def test_listed_buckets_are_served_in_the_path_and_others_refused(proxy_factory, tmp_path,
                                                                  buckets, origin):
    one, two, other = buckets
    # bk-two signs with its own (static) keys; bk-one (--bucket) with the global ones.
    p = proxy_with(proxy_factory, tmp_path, one,
                   f'[[buckets]]\nname = "{two.name}"\naccess_key_id = "S3RVER"\n'
                   f'secret_access_key = "S3RVER"\n')
    a = p.get(f"/{one.name}/dir/one.bin")
    assert a.status == 200 and sha256(a.body) == one["dir/one.bin"].sha256
    assert a.header("content-type") == "application/x-one"
    b = p.get(f"/{two.name}/two.bin")
    assert b.status == 200 and sha256(b.body) == two["two.bin"].sha256
    assert p.get(f"/{two.name}/two.bin").header("x-cache") == "HIT"
    denied = p.get(f"/{other.name}/x.bin")
    assert denied.status == 403 and b"<Code>AccessDenied</Code>" in denied.body
    # /<key> of the default bucket is not a form any more: "dir" is not a served bucket.
    assert p.get("/dir/one.bin").status == 403
    # No key: the bucket itself, a listing (relayed; test_s3_operations.py has the rest).
    for path in (f"/{one.name}", f"/{one.name}/"):
        listing = p.get(path)
        assert listing.status == 200 and listing.header("x-cache") == "PASS"
        assert b"<Key>dir/one.bin</Key>" in listing.body
    assert "S3RVER" not in p.log_text()


def test_a_bucket_with_wrong_keys_gets_s3s_refusal(proxy_factory, tmp_path, buckets, origin):
    one, two, _ = buckets
    p = proxy_with(proxy_factory, tmp_path, one,
                   f'[[buckets]]\nname = "{two.name}"\naccess_key_id = "S3RVER"\n'
                   f'secret_access_key = "WRONG-SECRET"\n')
    bad = p.get(f"/{two.name}/two.bin")
    assert bad.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in bad.body
    good = p.get(f"/{one.name}/dir/one.bin")
    assert good.status == 200
    assert "WRONG-SECRET" not in p.log_text()


def test_version_ids_are_signed_and_cached_apart(proxy_factory, tmp_path, buckets, origin):
    one, _, _ = buckets
    p = proxy_with(proxy_factory, tmp_path, one, f'[[buckets]]\nname = "{one.name}"\n')
    obj = one["dir/one.bin"]
    path = f"/{one.name}/dir/one.bin"
    plain = p.get(path)
    assert plain.status == 200 and plain.header("x-cache") == "MISS"
    v = p.get(path + "?versionId=v-1")  # s3rver checks the signature, query included
    assert v.status == 200 and sha256(v.body) == obj.sha256
    assert v.header("x-cache") == "MISS", "a version is cached under its own name"
    assert p.get(path + "?versionId=v-1").header("x-cache") == "HIT"
    assert p.get(path).header("x-cache") == "HIT"
    assert p.get(path + "?versionId=").status == 400


def test_response_overrides_change_the_response_only(proxy_factory, tmp_path, buckets, origin):
    one, _, _ = buckets
    p = proxy_with(proxy_factory, tmp_path, one, f'[[buckets]]\nname = "{one.name}"\n')
    path = f"/{one.name}/dir/one.bin"
    r = p.get(path + "?response-content-type=text%2Fx-test&response-content-disposition="
                     "attachment%3B%20filename%3D%22a.bin%22&response-cache-control=no-store")
    assert r.status == 200
    assert r.header("content-type") == "text/x-test"
    assert r.header("content-disposition") == 'attachment; filename="a.bin"'
    assert r.header("cache-control") == "no-store"
    again = p.get(path)
    assert again.header("x-cache") == "HIT"
    assert again.header("content-type") == "application/x-one"  # the stored metadata
    assert again.header("content-disposition") is None
    assert p.get(path + "?response-colour=blue").status == 400


def test_part_numbers_are_relayed_not_cached(proxy_factory, tmp_path, buckets, origin):
    one, _, _ = buckets
    p = proxy_with(proxy_factory, tmp_path, one, f'[[buckets]]\nname = "{one.name}"\n')
    path = f"/{one.name}/dir/one.bin?partNumber=1"
    for _ in range(2):
        r = p.get(path)
        assert r.status == 200 and r.header("x-cache") == "PASS"
        assert sha256(r.body) == one["dir/one.bin"].sha256
    assert p.cache_files() == []
    assert p.get(f"/{one.name}/dir/one.bin?partNumber=0").status == 400


def test_an_sdk_names_buckets_through_the_proxy(proxy_factory, tmp_path, buckets, origin,
                                                s3_origin):
    one, two, other = buckets
    p = proxy_with(proxy_factory, tmp_path, one, f'[[buckets]]\nname = "{two.name}"\n')
    sdk = s3_origin.make_client(endpoint=f"http://127.0.0.1:{p.port}")
    r = sdk.get_object(Bucket=one.name, Key="dir/one.bin")
    assert sha256(r["Body"].read()) == one["dir/one.bin"].sha256
    assert r["Metadata"] == {"n": "1"}
    r = sdk.get_object(Bucket=two.name, Key="two.bin", Range="bytes=10-19")
    assert r["ContentRange"] == "bytes 10-19/7000"
    assert r["Body"].read() == two["two.bin"].data[10:20]
    h = sdk.head_object(Bucket=two.name, Key="two.bin")
    assert h["ContentLength"] == 7000
    with pytest.raises(ClientError) as e:
        sdk.get_object(Bucket=one.name, Key="missing.bin")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        sdk.get_object(Bucket=other.name, Key="x.bin")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_bad_bucket_entries_stop_start_up(proxy_factory, tmp_path, buckets):
    one, _, _ = buckets
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[buckets]]\nname = "no spaces allowed"\n')
    p = proxy_factory(one, extra_args=["--config", str(cfg)], start=False)
    # No credentials in the environment: the entry is refused before any are looked up.
    r = subprocess.run(p.command(), capture_output=True, timeout=30, env={"PATH": "/usr/bin"})
    assert r.returncode == 2
    assert b"[[buckets]] 'no spaces allowed' at line 1: not a valid S3 bucket name" in r.stderr
