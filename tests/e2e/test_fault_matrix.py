"""The fault matrix: origin faults of every kind, aimed at every GET of a cold download
and at the offsets where the proxy's bookkeeping changes, on many objects at once, with every body
a client receives checked byte by byte.

Dimensions
  kind     reset (RST mid-body), short (FIN short of Content-Length), stall (the body stops for
           5 s; the proxy gives up on a transfer after 2 s without a byte), 503 (answered to one GET of the
           download), etag-change (the object is overwritten just before one GET is answered)
  target   probe: the download's first GET (chunk 0, readers start at byte 0);
           first: chunk 0 fetched after a probe elsewhere (the first reader asks for a range in
           the last chunk, the others join);
           middle: chunk 1; last: chunk 2 (objects are 2.5 MiB + 7: two 1 MiB chunks and one of
           512 KiB + 7)
  offset   (body faults) from the targeted chunk's first byte: 0 (the head, then the fault),
           1000, 16384 (the first write, --write-size aside), write_size - 1, write_size,
           write_size + 1, and the chunk's last byte
  sha224   objects with and without x-amz-meta-sha224 (content key and hashing, or name key)
  workers  1 and 2 (chunks fetched on the home ring only, or spread over both)
  readers  1 and 16 concurrent clients per object
  write    --write-size 64KiB (the smallest allowed) and 512KiB (the default)

Each proxy instance serves one object per combination of the per-object dimensions, eight objects
at a time. Outcomes are counted over every body: verified (complete, byte-exact), cut (closed
short of Content-Length, the prefix byte-exact), wrong (a wrong byte anywhere), refused (an error
status), failed (no head; closed before a head counts too), crashes. The test asserts
wrong == failed == cut_before_head == crashes == 0; that the
only refusals are 503 SlowDown to requests that joined a download an ETag change failed before
their answer began (the proxy's answer then: the object changed while it was being fetched,
retry); the origin's GET count per object where it is deterministic; that every object is then
served byte-exact as a cache HIT; that the proxy is alive, logged no error, and exits 0 on
SIGTERM; the fixture fails the test on any sanitizer report.

XS3_FAULT_MATRIX=full runs every combination (4 proxies: 1 and 2 workers x 64 KiB and 512 KiB
writes, each with 92 placements x sha224 x readers = 368 objects): a soak. The default runs each
fault placement (kind x target x offset) once per proxy on two proxies (1 worker with 64 KiB
writes, 2 workers with 512 KiB writes), with sha224 and the reader count spread over the
placements so that every pair of values of kind, target, offset, sha224, readers and workers
meets (pairwise coverage; the write size goes with the worker count): 184 objects, 814 readers,
about a minute here. XS3_FAULT_MATRIX_ONLY=reset,probe keeps only the cases whose kind or target
is listed (for debugging one); XS3_FAULT_MATRIX_TRACE=1 starts the proxies with --debug-trace
and a miscounted object's report carries its downloads' chunk events. Point XS3_BINARY at a
sanitizer build (or run `meson test` in one) to run it under ASan.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from e2e_util import Emulator, free_port
from fault_harness import Tally, read_body, wait_for
from test_lifecycle import usage

KiB = 1024
MiB = 1024 * KiB
SIZE = 2 * MiB + 512 * KiB + 7
CHUNKS = [(0, MiB), (MiB, MiB), (2 * MiB, 512 * KiB + 7)]
BODY_KINDS = ["reset", "short", "stall"]
STATUS_KINDS = ["503", "etag-change"]
TARGETS = {"probe": 0, "first": 0, "middle": 1, "last": 2}
OFFSETS = ["0", "1000", "16384", "ws-1", "ws", "ws+1", "end-1"]
STALL = "5s"
FULL = os.environ.get("XS3_FAULT_MATRIX", "") == "full"


@dataclass
class Case:
    name: str
    seed: int
    kind: str
    target: str
    offset: str
    sha224: bool
    readers: int
    rule: str
    gets: int | None  # the origin's GETs for the object when deterministic

    def spec(self) -> str:
        return (f"name={self.name},size={SIZE},seed={self.seed},"
                f"sha224={'yes' if self.sha224 else 'no'}")


def rule_for(name: str, kind: str, target: str, offset: str, write_size: int) -> tuple[str, int]:
    """The emulator's fault rule and the absolute offset it aims at."""
    first, length = CHUNKS[TARGETS[target]]
    rel = {"0": 0, "1000": 1000, "16384": 16384, "ws-1": write_size - 1, "ws": write_size,
           "ws+1": write_size + 1, "end-1": length - 1, "-": 1000}[offset]
    assert rel < length, (target, offset)
    at = first + rel
    # The probe is the object's first GET; every other target is the first GET asking for `at`.
    which = "request=1" if target == "probe" else "count=1"
    if kind in BODY_KINDS:
        extra = f",seconds={STALL}" if kind == "stall" else ""
        return f"{kind}:object={name},{which},offset={at}{extra}", at
    if target == "probe":
        return f"{kind}:object={name},request=1", at
    return f"{kind}:object={name},offset={at},count=1", at


