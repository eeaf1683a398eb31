"""kill -9 soak: rounds of start, eight cold downloads, and SIGKILL at a random moment
(seeded: the seed is printed; XS3_SOAK_SEED=N replays a run, XS3_SOAK_ROUNDS=N changes the
count, 20 by default). What a crash may leave — temp files, a half-written object, an index that
never heard of a file — must never be served: after each restart no temp file is left once the
start-up scan is done, the index agrees with the files on disk (objects, bytes), and at the end
every object is served byte-exact."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from e2e_util import Emulator, free_port
from fault_harness import Tally, read_body, wait_for
from test_lifecycle import usage

ROUNDS = int(os.environ.get("XS3_SOAK_ROUNDS", "20"))
PER_ROUND = 8


def index_matches_disk(p, admin_port):
    """The index's view (/cache/usage) equals the files on disk, with nothing in flight."""
    u = usage(admin_port)
    files = p.cache_files()
    on_disk = sum(os.stat(p.cache_dir / f).st_blocks * 512 for f in files)
    if (u["scan"]["state"] == "done" and u["objects"] == len(files)
            and u["used_bytes"] == on_disk and u["reserved_bytes"] == 0 and not p.temp_files()):
        return u
    return None


@pytest.mark.deadline(600)
def test_kill_9_at_random_moments_leaves_a_consistent_cache(emulator_factory, proxy_factory):
    seed = int(os.environ.get("XS3_SOAK_SEED", str(random.randrange(1 << 31))))
    print(f"\nkill -9 soak: seed={seed} rounds={ROUNDS} (XS3_SOAK_SEED={seed} replays it)")
    rng = random.Random(seed)
    # Sizes from one block to five chunks and a bit, some with x-amz-meta-sha224 (content keys,
    # hashing while downloading), served at 40 MB/s per connection so a download takes long
    # enough (up to ~0.2 s) for the kill to land in the middle of it.
    objects = []
    for i in range(ROUNDS * PER_ROUND):
        size = rng.choice([4096, 300_000, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 5,
                           5 * (1 << 20) + 777])
        objects.append((f"k{i}.bin", 500 + i, size, rng.random() < 0.4))
    emu = emulator_factory([f"name={n},size={s},seed={sd},sha224={'yes' if h else 'no'}"
                            for n, sd, s, h in objects],
                           args=["--conn-bandwidth", "40MB", "--latency", "5ms"])
    gens = {n: {e["etag"]: 0} for n, e in emu.stats()["objects"].items()}
    p = proxy_factory(Emulator.BUCKET, endpoint=emu.endpoint, start=False,
                      extra_args=["--chunk-size", "1MiB", "--min-chunk-size", "1MiB",
                                  "--max-concurrency", "4"])
    base_args = list(p.extra_args)
    tally = Tally()
    kills = []

    def start():
        # Both ports are chosen here: two free_port() calls made apart may return the same port.
        port, admin_port = free_port(), free_port()
        while admin_port == port:
            admin_port = free_port()
        p.fixed_port = port
        p.extra_args = base_args + ["--admin-port", str(admin_port)]
        p.start()
        return admin_port

    for rnd in range(ROUNDS):
        admin_port = start()
        u = wait_for(lambda: index_matches_disk(p, admin_port), 15)
        assert u, (f"round {rnd}: after a restart the index disagrees with the disk or a temp "
                   f"file is left: {usage(admin_port)}, files {len(p.cache_files())}, "
                   f"temp {p.temp_files()}")
        batch = objects[rnd * PER_ROUND:(rnd + 1) * PER_ROUND]
        bodies = []
        lock = threading.Lock()

        def client(name):
            b = read_body(p.port, f"/{name}", timeout=30)
            with lock:
                bodies.append((name, b))

        threads = [threading.Thread(target=client, args=(n,)) for n, _, _, _ in batch]
        for t in threads:
            t.start()
        delay = rng.uniform(0.0, 0.35)
        kills.append(round(delay, 3))
        time.sleep(delay)
        p.stop(sig=signal.SIGKILL)
        for t in threads:
            t.join(30)
        info = {n: (sd, s) for n, sd, s, _ in batch}
        for name, b in bodies:
            if b.error:
                continue  # the kill came before the answer: nothing was promised
            sd, s = info[name]
            tally.judge(name, sd, s, gens[name], b)

    admin_port = start()
    u = wait_for(lambda: index_matches_disk(p, admin_port), 15)
    assert u, f"{usage(admin_port)}, files {len(p.cache_files())}, temp {p.temp_files()}"
    cached_before = u["objects"]

    def final(obj):
        name, sd, s, _ = obj
        b = read_body(p.port, f"/{name}", timeout=60)
        if tally.judge(name, sd, s, gens[name], b) != "verified":
            tally.note(f"{name}: not served byte-exact after the soak ({b.status}, "
                       f"{b.length}/{b.want})")
            with tally.lock:
                tally.wrong += 1

    threads = []
    for i in range(0, len(objects), 8):
        group = [threading.Thread(target=final, args=(o,)) for o in objects[i:i + 8]]
        for t in group:
            t.start()
        for t in group:
            t.join(90)
    u = wait_for(lambda: (lambda v: v if v and v["objects"] == len(objects) else None)(
        index_matches_disk(p, admin_port)), 30)
    print(f"kill -9 soak: {ROUNDS} rounds, kills at {kills} s; {cached_before} objects survived "
          f"the kills cached; {tally.summary()}")
    assert tally.wrong == 0, "\n".join(tally.problems)
    assert tally.refused == 0 and tally.failed == 0, tally.summary() + "\n" + "\n".join(
        tally.problems)
    assert u, f"{usage(admin_port)}, files {len(p.cache_files())}"
    assert p.stop() == 0
