"""Scenario 12, start-up on a big cache: xs3-cachegen fills the cache directory with valid cache
files for the emulator's pop/{i}.bin objects (the project's own header and key code), then the
proxy is started on it and timed from exec to its first answers: GET /healthz, then a GET of one
of the cached objects (which must be a verified HIT: the files were accepted).

Scan completion is reported when the proxy says so, in either of two ways (whichever shows
first; n/a when the proxy has neither):
- a log line (--log-level info) whose msg mentions "scan" and one of complete/completed/
  finished/done; its ISO timestamp gives the time, and a files=/entries=/objects=/count= field
  the number of files indexed;
- the admin listener (--admin-port): GET /cache/usage answering JSON with a "scan" field, either
  a string state or an object with "state"/"status"; done/complete/completed/finished/idle/ready
  mean finished. A files/entries/objects/count number there is reported as files indexed."""
import datetime
import json
import os
import re
import subprocess
import time

from .common import ScenarioError, free_port, na, fail, group_names, object_seed, object_spec
from .load import http_get

DONE_WORDS = re.compile(r"\b(complete|completed|finished|done)\b", re.I)
DONE_STATES = {"done", "complete", "completed", "finished", "idle", "ready"}
COUNT_KEYS = ("files", "entries", "objects", "count")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z")
LOG_MSG = re.compile(r'msg="([^"]*)"')


def log_scan_done(log_path):
    """(unix time of the line, files indexed or None) of the first scan-complete log line,
    (None, None) if there is none yet; the bool says whether any line mentions a scan."""
    try:
        with open(log_path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None, None, False
    mentioned = False
    for line in lines:
        msg = LOG_MSG.search(line)
        if not msg or "scan" not in msg.group(1).lower():
            continue
        mentioned = True
        if not DONE_WORDS.search(msg.group(1)):
            continue
        ts = LOG_TIME.match(line)
        when = None
        if ts:
            when = datetime.datetime.fromisoformat(ts.group(1)).replace(
                tzinfo=datetime.timezone.utc).timestamp()
        count = re.search(r"\b(?:%s)=(\d+)" % "|".join(COUNT_KEYS), line)
        return when, int(count.group(1)) if count else None, True
    return None, None, mentioned


def json_scan_state(doc):
    """(done?, files indexed or None) from a /cache/usage document; done is None when the
    document has no scan field."""
    if not isinstance(doc, dict):
        return None, None
    done, count = None, None
    for key, value in doc.items():
        if "scan" in key.lower():
            state = value
            if isinstance(value, dict):
                state = value.get("state", value.get("status"))
                for k in COUNT_KEYS:
                    if isinstance(value.get(k), int):
                        count = value[k]
            if isinstance(state, str):
                done = state.lower() in DONE_STATES
            elif isinstance(state, bool):
                done = state if "scanning" not in key.lower() else not state
    if count is None:
        for k in COUNT_KEYS:
            if isinstance(doc.get(k), int):
                count = doc[k]
    return done, count


def wait_scan(target, timeout, grace=3.0):
    """-> (ms from exec to scan completion or None, files indexed or None, why-not or None,
    whether the lack of an answer is a failure rather than n/a)."""
    t0, wall0 = target.started_at, target.started_wall
    give_up_hintless = time.monotonic() + grace
    deadline = t0 + timeout
    hinted = False
    while True:
        when, count, mentioned = log_scan_done(target.log)
        hinted = hinted or mentioned
        if when is not None:
            return max(0.0, (when - wall0) * 1000), count, None, False
        if target.admin_port:
            try:
                status, _, body = http_get(target.admin_port, "/cache/usage", timeout=1)
                if status == 200:
                    done, count = json_scan_state(json.loads(body))
                    if done is not None:
                        hinted = True
                    if done:
                        return (time.monotonic() - t0) * 1000, count, None, False
            except (OSError, ValueError):
                pass
        if not target.alive():
            raise ScenarioError(f"proxy exited {target.proc.returncode} during the scan")
        now = time.monotonic()
        if hinted and now > deadline:
            return None, None, f"the proxy reports a scan but it did not finish in {timeout}s", \
                True
        if not hinted and now > give_up_hintless:
            return None, None, ("the proxy reports no scan completion (no 'scan ... complete' "
                                "log line, no scan state at admin GET /cache/usage)"), False
        time.sleep(0.02)


def poll_until_answer(target, path, deadline):
    """Retries GET path until the proxy answers; -> (ms since exec, status, headers, body)."""
    while True:
        try:
            status, headers, body = http_get(target.port, path, timeout=5)
            return (time.monotonic() - target.started_at) * 1000, status, headers, body
        except (ConnectionRefusedError, ConnectionResetError):
            pass
        except OSError as e:
            raise ScenarioError(f"GET {path}: {e}")
        if not target.alive():
            raise ScenarioError(f"proxy exited {target.proc.returncode} before answering")
        if time.monotonic() > deadline:
            raise ScenarioError(f"no answer to GET {path} within the start-up timeout")
        time.sleep(0.002)


def scenario_startup(h, target, emu, m):
    sc = h.scale
    if not os.path.exists(h.cachegen):
        raise ScenarioError(f"{h.cachegen} not found; build first")
    t = time.monotonic()
    gen = subprocess.run([h.cachegen, "--cache-dir", target.cache_dir, "--level", "4",
                          "--object", object_spec("pop", sc, h.args.sha224)],
                         capture_output=True, text=True, timeout=3600)
    if gen.returncode != 0:
        raise ScenarioError("xs3-cachegen failed: " + gen.stderr.strip()[-200:])
    made = json.loads(gen.stdout)
    print(f"    cache of {made['files']:,} files generated in {time.monotonic() - t:.1f}s",
          flush=True)
    names = group_names("pop", sc)
    name = names[len(names) // 2]

    target.extra_args += ["--cache-hierarchy-level", "4"]
    target.start(log_level="info", admin_port=free_port(), wait=False)
    m.start()
    deadline = target.started_at + h.args.startup_timeout
    health_ms, status, _, _ = poll_until_answer(target, "/healthz", deadline)
    if status != 200:
        raise ScenarioError(f"GET /healthz answered {status}")
    get_ms, status, headers, body = poll_until_answer(target, "/" + name, deadline)
    if status != 200:
        raise ScenarioError(f"GET /{name} after start-up answered {status}")
    v = subprocess.run([h.s3emu_verify, "--name", name, "--seed", str(object_seed(name)),
                        "--size", str(sc["startup_size"]), "-"], input=body, capture_output=True)
    if v.returncode != 0:
        raise ScenarioError(f"GET /{name} after start-up: wrong bytes: "
                            + v.stdout.decode(errors="replace").strip())
    hit = headers.get("x-cache", "").upper().startswith("HIT")

    # A proxy that reports its scan shows some sign of it (a log line, an admin answer) quickly;
    # without one, stop looking after a grace period (short at small scale: 500 files).
    grace = 1.0 if h.args.scale == "small" else 3.0
    scan_ms, count, why, is_failure = wait_scan(target, h.args.startup_timeout, grace)
    m.stop()
    metrics = {"exec → /healthz ms": (health_ms, "lower"),
               "exec → object GET ms": (get_ms, "lower"),
               "object GET cache hits %": (100.0 if hit else 0.0, "higher")}
    if scan_ms is not None:
        metrics["exec → scan complete ms"] = (scan_ms, "lower")
    else:
        metrics["exec → scan complete ms"] = (fail if is_failure else na)(why, "lower")
    if count is not None:
        metrics["files indexed"] = (float(count), "higher")
    return metrics, len(body)
