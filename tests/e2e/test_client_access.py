"""Client access control: [[clients]] keys that every request must be signed with
(SigV4, verified as S3 verifies it), --allow-clients address blocks checked at accept, the start-up
warning for an open proxy, and the admin listener's bearer token.

Clients are stock tools: boto3, the AWS CLI, presigned URLs fetched with curl, and an HTTP/2
client sending botocore-signed headers. Refused requests never reach the origin."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from e2e_util import REGION, free_port, names_to_loopback, sha256, wait_until
from h2_client import H2Client

CLIENT_ID = "XS3CLIENTKEY0001"
CLIENT_SECRET = "client/Secret+Value0001"
READER_ID = "XS3READERTWO"
READER_SECRET = "reader-two-secret-value"


@pytest.fixture
def buckets(make_bucket):
    one, two = make_bucket("ca-one"), make_bucket("ca-two")
    one.put("dir/a.bin", os.urandom(300 * 1024 + 5), "application/x-a", {"n": "1"})
    one.put("sp ace/b+c.txt", b"hello there\n" * 100, "text/plain")
    two.put("t.bin", os.urandom(7000), "application/x-t")
    return one, two


def guarded_proxy(proxy_factory, tmp_path, one, two, extra_args=(), extra_toml=""):
    cfg = tmp_path / "guard.toml"
    cfg.write_text(
        f'[[buckets]]\nname = "{one.name}"\n[[buckets]]\nname = "{two.name}"\n'
        f'[[clients]]\naccess_key_id = "{CLIENT_ID}"\nsecret_access_key = "{CLIENT_SECRET}"\n'
        f'[[clients]]\naccess_key_id = "{READER_ID}"\nsecret_access_key = "{READER_SECRET}"\n'
        f'buckets = ["{two.name}"]\n' + extra_toml)
    cfg.chmod(0o600)
    return proxy_factory(one, extra_args=["--config", str(cfg), *extra_args])


def client(port, key=CLIENT_ID, secret=CLIENT_SECRET, region=REGION):
    import boto3

    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 signature_version="s3v4", connect_timeout=10, read_timeout=60)
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)


def error_code(body: bytes) -> str:
    start = body.find(b"<Code>")
    return body[start + 6:body.find(b"</Code>")].decode() if start >= 0 else ""


def origin_gets(bucket, key):
    return bucket.key_stats(key).get("GET", 0) + bucket.key_stats(key).get("HEAD", 0)


def signed_headers(method, url, key=CLIENT_ID, secret=CLIENT_SECRET, region=REGION, when=None):
    """Headers botocore's S3 signer adds for `url` (what every AWS SDK sends), Host included (the
    HTTP library adds it when sending). `when`: sign as of that x-amz-date instead of now."""
    req = AWSRequest(method=method, url=url)
    auth = S3SigV4Auth(Credentials(key, secret), "s3", region)
    if when is None:
        auth.add_auth(req)
    else:
        # add_auth() reads the clock; these are its steps with another timestamp.
        req.context["timestamp"] = when
        auth._modify_request_before_signing(req)  # noqa: SLF001
        creq = auth.canonical_request(req)
        auth._inject_signature_to_request(  # noqa: SLF001
            req, auth.signature(auth.string_to_sign(req, creq), req))
    headers = {k: v for k, v in req.headers.items()}
    headers["Host"] = urllib.parse.urlsplit(url).netloc
    return headers


def test_unsigned_requests_are_refused_before_anything_is_fetched(proxy_factory, tmp_path,
                                                                  buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    for method in ("GET", "HEAD", "POST", "DELETE"):
        r = p.request(method, f"/{one.name}/dir/a.bin")
        assert r.status == 403, (method, r.status)
        if method != "HEAD":
            assert error_code(r.body) == "AccessDenied"
            assert b"<Message>Access Denied</Message>" in r.body
            assert r.header("content-type") == "application/xml"
    # A bucket the proxy does not serve is no different for an unsigned caller.
    assert p.get("/not-a-bucket/x").status == 403
    assert origin_gets(one, "dir/a.bin") == 0
    # The health probe stays open: probes cannot sign.
    assert p.get("/healthz").status == 200


def test_boto3_with_a_client_key_reads_byte_exact(proxy_factory, tmp_path, buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    s3 = client(p.port)
    a = one["dir/a.bin"]
    r = s3.get_object(Bucket=one.name, Key="dir/a.bin")
    assert sha256(r["Body"].read()) == a.sha256
    assert r["ContentType"] == "application/x-a" and r["Metadata"] == {"n": "1"}
    r = s3.get_object(Bucket=one.name, Key="dir/a.bin", Range="bytes=100-1099")
    assert r["ContentRange"] == f"bytes 100-1099/{a.size}"
    assert r["Body"].read() == a.data[100:1100]
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-cache"] == "HIT"
    assert s3.head_object(Bucket=one.name, Key="dir/a.bin")["ContentLength"] == a.size
    # A key that needs escaping: signed and verified over the path as sent.
    b = one["sp ace/b+c.txt"]
    assert s3.get_object(Bucket=one.name, Key="sp ace/b+c.txt")["Body"].read() == b.data
    # A signed request still gets S3's own answers.
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=one.name, Key="missing")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"

    # The second client may read only its bucket.
    reader = client(p.port, READER_ID, READER_SECRET)
    t = two["t.bin"]
    assert sha256(reader.get_object(Bucket=two.name, Key="t.bin")["Body"].read()) == t.sha256
    gets_before = origin_gets(one, "dir/a.bin")
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket=one.name, Key="dir/a.bin")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert origin_gets(one, "dir/a.bin") == gets_before
    log = p.log_text()
    assert CLIENT_SECRET not in log and READER_SECRET not in log


def test_wrong_secret_unknown_key_and_wrong_region(proxy_factory, tmp_path, buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    with pytest.raises(ClientError) as e:
        client(p.port, CLIENT_ID, "not-the-secret").get_object(Bucket=one.name, Key="dir/a.bin")
    err = e.value.response
    assert err["Error"]["Code"] == "SignatureDoesNotMatch"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403

    with pytest.raises(ClientError) as e:
        client(p.port, "NOSUCHKEYID", "x").get_object(Bucket=one.name, Key="dir/a.bin")
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    # The raw answers, as S3 words them: the string to sign for a mismatch, the expected region.
    url = f"http://127.0.0.1:{p.port}/{one.name}/dir/a.bin"
    good = p.get(f"/{one.name}/dir/a.bin", signed_headers("GET", url))
    assert good.status == 200 and sha256(good.body) == one["dir/a.bin"].sha256
    gets = origin_gets(one, "dir/a.bin")
    r = p.get(f"/{one.name}/dir/a.bin", signed_headers("GET", url, secret="wrong"))
    assert r.status == 403 and error_code(r.body) == "SignatureDoesNotMatch"
    assert b"<StringToSign>AWS4-HMAC-SHA256\n" in r.body
    assert f"<AWSAccessKeyId>{CLIENT_ID}</AWSAccessKeyId>".encode() in r.body
    assert b"wrong" not in r.body
    r = p.get(f"/{one.name}/dir/a.bin", signed_headers("GET", url, region="eu-west-1"))
    assert r.status == 400 and error_code(r.body) == "AuthorizationHeaderMalformed"
    assert b"<Region>us-east-1</Region>" in r.body
    # A request signed 20 minutes ago.
    import datetime
    old = (datetime.datetime.utcnow() - datetime.timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    r = p.get(f"/{one.name}/dir/a.bin", signed_headers("GET", url, when=old))
    assert r.status == 403 and error_code(r.body) == "RequestTimeTooSkewed"
    assert b"<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" in r.body
    # An x-amz-* header added after signing.
    h = signed_headers("GET", url)
    h["x-amz-request-payer"] = "requester"
    r = p.get(f"/{one.name}/dir/a.bin", h)
    assert r.status == 403 and error_code(r.body) == "AccessDenied"
    assert b"<HeadersNotSigned>x-amz-request-payer</HeadersNotSigned>" in r.body
    # The same request signed for another Host does not match.
    h = signed_headers("GET", url)
    h["Host"] = "other.example:80"
    r = p.get(f"/{one.name}/dir/a.bin", h)
    assert r.status == 403 and error_code(r.body) == "SignatureDoesNotMatch"
    assert origin_gets(one, "dir/a.bin") == gets
    assert "not-the-secret" not in p.log_text()


def curl_get(url, *args):
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args, url],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body


def test_presigned_urls_work_with_curl_and_expire(proxy_factory, tmp_path, buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    s3 = client(p.port)
    a = one["dir/a.bin"]
    url = s3.generate_presigned_url("get_object", Params={"Bucket": one.name, "Key": "dir/a.bin"},
                                    ExpiresIn=600)
    assert "X-Amz-Signature=" in url
    code, body = curl_get(url)
    assert code == 200 and sha256(body) == a.sha256
    code, body = curl_get(url, "-H", "Range: bytes=0-99")  # Range is not signed: allowed
    assert code == 206 and body == a.data[:100]
    # With response overrides, which are signed query parameters.
    url2 = s3.generate_presigned_url(
        "get_object", ExpiresIn=600,
        Params={"Bucket": one.name, "Key": "sp ace/b+c.txt", "ResponseContentType": "text/x-y"})
    r = urllib.request.urlopen(url2, timeout=30)
    assert r.status == 200 and r.headers["Content-Type"] == "text/x-y"
    assert r.read() == one["sp ace/b+c.txt"].data

    tampered = url.replace("dir/a.bin", "dir/a.biN")
    code, body = curl_get(tampered)
    assert code == 403 and error_code(body) == "SignatureDoesNotMatch"
    other = url.replace(f"/{one.name}/", f"/{two.name}/")
    code, body = curl_get(other)
    assert code == 403 and error_code(body) == "SignatureDoesNotMatch"

    short = s3.generate_presigned_url("get_object",
                                      Params={"Bucket": one.name, "Key": "dir/a.bin"}, ExpiresIn=1)
    time.sleep(2.2)
    code, body = curl_get(short)
    assert code == 403 and error_code(body) == "AccessDenied"
    assert b"<Message>Request has expired</Message>" in body
    week = url.replace("X-Amz-Expires=600", "X-Amz-Expires=604801")
    code, body = curl_get(week)
    assert code == 400 and error_code(body) == "AuthorizationQueryParametersError"


def test_the_aws_cli_works_through_the_proxy(proxy_factory, tmp_path, buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=CLIENT_ID, AWS_SECRET_ACCESS_KEY=CLIENT_SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(
                   tmp_path / "none"))
    out = tmp_path / "a.bin"
    endpoint = f"http://127.0.0.1:{p.port}"
    r = subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "cp",
                        f"s3://{one.name}/dir/a.bin", str(out)],
                       capture_output=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert sha256(out.read_bytes()) == one["dir/a.bin"].sha256
    r = subprocess.run(["aws", "--endpoint-url", endpoint, "s3api", "head-object", "--bucket",
                        two.name, "--key", "t.bin"], capture_output=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert b'"ContentLength": 7000' in r.stdout
    env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret"
    r = subprocess.run(["aws", "--endpoint-url", endpoint, "s3api", "head-object", "--bucket",
                        two.name, "--key", "t.bin"], capture_output=True, timeout=120, env=env)
    assert r.returncode != 0 and b"403" in r.stderr


def test_http2_streams_are_verified_like_http1(proxy_factory, tmp_path, buckets, origin):
    one, two = buckets
    p = guarded_proxy(proxy_factory, tmp_path, one, two)
    path = f"/{one.name}/dir/a.bin"
    a = one["dir/a.bin"]
    # H2Client's :authority is "localhost": that is the host the signature covers.
    headers = signed_headers("GET", f"http://localhost{path}")
    headers.pop("host", None)
    headers.pop("Host", None)
    wrong = signed_headers("GET", f"http://localhost{path}", secret="wrong")
    wrong.pop("host", None)
    wrong.pop("Host", None)
    with H2Client(p.port) as c:
        ok = c.request("GET", path, list(headers.items()))
        unsigned = c.request("GET", path)
        bad = c.request("GET", path, list(wrong.items()))
        streams = c.wait_streams([ok, unsigned, bad], timeout=60)
    assert streams[0].status == 200 and sha256(streams[0].body) == a.sha256
    assert streams[1].status == 403 and error_code(bytes(streams[1].body)) == "AccessDenied"
    assert streams[2].status == 403
    assert error_code(bytes(streams[2].body)) == "SignatureDoesNotMatch"

    # curl signs by itself (--aws-sigv4) over HTTP/2 with prior knowledge.
    code, body = curl_get(f"http://127.0.0.1:{p.port}/{two.name}/t.bin", "--http2-prior-knowledge",
                          "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                          f"{CLIENT_ID}:{CLIENT_SECRET}", "-H",
                          "x-amz-content-sha256: UNSIGNED-PAYLOAD")
    assert code == 200 and sha256(body) == two["t.bin"].sha256


# --- --allow-clients ----------------------------------------------------------------------------


def request_from(source_ip, port, path, family=socket.AF_INET, dest="127.0.0.1"):
    """GET `path` from `source_ip`: the status, or None when the proxy closed without answering."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((source_ip, 0))
        s.connect((dest, port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data:
        return None
    return int(data.split(b" ", 2)[1])


def metric(admin_port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


def test_allow_clients_refuses_other_addresses_at_accept(proxy_factory, bucket, origin):
    admin = free_port()
    p = proxy_factory(bucket, extra_args=["--allow-clients", "127.0.0.1/32",
                                          "--admin-port", str(admin)])
    small = bucket["small.bin"]
    assert request_from("127.0.0.1", p.port, small.path) == 200
    for _ in range(5):
        assert request_from("127.0.0.2", p.port, small.path) is None
    assert metric(admin, "xs3_clients_refused_total") == 5
    assert request_from("127.0.0.1", p.port, small.path) == 200
    # Logged, but at most once a second (5 refusals in well under a second: 1 or 2 lines).
    lines = [ln for ln in p.log_text().splitlines()
             if "connection refused: address not in --allow-clients" in ln]
    assert 1 <= len(lines) <= 2 and "peer=127.0.0.2" in lines[0]
    assert "listening beyond loopback" not in p.log_text()


def test_allow_clients_on_a_dual_stack_listener(proxy_factory, bucket, origin):
    small = bucket["small.bin"]
    # IPv4 clients reach "::" as v4-mapped addresses; an IPv4 block matches them.
    p = proxy_factory(bucket, extra_args=["--bind-ip", "::", "--allow-clients", "127.0.0.0/8"])
    assert request_from("127.0.0.1", p.port, small.path) == 200
    assert request_from("::1", p.port, small.path, socket.AF_INET6, "::1") is None
    q = proxy_factory(bucket, extra_args=["--bind-ip", "::", "--allow-clients",
                                          "::1, 127.0.0.1"])
    assert request_from("::1", q.port, small.path, socket.AF_INET6, "::1") == 200
    assert request_from("127.0.0.2", q.port, small.path) is None


def test_a_proxy_open_to_the_network_warns_at_start(proxy_factory, bucket, origin):
    warning = "listening beyond loopback with no client access control"
    open_proxy = proxy_factory(bucket, extra_args=["--bind-ip", "0.0.0.0"])
    assert warning in open_proxy.log_text()
    assert open_proxy.get(bucket["small.bin"].path).status == 200
    guarded = proxy_factory(bucket, extra_args=["--bind-ip", "0.0.0.0", "--allow-clients",
                                                "127.0.0.0/8,10.0.0.0/8"])
    assert warning not in guarded.log_text()
    assert "msg=\"client access control\"" in guarded.log_text()
    local = proxy_factory(bucket)  # 127.0.0.1
    assert warning not in local.log_text()


# --- the admin bearer token ---------------------------------------------------------------------


def admin_call(port, method, path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.mark.parametrize("source", ["file", "token-file"])
def test_admin_mutations_need_the_bearer_token(proxy_factory, bucket, origin, tmp_path, source):
    token = "adm1n-" + os.urandom(12).hex()
    admin = free_port()
    args = ["--admin-port", str(admin)]
    if source == "file":
        cfg = tmp_path / "admin.toml"
        cfg.write_text(f'admin_token = "{token}"\n')
        cfg.chmod(0o600)
        args += ["--config", str(cfg)]
    else:
        tf = tmp_path / "admin.token"
        tf.write_text(token + "\n")
        args += ["--admin-token-file", str(tf)]
    p = proxy_factory(bucket, extra_args=args)
    small = bucket["small.bin"]
    assert p.get(small.path).status == 200
    wait_until(lambda: b'"objects":1' in admin_call(admin, "GET", "/cache/usage")[1], 10,
               what="the object published")
    key = urllib.parse.quote(small.key)
    status, body, headers = admin_call(admin, "POST", f"/cache/purge?key={key}")
    assert status == 401 and headers.get("WWW-Authenticate") == 'Bearer realm="xs3lerator-admin"'
    status, _, _ = admin_call(admin, "POST", f"/cache/purge?key={key}", token + "x")
    assert status == 401
    status, _, _ = admin_call(admin, "POST", "/cache/warm?key=x", None)
    assert status == 401
    assert p.get(small.path).header("x-cache") == "HIT"  # nothing was purged
    status, body, _ = admin_call(admin, "POST", f"/cache/purge?key={key}", token)
    assert status == 200 and b'"purged_objects":1' in body
    assert p.get(small.path).header("x-cache") == "MISS"
    # Reads stay open for probes and scrapers.
    assert admin_call(admin, "GET", "/metrics")[0] == 200
    assert admin_call(admin, "GET", "/healthz")[0] == 200
    assert token not in p.log_text()


def test_a_bad_token_file_stops_start_up(proxy_factory, bucket, tmp_path):
    tf = tmp_path / "short.token"
    tf.write_text("short\n")
    p = proxy_factory(bucket, extra_args=["--admin-token-file", str(tf)], start=False)
    r = subprocess.run(p.command(), capture_output=True, timeout=30, env=p.environment())
    assert r.returncode == 2
    assert b"--admin-token-file" in r.stderr and b"at least 16 characters" in r.stderr
    missing = proxy_factory(bucket, extra_args=["--admin-token-file", str(tmp_path / "nope")],
                            start=False)
    r = subprocess.run(missing.command(), capture_output=True, timeout=30,
                       env=missing.environment())
    assert r.returncode == 2 and b"cannot open" in r.stderr


def test_virtual_hosted_requests_and_listings_are_verified(proxy_factory, tmp_path, buckets,
                                                           origin):
    one, two = buckets
    suffix = "guard.test"
    p = guarded_proxy(proxy_factory, tmp_path, one, two,
                      extra_args=["--virtual-host-suffix", suffix])
    import boto3

    def vclient(key, secret):
        cfg = Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1},
                     signature_version="s3v4")
        return boto3.client("s3", endpoint_url=f"http://{suffix}:{p.port}", region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)

    a = one["dir/a.bin"]
    with names_to_loopback(suffix):
        s3 = vclient(CLIENT_ID, CLIENT_SECRET)
        got = s3.get_object(Bucket=one.name, Key="dir/a.bin")
        assert sha256(got["Body"].read()) == a.sha256
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=one.name)["Contents"]]
        assert keys == ["dir/a.bin", "sp ace/b+c.txt"]
        url = s3.generate_presigned_url("get_object", ExpiresIn=600,
                                        Params={"Bucket": one.name, "Key": "dir/a.bin"})
        assert url.startswith(f"http://{one.name}.{suffix}:{p.port}/dir/a.bin?")
        # Every served bucket for the unrestricted key; only its own for the reader.
        names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert names == {one.name, two.name}
        reader = vclient(READER_ID, READER_SECRET)
        assert {b["Name"] for b in reader.list_buckets()["Buckets"]} == {two.name}
        with pytest.raises(ClientError) as e:
            reader.list_objects_v2(Bucket=one.name)
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError) as e:
            vclient(CLIENT_ID, "wrong").get_object(Bucket=one.name, Key="dir/a.bin")
        assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # curl fetches the virtual-hosted presigned URL with the Host it was signed for.
    code, body = curl_get(url, "--resolve", f"{one.name}.{suffix}:{p.port}:127.0.0.1")
    assert code == 200 and sha256(body) == a.sha256
    # The same signature presented path-style (another Host, another path) does not match.
    parts = urllib.parse.urlsplit(url)
    code, body = curl_get(f"http://127.0.0.1:{p.port}/{one.name}{parts.path}?{parts.query}")
    assert code == 403 and error_code(body) == "SignatureDoesNotMatch"
