"""Helpers for xs3lerator's end-to-end tests: a raw HTTP/1.1 client, the local S3 origin
(s3rver launcher) and the proxy process. Everything here has a timeout so no test can hang."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
S3RVER_DIR = HERE / "s3rver"
S3RVER_LAUNCHER = S3RVER_DIR / "launch.js"
S3_ACCESS_KEY = "S3RVER"
S3_SECRET_KEY = "S3RVER"
REGION = "us-east-1"
SERVER_HEADER = "xs3lerator/0.1.0"

# Keys of the standard objects of the `bucket` fixture every test module gets.
SMALL = "small.bin"
TEXT = "text/hello.txt"
MEDIUM = "medium.bin"
EMPTY = "empty.bin"
ODD_KEY = "dir/with space/\u00fcn\u00efcode+plus=eq&amp.txt"
HEALTHZ_KEY = "healthz"
SDK_KEY = "sdk/object.bin"


# A report of any of these in a proxy's log fails the test that ran it.
SANITIZER_PATTERNS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")

# Cache file layout: <dir>/<h0>/<h1>/<h2>/<h3>/<56 hex>[.n], one hex digit per level.
CACHE_FILE_RE = re.compile(r"^([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f]{56})(\.n)?$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def names_to_loopback(suffix):
    """<anything>.<suffix> resolves to 127.0.0.1 inside this process (virtual-hosted URLs)."""
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if isinstance(host, str) and (host == suffix or host.endswith("." + suffix)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = fake
    try:
        yield
    finally:
        socket.getaddrinfo = real


def url_path(key: str) -> str:
    """The client URL of an object key: '/' + the percent-encoded key."""
    return "/" + urllib.parse.quote(key, safe="/")


# --- raw HTTP/1.1 ---------------------------------------------------------------------------


class ConnectionClosed(Exception):
    pass


@dataclass
class Response:
    status: int
    reason: str
    version: str
    header_list: list[tuple[str, str]]
    body: bytes
    raw_head: bytes = b""

    @property
    def headers(self) -> dict[str, str]:
        """Header names lowercased; for repeated names, the last value."""
        return {k.lower(): v for k, v in self.header_list}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]


class HttpConnection:
    """A plain socket speaking HTTP/1.1, so tests see exactly what the proxy sends."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "HttpConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, path: str, headers: dict | list | None = None,
                body: bytes = b"", host: str = "localhost") -> Response:
        self.send(build_request(method, path, headers, body, host))
        return self.read_response(method)

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_exact(self, n: int) -> bytes:
        parts = []
        have = 0
        if self.buf:
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            parts.append(take)
            have = len(take)
        while have < n:
            try:
                chunk = self.sock.recv(min(1 << 20, n - have))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                raise ConnectionClosed(f"connection closed after {have} of {n} body bytes")
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionClosed("connection closed inside a line")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, method: str = "GET") -> Response:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionClosed(f"connection closed before a full response head "
                                       f"({len(self.buf)} bytes: {self.buf[:200]!r})")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise AssertionError(f"bad status line {lines[0]!r}")
        header_list = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or name != name.strip():
                raise AssertionError(f"bad header line {line!r}")
            header_list.append((name, value.strip()))
        resp = Response(status=int(m.group(2)), reason=m.group(3) or "", version=m.group(1),
                        header_list=header_list, body=b"", raw_head=head)
        h = resp.headers
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        if "chunked" in h.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(self._read_line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self._read_line() != b"":
                        pass
                    break
                parts.append(self._read_exact(size))
                if self._read_exact(2) != b"\r\n":
                    raise AssertionError("bad chunk terminator")
            resp.body = b"".join(parts)
        elif "content-length" in h:
            resp.body = self._read_exact(int(h["content-length"]))
        else:
            while self._fill():
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def closed_by_peer(self, wait: float = 3.0) -> bool:
        """True when the peer closes the connection (EOF or reset) within `wait` seconds and
        sends nothing more."""
        if self.buf:
            return False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                continue
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
            return False
        return False


def build_request(method: str, path: str, headers: dict | list | None = None, body: bytes = b"",
                  host: str = "localhost") -> bytes:
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in items}
    if "host" not in names:
        items.insert(0, ("Host", host))
    if body and "content-length" not in names:
        items.append(("Content-Length", str(len(body))))
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in items]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_request(port: int, method: str, path: str, headers: dict | list | None = None,
                 body: bytes = b"", timeout: float = 30.0) -> Response:
    with HttpConnection(port, timeout=timeout) as conn:
        return conn.request(method, path, headers, body)


