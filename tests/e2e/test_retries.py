"""Retries of the proxy's S3 requests against the emulator's faults: a failed revalidation HEAD
is retried and the client still gets a hit, and the retry budget bounds what a failing S3 sees."""

from __future__ import annotations

import urllib.request

from test_lifecycle import published, start
from test_miss_path import fetch


def test_a_failed_revalidation_head_is_retried(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=r.bin,size=20000,seed=60"],
                           faults=["503:object=r.bin,method=HEAD,request=1",
                                   "500:object=r.bin,method=HEAD,request=2"])
    p = start(proxy_factory, emu, ["--retry-base-delay", "10ms"])
    assert fetch(p.port, "/r.bin").headers["x-cache"] == "MISS"
    published(p, 1)
    r = fetch(p.port, "/r.bin")
    assert r.status == 200 and r.complete and r.headers["x-cache"] == "HIT"
    emu.verify("r.bin", 60, r.body, size=20000)
    heads = emu.stats()["requests"]["HEAD"]
    assert heads == {"503": 1, "500": 1, "304": 1}, heads
    assert "S3 request failed; retrying" in p.log_text()


def test_the_retry_budget_bounds_retries_against_a_failing_s3(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=down.bin,size=20000,seed=61"], faults=["503:object=down.bin"])
    # 20 tokens pay for 4 retries (5 each); without a budget 10 requests would make 50 attempts.
    p = start(proxy_factory, emu, ["--retry-budget", "20", "--max-attempts", "5",
                                   "--chunk-retries", "4", "--retry-base-delay", "5ms"])
    for _ in range(10):
        r = fetch(p.port, "/down.bin")
        assert r.status == 503 and b"<Code>SlowDown</Code>" in r.body
    answered = emu.stats()["requests"]["GET"]["503"]
    assert 10 <= answered <= 14, answered
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/metrics",
                                     timeout=5).read().decode()
    refused = [line for line in metrics.splitlines()
               if line.startswith("xs3_retries_refused_total ")]
    # The first request spent the budget; each later one was refused its first retry.
    assert refused and int(refused[0].split()[1]) == 9, refused
