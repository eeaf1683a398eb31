"""Origin faults that once made the proxy serve wrong bytes, each as its user met it.

The first GET of a cold object (the probe) cut by a reset 16 KiB into its body, before
the owner had made the temp file. The failed attempt was judged twice — when the cut arrived and
again when the file appeared — so two retries ran at once and filled the same buffers: clients
got 200, the full Content-Length and wrong bytes (7 of 80 bodies in the report, 29 of 80 here),
and a forgotten transfer called back into a freed fetcher (a double free; under ASan a
heap-use-after-free in ChunkFetcher::refuse_or_retry)."""

from __future__ import annotations

from e2e_util import Emulator
from fault_harness import read_body
from test_miss_path import fetch

MiB = 1024 * 1024


def test_a_probe_reset_at_16k_on_40_objects_is_retried_once_and_serves_exact_bytes(
        emulator_factory, proxy_factory):
    n = 40
    emu = emulator_factory(
        [f"name=r{i}.bin,size=4MiB,seed={100 + i},sha224=no" for i in range(n)],
        faults=[f"reset:object=r{i}.bin,request=1,offset=16384" for i in range(n)])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, workers=2,
                      extra_args=["--chunk-size", "1MiB"])
    for i in range(n):
        for _ in range(2):
            r = fetch(p.port, f"/r{i}.bin")
            assert r.status == 200 and r.complete, (i, r.status, len(r.body))
            emu.verify(f"r{i}.bin", 100 + i, r.body, size=4 * MiB)
    stats = emu.stats()
    assert stats["faults"]["reset"] == n
    for i in range(n):
        # The cut probe, its one retry, and chunks 1-3; the second request is a hit (or joins
        # the finished download) and GETs nothing.
        assert stats["objects"][f"r{i}.bin"]["get"] == 5, (i, stats["objects"][f"r{i}.bin"])
    retries = [line for line in p.log_text().splitlines() if "chunk fetch failed; retrying" in line]
    assert len(retries) == n, "\n".join(retries)
    assert all("chunk=0 attempt=1" in line for line in retries)


def test_a_body_that_fails_at_its_first_look_still_sends_its_head(emulator_factory,
                                                                   proxy_factory):
    """Issue 12, "cut before head": the origin resets a passthrough GET right after its head
    (s3emu reset at offset 0 of the object's first GET: a part of a multipart object,
    ?partNumber=1, is relayed straight away, no fill and no probe before it). The head and the reset
    reach the proxy together, so the response body fails at its first look, while the response
    head is still queued. The connection used to close at once, the head unsent: the client saw
    a connection closed before any answer. Now what is queued goes out first: the client gets
    the head (200, the object's Content-Length) and then the close, a cut response. The next
    request (no fault) gets the whole object."""
    n = 12
    size = 8 * MiB
    emu = emulator_factory([f"name=p{i}.bin,size={size},seed={300 + i}" for i in range(n)],
                           faults=[f"reset:object=p{i}.bin,request=1,offset=0" for i in range(n)])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, workers=2,
                      extra_args=["--max-cache-size", "4MiB"])
    for i in range(n):
        b = read_body(p.port, f"/p{i}.bin?partNumber=1")
        assert not b.error, (i, b.error)
        assert b.status == 200 and b.want == size and b.length < size, (i, b.status, b.want,
                                                                         b.length)
        if b.length:
            emu.verify(f"p{i}.bin", 300 + i, b.data, offset=0)
        r = fetch(p.port, f"/p{i}.bin")
        assert r.status == 200 and r.complete, (i, r.status, len(r.body))
        emu.verify(f"p{i}.bin", 300 + i, r.body, size=size)
    assert emu.stats()["faults"]["reset"] == n
    cuts = [line for line in p.log_text().splitlines() if "response cut off" in line]
    assert len(cuts) == n, "\n".join(cuts)


def test_an_object_passed_through_costs_its_probe_and_relay_only(emulator_factory,
                                                                  proxy_factory):
    """An object larger than the cache is passed through. The decision is taken while the
    probe's head is being read; the probe's transfer used to be left running, its body drained as
    an error body, and the attempt retried ("no usable answer to the chunk GET"): a third GET
    the origin served for nothing, for most objects (9 of 12 in the report)."""
    n = 12
    size = 4 * MiB
    emu = emulator_factory([f"name=t{i}.bin,size={size},seed={500 + i}" for i in range(n)])
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, workers=2,
                      extra_args=["--max-cache-size", "2MiB"])
    for i in range(n):
        r = fetch(p.port, f"/t{i}.bin")
        assert r.status == 200 and r.complete, (i, r.status, len(r.body))
        assert r.headers.get("x-cache") == "PASS", (i, r.headers)
        emu.verify(f"t{i}.bin", 500 + i, r.body, size=size)
    gets = {i: emu.stats()["objects"][f"t{i}.bin"]["get"] for i in range(n)}
    assert all(g == 2 for g in gets.values()), gets  # the probe, then the relay
    retries = [line for line in p.log_text().splitlines() if "retrying" in line]
    assert not retries, "\n".join(retries)
