"""Infrastructure tests: the local S3 origin itself (no proxy). They prove the counters,
throttling, delays and the S3 behaviours the proxy tests rely on."""

import time

import pytest
from botocore.exceptions import ClientError

from e2e_util import EMPTY, MEDIUM, ODD_KEY, SMALL, HttpConnection, http_request, sha256, url_path


def test_boto3_roundtrip_and_metadata(origin, bucket):
    obj = bucket[SMALL]
    r = origin.client.get_object(Bucket=bucket.name, Key=SMALL)
    assert sha256(r["Body"].read()) == obj.sha256
    h = r["ResponseMetadata"]["HTTPHeaders"]
    assert h["etag"] == obj.etag and obj.etag.startswith('"')
    assert h["x-amz-meta-owner"] == "e2e-suite"
    assert h["x-amz-meta-note"] == "Hello World"
    assert h["x-amz-meta-sha224"] == obj.metadata["sha224"]
    assert h["content-type"] == "application/octet-stream"


def test_stats_count_methods_and_ranges(origin, bucket):
    c = origin.client
    c.get_object(Bucket=bucket.name, Key=SMALL)["Body"].read()
    c.get_object(Bucket=bucket.name, Key=SMALL, Range="bytes=0-9")["Body"].read()
    c.head_object(Bucket=bucket.name, Key=SMALL)
    st = origin.stats()
    ks = st["keys"][f"{bucket.name}/{SMALL}"]
    assert (ks["GET"], ks["GET_full"], ks["GET_range"], ks["HEAD"]) == (2, 1, 1, 1)
    assert ks["ranges"] == ["bytes=0-9"]
    assert ks["bytes_sent"] == 1000 + 10
    assert st["methods"] == {"GET": 2, "HEAD": 1}
    assert st["statuses"] == {"200": 2, "206": 1}
    path = f"/{bucket.name}/{SMALL}"
    assert [(r["method"], r["url"].split("?")[0]) for r in st["requests"]] == [
        ("GET", path), ("GET", path), ("HEAD", path)]
    origin.reset_stats()
    assert origin.stats() == {"total": 0, "methods": {}, "statuses": {}, "keys": {}, "requests": []}


@pytest.mark.parametrize("rng,start,end", [
    ("bytes=0-0", 0, 0),
    ("bytes=10-19", 10, 19),
    ("bytes=990-", 990, 999),
    ("bytes=990-5000", 990, 999),
    ("bytes=-7", 993, 999),
])
def test_ranges(origin, bucket, rng, start, end):
    obj = bucket[SMALL]
    r = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}", {"Range": rng})
    assert r.status == 206
    assert r.header("content-range") == f"bytes {start}-{end}/1000"
    assert r.body == obj.data[start:end + 1]


@pytest.mark.parametrize("rng", ["bytes=0-1,5-6", "bytes=9-3", "items=0-1"])
def test_unusable_ranges_give_full_body(origin, bucket, rng):
    r = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}", {"Range": rng})
    assert r.status == 200
    assert r.body == bucket[SMALL].data


def test_unsatisfiable_range_416(origin, bucket):
    r = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}", {"Range": "bytes=1000-"})
    assert r.status == 416
    assert b"<Code>InvalidRange</Code>" in r.body


def test_missing_key_404_xml(origin, bucket):
    with pytest.raises(ClientError) as e:
        origin.client.get_object(Bucket=bucket.name, Key="no/such/key")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    r = http_request(origin.port, "GET", f"/{bucket.name}/no-such-key")
    assert r.status == 404
    assert b"<Code>NoSuchKey</Code>" in r.body


def test_wrong_secret_is_rejected(origin, bucket):
    bad = origin.make_client(secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.get_object(Bucket=bucket.name, Key=SMALL)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert origin.stats()["statuses"] == {"403": 1}


def test_if_match(origin, bucket):
    obj = bucket[SMALL]
    ok = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}", {"If-Match": obj.etag})
    assert ok.status == 200 and ok.body == obj.data
    bad = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}", {"If-Match": '"0000"'})
    assert bad.status == 412


def test_head_empty_and_odd_key(origin, bucket):
    r = http_request(origin.port, "HEAD", f"/{bucket.name}/{EMPTY}")
    assert r.status == 200 and r.header("content-length") == "0"
    obj = bucket[ODD_KEY]
    r = http_request(origin.port, "GET", f"/{bucket.name}" + url_path(ODD_KEY))
    assert r.status == 200 and r.body == obj.data


def test_keep_alive(origin, bucket):
    with HttpConnection(origin.port) as conn:
        for _ in range(3):
            r = conn.request("GET", f"/{bucket.name}/{SMALL}")
            assert r.status == 200 and r.body == bucket[SMALL].data


def test_throttle_and_delay(origin, bucket):
    key = MEDIUM
    origin.control(throttle_bytes_per_sec=200_000, throttle_keys=[f"{bucket.name}/{key}"])
    t0 = time.monotonic()
    r = http_request(origin.port, "GET", f"/{bucket.name}/{key}", {"Range": "bytes=0-399999"})
    slow = time.monotonic() - t0
    assert r.status == 206 and r.body == bucket[key].data[:400000]
    assert slow >= 1.8
    # Other keys are not throttled.
    t0 = time.monotonic()
    r = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}")
    assert r.body == bucket[SMALL].data and time.monotonic() - t0 < 1.5

    origin.reset_control()
    origin.control(delay_ms={f"{bucket.name}/{SMALL}": 600})
    t0 = time.monotonic()
    r = http_request(origin.port, "GET", f"/{bucket.name}/{SMALL}")
    assert r.body == bucket[SMALL].data and time.monotonic() - t0 >= 0.55


def test_client_hangup_mid_body_is_survived(origin, bucket):
    origin.control(throttle_bytes_per_sec=100_000)
    conn = HttpConnection(origin.port, timeout=5)
    conn.send(f"GET /{bucket.name}/{MEDIUM} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert conn.sock.recv(100)
    conn.close()
    origin.reset_control()
    r = http_request(origin.port, "GET", f"/{bucket.name}/{MEDIUM}")
    assert r.status == 200 and sha256(r.body) == bucket[MEDIUM].sha256
