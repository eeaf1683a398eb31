"""The cache over time, against the S3 emulator: eviction by watermark and LRU, restart recovery
(leftover temp files and truncated objects cleaned, hits kept), revalidation (metadata TTL, ETag
changes, immutable, stale-if-error), downstream conditional requests, and the admin listener's
purge and warm-up. The emulator's counters say what reached S3."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from e2e_util import Emulator, free_port, wait_until
from test_miss_path import MiB, fetch


def admin(port: int, method: str, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def usage(port: int) -> dict:
    return admin(port, "GET", "/cache/usage")[1]


def start(proxy_factory, emu: Emulator, extra=(), **kw):
    admin_port = free_port()
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint,
                      extra_args=["--admin-port", str(admin_port), "--chunk-size", "1MiB",
                                  "--min-chunk-size", "1MiB", *extra], **kw)
    p.admin_port = admin_port
    wait_until(lambda: usage(admin_port)["scan"]["state"] == "done", 10, what="the scan")
    return p


def published(p, n: int) -> None:
    """Waits until the index holds n objects: a download is published into the index after its
    file is renamed into place, and only then do new requests revalidate it (until then they
    join the finished download)."""
    wait_until(lambda: usage(p.admin_port)["objects"] == n, 10, what=f"{n} objects published")


def got(p, name: str, headers=None):
    r = fetch(p.port, f"/{name}", headers)
    assert r.complete, r
    return r


# --- eviction ------------------------------------------------------------------------------


def test_eviction_keeps_usage_under_the_watermark_and_removes_the_lru(emulator_factory,
                                                                     proxy_factory):
    emu = emulator_factory(["name=o-{i}.bin,size=1MiB,seed=40,count=8"])
    # Watermark 7 MiB, target 5 MiB: eight 1 MiB objects pass the watermark without reaching
    # --max-cache-size, so the evictor (not a reservation) brings usage down to the target.
    p = start(proxy_factory, emu, ["--max-cache-size", "10MiB", "--gc-watermark-percent", "70",
                                   "--gc-target-percent", "50", "--gc-interval-seconds", "1"])
    for i in range(6):
        assert got(p, f"o-{i}.bin").headers["x-cache"] == "MISS"
        # One at a time: an object enters the LRU order when it is published.
        wait_until(lambda: usage(p.admin_port)["objects"] == i + 1, 10, what="publish")
    assert got(p, "o-0.bin").headers["x-cache"] == "HIT"  # o-0 is now the most recent
    for i in (6, 7):
        got(p, f"o-{i}.bin")

    def settled():
        u = usage(p.admin_port)
        on_disk = sum(os.stat(p.cache_dir / f).st_blocks * 512 for f in p.cache_files())
        done = (u["evicted_objects"] > 0 and u["reserved_bytes"] == 0 and
                u["objects"] + u["evicted_objects"] == 8)
        return u if done and on_disk == u["used_bytes"] else None

    u = wait_until(settled, 15, what="eviction, and the evicted files unlinked")
    assert u["used_bytes"] <= u["watermark_bytes"]
    # The pass evicts down to the target counting space reserved by downloads in flight: 4
    # objects if o-7 was still downloading when it ran, 3 if it was published (then usage ends a
    # hair over the target: the target held when the pass decided).
    assert u["evicted_objects"] in (3, 4)
    assert u["used_bytes"] <= u["target_bytes"] + MiB + 4096
    # LRU order was o-1..o-5, o-0, o-6, o-7: the oldest went, o-0 (touched) stayed.
    kept = {f"o-{i}.bin" for i in range(8) if name_key_file(p.cache_dir, f"o-{i}.bin").exists()}
    assert {"o-0.bin", "o-6.bin", "o-7.bin"} <= kept
    assert not kept & {"o-1.bin", "o-2.bin", "o-3.bin"}
    assert len(kept) == 8 - u["evicted_objects"]
    before = emu.object_stats("o-0.bin")["body_bytes"]
    r = got(p, "o-0.bin")
    assert r.headers["x-cache"] == "HIT"
    assert emu.object_stats("o-0.bin")["body_bytes"] == before
    gone = got(p, "o-1.bin")  # evicted: fetched again
    assert gone.headers["x-cache"] == "MISS"
    emu.verify("o-1.bin", 41, gone.body, size=MiB)


# --- restart ---------------------------------------------------------------------------------


def name_key_file(cache_dir: Path, key: str) -> Path:
    """Where a name-keyed object lives: SHA-224("xs3-name" NUL bucket NUL key), one directory
    level per hex digit (4 levels), ".n" suffix."""
    h = hashlib.sha224(b"xs3-name\0" + Emulator.BUCKET.encode() + b"\0" + key.encode()).hexdigest()
    return cache_dir / h[0] / h[1] / h[2] / h[3] / (h + ".n")


def test_restart_cleans_leftovers_and_keeps_hits(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=keep.bin,size=2MiB,seed=42", "name=cut.bin,size=2MiB,seed=43"])
    p = start(proxy_factory, emu)
    got(p, "keep.bin")
    got(p, "cut.bin")
    keep, cut = name_key_file(p.cache_dir, "keep.bin"), name_key_file(p.cache_dir, "cut.bin")
    wait_until(lambda: keep.exists() and cut.exists(), 10, what="both published")
    p.stop()
    # A crash's leftovers: a temp file, and a cache file cut short.
    tmp = p.cache_dir / ".tmp"
    tmp.mkdir(exist_ok=True)
    (tmp / "leftover.part").write_bytes(b"x" * 10000)
    with open(cut, "r+b") as f:
        f.truncate(os.path.getsize(cut) - 1000)
    p.start()
    u = wait_until(lambda: (lambda u: u if u["scan"]["state"] == "done" else None)(
        usage(p.admin_port)), 10, what="the scan")
    assert u["scan"]["removed_broken"] == 1
    assert u["objects"] == 1
    assert not list(p.cache_dir.glob(".tmp*/*.part")), "leftover temp files removed"
    assert not cut.exists(), "a truncated object is removed, never served"
    assert keep.exists()
    emu.reset_stats()
    r = got(p, "keep.bin")
    assert r.headers["x-cache"] == "HIT"
    emu.verify("keep.bin", 42, r.body, size=2 * MiB)
    assert emu.object_stats("keep.bin")["body_bytes"] == 0, "the restart kept the cached copy"
    assert emu.object_stats("keep.bin")["head"] == 1  # revalidated (metadata TTL 0)
    r = got(p, "cut.bin")
    assert r.headers["x-cache"] == "MISS"
    emu.verify("cut.bin", 43, r.body, size=2 * MiB)


# --- revalidation ------------------------------------------------------------------------------


def test_metadata_ttl_serves_without_asking_then_revalidates(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=t.bin,size=100000,seed=44"])
    p = start(proxy_factory, emu, ["--metadata-ttl", "3s"])
    assert got(p, "t.bin").headers["x-cache"] == "MISS"
    published(p, 1)
    s0 = emu.object_stats("t.bin")
    for _ in range(3):
        assert got(p, "t.bin").headers["x-cache"] == "HIT"
    s1 = emu.object_stats("t.bin")
    assert (s1["head"], s1["get"]) == (s0["head"], s0["get"]), "no upstream call within the TTL"
    time.sleep(3.2)
    r = got(p, "t.bin")
    assert r.headers["x-cache"] == "HIT"
    assert emu.object_stats("t.bin")["head"] == s0["head"] + 1  # one conditional HEAD
    emu.verify("t.bin", 44, r.body, size=100000)


def test_changed_etag_is_fetched_again_and_the_old_copy_is_gone(emulator_factory, proxy_factory):
    # The object is overwritten right before the first HEAD (the first revalidation).
    emu = emulator_factory(["name=v.bin,size=3MiB,seed=45"],
                           faults=["etag-change:object=v.bin,method=HEAD,request=1"])
    p = start(proxy_factory, emu)
    first = got(p, "v.bin")
    emu.verify("v.bin", 45, first.body, generation=0, size=3 * MiB)
    published(p, 1)
    second = got(p, "v.bin")
    assert second.headers["x-cache"] == "MISS"
    assert second.headers["etag"] != first.headers["etag"]
    emu.verify("v.bin", 45, second.body, generation=1, size=3 * MiB)
    # The change dropped the old copy at once (a name-keyed file); the new one is published next.
    published(p, 1)
    third = got(p, "v.bin")
    assert third.headers["x-cache"] == "HIT"
    assert third.headers["etag"] == second.headers["etag"]
    emu.verify("v.bin", 45, third.body, generation=1, size=3 * MiB)


def test_immutable_never_asks_s3(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=i.bin,size=5000,seed=46"])
    p = start(proxy_factory, emu, ["--immutable"])
    got(p, "i.bin")
    published(p, 1)
    for _ in range(3):
        assert got(p, "i.bin").headers["x-cache"] == "HIT"
    s = emu.object_stats("i.bin")
    assert s["head"] == 0 and s["get"] == 1


def test_stale_if_error_serves_a_copy_s3_cannot_confirm(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=st.bin,size=70000,seed=47"])
    p = start(proxy_factory, emu, ["--stale-if-error", "60s", "--upstream-connect-timeout",
                                   "500ms", "--chunk-retries", "0"])
    other = start(proxy_factory, emu)  # the same without stale-if-error
    got(p, "st.bin")
    got(other, "st.bin")
    # In the index, not only renamed into place: until then a request joins the finished
    # download and is answered from it without asking S3 (a HIT, not STALE).
    published(p, 1)
    published(other, 1)
    emu.stop()
    r = got(p, "st.bin")
    assert r.status == 200 and r.headers["x-cache"] == "STALE"
    emu.verify("st.bin", 47, r.body, size=70000)
    assert "serving the cached copy stale" in p.log_text()
    refused = fetch(other.port, "/st.bin")
    assert refused.status == 502


# --- downstream conditional requests ---------------------------------------------------------


@pytest.mark.parametrize("cached", [False, True])
def test_conditional_requests(emulator_factory, proxy_factory, cached):
    emu = emulator_factory(["name=c.bin,size=50000,seed=48"])
    p = start(proxy_factory, emu)
    etag = emu.object_stats("c.bin")["etag"]
    if cached:
        got(p, "c.bin")
        published(p, 1)
    nm = fetch(p.port, "/c.bin", {"If-None-Match": etag})
    assert nm.status == 304 and nm.body == b""
    assert nm.headers["etag"] == etag
    lm = nm.headers["last-modified"]
    assert fetch(p.port, "/c.bin", {"If-None-Match": '"other"'}).status == 200
    assert fetch(p.port, "/c.bin", {"If-Modified-Since": lm}).status == 304
    failed = fetch(p.port, "/c.bin", {"If-Match": '"other"'})
    assert failed.status == 412 and b"<Code>PreconditionFailed</Code>" in failed.body
    assert fetch(p.port, "/c.bin", {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
                 ).status == 412
    assert fetch(p.port, "/c.bin", {"If-Match": etag}).status == 200
    ranged = fetch(p.port, "/c.bin", {"If-Range": etag, "Range": "bytes=10-19"})
    assert ranged.status == 206 and len(ranged.body) == 10
    emu.verify("c.bin", 48, ranged.body, offset=10)
    whole = fetch(p.port, "/c.bin", {"If-Range": '"other"', "Range": "bytes=10-19"})
    assert whole.status == 200 and len(whole.body) == 50000
    emu.verify("c.bin", 48, whole.body, size=50000)


# --- admin: purge and warm-up ----------------------------------------------------------------


def test_purge_a_key_and_a_prefix(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=solo.bin,size=10000,seed=49",
                            "name=dir/a.bin,size=10000,seed=50",
                            "name=dir/b.bin,size=10000,seed=51"])
    p = start(proxy_factory, emu)
    for n in ("solo.bin", "dir/a.bin", "dir/b.bin"):
        got(p, n)
    published(p, 3)
    status, body = admin(p.admin_port, "POST", "/cache/purge?key=solo.bin")
    assert status == 200 and body["purged_objects"] == 1
    assert len(p.cache_files()) == 2
    assert got(p, "solo.bin").headers["x-cache"] == "MISS"
    status, body = admin(p.admin_port, "POST", "/cache/purge?prefix=dir/")
    assert status == 200 and body["purged_objects"] == 2
    assert got(p, "dir/a.bin").headers["x-cache"] == "MISS"
    assert admin(p.admin_port, "GET", "/cache/purge?key=x")[0] == 405


def test_warm_fetches_keys_without_a_client(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=w1.bin,size=2MiB,seed=52", "name=w2.bin,size=300000,seed=53"])
    p = start(proxy_factory, emu)
    status, body = admin(p.admin_port, "POST", "/cache/warm?key=w1.bin&key=w2.bin&key=")
    assert status == 400  # an empty key is refused as a whole
    status, body = admin(p.admin_port, "POST", "/cache/warm?key=w1.bin&key=w2.bin")
    assert status == 202 and body["accepted"] == 2 and body["rejected"] == []
    wait_until(lambda: usage(p.admin_port)["objects"] == 2, 15, what="both warmed")
    fetched = {n: emu.object_stats(n)["body_bytes"] for n in ("w1.bin", "w2.bin")}
    assert fetched == {"w1.bin": 2 * MiB, "w2.bin": 300000}
    for n, seed, size in (("w1.bin", 52, 2 * MiB), ("w2.bin", 53, 300000)):
        r = got(p, n)
        assert r.headers["x-cache"] == "HIT"
        emu.verify(n, seed, r.body, size=size)
    assert {n: emu.object_stats(n)["body_bytes"] for n in fetched} == fetched


# --- open files kept for hits ----------------------------------------------------------------


def metric(p, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


def open_cache_files(p) -> list[str]:
    """The cache files the proxy holds open ("... (deleted)" once unlinked)."""
    out = []
    for fd in os.listdir(f"/proc/{p.proc.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{p.proc.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(p.cache_dir)):
            out.append(target)
    return out


def test_open_files_serve_hits_but_never_a_replaced_or_purged_file(emulator_factory,
                                                                  proxy_factory):
    # The object changes at S3 right before the fourth HEAD.
    emu = emulator_factory(["name=small.bin,size=20000,seed=55"],
                           faults=["etag-change:object=small.bin,method=HEAD,request=4"])
    p = start(proxy_factory, emu)
    assert got(p, "small.bin").headers["x-cache"] == "MISS"
    published(p, 1)
    for held in (0, 1, 2):  # the first hit opens the file (on the pool), the next ones reuse it
        r = got(p, "small.bin")
        assert r.headers["x-cache"] == "HIT"
        emu.verify("small.bin", 55, r.body, generation=0, size=20000)
        assert metric(p, "xs3_open_file_hits_total") == held
    changed = got(p, "small.bin")  # HEAD 4: a new ETag; the open file is the old version
    assert changed.headers["x-cache"] == "MISS"
    emu.verify("small.bin", 55, changed.body, generation=1, size=20000)
    assert metric(p, "xs3_open_file_hits_total") == 2
    # The change dropped the old file from the index, and with it the descriptor kept for it.
    assert not [f for f in open_cache_files(p) if f.endswith("(deleted)")]
    published(p, 1)
    for held in (2, 3):  # the new file replaced the old one: opened afresh, then reused
        r = got(p, "small.bin")
        assert r.headers["x-cache"] == "HIT" and r.headers["etag"] == changed.headers["etag"]
        emu.verify("small.bin", 55, r.body, generation=1, size=20000)
        assert metric(p, "xs3_open_file_hits_total") == held
    assert len(open_cache_files(p)) == 1
    assert admin(p.admin_port, "POST", "/cache/purge?key=small.bin")[1]["purged_objects"] == 1
    assert open_cache_files(p) == []  # purged: the kept descriptor is closed, the blocks freed
    gets = emu.object_stats("small.bin")["get"]
    again = got(p, "small.bin")  # purged: the file kept open must not answer
    assert again.headers["x-cache"] == "MISS"
    emu.verify("small.bin", 55, again.body, generation=1, size=20000)
    assert emu.object_stats("small.bin")["get"] == gets + 1
    assert metric(p, "xs3_open_file_hits_total") == 3
