#!/usr/bin/python3
"""Turns an xs3lerator --debug-trace (JSON Lines, docs/trace.md) into a PNG timeline of one
download, so a person sees at a glance whether the origin, the chunk plan or the client held a
request back:

  top panel     one lane per chunk: queued (planned, not started), waiting for S3's first byte,
                transferring, a failed attempt's transfer and the back-off before its retry;
                above them one lane per request that read the download: its waits for bytes
                not written yet, when its answer went out and when it ended.
  bottom panel  bytes over time: what each reading client was sent (known at its answer, at
                each wait and at its end) and what the download had on disk.

  scripts/trace_timeline.py trace.jsonl -o timeline.png           # the first download
  scripts/trace_timeline.py trace.jsonl --dl 7 -o dl7.png
  scripts/trace_timeline.py trace.jsonl --list                     # what is in the trace

Needs Debian's python3 and gnuplot (pngcairo), as bench/harness does."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

# Colours of the lane states (and the legend's order).
STATES = [
    ("queued", "#c8c8c8", "queued"),
    ("waiting", "#f0a030", "waiting for first byte"),
    ("transfer", "#3070c0", "transferring"),
    ("failed", "#d03030", "failed attempt"),
    ("backoff", "#f4b0b0", "back-off before retry"),
    ("wait", "#8040a0", "reader waiting for bytes"),
]


@dataclass
class Chunk:
    index: int
    first: int = 0
    last: int = 0
    segments: list = field(default_factory=list)  # (state, t0, t1)
    attempts: int = 0


@dataclass
class Reader:
    req: int
    first: int = 0
    target: str = ""
    proto: str = ""
    recv: float | None = None
    answer: float | None = None
    done: float | None = None
    status: int = 0
    cache: str = ""
    total: int | None = None
    waits: list = field(default_factory=list)  # (t0, t1, offset)


def load(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{path}:{n}: not JSON ({e}); skipped", file=sys.stderr)
    return out


def downloads(events: list[dict]) -> dict[int, dict]:
    """dl id -> {key, size, chunks, started, outcome} from the dl.* events."""
    out: dict[int, dict] = {}
    for e in events:
        ev, dl = e["ev"], e.get("dl")
        if dl is None or not ev.startswith(("dl.", "chunk.")):
            continue
        d = out.setdefault(dl, {"key": "", "size": None, "chunks": 0, "t": e["t"],
                                "outcome": "running", "retries": 0})
        if ev == "dl.start":
            d["key"] = e.get("key", "")
        elif ev == "dl.plan":
            d["size"], d["chunks"] = e.get("size"), e.get("chunks", 0)
        elif ev in ("dl.published", "dl.failed"):
            d["outcome"] = ev[3:]
        elif ev == "dl.decided" and e.get("decision") != "cache":
            d["outcome"] = e.get("decision", "")  # cached (under another name) or passthrough
        elif ev == "chunk.retry":
            d["retries"] += 1
    return out


def timeline(events: list[dict], dl: int):
    chunks: dict[int, Chunk] = {}
    readers: dict[int, Reader] = {}
    disk: list[tuple[float, int, int]] = []  # (t, bytes on disk, contiguous from byte 0)
    written: dict[int, int] = {}
    plan_t = None
    t0 = None
    t_end = None
    open_state: dict[int, tuple[str, float]] = {}  # chunk -> (state, since)
    reqs_of_dl = {e["req"]: e for e in events if e["ev"] == "req.download" and e["dl"] == dl}
    info = {"key": "", "size": None, "chunk_size": None, "outcome": "running"}

    def on_disk(t: float) -> None:
        total = sum(written.values())
        prefix, i = 0, 0
        cs = info["chunk_size"]
        while cs and i in written:
            prefix += written[i]
            if written[i] < cs:
                break
            i += 1
        disk.append((t, total, min(prefix, info["size"] or prefix)))

    def chunk(i: int) -> Chunk:
        return chunks.setdefault(i, Chunk(i))

    def close(i: int, t: float) -> None:
        if i in open_state:
            state, since = open_state.pop(i)
            chunk(i).segments.append((state, since, t))

    for e in events:
        t = e["t"] / 1000.0  # ms
        ev = e["ev"]
        mine = e.get("dl") == dl or e.get("req") in reqs_of_dl
        if not mine:
            continue
        t0 = t if t0 is None else min(t0, t)
        t_end = t if t_end is None else max(t_end, t)
        if ev == "dl.start":
            info["key"] = e.get("key", "")
        elif ev == "dl.plan":
            plan_t = t
            info["size"], info["chunk_size"] = e.get("size"), e.get("chunk_size")
            for i in range(e.get("chunks", 0)):
                if i not in open_state and not chunk(i).segments:
                    open_state[i] = ("queued", t)
        elif ev == "chunk.start":
            i = e["chunk"]
            c = chunk(i)
            c.first, c.last = e.get("first", c.first), e.get("last", c.last)
            c.attempts += 1
            close(i, t)
            open_state[i] = ("waiting", t)
        elif ev == "chunk.head":
            close(e["chunk"], t)
            open_state[e["chunk"]] = ("transfer", t)
        elif ev == "chunk.progress":
            written[e["chunk"]] = e.get("written", 0)
            on_disk(t)
        elif ev == "chunk.done":
            i = e["chunk"]
            close(i, t)
            written[i] = e.get("written", written.get(i, 0))
            on_disk(t)
        elif ev == "chunk.retry":
            i = e["chunk"]
            state, since = open_state.pop(i, ("waiting", t))
            chunk(i).segments.append(("failed", since, t))
            if "written" in e:
                written[i] = e["written"]
                on_disk(t)
            open_state[i] = ("backoff", t)
        elif ev == "chunk.failed":
            i = e["chunk"]
            state, since = open_state.pop(i, ("waiting", t))
            chunk(i).segments.append(("failed", since, t))
        elif ev in ("dl.published", "dl.failed"):
            info["outcome"] = ev[3:]
        elif ev == "dl.decided" and e.get("decision") != "cache":
            info["outcome"] = e.get("decision", "")
        elif ev == "req.recv" and e["req"] in reqs_of_dl:
            r = readers.setdefault(e["req"], Reader(e["req"]))
            r.recv, r.target, r.proto = t, e.get("target", ""), e.get("proto", "")
        elif ev == "req.download":
            readers.setdefault(e["req"], Reader(e["req"])).first = e.get("first", 0)
        elif ev == "req.answer":
            r = readers.setdefault(e["req"], Reader(e["req"]))
            r.answer, r.status, r.cache = t, e.get("status", 0), e.get("cache", "")
        elif ev == "read.wait":
            readers.setdefault(e["req"], Reader(e["req"])).waits.append([t, None, e.get("off", 0)])
        elif ev == "read.wake":
            r = readers.setdefault(e["req"], Reader(e["req"]))
            for w in reversed(r.waits):
                if w[1] is None:
                    w[1] = t
                    break
        elif ev == "req.done":
            r = readers.setdefault(e["req"], Reader(e["req"]))
            r.done, r.total = t, e.get("bytes")
    for i in list(open_state):
        close(i, t_end)
    if t0 is None:
        raise SystemExit(f"no events of download {dl} in the trace")
    return info, chunks, readers, disk, t0, t_end, plan_t


def plot(events: list[dict], dl: int, out: str, title: str | None, size: str) -> None:
    info, chunks, readers, disk, t0, t_end, _ = timeline(events, dl)
    work = tempfile.mkdtemp(prefix="xs3-timeline-")
    n_chunks = (max(chunks) + 1) if chunks else 0
    reader_list = sorted(readers.values(), key=lambda r: (r.recv or r.answer or 0, r.req))
    lanes = n_chunks + len(reader_list)
    # Bars: one data file per state, rows "x xlow xhigh y ylow yhigh".
    rows = {s: [] for s, _, _ in STATES}
    for c in chunks.values():
        for state, a, b in c.segments:
            rows[state].append((a - t0, b - t0, c.index))
    marks_answer, marks_done, labels = [], [], []
    for j, r in enumerate(reader_list):
        y = n_chunks + j
        for a, b, _ in r.waits:
            rows["wait"].append((a - t0, (b if b is not None else t_end) - t0, y))
        if r.answer is not None:
            marks_answer.append((r.answer - t0, y))
        if r.done is not None:
            marks_done.append((r.done - t0, y))
        labels.append((y, f"req {r.req} {r.cache or ''}".strip()))
    for state, _, _ in STATES:
        with open(os.path.join(work, f"{state}.dat"), "w") as f:
            for a, b, y in rows[state]:
                f.write(f"{(a + b) / 2:.3f} {y} {a:.3f} {max(b, a + 0.05):.3f} {y - 0.38} "
                        f"{y + 0.38}\n")
    with open(os.path.join(work, "answer.dat"), "w") as f:
        f.writelines(f"{x:.3f} {y}\n" for x, y in marks_answer)
    with open(os.path.join(work, "done.dat"), "w") as f:
        f.writelines(f"{x:.3f} {y}\n" for x, y in marks_done)
    # Bytes over time.
    mib = 1024 * 1024
    with open(os.path.join(work, "disk.dat"), "w") as f:
        f.write("0 0 0\n")
        f.writelines(f"{t - t0:.3f} {b / mib:.4f} {c / mib:.4f}\n" for t, b, c in disk)
    client_files = []
    for j, r in enumerate(reader_list):
        pts = []
        if r.answer is not None:
            pts.append((r.answer - t0, 0))
        for a, _, off in r.waits:
            pts.append((a - t0, max(0, off - r.first)))
        if r.done is not None and r.total is not None:
            pts.append((r.done - t0, r.total))
        name = f"client{j}.dat"
        with open(os.path.join(work, name), "w") as f:
            f.writelines(f"{x:.3f} {b / mib:.4f}\n" for x, b in sorted(pts))
        client_files.append((name, f"client of req {r.req}"))

    span = max(t_end - t0, 1.0)
    ytics = ", ".join([f'"chunk {i}" {i}' for i in range(n_chunks)] +
                      [f'"{text}" {y}' for y, text in labels])
    if n_chunks > 24:  # too many to name each: every 4th
        ytics = ", ".join([f'"chunk {i}" {i}' for i in range(0, n_chunks, 4)] +
                          [f'"{text}" {y}' for y, text in labels])
    size_text = f"{info['size']} bytes" if info["size"] is not None else "size unknown"
    chunk_text = f", {n_chunks} chunks of {info['chunk_size']}" if info["chunk_size"] else ""
    retries = sum(max(0, c.attempts - 1) for c in chunks.values())
    heading = title or (f"download {dl}: {info['key'] or '?'} — {size_text}{chunk_text}, "
                        f"{retries} retried, {info['outcome']}")
    heading = heading.replace("'", "''")
    bars = ", ".join(
        f"'{s}.dat' using 1:2:3:4:5:6 with boxxyerror fs solid 0.9 noborder lc rgb '{c}' "
        f"title '{label}'" for s, c, label in STATES if rows[s])
    marks = []
    if marks_answer:
        marks.append("'answer.dat' using 1:2 with points pt 5 ps 1.1 lc rgb '#208020' "
                     "title 'answer sent'")
    if marks_done:
        marks.append("'done.dat' using 1:2 with points pt 7 ps 1.1 lc rgb '#000000' "
                     "title 'answer complete'")
    top_height = max(320, 26 * lanes + 120)
    w, h = (int(v) for v in size.split(","))
    h = max(h, top_height + 300)
    frac = (top_height) / h
    palette = ["#208020", "#c06000", "#a02080", "#008080", "#606000"]
    clients = ", ".join(f"'{name}' using 1:2 with linespoints lw 2 pt 7 ps 0.6 "
                        f"lc rgb '{palette[j % len(palette)]}' title '{t}'"
                        for j, (name, t) in enumerate(client_files))
    script = f"""
