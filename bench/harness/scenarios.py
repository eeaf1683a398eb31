"""The scenarios: what each measures, which emulator profile and objects it needs, which targets
it applies to. A scenario function gets (harness, target, emulator, meter) and returns
({metric: entry}, bytes served to clients); an entry is (value, better) or, for a metric that
could not be produced while the rest could, fail(...) / na(...)."""
import statistics
import sys

from .common import ScenarioError, NotAvailable, percentile, fmt_size, fail, na, item, group_names
from .load import run_fetch, check_results, run_wrk, run_h2load, wait_for_hits, wait_published
from .probe import probe_machine
from .startup import scenario_startup


def warm(h, target, names, concurrency=4):
    """Fetches every object once through the target, verifying every byte, then waits until each
    is a cache hit and published: the measurement that follows must not include the warm-up's
    verification or be served from the download that has just finished."""
    results = run_fetch(h, target.port, [item(n) for n in names], concurrency=concurrency)
    check_results(results)
    if target.kind != "nginx-static":
        left = wait_for_hits(target.port, ["/" + n for n in names])
        if left:
            print(f"  warning: {target.name}: {len(left)} of {len(names)} objects not a cache "
                  f"hit after the warm-up (first: {left[0]})", file=sys.stderr)
        cache_dir = getattr(target, "cache_dir", None)
        if cache_dir and not wait_published(cache_dir):
            print(f"  warning: {target.name}: a download was still unpublished after the warm-up",
                  file=sys.stderr)
    return results


def hit_ratio(results):
    hits = sum(1 for r in results if r["cache"].upper().startswith("HIT"))
    return 100.0 * hits / max(1, len(results))


# ---------------------------------------------------------------- 1-3: hits over HTTP/1.1

def scenario_1(h, target, emu, m):
    sc = h.scale
    warm(h, target, ["big.bin"], 1)
    m.start()
    runs = run_fetch(h, target.port, [item("big.bin")] * sc["large_runs"], verify=False)
    m.stop()
    check_results(runs, verify=False)
    secs = sum(r["ms"] for r in runs) / 1000
    served = sum(r["bytes"] for r in runs)
    return {"throughput MB/s": (served / secs / 1e6, "higher"),
            "TTFB ms": (statistics.median(r["ttfb_ms"] for r in runs), "lower"),
            "cache hits %": (hit_ratio(runs), "higher")}, served


def wrk_hits(h, target, m, names, warm_concurrency):
    sc = h.scale
    warm(h, target, names, warm_concurrency)
    m.start()
    w = run_wrk(h, target.port, ["/" + n for n in names], sc["clients"], sc["duration"])
    m.stop()
    if w["non2xx"] or w["socket_errors"]:
        raise ScenarioError(f"wrk: {w['non2xx']} non-2xx, {w['socket_errors']} socket errors")
    return w


def scenario_2(h, target, emu, m):
    w = wrk_hits(h, target, m, group_names("medium", h.scale), 4)
    return {"throughput MB/s": (w["bytes"] / w["seconds"] / 1e6, "higher"),
            "req/s": (w["rps"], "higher"), "latency p99 ms": (w["p99_ms"], "lower")}, w["bytes"]


def scenario_3(h, target, emu, m):
    w = wrk_hits(h, target, m, group_names("tiny", h.scale), 8)
    return {"req/s": (w["rps"], "higher"), "latency p50 ms": (w["p50_ms"], "lower"),
            "latency p99 ms": (w["p99_ms"], "lower")}, w["bytes"]


# ---------------------------------------------------------------- 4-6, 9: cold misses

def cold_whole(h, target, emu, m, name, size):
    m.start()
    r = run_fetch(h, target.port, [item(name)])
    m.stop()
    check_results(r)
    r = r[0]
    origin = emu.origin_body_bytes(name)
    return {"throughput MB/s": (r["bytes"] / (r["ms"] / 1000) / 1e6, "higher"),
            "TTFB ms": (r["ttfb_ms"], "lower"),
            "origin bytes / object": (origin / size, "lower")}, r["bytes"]


def scenario_4(h, target, emu, m):
    return cold_whole(h, target, emu, m, "big.bin", h.scale["big"])


def scenario_5(h, target, emu, m):
    sc = h.scale
    n = sc["clients"]
    m.start()
    rs = run_fetch(h, target.port, [item("herd.bin")], concurrency=n, requests=n)
    m.stop()
    check_results(rs)
    ttfb = sorted(r["ttfb_ms"] for r in rs)
    total = [r["ms"] for r in rs]
    origin = emu.origin_body_bytes("herd.bin")
    # All clients start together; the first to get a byte is the one whose miss is being
    # fetched, the others wait on it. Their p99 against its TTFB is the cost of waiting.
    first, waiters = ttfb[0], ttfb[1:]
    metrics = {"TTFB p50 ms": (percentile(ttfb, 50), "lower"),
               "TTFB p99 ms": (percentile(ttfb, 99), "lower"),
               "time p99 ms": (percentile(total, 99), "lower"),
               "origin bytes / object": (origin / sc["herd"], "lower"),
               "clients verified %": (100.0 * sum(1 for r in rs if r["verified"]) / n, "higher")}
    if waiters and first > 0:
        metrics["waiter TTFB p99 / first"] = (percentile(waiters, 99) / first, "lower")
    else:
        metrics["waiter TTFB p99 / first"] = na("needs at least 2 clients", "lower")
    return metrics, sum(r["bytes"] for r in rs)


