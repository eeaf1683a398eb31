#!/usr/bin/python3
"""Differential test: xs3's S3 URL building and SigV4 signing against botocore's.

Usage: botocore_diff.py <path to s3_sign_tool>

Part A drives a real botocore S3 client (no network: a before-send hook captures the prepared
request) for awkward bucket/key/query combinations, then asks s3_sign_tool to build and sign the
same request from the same API inputs. URL path, host, query and Authorization must match exactly.
Part B signs requests botocore's client API cannot express (repeated query names, empty values,
bare flags) with botocore.auth.S3SigV4Auth directly.

Exits 77 (meson: skipped) when botocore is not importable.
"""
import datetime
import subprocess
import sys
from urllib.parse import unquote, urlsplit

try:
    import botocore.session
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError as e:
    print(f"SKIP: botocore is not importable by {sys.executable}: {e}")
    sys.exit(77)

from botocore_common import Captured, amz_epoch, capture, enc  # noqa: E402

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OWNED = {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}


def split_query(query):
    """Raw (decoded) name/value pairs of a URL query, keeping order, repeats and empty values."""
    pairs = []
    if query:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def header_value(headers, name):
    for k, v in headers.items():
        if k.lower() == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


def parse_auth(auth):
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    return fields["SignedHeaders"].split(";")