# --- the S3 origin --------------------------------------------------------------------------


@dataclass
class StoredObject:
    key: str
    data: bytes
    sha256: str
    etag: str
    last_modified: str
    content_type: str
    metadata: dict[str, str]  # x-amz-meta-* as S3 returns them (lowercased names, no prefix)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def path(self) -> str:
        return url_path(self.key)


def node_modules_missing() -> str | None:
    if not (S3RVER_DIR / "node_modules" / "@20minutes" / "s3rver").is_dir():
        return (f"the local S3 server is not installed ({S3RVER_DIR}/node_modules is missing): "
                f"run ./scripts/setup-debian.sh (or `npm ci` in {S3RVER_DIR})")
    return None


class S3Origin:
    """The s3rver launcher process plus a boto3 client and the harness endpoints."""

    def __init__(self, workdir: Path, throttle: int = 0):
        self.workdir = workdir
        self.log_path = workdir / "s3rver.log"
        env = dict(os.environ)
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        self._log = open(self.log_path, "wb")
        cmd = ["node", str(S3RVER_LAUNCHER), "--directory", str(workdir / "data"), "--port", "0"]
        if throttle:
            cmd += ["--throttle-bytes-per-sec", str(throttle)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, env=env,
                                     stdin=subprocess.DEVNULL)
        self.port = self._read_port(deadline=time.monotonic() + 30)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.client = self.make_client()

    def _read_port(self, deadline: float) -> int:
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"s3rver did not start: {self.log_path.read_text()[-2000:]}")
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if r:
                chunk = os.read(fd, 64)
                if not chunk:
                    continue
                line += chunk
        return int(line.strip())

    def make_client(self, secret: str = S3_SECRET_KEY, endpoint: str | None = None):
        import boto3
        from botocore.config import Config

        cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                     connect_timeout=10, read_timeout=60, signature_version="s3v4")
        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, region_name=REGION,
                            aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=secret,
                            config=cfg)

    def _harness(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def stats(self) -> dict:
        return self._harness("GET", "/__stats")

    def key_stats(self, bucket: str, key: str) -> dict:
        empty = {"GET": 0, "GET_full": 0, "GET_range": 0, "HEAD": 0, "other": 0, "ranges": [],
                 "bytes_sent": 0}
        return self.stats()["keys"].get(f"{bucket}/{key}", empty)

    def reset_stats(self) -> None:
        self._harness("POST", "/__stats/reset", {})

    def control(self, **settings) -> dict:
        return self._harness("POST", "/__control", settings)

    def reset_control(self) -> None:
        self.control(throttle_bytes_per_sec=0, throttle_keys=None, delay_ms={}, unpatched=[])

    def create_bucket(self, name: str) -> None:
        self.client.create_bucket(Bucket=name)

    def put(self, bucket: str, key: str, data: bytes, content_type: str | None = None,
            metadata: dict[str, str] | None = None) -> StoredObject:
        args = {"Bucket": bucket, "Key": key, "Body": data, "Metadata": metadata or {}}
        if content_type:
            args["ContentType"] = content_type
        self.client.put_object(**args)
        head = self.client.head_object(Bucket=bucket, Key=key)
        h = head["ResponseMetadata"]["HTTPHeaders"]
        return StoredObject(
            key=key, data=data, sha256=sha256(data), etag=h["etag"],
            last_modified=h["last-modified"], content_type=h.get("content-type", ""),
            metadata={k[len("x-amz-meta-"):]: v for k, v in h.items()
                      if k.startswith("x-amz-meta-")})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


# --- the S3 emulator (bench/s3emu): pattern bytes, latency, bandwidth, faults, counters ---------


def s3emu_binary() -> Path:
    return Path(os.environ.get("S3EMU", str(REPO_ROOT / "build" / "bench" / "s3emu")))


def s3emu_verify_binary() -> Path:
    return Path(os.environ.get("S3EMU_VERIFY", str(REPO_ROOT / "build" / "bench" / "s3emu-verify")))


class Emulator:
    """An s3emu process on a free port serving bucket `bench`. Objects are specs like
    "name=big.bin,size=64MiB,seed=7"; faults like "503:object=big.bin,request=2". Bodies are the
    emulator's deterministic pattern, so any received range can be checked (verify)."""

    BUCKET = "bench"

    def __init__(self, workdir: Path, objects: list[str], faults: list[str] = (),
                 args: list[str] = ()):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        port_file = workdir / "emu.port"
        self.log_path = workdir / "emu.log"
        cmd = [str(s3emu_binary()), "--port", "0", "--port-file", str(port_file),
               "--log-level", "warn", "--sha224-sync"]
        for o in objects:
            cmd += ["--object", o]
        for f in faults:
            cmd += ["--fault", f]
        cmd += list(args)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"s3emu did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.endpoint + "/__stats", timeout=10) as r:
            return json.load(r)

    def object_stats(self, name: str) -> dict:
        return self.stats()["objects"][name]

    def reset_stats(self) -> None:
        req = urllib.request.Request(self.endpoint + "/__stats/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def verify(self, name: str, seed: int, data: bytes, offset: int = 0, generation: int = 0,
               size: int | None = None) -> None:
        """Asserts `data` is the object's bytes from `offset` (and, with size, all of them)."""
        cmd = [str(s3emu_verify_binary()), "--name", name, "--seed", str(seed), "--offset",
               str(offset), "--generation", str(generation)]
        if size is not None:
            cmd += ["--size", str(size)]
        r = subprocess.run(cmd + ["-"], input=data, capture_output=True, timeout=120)
        assert r.returncode == 0, (f"{name}@{offset}: {r.stdout.decode()} "
                                   f"{r.stderr.decode()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


# --- the proxy ------------------------------------------------------------------------------


def proxy_binary() -> Path:
    return Path(os.environ.get("XS3_BINARY", str(REPO_ROOT / "build" / "xs3lerator")))


_BUILD_INFO: dict[str, dict[str, str]] = {}


def proxy_build_info() -> dict[str, str]:
    """How the binary under test was built, from the second line of its `--version`
    ("build: buildtype=debugoptimized sanitize=address,undefined"). A binary older than that
    line says nothing: then its own symbols tell whether ASan is in it."""
    binary = proxy_binary()
    if str(binary) not in _BUILD_INFO:
        info: dict[str, str] = {}
        r = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                           timeout=60, env=clean_env())
        for line in r.stdout.splitlines():
            if line.startswith("build: "):
                info = dict(kv.split("=", 1) for kv in line[len("build: "):].split() if "=" in kv)
        if "sanitize" not in info:
            info["sanitize"] = "address" if b"__asan_init" in binary.read_bytes() else "none"
        _BUILD_INFO[str(binary)] = info
    return _BUILD_INFO[str(binary)]


def proxy_sanitizers() -> list[str]:
    """The sanitizers built into the binary under test ([] for a plain build)."""
    s = proxy_build_info().get("sanitize", "none")
    return [] if s in ("", "none") else s.split(",")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without AWS_* and XS3_* settings that could leak into a test.
    Instance metadata is off unless a test points AWS_EC2_METADATA_SERVICE_ENDPOINT at its own
    stand-in: no test may ask the host's real IMDS for anything."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("AWS_") or k.startswith("XS3_"))}
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra or {})
    return env