def placements():
    for kind in BODY_KINDS:
        for target in TARGETS:
            for offset in OFFSETS:
                yield kind, target, offset
    for kind in STATUS_KINDS:
        for target in TARGETS:
            yield kind, target, "-"


def cases_for(proxy_index: int, write_size: int) -> list[Case]:
    out = []
    for kind, target, offset in placements():
        if FULL:
            variants = [(sha, readers) for sha in (False, True) for readers in (1, 16)]
        else:
            # Spread sha224 and the reader count over the placements (and differently on each
            # proxy) so every pair of values of the dimensions meets somewhere (pairwise).
            k = (list(TARGETS).index(target) + (OFFSETS.index(offset) if offset != "-" else 0)
                 + (BODY_KINDS + STATUS_KINDS).index(kind) + proxy_index)
            variants = [(k % 2 == 1, 16 if k % 4 in (0, 3) and (k // 4) % 2 == 0 else 1)]
        for sha, readers in variants:
            i = len(out)
            name = f"m{proxy_index}-{i}.bin"
            rule, _ = rule_for(name, kind, target, offset, write_size)
            # One fault, one retry: chunks + 1 GETs (a 503 is not an object answer; the probe's
            # ETag change leaves one consistent generation). A mid-download ETag change fails
            # the download: how many chunks were in flight by then is timing.
            if kind in BODY_KINDS:
                gets = len(CHUNKS) + 1
            elif kind == "503" or target == "probe":
                gets = len(CHUNKS)
            else:
                gets = None
            out.append(Case(name, 1000 + 37 * proxy_index + i, kind, target, offset, sha,
                            readers, rule, gets))
    return out


def learner(emu, gens: dict[str, int], name: str):
    """Learns the ETag of the object's current generation (after an etag-change fault)."""

    def learn():
        st = emu.object_stats(name)
        gens[st["etag"]] = st["generation"]

    return learn


def judge(tally: Tally, emu, c: Case, b, gens: dict[str, dict[str, int]]) -> str:
    status = b.status
    outcome = tally.judge(c.name, c.seed, SIZE, gens[c.name], b,
                          learner(emu, gens[c.name], c.name))
    if outcome == "refused":
        if c.kind == "etag-change" and status == 503:
            with tally.lock:
                tally.retry_later += 1
        else:
            tally.note(f"{c.name} ({c.kind} {c.target} {c.offset}): answered {status}")
    return outcome


def run_object(p, emu, c: Case, tally: Tally, gens: dict[str, dict[str, int]]) -> None:
    path = f"/{c.name}"
    bodies = []
    lock = threading.Lock()

    def reader(headers=None, on_head=None):
        b = read_body(p.port, path, headers, on_head=on_head)
        with lock:
            bodies.append(b)

    threads = []
    if c.target == "first":
        # The first reader's range starts the download with a probe of the last chunk; the
        # others join once it has its head, so chunk 0 is an ordinary chunk GET.
        headed = threading.Event()
        t = threading.Thread(target=reader,
                             args=({"Range": f"bytes={CHUNKS[2][0] + 100}-"}, headed.set))
        t.start()
        threads.append(t)
        headed.wait(30)
        count = c.readers - 1 if c.readers > 1 else 1
    else:
        count = c.readers
    go = threading.Barrier(count)

    def full_reader():
        go.wait(30)
        reader()

    for _ in range(count):
        t = threading.Thread(target=full_reader)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(120)
    for b in bodies:
        judge(tally, emu, c, b, gens)


def settle_hit(p, emu, c: Case, tally: Tally, gens: dict[str, dict[str, int]]) -> None:
    """After the storm: the object is served byte-exact, and (once published) as a HIT."""

    def attempt():
        b = read_body(p.port, f"/{c.name}")
        hit = b.headers.get("x-cache") == "HIT"
        outcome = judge(tally, emu, c, b, gens)
        return outcome == "verified" and hit

    if not wait_for(attempt, 30, interval=0.1):
        tally.note(f"{c.name}: never served byte-exact as a HIT")
        with tally.lock:
            tally.wrong += 1


def object_trace(path, name: str) -> list[str]:
    """The trace lines of the downloads of `name` (dl.start names the key; the rest carry its
    dl id), when the proxy was started with --debug-trace."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    ids = set()
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("ev") == "dl.start" and ev.get("key") == name:
            ids.add(ev.get("dl"))
    out = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("dl") in ids and ev.get("ev", "").split(".")[0] in ("dl", "chunk", "req"):
            out.append(line)
    return out


def proxy_settings():
    if FULL:
        return [(1, 64 * KiB), (2, 64 * KiB), (1, 512 * KiB), (2, 512 * KiB)]
    return [(1, 64 * KiB), (2, 512 * KiB)]


@pytest.mark.deadline(3600 if FULL else 600)
@pytest.mark.parametrize("workers,write_size", proxy_settings(),
                         ids=[f"{w}workers-{ws // KiB}KiB" for w, ws in proxy_settings()])
def test_fault_matrix(emulator_factory, proxy_factory, tmp_path, workers, write_size):
    proxy_index = proxy_settings().index((workers, write_size))
    cases = cases_for(proxy_index, write_size)
    if os.environ.get("XS3_FAULT_MATRIX_ONLY"):  # debugging: cases whose kind or target match
        want = os.environ["XS3_FAULT_MATRIX_ONLY"].split(",")
        cases = [c for c in cases if c.kind in want or c.target in want]
    emu = emulator_factory([c.spec() for c in cases], faults=[c.rule for c in cases])
    admin_port = free_port()
    trace_path = tmp_path / f"trace-{proxy_index}.jsonl"
    trace = ["--debug-trace", str(trace_path)] if os.environ.get("XS3_FAULT_MATRIX_TRACE") else []
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, workers=workers,
                      extra_args=["--chunk-size", "1MiB", "--min-chunk-size", "1MiB",
                                  "--max-concurrency", "8", "--write-size", f"{write_size}",
                                  "--upstream-low-speed-time", "2s", "--retry-base-delay", "10ms",
                                  "--admin-port", str(admin_port), *trace])
    start_stats = emu.stats()["objects"]
    gens = {c.name: {start_stats[c.name]["etag"]: 0} for c in cases}
    tally = Tally()

    def one(c: Case):
        run_object(p, emu, c, tally, gens)
        if p.proc.poll() is not None:
            with tally.lock:
                tally.crashes += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, cases))
    assert p.proc.poll() is None, f"the proxy died\n{p.log_tail()}"
    # The origin's counters, before any hit can start a new download.
    objects = emu.stats()["objects"]
    miscounted = [f"{c.name} ({c.kind} {c.target} {c.offset}): {objects[c.name]['get']} GETs, "
                  f"want {c.gets}" for c in cases
                  if c.gets is not None and objects[c.name]["get"] != c.gets]
    # What the proxy said about a miscounted object (and, with XS3_FAULT_MATRIX_TRACE=1, its
    # downloads' chunk events), so that a rare miscount explains itself.
    for i, line in enumerate(miscounted):
        name = line.split(" ", 1)[0]
        said = [ln for ln in p.log_text().splitlines() if f"={name} " in ln or ln.endswith(f"={name}")]
        miscounted[i] += "\n  " + "\n  ".join(said[:20] + object_trace(trace_path, name)[:60])
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: settle_hit(p, emu, c, tally, gens), cases))
    if p.proc.poll() is not None:
        tally.crashes += 1

    # The index agrees with the disk, and nothing is left half-written.
    def consistent():
        u = usage(admin_port)
        files = p.cache_files()
        on_disk = sum(os.stat(p.cache_dir / f).st_blocks * 512 for f in files)
        ok = (u["objects"] == len(cases) == len(files) and u["used_bytes"] == on_disk
              and u["reserved_bytes"] == 0 and not p.temp_files())
        return u if ok else None

    index_ok = wait_for(consistent, 15)
    last_usage = usage(admin_port)
    alive = p.get("/healthz").status == 200
    fired = emu.stats()["faults"]
    rc = p.stop()
    errors = [line for line in p.log_text().splitlines() if "level=error" in line]
    print(f"\nfault matrix workers={workers} write_size={write_size}: {len(cases)} objects, "
          f"{sum(c.readers for c in cases)} readers; {tally.summary()}; faults fired {fired}")
    assert tally.wrong == 0, "\n".join(tally.problems)
    # A connection closed before any response head is a failure too: a body that cannot be
    # completed is cut after its head, and a download that failed before the answer began is
    # answered with an error status.
    assert (tally.crashes == 0 and tally.failed == 0 and tally.cut_before_head == 0
            and tally.refused == tally.retry_later), (
        tally.summary() + "\n" + "\n".join(tally.problems))
    assert not miscounted, "\n".join(miscounted)
    # Every rule fired once: the placements are all reachable.
    want = {k: sum(1 for c in cases if c.kind == k) for k in BODY_KINDS + STATUS_KINDS}
    assert fired == {"503": want["503"], "500": 0, "reset": want["reset"],
                     "short": want["short"], "stall": want["stall"],
                     "etag-change": want["etag-change"]}, fired
    assert index_ok, (f"index and disk disagree: {last_usage}, files {len(p.cache_files())}, "
                      f"temp {p.temp_files()}")
    assert alive, "/healthz did not answer 200 after the matrix"
    assert rc == 0, f"exit status {rc} on SIGTERM"
    assert not errors, "\n".join(errors[:20])
