#!/usr/bin/python3
"""Differential test: what botocore signs, xs3's SigV4 verifier accepts — and what was altered
after signing, it refuses.

Usage: botocore_verify.py <path to s3_verify_tool>

For awkward keys, query parameters and headers, a real botocore S3 client (path-style,
virtual-hosted and custom-endpoint addressing) prepares a request (captured before sending) and
generates a presigned URL; the tool verifies each exactly as the proxy would receive it (the raw
path and query of the URL, the Host and every header). Then one thing at a time is changed (the
method, a path byte, a query value, a signed header, the signature, the clock past the skew or
the expiry) and the tool must refuse with S3's code.

Exits 77 (meson: skipped) when botocore is not importable.
"""
import subprocess
import sys
from urllib.parse import unquote, urlsplit

try:
    import botocore.session
    from botocore.config import Config
except ImportError as e:
    print(f"SKIP: botocore is not importable by {sys.executable}: {e}")
    sys.exit(77)

from botocore_common import Captured, amz_epoch, capture, enc  # noqa: E402

AKID = "AKIDCLIENTEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYCLIENTKEY"


class Tool:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="ascii")

    def verify(self, region, now, method, path, query, headers, secret=SECRET):
        fields = [AKID, secret, region, str(int(now)), method, path, query, str(len(headers))]
        for n, v in headers:
            fields += [n, v]
        self.proc.stdin.write(" ".join(enc(f) for f in fields) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n").split(" ")


LONG_KEY = "deep/" + "segment-" * 60 + "end.bin"
# (label, client kwargs, operation, API params)
CASES = [
    ("plain", {}, "get_object", {"Bucket": "my-bucket", "Key": "plain.txt"}),
    ("space", {}, "get_object", {"Bucket": "my-bucket", "Key": "my file name.txt"}),
    ("unicode", {}, "get_object", {"Bucket": "my-bucket", "Key": "caf\u00e9/\u65e5\u672c.bin"}),
    ("plus", {}, "get_object", {"Bucket": "my-bucket", "Key": "a+b+c"}),
    ("percent", {}, "get_object", {"Bucket": "my-bucket", "Key": "100%/%2F/%20"}),
    ("double-slash", {}, "get_object", {"Bucket": "my-bucket", "Key": "a//b///c"}),
    ("dots", {}, "get_object", {"Bucket": "my-bucket", "Key": "a/./b/../c/..."}),
    ("specials", {}, "get_object", {"Bucket": "my-bucket", "Key": "!$&'()*,;=:@[]{}^`|\\\"<> #?"}),
    ("tilde", {}, "get_object", {"Bucket": "my-bucket", "Key": "~user/x~y"}),
    ("long", {}, "get_object", {"Bucket": "my-bucket", "Key": LONG_KEY}),
    ("version", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRC"}),
    ("overrides", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "ResponseContentType": "text/plain; charset=utf-8",
      "ResponseContentDisposition": "attachment; filename=\"a b.txt\""}),
    ("range-if-match", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "Range": "bytes=8388608-16777215",
      "IfMatch": "\"9b2cf535f27731c974343645a3985328\""}),
    ("head", {}, "head_object", {"Bucket": "my-bucket", "Key": "dir/file name.bin"}),
    ("part", {}, "head_object", {"Bucket": "my-bucket", "Key": "k", "PartNumber": 3}),
    ("requester-pays", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "RequestPayer": "requester"}),
    ("path-style", {"s3": {"addressing_style": "path"}}, "get_object",
     {"Bucket": "my-bucket", "Key": "x/y z"}),
    ("virtual-hosted", {"s3": {"addressing_style": "virtual"}}, "get_object",
     {"Bucket": "my-bucket", "Key": "x/y z"}),
    ("eu-region", {"region_name": "eu-west-1"}, "get_object", {"Bucket": "euro-bucket", "Key": "k"}),
    ("proxy-endpoint", {"endpoint_url": "http://127.0.0.1:8080"}, "get_object",
     {"Bucket": "my-bucket", "Key": "a b/c+d"}),
    ("proxy-host-name", {"endpoint_url": "http://cache.internal:8080",
                         "s3": {"addressing_style": "virtual"}}, "head_object",
     {"Bucket": "my-bucket", "Key": "k"}),
]


def client_for(kwargs):
    kw = dict(kwargs)
    region = kw.pop("region_name", "us-east-1")
    s3 = {"us_east_1_regional_endpoint": "regional", **kw.pop("s3", {})}
    session = botocore.session.get_session()
    return region, session.create_client(
        "s3", region_name=region, aws_access_key_id=AKID, aws_secret_access_key=SECRET,
        config=Config(s3=s3, retries={"max_attempts": 0}, signature_version="s3v4"), **kw)