@dataclass
class Proxy:
    binary: Path
    bucket: str
    s3_endpoint: str
    cache_dir: Path
    log_path: Path
    secret: str = S3_SECRET_KEY
    extra_args: list[str] = field(default_factory=list)
    workers: int = 2
    force_path_style: bool = True
    # Credentials: static_keys puts S3RVER/<secret> into AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY;
    # env adds (or, with None, removes) variables; region None leaves --region out.
    static_keys: bool = True
    env: dict[str, str | None] = field(default_factory=dict)
    region: str | None = REGION
    port: int = 0
    # A port chosen before start (fleet members must know each other's); 0: a free one.
    fixed_port: int = 0
    proc: subprocess.Popen | None = None
    killed: bool = False
    exit_codes: list[int] = field(default_factory=list)

    def command(self) -> list[str]:
        return [str(self.binary), "--bind-ip", "127.0.0.1", "--port", str(self.port),
                "--bucket", self.bucket,
                *(["--s3-endpoint-url", self.s3_endpoint] if self.s3_endpoint else []),
                *(["--s3-force-path-style"] if self.force_path_style else []),
                *(["--region", self.region] if self.region else []),
                "--cache-dir", str(self.cache_dir),
                "--max-cache-size", "1GiB", "--workers", str(self.workers), *self.extra_args]

    def start(self, deadline_s: float = 20.0) -> "Proxy":
        if not self.binary.exists():
            raise FileNotFoundError(
                f"xs3lerator binary not found at {self.binary}: build it with `ninja -C build` "
                f"or point XS3_BINARY at it")
        for attempt in range(3):
            self.port = self.fixed_port or free_port()
            env = self.environment()
            with open(self.log_path, "ab") as log, open(self.stdout_path, "ab") as out:
                log.write(f"=== start: {' '.join(self.command())}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=log, env=env)
            self.killed = False
            if self._wait_healthy(time.monotonic() + deadline_s):
                return self
            rc = self.proc.poll()
            if rc is None:
                self.stop(sig=signal.SIGKILL)
                raise RuntimeError(f"xs3lerator did not answer GET /healthz within {deadline_s}s"
                                   f"\n{self.log_tail()}")
            self.exit_codes.append(rc)
            if "in use" not in self.log_tail().lower():
                raise RuntimeError(f"xs3lerator exited with {rc} during start-up\n"
                                   f"{self.log_tail()}")
        raise RuntimeError(f"xs3lerator could not bind a port\n{self.log_tail()}")

    def environment(self) -> dict[str, str]:
        env = clean_env({"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.secret}
                        if self.static_keys else None)
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def _wait_healthy(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if http_request(self.port, "GET", "/healthz", timeout=2).status == 200:
                    return True
            except (OSError, ConnectionClosed, AssertionError):
                pass
            time.sleep(0.05)
        return False

    @property
    def stdout_path(self) -> Path:
        return self.log_path.with_suffix(".stdout")

    def restart(self) -> "Proxy":
        self.stop()
        return self.start()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signals the proxy and waits; returns its exit status (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                self.killed = True
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(timeout=10)
                self.exit_codes.append(self.proc.returncode)
                raise AssertionError(f"xs3lerator did not exit within {timeout}s of signal {sig}"
                                     f"\n{self.log_tail()}")
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        self.proc = None
        return rc

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def all_output(self) -> str:
        try:
            out = self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            out = ""
        return self.log_text() + out

    def log_tail(self, n: int = 4000) -> str:
        text = self.log_text()
        return f"--- {self.log_path} (last {n} chars) ---\n{text[-n:]}"

    def request(self, method: str, path: str, headers: dict | list | None = None,
                timeout: float = 30.0) -> Response:
        return http_request(self.port, method, path, headers, timeout=timeout)

    def get(self, path: str, headers: dict | list | None = None, timeout: float = 60.0) -> Response:
        return self.request("GET", path, headers, timeout)

    def head(self, path: str, headers: dict | list | None = None) -> Response:
        return self.request("HEAD", path, headers)

    def cache_files(self) -> list[str]:
        """Published cache files, relative to the cache dir: every file below a top-level
        directory named by one hex digit (not .tmp, nor other bookkeeping the proxy may keep)."""
        out = []
        for top in sorted(self.cache_dir.iterdir()) if self.cache_dir.is_dir() else []:
            if not (top.is_dir() and re.fullmatch(r"[0-9a-f]", top.name)):
                continue
            for root, _, files in os.walk(top):
                for f in files:
                    out.append(os.path.relpath(os.path.join(root, f), self.cache_dir))
        return sorted(p.replace(os.sep, "/") for p in out)

    def temp_files(self) -> list[Path]:
        tmp = self.cache_dir / ".tmp"
        return sorted(tmp.glob("*.part")) if tmp.is_dir() else []


def sanitizer_report(text: str) -> str | None:
    for pattern in SANITIZER_PATTERNS:
        i = text.find(pattern)
        if i >= 0:
            return text[max(0, i - 500):i + 3000]
    return None


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def assert_object_headers(resp: Response, obj: StoredObject, cache: str | None = None,
                          content_length: int | None = None) -> None:
    """The headers every GET/HEAD of an object carries, compared with what S3 returned."""
    h = resp.headers
    expect_len = obj.size if content_length is None else content_length
    assert h.get("content-length") == str(expect_len), resp.raw_head
    assert h.get("etag") == obj.etag, resp.raw_head
    assert h.get("last-modified") == obj.last_modified, resp.raw_head
    assert h.get("content-type") == obj.content_type, resp.raw_head
    assert h.get("accept-ranges") == "bytes", resp.raw_head
    assert h.get("server") == SERVER_HEADER, resp.raw_head
    meta = {k[len("x-amz-meta-"):]: v for k, v in h.items() if k.startswith("x-amz-meta-")}
    assert meta == obj.metadata, resp.raw_head
    if cache is not None:
        assert h.get("x-cache") == cache, resp.raw_head


def assert_full_object(resp: Response, obj: StoredObject, cache: str | None = None) -> None:
    assert resp.status == 200, (resp.status, resp.raw_head, resp.body[:500])
    assert len(resp.body) == obj.size
    assert sha256(resp.body) == obj.sha256, "body bytes differ from the object's"
    assert_object_headers(resp, obj, cache)