def scenario_6(h, target, emu, m):
    sc = h.scale
    first = sc["big"] * 19 // 20  # inside the last 10%
    last = min(sc["big"] - 1, first + sc["range_len"] - 1)
    m.start()
    r = run_fetch(h, target.port, [item("big.bin", (first, last))])
    m.stop()
    check_results(r, want_status=(206,))
    r = r[0]
    if r["bytes"] != last - first + 1:
        raise ScenarioError(f"got {r['bytes']} bytes, want {last - first + 1}")
    origin = emu.origin_body_bytes("big.bin")
    return {"TTFB ms": (r["ttfb_ms"], "lower"), "time ms": (r["ms"], "lower"),
            "origin MB fetched": (origin / 1e6, "lower")}, r["bytes"]


def scenario_9(h, target, emu, m):
    return cold_whole(h, target, emu, m, "huge.bin", h.scale["huge"])


# ---------------------------------------------------------------- 10-11: HTTP/2 hits

def h2_shape(h):
    """(connections, streams per connection) for h2: 32 streams over 4 connections at full
    scale; HTTP/1.1 gets the same number of requests in flight as connections."""
    streams = h.scale["clients"]
    conns = min(4, streams)
    return conns, max(1, streams // conns)


def h2_hits(h, target, emu, m, names):
    sc = h.scale
    if target.kind == "nginx-static":
        h.ensure_docroot(emu, names)
    warm(h, target, names, 4)  # over HTTP/1.1: verifies every byte and warms the cache
    paths = ["/" + n for n in names]
    conns, streams = h2_shape(h)
    metrics, served = {}, 0
    m.start()
    for label, port, c, s, h1 in (("h2c", target.h2_port, conns, streams, False),
                                  ("HTTP/1.1", target.port, conns * streams, 1, True)):
        keys = (f"{label} req/s", f"{label} MB/s", f"{label} mean ms")
        try:
            r = run_h2load(h, port, paths, c, s, sc["duration"], h1=h1)
        except NotAvailable as e:
            metrics.update({k: na(str(e), b) for k, b in zip(keys, ("higher", "higher", "lower"))})
            continue
        except ScenarioError as e:
            metrics.update({k: fail(str(e), b)
                            for k, b in zip(keys, ("higher", "higher", "lower"))})
            continue
        metrics[keys[0]] = (r["rps"], "higher")
        metrics[keys[1]] = (r["data_bytes"] / r["seconds"] / 1e6, "higher")
        metrics[keys[2]] = (r["mean_ms"], "lower")
        served += r["data_bytes"]
    m.stop()
    return metrics, served


def scenario_10(h, target, emu, m):
    return h2_hits(h, target, emu, m, group_names("medium", h.scale))


def scenario_11(h, target, emu, m):
    return h2_hits(h, target, emu, m, group_names("tiny", h.scale))


# ---------------------------------------------------------------- the registry

PROXIES = ("xs3lerator", "nginx")


class Spec:
    """number, title(h), function, emulator profile and object groups, the target kinds it
    applies to, how resources are reported ('per_gb', 'total' or None), and whether the
    scenario starts the target itself (to time start-up)."""

    def __init__(self, number, title, func, profile, groups, kinds=PROXIES, resources="per_gb",
                 self_start=False, nginx="proxy"):
        self.number, self.title, self.func = number, title, func
        self.profile, self.groups, self.kinds = profile, groups, kinds
        self.resources, self.self_start, self.nginx = resources, self_start, nginx


def _scale_note(h, full_text):
    return "" if h.args.scale == "full" else f" ({full_text} at full scale)"


def _h2_title(group):
    def title(h):
        conns, streams = h2_shape(h)
        return (f"hit, {fmt_size(h.scale[group])} objects, HTTP/2: {conns * streams} streams / "
                f"{conns} conns")
    return title


def _startup_title(h):
    return (f"start-up with {h.scale['startup_files']:,} cached files"
            + _scale_note(h, "100,000"))


def _huge_title(h):
    return f"cold miss, {fmt_size(h.scale['huge'])} object, memory" + _scale_note(h, "4 GiB")


def registry():
    return {s.number: s for s in (
        Spec(1, lambda h: "hit, large object, 1 stream", scenario_1, "fast", ["big"]),
        Spec(2, lambda h: "hit, medium objects, N connections", scenario_2, "fast", ["medium"]),
        Spec(3, lambda h: "hit, 4 KiB objects, req/s", scenario_3, "fast", ["tiny"]),
        Spec(4, lambda h: "cold miss, large object via S3-like origin", scenario_4, "s3",
             ["big"]),
        Spec(5, lambda h: "N clients, same cold object", scenario_5, "s3", ["herd"]),
        Spec(6, lambda h: "cold Range in the last 10%", scenario_6, "s3", ["big"]),
        Spec(8, lambda h: "machine limits", probe_machine, "fast", ["big"], kinds=("machine",),
             resources=None),
        Spec(9, _huge_title, scenario_9, "s3", ["huge"]),
        Spec(10, _h2_title("medium"), scenario_10, "fast", ["medium"],
             nginx="static-h2"),
        Spec(11, _h2_title("tiny"), scenario_11, "fast", ["tiny"], nginx="static-h2"),
        Spec(12, _startup_title, scenario_startup, "fast", ["pop"], kinds=("xs3lerator",),
             resources="total", self_start=True),
    )}
