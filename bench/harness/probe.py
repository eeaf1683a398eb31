"""Scenario 8, the machine-limit probe: how fast this box can move bytes over loopback to the
harness's client and write them to the cache filesystem, measured in the same run as the
proxies, so a cold-miss figure can be read as a fraction of what the machine allows.

- loopback: nginx (sendfile) serves a file of the emulator's bytes from page cache to s3emu-fetch
  over one keep-alive connection, once with the client verifying every byte (as in the cold-miss
  scenarios: that is the ceiling they can show) and once without.
- disk: 1 MiB writes of the probe size into the cache filesystem (--tmp-dir) then an fsync,
  buffered and with O_DIRECT from a page-aligned (mmap) buffer; O_DIRECT is n/a where the
  filesystem refuses it. The buffered pass also reports its speed before the fsync (page cache).
- machine limit: the lower of loopback (verifying) and the disk's durable write speed, the faster
  of buffered + fsync and O_DIRECT + fsync (what the disk can do, whichever way the proxy is
  configured to write)."""
import errno
import mmap
import os
import statistics
import time

from .common import MiB, ScenarioError, NotAvailable, item, na, fail
from .load import run_fetch, check_results
from .procs import NginxStatic


def disk_write_mbps(directory, size, direct):
    """(MB/s before the fsync, MB/s including it) of writing size bytes (10^6 bytes/s)."""
    path = os.path.join(directory, f"disk-probe-{'direct' if direct else 'buffered'}.bin")
    buf = mmap.mmap(-1, MiB)  # anonymous mappings are page-aligned, as O_DIRECT needs
    buf.write(os.urandom(MiB))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
    blocks = max(1, size // MiB)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        buf.close()
        if direct and e.errno == errno.EINVAL:
            raise NotAvailable("the cache filesystem refuses O_DIRECT (EINVAL)")
        raise
    view = memoryview(buf)
    try:
        t0 = time.monotonic()
        for _ in range(blocks):
            done = 0
            while done < MiB:
                done += os.write(fd, view[done:])
        written = time.monotonic() - t0
        os.fsync(fd)
        synced = time.monotonic() - t0
    except OSError as e:
        if direct and e.errno == errno.EINVAL:
            raise NotAvailable("the cache filesystem refuses O_DIRECT writes (EINVAL)")
        raise
    finally:
        os.close(fd)
        os.unlink(path)
        view.release()
        buf.close()
    total = blocks * MiB / 1e6
    return total / written, total / synced


def loopback_mbps(h, emu, runs):
    """{verify: MB/s median over runs} through nginx sendfile from page cache."""
    root = h.ensure_docroot(emu, ["big.bin"])
    srv = NginxStatic(h, emu, h.workdir, name="nginx-probe", docroot=root)
    try:
        srv.start()
        check_results(run_fetch(h, srv.port, [item("big.bin")]))  # page cache warm, bytes right
        out = {}
        for verify in (True, False):
            rs = run_fetch(h, srv.port, [item("big.bin")] * runs, verify=verify)
            check_results(rs, verify=verify)
            out[verify] = statistics.median(r["bytes"] / (r["ms"] / 1000) / 1e6 for r in rs)
        return out
    finally:
        srv.stop()


def probe_machine(h, target, emu, m):
    sc = h.scale
    metrics = {}
    try:
        lb = loopback_mbps(h, emu, sc["large_runs"])
        metrics["loopback MB/s"] = (lb[True], "higher")
        metrics["loopback MB/s, no verify"] = (lb[False], "higher")
    except NotAvailable as e:
        metrics["loopback MB/s"] = na(str(e), "higher")
    except ScenarioError as e:
        metrics["loopback MB/s"] = fail(str(e), "higher")
    for key, direct in (("disk write+fsync MB/s", False), ("disk O_DIRECT MB/s", True)):
        try:
            before, synced = disk_write_mbps(h.tmp, sc["probe"], direct)
            metrics[key] = (synced, "higher")
            if not direct:
                metrics["disk write MB/s, before fsync"] = (before, "higher")
        except NotAvailable as e:
            metrics[key] = na(str(e), "higher")
        except OSError as e:
            metrics[key] = fail(f"{key.split(' MB')[0]}: {e}", "higher")

    disk = [metrics[k] for k in ("disk write+fsync MB/s", "disk O_DIRECT MB/s")
            if len(metrics[k]) == 2]
    loop = metrics["loopback MB/s"]
    if len(loop) > 2 or not disk:
        why = "; ".join(p[3] for p in [loop, metrics["disk write+fsync MB/s"]] if len(p) > 2)
        metrics["machine limit MB/s"] = na("needs loopback and disk figures: " + why, "higher")
    else:
        metrics["machine limit MB/s"] = (min(loop[0], max(d[0] for d in disk)), "higher")
    return metrics, 0
