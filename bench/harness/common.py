"""Shared helpers: sizes and durations, ports, process control, per-process resource accounting,
percentiles, and the two ways a scenario can end without numbers (failure, not available)."""
import argparse
import math
import os
import re
import signal
import socket
import subprocess
import time

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


class ScenarioError(Exception):
    """The target did something wrong or could not run the scenario: a FAIL in the table."""


class NotAvailable(ScenarioError):
    """The measurement cannot be made here (a tool or feature is missing): n/a, not a failure."""


def parse_size(text):
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?i?B?)?\s*", str(text), re.I)
    if not m:
        raise argparse.ArgumentTypeError("bad size: " + str(text))
    unit = (m.group(2) or "").upper().rstrip("B")
    mult = {"": 1, "K": 1000, "KI": KiB, "M": 1000 ** 2, "MI": MiB, "G": 1000 ** 3, "GI": GiB,
            "T": 1000 ** 4, "TI": 1 << 40}[unit]
    return int(float(m.group(1)) * mult)


def parse_duration_ms(text):
    """'20ms', '1.5s', '500us', '2m' or a bare number of seconds -> milliseconds."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(us|ms|s|m|h)?\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError("bad duration: " + str(text))
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, None: 1000, "m": 60000,
                                "h": 3600000}[m.group(2)]


def fmt_size(n):
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(path, lines=5):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return " | ".join(f.read().strip().splitlines()[-lines:])


def wait_port(port, proc, timeout, what, log_path=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ScenarioError(f"{what} exited with {proc.returncode}: {tail(log_path)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise ScenarioError(f"{what} did not listen on {port} within {timeout}s: {tail(log_path)}")


def wait_port_file(proc, port_file, log_path, what, error=ScenarioError, timeout=30):
    """The port a process started with --port 0 --port-file wrote (s3emu), once it is there."""
    deadline = time.time() + timeout
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if proc.poll() is not None or time.time() > deadline:
            raise error(f"{what} did not start: " + tail(log_path))
        time.sleep(0.02)
    return int(open(port_file).read())


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    """Stops one process the harness started (by its own Popen handle, never by name)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def is_nan(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


# ---------------------------------------------------------------- process resource accounting

def process_tree(pid):
    """pid and all its descendants (nginx: master, workers, cache manager)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def reset_peak_rss(pids):
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass


def peak_rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Meter:
    """CPU seconds and peak RSS of the target's processes over the measured phase."""

    def __init__(self, target):
        self.target = target
        self.cpu = 0.0
        self.rss = 0
        self.pids = []
        self.cpu0 = 0.0

    def start(self):
        pids = self.target.pids()
        reset_peak_rss(pids)
        self.cpu0 = cpu_seconds(pids)
        self.pids = pids

    def stop(self):
        pids = sorted(set(self.pids) | set(self.target.pids()))
        self.cpu = cpu_seconds(pids) - self.cpu0
        self.rss = peak_rss_bytes(pids)


# ---------------------------------------------------------------- objects and results

# Object groups: name pattern, seed of the first object, and the scale key of its size (and of
# its count for groups of many). Seeds never overlap, so any two objects have different bytes.
OBJECT_GROUPS = {
    "big": ("big.bin", 1, "big", None),
    "herd": ("herd.bin", 2, "herd", None),
    "huge": ("huge.bin", 3, "huge", None),
    "medium": ("medium/{i}.bin", 100, "medium", "medium_count"),
    "tiny": ("tiny/{i}.bin", 10000, "tiny", "tiny_count"),
    "pop": ("pop/{i}.bin", 1000000, "startup_size", "startup_files"),
}


def object_spec(group, scale, sha224=True):
    """s3emu's (and xs3-cachegen's) --object spec for a group."""
    name, seed, size_key, count_key = OBJECT_GROUPS[group]
    spec = f"name={name},size={scale[size_key]},seed={seed},sha224={'yes' if sha224 else 'no'}"
    if count_key:
        spec += f",count={scale[count_key]}"
    return spec


def object_seed(name):
    for pattern, seed, _, count_key in OBJECT_GROUPS.values():
        if count_key is None:
            if name == pattern:
                return seed
            continue
        prefix, suffix = pattern.split("{i}")
        if name.startswith(prefix) and name.endswith(suffix):
            index = name[len(prefix):len(name) - len(suffix)]
            if index.isdigit():
                return seed + int(index)
    raise KeyError(f"unknown emulator object {name}")


def group_names(group, scale):
    pattern, _, _, count_key = OBJECT_GROUPS[group]
    if count_key is None:
        return [pattern]
    return [pattern.replace("{i}", str(i)) for i in range(scale[count_key])]


# A scenario metric that could not be produced (fail) or does not apply (na), and one object to
# fetch: (path, name, seed for verifying its bytes, optional byte range).
def fail(reason, better=""):
    return (float("nan"), better, "fail", reason)


def na(reason, better=""):
    return (float("nan"), better, "na", reason)


def item(name, rng=None):
    return ("/" + name, name, object_seed(name), rng)
