"""Local stand-ins for the AWS credential services, for the credential-chain tests: an STS that
checks the web identity token, an ECS/EKS container credential endpoint that checks the
Authorization token, and an IMDSv2 that requires the PUT token. Each runs a threaded
http.server on 127.0.0.1, counts what it was asked, and hands out credentials that the
SigV4-validating S3 server accepts (access key S3RVER; the secret is S3RVER unless a test asks
for a wrong one). Session tokens are random per issue, so a test can tell issues apart and
check that none leaks into the proxy's log."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from e2e_util import S3_ACCESS_KEY, S3_SECRET_KEY


def iso8601(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Issued:
    secret: str
    token: str
    expires: float


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """Shared machinery: the server thread, the request log and the credential issuer."""
    lifetime_s: float = 3600.0
    secret: str = S3_SECRET_KEY
    seen: list[Seen] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "StandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path,
                            {k.lower(): v for k, v in self.headers.items()}, body)
                with standin.lock:
                    standin.seen.append(seen)
                status, ctype, payload = standin.handle(seen)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def issue(self) -> Issued:
        with self.lock:
            creds = Issued(self.secret, "tok-" + secrets.token_hex(12),
                           time.time() + self.lifetime_s)
            self.issued.append(creds)
        return creds

    def issue_count(self) -> int:
        with self.lock:
            return len(self.issued)

    def requests(self, method: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if method is None or s.method == method]

    def secrets_handed_out(self) -> list[str]:
        with self.lock:
            return [i.token for i in self.issued]

    def handle(self, req: Seen) -> tuple[int, str, bytes]:
        raise NotImplementedError


@dataclass
class StsStandIn(StandIn):
    role_arn: str = "arn:aws:iam::123456789012:role/xs3-cache"
    token: str = "jwt-" + secrets.token_hex(8)  # the web identity token it accepts

    def handle(self, req: Seen) -> tuple[int, str, bytes]:
        form = urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)
        one = {k: v[0] for k, v in form.items()}
        if req.method != "POST" or one.get("Action") != "AssumeRoleWithWebIdentity" \
                or one.get("Version") != "2011-06-15":
            return 400, "text/xml", self.error("InvalidAction", "unexpected request")
        if one.get("RoleArn") != self.role_arn:
            return 403, "text/xml", self.error("AccessDenied", "not authorized for this role")
        if one.get("WebIdentityToken") != self.token:
            return 400, "text/xml", self.error("InvalidIdentityToken",
                                               "the web identity token is not valid")
        c = self.issue()
        xml = ("<AssumeRoleWithWebIdentityResponse "
               "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
               "<AssumeRoleWithWebIdentityResult>"
               "<SubjectFromWebIdentityToken>system:serviceaccount:xs3:cache"
               "</SubjectFromWebIdentityToken>"
               f"<Credentials><SessionToken>{c.token}</SessionToken>"
               f"<SecretAccessKey>{c.secret}</SecretAccessKey>"
               f"<Expiration>{iso8601(c.expires)}</Expiration>"
               f"<AccessKeyId>{S3_ACCESS_KEY}</AccessKeyId></Credentials>"
               "</AssumeRoleWithWebIdentityResult>"
               "<ResponseMetadata><RequestId>e2e</RequestId></ResponseMetadata>"
               "</AssumeRoleWithWebIdentityResponse>")
        return 200, "text/xml", xml.encode()

    @staticmethod
    def error(code: str, message: str) -> bytes:
        return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>e2e</RequestId>"
                "</ErrorResponse>").encode()

    def form_values(self, name: str) -> list[str]:
        out = []
        for r in self.requests("POST"):
            form = urllib.parse.parse_qs(r.body.decode(), keep_blank_values=True)
            out += form.get(name, [])
        return out


def credential_json(c: Issued, imds: bool = False) -> bytes:
    doc = {"AccessKeyId": S3_ACCESS_KEY, "SecretAccessKey": c.secret, "Token": c.token,
           "Expiration": iso8601(c.expires)}
    if imds:
        doc = {"Code": "Success", "LastUpdated": iso8601(time.time()), "Type": "AWS-HMAC", **doc}
    else:
        doc["RoleArn"] = "arn:aws:iam::123456789012:role/xs3-cache"
    return json.dumps(doc, indent=2).encode()


@dataclass
class ContainerStandIn(StandIn):
    path: str = "/v1/credentials"
    authorization: str = "pod-identity-" + secrets.token_hex(8)

    def handle(self, req: Seen) -> tuple[int, str, bytes]:
        if req.method != "GET" or req.path != self.path:
            return 404, "application/json", b'{"code":"NotFound","message":"no such path"}'
        if req.headers.get("authorization") != self.authorization:
            return 401, "application/json", \
                b'{"code":"InvalidToken","message":"the authorization token was rejected"}'
        return 200, "application/json", credential_json(self.issue())


@dataclass
class ImdsStandIn(StandIn):
    role: str = "xs3-node-role"
    region: str = "eu-west-1"
    tokens: set[str] = field(default_factory=set)

    def handle(self, req: Seen) -> tuple[int, str, bytes]:
        if req.method == "PUT" and req.path == "/latest/api/token":
            ttl = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return 400, "text/plain", b""
            token = "imds-" + secrets.token_hex(16)
            with self.lock:
                self.tokens.add(token)
            return 200, "text/plain", token.encode()
        if req.method != "GET":
            return 405, "text/plain", b""
        with self.lock:
            known = req.headers.get("x-aws-ec2-metadata-token") in self.tokens
        if not known:
            return 401, "text/plain", b""  # IMDSv1 (no token) is refused
        base = "/latest/meta-data/iam/security-credentials/"
        if req.path == base:
            return 200, "text/plain", self.role.encode()
        if req.path == base + self.role:
            return 200, "text/plain", credential_json(self.issue(), imds=True)
        if req.path == "/latest/meta-data/placement/region":
            return 200, "text/plain", self.region.encode()
        return 404, "text/plain", b""