set terminal pngcairo size {w},{h} font ',10' noenhanced
set output '{os.path.abspath(out)}'
set multiplot title '{heading}' font ',12'
set lmargin 16
set rmargin 4
set xrange [0:{span * 1.02:.3f}]
set grid xtics
set size 1,{frac * 0.92:.3f}
set origin 0,{1 - frac * 0.95:.3f}
set yrange [-0.7:{lanes - 0.3:.1f}]
set ytics ({ytics}) font ',9'
set key outside bottom center horizontal maxrows 2 font ',9'
unset xlabel
plot {", ".join([b for b in [bars] if b] + marks)}
set size 1,{(1 - frac) * 0.95:.3f}
set origin 0,0.01
set autoscale y
set yrange [0:*]
set ytics auto
set ylabel 'MiB'
set xlabel 'ms since the download started'
set key inside top left font ',9'
plot 'disk.dat' using 1:2 with steps lw 2 lc rgb '#3070c0' title 'on disk (all chunks)', \
     'disk.dat' using 1:3 with steps lw 2 dt 2 lc rgb '#203060' \
       title 'on disk from byte 0 (readable in order)'{", " + clients if clients else ""}
unset multiplot
"""
    with open(os.path.join(work, "timeline.gp"), "w") as f:
        f.write(script)
    p = subprocess.run(["gnuplot", "timeline.gp"], cwd=work, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"gnuplot failed: {p.stderr.strip()[:2000]} (script in {work})")
    shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="a --debug-trace file (JSON Lines)")
    ap.add_argument("-o", "--output", default="timeline.png", help="the PNG to write")
    ap.add_argument("--dl", type=int, help="the download to draw (default: the first one)")
    ap.add_argument("--key", help="the first download of this key instead")
    ap.add_argument("--title", help="the picture's title")
    ap.add_argument("--size", default="1280,720", help="width,height in pixels (the height "
                    "grows with the number of lanes)")
    ap.add_argument("--list", action="store_true", help="list the downloads and stop")
    args = ap.parse_args()
    if shutil.which("gnuplot") is None and not args.list:
        print("gnuplot is not installed (Debian package gnuplot-nox)", file=sys.stderr)
        return 2
    events = load(args.trace)
    dls = downloads(events)
    if args.list:
        for dl, d in dls.items():
            print(f"dl {dl}: key={d['key']!r} size={d['size']} chunks={d['chunks']} "
                  f"retries={d['retries']} {d['outcome']}")
        return 0
    if not dls:
        print("the trace has no download events", file=sys.stderr)
        return 1
    dl = args.dl
    if args.key is not None:
        dl = next((i for i, d in dls.items() if d["key"] == args.key), None)
        if dl is None:
            print(f"no download of key {args.key!r} in the trace", file=sys.stderr)
            return 1
    if dl is None:
        dl = next(iter(dls))
    if dl not in dls:
        print(f"no download {dl} in the trace (try --list)", file=sys.stderr)
        return 1
    plot(events, dl, args.output, args.title, args.size)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
