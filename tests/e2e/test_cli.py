"""Command line, start-up, logging and signals of the xs3lerator binary."""

import re
import signal
import subprocess

import pytest

from e2e_util import SMALL, assert_full_object, clean_env, free_port, proxy_binary


def run_binary(args, timeout=15):
    binary = proxy_binary()
    if not binary.exists():
        pytest.fail(f"xs3lerator binary not found at {binary}: build it with `ninja -C build` or "
                    f"set XS3_BINARY", pytrace=False)
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env=clean_env({"AWS_ACCESS_KEY_ID": "S3RVER",
                                             "AWS_SECRET_ACCESS_KEY": "S3RVER"}))
    except subprocess.TimeoutExpired:
        pytest.fail(f"xs3lerator {' '.join(args)} still running after {timeout}s")


def valid_args(tmp_path, **override):
    opts = {"--bind-ip": "127.0.0.1", "--port": str(free_port()), "--bucket": "b",
            "--s3-endpoint-url": "http://127.0.0.1:9", "--region": "us-east-1",
            "--cache-dir": str(tmp_path / "cache"), "--max-cache-size": "1GiB", "--workers": "1"}
    opts.update(override)
    args = []
    for k, v in opts.items():
        args += [k, v]
    return args + ["--s3-force-path-style"]


def test_help_lists_options():
    r = run_binary(["--help"])
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    for option in ["--bind-ip", "--port", "--bucket", "--s3-endpoint-url", "--s3-force-path-style",
                   "--region", "--cache-dir", "--max-cache-size", "--workers", "--config"]:
        assert option in out, f"--help does not mention {option}"


@pytest.mark.parametrize("option,value", [
    ("--port", "abc"),
    ("--port", "70000"),
    ("--max-cache-size", "lots"),
    ("--workers", "many"),
    ("--bind-ip", "not-an-ip"),
])
def test_bad_value_names_the_option(tmp_path, option, value):
    r = run_binary(valid_args(tmp_path, **{option: value}))
    assert r.returncode != 0
    assert option in r.stdout + r.stderr, r.stdout + r.stderr


def test_unknown_option_is_rejected(tmp_path):
    r = run_binary(valid_args(tmp_path) + ["--no-such-option", "1"])
    assert r.returncode != 0
    assert "--no-such-option" in r.stdout + r.stderr


def test_missing_bucket_is_rejected(tmp_path):
    args = valid_args(tmp_path)
    i = args.index("--bucket")
    del args[i:i + 2]
    r = run_binary(args)
    assert r.returncode != 0
    assert "--bucket" in r.stdout + r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_exits_zero_on_signal(proxy_factory, bucket, origin, sig):
    p = proxy_factory(bucket)
    assert_full_object(p.get("/" + SMALL), bucket[SMALL])
    assert p.stop(sig=sig) == 0, p.log_tail()


def test_logs_are_structured_on_stderr(proxy_factory, bucket, origin):
    p = proxy_factory(bucket)
    p.get("/" + SMALL)
    p.stop()
    lines = [line for line in p.log_text().splitlines() if not line.startswith("=== start")]
    assert lines, "the proxy logged nothing"
    assert any(re.search(r'\blevel=info\b.*\bmsg="[^"]+"', line) for line in lines), \
        "\n".join(lines[:20])
    assert not any(re.search(r"\blevel=(error|fatal)\b", line) for line in lines), \
        "\n".join(lines[:50])