class Tool:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="ascii")

    def sign(self, *, endpoint_url, path_style, region, bucket, key, timestamp, token, method,
             payload_hash, query, headers):
        fields = [endpoint_url or "", path_style, region, bucket, key, str(timestamp), AKID,
                  SECRET, token or "", method, payload_hash, str(len(query))]
        for n, v in query:
            fields += [n, v]
        fields.append(str(len(headers)))
        for n, v in headers:
            fields += [n, v]
        self.proc.stdin.write(" ".join(enc(f) for f in fields) + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline().rstrip("\n").split(" ")
        if out[0] != "OK":
            raise RuntimeError("sign tool: " + " ".join(out))
        return out[1], bytes.fromhex(out[2]).decode(), bytes.fromhex(out[3]).decode("utf-8",
                                                                                    "replace")


def sorted_query(query):
    return sorted(query.split("&")) if query else []


# (label, client kwargs, operation, API params)
LONG_KEY = "deep/" + "segment-" * 100 + "end.bin"
CLIENT_CASES = [
    ("plain", {}, "get_object", {"Bucket": "my-bucket", "Key": "plain.txt"}),
    ("space", {}, "get_object", {"Bucket": "my-bucket", "Key": "my file name.txt"}),
    ("unicode", {}, "get_object", {"Bucket": "my-bucket", "Key": "caf\u00e9/\u65e5\u672c/\u1234.bin"}),
    ("plus", {}, "get_object", {"Bucket": "my-bucket", "Key": "a+b+c"}),
    ("percent", {}, "get_object", {"Bucket": "my-bucket", "Key": "100%/%2F/%20"}),
    ("double-slash", {}, "get_object", {"Bucket": "my-bucket", "Key": "a//b///c"}),
    ("leading-slash", {}, "get_object", {"Bucket": "my-bucket", "Key": "/lead"}),
    ("tilde", {}, "get_object", {"Bucket": "my-bucket", "Key": "~user/x~y"}),
    # Dots that are not whole segments ("." and ".." segments are refused: s3/confinement.hpp).
    ("dots", {}, "get_object", {"Bucket": "my-bucket", "Key": "a/.hidden/b../..c/..."}),
    ("specials", {}, "get_object", {"Bucket": "my-bucket", "Key": "!$&'()*,;=:@[]{}^`|\\\"<> #?"}),
    ("long", {}, "get_object", {"Bucket": "my-bucket", "Key": LONG_KEY}),
    ("version", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"}),
    ("response-overrides", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "ResponseContentType": "text/plain; charset=utf-8",
      "ResponseContentDisposition": "attachment; filename=\"a b.txt\"",
      "ResponseCacheControl": "no-cache"}),
    ("range", {}, "get_object", {"Bucket": "my-bucket", "Key": "k", "Range": "bytes=0-9"}),
    ("if-match", {}, "get_object",
     {"Bucket": "my-bucket", "Key": "k", "Range": "bytes=8388608-16777215",
      "IfMatch": "\"9b2cf535f27731c974343645a3985328\""}),
    ("head", {}, "head_object", {"Bucket": "my-bucket", "Key": "dir/file name.bin"}),
    ("head-part", {}, "head_object", {"Bucket": "my-bucket", "Key": "k", "PartNumber": 3}),
    ("dotted-bucket", {}, "get_object", {"Bucket": "my.dotted.bucket", "Key": "k e y"}),
    ("path-style", {"s3": {"addressing_style": "path"}}, "get_object",
     {"Bucket": "my-bucket", "Key": "x/y z"}),
    ("eu-region", {"region_name": "eu-west-1"}, "get_object", {"Bucket": "euro-bucket", "Key": "k"}),
    ("session-token", {"aws_session_token": "FwoGZXIvYXdzEJr//////////wEaDH+token/with=="},
     "get_object", {"Bucket": "my-bucket", "Key": "k"}),
    ("custom-endpoint", {"endpoint_url": "http://127.0.0.1:9000"}, "get_object",
     {"Bucket": "my-bucket", "Key": "a b/c+d"}),
    ("custom-endpoint-version", {"endpoint_url": "http://localhost:9000"}, "get_object",
     {"Bucket": "bucket", "Key": "k", "VersionId": "null"}),
    ("custom-https-endpoint", {"endpoint_url": "https://storage.example.com:8443",
                               "s3": {"addressing_style": "virtual"}},
     "head_object", {"Bucket": "my-bucket", "Key": "k"}),
]


def run_client_cases(tool):
    failures = 0
    session = botocore.session.get_session()
    for label, kwargs, op, params in CLIENT_CASES:
        kw = dict(kwargs)
        region = kw.pop("region_name", "us-east-1")
        token = kw.get("aws_session_token")
        # Regional us-east-1 endpoint, as newer botocore uses by default and xs3 always does.
        s3_options = {"us_east_1_regional_endpoint": "regional", **kw.pop("s3", {})}
        config = Config(s3=s3_options, retries={"max_attempts": 0})
        client = session.create_client("s3", region_name=region, aws_access_key_id=AKID,
                                       aws_secret_access_key=SECRET, config=config, **kw)
        client.meta.events.register("before-send.s3.*", capture)
        try:
            getattr(client, op)(**params)
            print(f"FAIL {label}: request was not captured")
            failures += 1
            continue
        except Captured as c:
            req = c.request
        auth = header_value(req.headers, "authorization")
        signed = parse_auth(auth)
        headers = [(h, header_value(req.headers, h)) for h in signed if h not in OWNED]
        parts = urlsplit(req.url)
        style = ""
        addressing = s3_options.get("addressing_style")
        if addressing == "path":
            style = "1"
        elif addressing == "virtual":
            style = "0"
        url, our_auth, our_creq = tool.sign(
            endpoint_url=kw.get("endpoint_url"), path_style=style, region=region,
            bucket=params["Bucket"], key=params["Key"],
            timestamp=amz_epoch(header_value(req.headers, "x-amz-date")), token=token,
            method=req.method, payload_hash=header_value(req.headers, "x-amz-content-sha256"),
            query=split_query(parts.query), headers=headers)
        ours = urlsplit(url)
        problems = []
        if (ours.scheme, ours.netloc, ours.path) != (parts.scheme, parts.netloc, parts.path):
            problems.append(f"url: ours {url} botocore {req.url}")
        if sorted_query(ours.query) != sorted_query(parts.query):
            problems.append(f"query: ours {ours.query!r} botocore {parts.query!r}")
        if our_auth != auth:
            problems.append(f"authorization:\n  ours     {our_auth}\n  botocore {auth}\n"
                            f"  our canonical request:\n{our_creq}")
        if problems:
            failures += 1
            print(f"FAIL {label}: " + "\n  ".join(problems))
        else:
            print(f"ok   {label}: {req.method} {req.url[:100]}")
    return failures


# (label, bucket, key, raw query pairs, extra headers)
RAW_CASES = [
    ("repeated-names", "my-bucket", "k", [("b", "2"), ("a", "z"), ("a", "y"), ("a", "")], []),
    ("empty-values", "my-bucket", "k", [("acl", ""), ("tagging", ""), ("x", "")], []),
    ("unicode-query", "my-bucket", "k", [("\u1234", "v\u00e9"), ("k e y", "v+a/l%u=e&")], []),
    ("list-v2", "my-bucket", "", [("list-type", "2"), ("prefix", "dir with space/"),
                                   ("delimiter", "/"), ("continuation-token", "1+abc/==")], []),
    ("headers-trim", "my-bucket", "k", [], [("X-Amz-Meta-A", "  two   spaces  "),
                                            ("Range", "bytes=0-0")]),
]


def run_raw_cases(tool):
    failures = 0
    creds = Credentials(AKID, SECRET)
    ts = datetime.datetime(2015, 8, 30, 12, 36, 0)
    for label, bucket, key, query, extra in RAW_CASES:
        url, our_auth, our_creq = tool.sign(
            endpoint_url="", path_style="", region="us-east-1", bucket=bucket, key=key,
            timestamp=amz_epoch(ts.strftime("%Y%m%dT%H%M%SZ")), token=None, method="GET",
            payload_hash="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            query=query, headers=extra)
        request = AWSRequest(method="GET", url=url, headers=dict(extra))
        auth = S3SigV4Auth(creds, "s3", "us-east-1")
        # add_auth() reads the clock; these steps are its body with our fixed timestamp.
        request.context["timestamp"] = ts.strftime("%Y%m%dT%H%M%SZ")
        auth._modify_request_before_signing(request)
        creq = auth.canonical_request(request)
        signature = auth.signature(auth.string_to_sign(request, creq), request)
        auth._inject_signature_to_request(request, signature)
        theirs = header_value(request.headers, "authorization")
        if our_auth != theirs:
            failures += 1
            print(f"FAIL {label}:\n  ours     {our_auth}\n  botocore {theirs}\n"
                  f"  our canonical request:\n{our_creq}\n  botocore canonical request:\n{creq}")
        else:
            print(f"ok   {label}: {url[:100]}")
    return failures


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tool = Tool(sys.argv[1])
    print(f"botocore {botocore.__version__}")
    failures = run_client_cases(tool) + run_raw_cases(tool)
    tool.proc.stdin.close()
    tool.proc.wait()
    total = len(CLIENT_CASES) + len(RAW_CASES)
    print(f"{total - failures}/{total} cases match botocore")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