def wire(url, headers):
    """(path, query, headers) as the proxy receives them: Host from the URL when the HTTP
    library adds it at send time."""
    parts = urlsplit(url)
    hs = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()]
    if not any(k.lower() == "host" for k, _ in hs):
        hs.insert(0, ("Host", parts.netloc))
    return parts.path or "/", parts.query, hs


def query_param(url, name):
    for part in urlsplit(url).query.split("&"):
        if part.startswith(name + "="):
            return part[len(name) + 1:]
    raise KeyError(name)


class Runner:
    def __init__(self, tool):
        self.tool = tool
        self.failures = 0
        self.checks = 0

    def expect(self, label, want, got):
        self.checks += 1
        ok = got[0] == "OK" if want == "OK" else (got[0] == "REFUSED" and got[2] == want)
        if not ok:
            self.failures += 1
            msg = bytes.fromhex(got[3]).decode() if got[0] == "REFUSED" and len(got) > 3 else ""
            print(f"FAIL {label}: want {want}, got {' '.join(got[:3])} {msg}")
        return ok

    def run(self, label, region, now, method, path, query, headers, presigned):
        t = self.tool
        if not self.expect(f"{label}", "OK", t.verify(region, now, method, path, query, headers)):
            return
        other = "HEAD" if method == "GET" else "GET"
        self.expect(f"{label} method", "SignatureDoesNotMatch",
                    t.verify(region, now, other, path, query, headers))
        self.expect(f"{label} path", "SignatureDoesNotMatch",
                    t.verify(region, now, method, path + "x", query, headers))
        self.expect(f"{label} secret", "SignatureDoesNotMatch",
                    t.verify(region, now, method, path, query, headers, secret=SECRET + "x"))
        extra = query + ("&" if query else "") + "response-content-type=text%2Fhtml"
        self.expect(f"{label} query", "SignatureDoesNotMatch",
                    t.verify(region, now, method, path, extra, headers))
        host = [(k, v + "x" if k.lower() == "host" else v) for k, v in headers]
        self.expect(f"{label} host", "SignatureDoesNotMatch",
                    t.verify(region, now, method, path, query, host))
        self.expect(f"{label} region", "AuthorizationHeaderMalformed" if not presigned
                    else "AuthorizationQueryParametersError",
                    t.verify("ap-south-1" if region != "ap-south-1" else "us-west-2", now, method,
                             path, query, headers))
        if presigned:
            self.expect(f"{label} expired", "AccessDenied",
                        t.verify(region, now + 3601, method, path, query, headers))
            sig = query.split("X-Amz-Signature=")[1][:64]
            flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
            self.expect(f"{label} signature", "SignatureDoesNotMatch",
                        t.verify(region, now, method, path, query.replace(sig, flipped), headers))
        else:
            self.expect(f"{label} skew", "RequestTimeTooSkewed",
                        t.verify(region, now + 901, method, path, query, headers))
            unsigned = headers + [("x-amz-meta-added", "later")]
            self.expect(f"{label} unsigned header", "AccessDenied",
                        t.verify(region, now, method, path, query, unsigned))
            h2 = [(k, v.replace("Signature=", "Signature=0") if k.lower() == "authorization"
                   else v) for k, v in headers]
            self.expect(f"{label} signature", "SignatureDoesNotMatch",
                        t.verify(region, now, method, path, query, h2))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    runner = Runner(Tool(sys.argv[1]))
    print(f"botocore {botocore.__version__}")
    for label, kwargs, op, params in CASES:
        region, client = client_for(kwargs)
        client.meta.events.register("before-send.s3.*", capture)
        try:
            getattr(client, op)(**params)
            print(f"FAIL {label}: request was not captured")
            runner.failures += 1
            continue
        except Captured as c:
            req = c.request
        path, query, headers = wire(req.url, req.headers)
        when = amz_epoch(dict((k.lower(), v) for k, v in headers)["x-amz-date"])
        runner.run(f"{label} (header)", region, when + 30, req.method, path, query, headers,
                   False)
        # The same operation as a presigned URL, fetched with the headers it signed (Range,
        # If-Match, x-amz-request-payer are signed headers of the URL, not query parameters).
        url = client.generate_presigned_url(op, Params=params, ExpiresIn=3600)
        signed = unquote(query_param(url, "X-Amz-SignedHeaders")).split(";")
        sent = {k: v for k, v in headers if k.lower() in signed and k.lower() != "host"}
        path, query, headers = wire(url, sent)
        signed_at = amz_epoch(query.split("X-Amz-Date=")[1][:16])
        runner.run(f"{label} (presigned)", region, signed_at + 5, "HEAD" if op == "head_object"
                   else "GET", path, query, headers, True)
        print(f"ok   {label}")
    runner.tool.proc.stdin.close()
    runner.tool.proc.wait()
    print(f"{runner.checks - runner.failures}/{runner.checks} checks passed")
    return 1 if runner.failures else 0


if __name__ == "__main__":
    sys.exit(main())
