"""An S3 SDK (boto3) using the proxy as its endpoint.

The proxy serves one bucket at /<key>; a path-style SDK request for bucket "sdk" and key
"object.bin" is GET /sdk/object.bin, which is the object "sdk/object.bin" of that bucket."""

import pytest
from botocore.exceptions import ClientError

from e2e_util import SDK_KEY, sha256

SDK_BUCKET, SDK_OBJECT = SDK_KEY.split("/", 1)


@pytest.fixture
def sdk(proxy, s3_origin):
    return s3_origin.make_client(endpoint=f"http://127.0.0.1:{proxy.port}")


def test_get_object_full_and_range(sdk, bucket, proxy):
    obj = bucket[SDK_KEY]
    r = sdk.get_object(Bucket=SDK_BUCKET, Key=SDK_OBJECT)
    assert sha256(r["Body"].read()) == obj.sha256
    assert r["ContentLength"] == obj.size
    assert r["ETag"] == obj.etag
    assert r["Metadata"] == {"via": "sdk"}
    assert r["ContentType"] == obj.content_type
    r = sdk.get_object(Bucket=SDK_BUCKET, Key=SDK_OBJECT, Range="bytes=1000-1999")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentRange"] == f"bytes 1000-1999/{obj.size}"
    assert r["Body"].read() == obj.data[1000:2000]
    r = sdk.get_object(Bucket=SDK_BUCKET, Key=SDK_OBJECT)
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-cache"] == "HIT"
    assert sha256(r["Body"].read()) == obj.sha256


def test_head_object(sdk, bucket):
    obj = bucket[SDK_KEY]
    h = sdk.head_object(Bucket=SDK_BUCKET, Key=SDK_OBJECT)
    assert h["ContentLength"] == obj.size
    assert h["ETag"] == obj.etag
    assert h["Metadata"] == {"via": "sdk"}


def test_missing_object_is_nosuchkey(sdk):
    with pytest.raises(ClientError) as e:
        sdk.get_object(Bucket=SDK_BUCKET, Key="missing.bin")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
