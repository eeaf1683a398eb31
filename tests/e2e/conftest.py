"""Fixtures for xs3lerator's end-to-end tests.

One local S3 origin (s3rver, SigV4-validating) per session; one bucket of random objects of known
sha256 per test module; proxies started per test with their own port, cache dir and log file.
A proxy whose log contains a sanitizer report, or that died of a crash signal, fails the test at
teardown. Every test runs under an alarm so nothing can hang the suite."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_util import (  # noqa: E402
    EMPTY,
    HEALTHZ_KEY,
    Emulator,
    MEDIUM,
    ODD_KEY,
    REGION,
    SDK_KEY,
    SMALL,
    TEXT,
    Proxy,
    S3Origin,
    StoredObject,
    node_modules_missing,
    proxy_binary,
    sanitizer_report,
)

DEFAULT_TEST_TIMEOUT_S = 90
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}


def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): per-test time limit (default 90 s)")
    problem = node_modules_missing()
    if problem is None and shutil.which("node") is None:
        problem = "node is not installed: run ./scripts/setup-debian.sh"
    if problem is None:
        try:
            import boto3  # noqa: F401
        except ImportError:
            problem = (f"boto3 is missing for {sys.executable}: run ./scripts/setup-debian.sh "
                       f"and use /usr/bin/python3")
    if problem:
        raise pytest.UsageError(problem)


# --- time limit -------------------------------------------------------------------------------


class TestDeadlineExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _deadline(request):
    marker = request.node.get_closest_marker("deadline")
    seconds = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_S

    def on_alarm(signum, frame):
        raise TestDeadlineExceeded(f"test exceeded its {seconds}s deadline")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- the S3 origin ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_origin(tmp_path_factory):
    origin = S3Origin(tmp_path_factory.mktemp("s3rver"))
    yield origin
    origin.stop()


@pytest.fixture
def origin(s3_origin):
    """The session's origin with counters zeroed and no throttling or delays."""
    s3_origin.reset_control()
    s3_origin.reset_stats()
    yield s3_origin
    s3_origin.reset_control()


class Bucket:
    def __init__(self, origin: S3Origin, name: str):
        self.origin = origin
        self.name = name
        self.objects: dict[str, StoredObject] = {}

    def put(self, key: str, data: bytes, content_type: str | None = None,
            metadata: dict[str, str] | None = None, with_sha224: bool = False) -> StoredObject:
        metadata = dict(metadata or {})
        if with_sha224:
            metadata["sha224"] = hashlib.sha224(data).hexdigest()
        obj = self.origin.put(self.name, key, data, content_type, metadata)
        self.objects[key] = obj
        return obj

    def __getitem__(self, key: str) -> StoredObject:
        return self.objects[key]

    def key_stats(self, key: str) -> dict:
        return self.origin.key_stats(self.name, key)


@pytest.fixture(scope="session")
def make_bucket(s3_origin):
    def make(label: str) -> Bucket:
        safe = "".join(c if c.isalnum() else "-" for c in label.lower())[:30].strip("-")
        name = f"e2e-{safe}-{secrets.token_hex(3)}"
        s3_origin.create_bucket(name)
        return Bucket(s3_origin, name)

    return make


@pytest.fixture(scope="module")
def bucket(make_bucket, request):
    """A bucket holding the standard objects, fresh for each test module."""
    b = make_bucket(request.module.__name__.rsplit(".", 1)[-1])
    b.put(SMALL, os.urandom(1000), "application/octet-stream",
          {"owner": "e2e-suite", "note": "Hello World"}, with_sha224=True)
    b.put(TEXT, b"hello, xs3lerator\n" * 200, "text/plain; charset=utf-8", {"lang": "en"})
    b.put(MEDIUM, os.urandom(3 * 1024 * 1024 + 123), None, {"kind": "medium"},
          with_sha224=True)
    b.put(EMPTY, b"", "application/x-empty")
    b.put(ODD_KEY, os.urandom(4096), "application/octet-stream")
    b.put(HEALTHZ_KEY, b"an object named healthz\n", "text/plain")
    b.put(SDK_KEY, os.urandom(200 * 1024 + 7), "application/octet-stream", {"via": "sdk"})
    return b


# --- proxies ----------------------------------------------------------------------------------


@pytest.fixture
def proxy_factory(request, tmp_path, s3_origin):
    """proxy_factory(bucket, secret=..., extra_args=[...], cache_dir=..., static_keys=...,
    env={...}, region=...) -> a started Proxy.
    Every proxy is stopped at teardown and its log checked for sanitizer reports."""
    started: list[Proxy] = []
    request.node._xs3_proxies = started

    def make(bucket: Bucket | str, secret: str | None = None, extra_args: list[str] | None = None,
             cache_dir: Path | None = None, start: bool = True, workers: int = 2,
             endpoint: str | None = None, static_keys: bool = True,
             env: dict[str, str | None] | None = None, region: str | None = REGION) -> Proxy:
        n = len(started)
        name = bucket.name if isinstance(bucket, Bucket) else bucket
        cache = cache_dir or (tmp_path / f"cache{n}")
        cache.mkdir(parents=True, exist_ok=True)
        p = Proxy(binary=proxy_binary(), bucket=name,
                  s3_endpoint=endpoint or s3_origin.endpoint,
                  cache_dir=cache, log_path=tmp_path / f"proxy{n}.log",
                  extra_args=list(extra_args or []), workers=workers,
                  static_keys=static_keys, env=dict(env or {}), region=region)
        if secret is not None:
            p.secret = secret
        started.append(p)
        if start:
            missing = None
            try:
                p.start()
            except FileNotFoundError as e:
                missing = str(e)
            if missing:
                pytest.fail(missing, pytrace=False)
        return p

    yield make

    problems = []
    for p in started:
        try:
            p.stop()
        except AssertionError as e:
            problems.append(str(e))
        report = sanitizer_report(p.all_output())
        if report:
            problems.append(f"sanitizer report in {p.log_path}:\n{report}")
        crashes = [rc for rc in p.exit_codes if rc < 0 and -rc in CRASH_SIGNALS]
        if crashes:
            problems.append(f"xs3lerator died of signal {-crashes[0]}\n{p.log_tail()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def proxy(proxy_factory, bucket, origin):
    """A proxy in front of this module's bucket, with an empty cache and zeroed origin counters."""
    p = proxy_factory(bucket)
    origin.reset_stats()
    return p


@pytest.fixture
def emulator_factory(tmp_path):
    """emulator_factory(objects, faults=[], args=[]) -> a started Emulator, stopped at teardown."""
    started: list[Emulator] = []

    def make(objects: list[str], faults: list[str] = (), args: list[str] = ()) -> Emulator:
        e = Emulator(tmp_path / f"emu{len(started)}", objects, faults, args)
        started.append(e)
        return e

    yield make
    for e in started:
        e.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for p in getattr(item, "_xs3_proxies", []):
            if p.log_text():
                report.sections.append((f"xs3lerator log {p.log_path.name}", p.log_tail(6000)))
