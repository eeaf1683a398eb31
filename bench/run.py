#!/usr/bin/python3
"""xs3lerator benchmark harness: runs the scenario set against xs3lerator (and its variants, such
as xs3lerator-ttl) and against nginx in front of the same S3 emulator, in the same run; measures
the machine's own limits; prints a table, the issues' targets with verdicts, and writes CSV, JSON
and gnuplot PNG charts under bench/results/<timestamp>/.

    bench/run.py                      # everything at --scale full (1 GiB objects, 4 GiB RSS run)
    bench/run.py --scale small        # seconds: tiny objects (the smoke test uses this)
    bench/run.py --scenarios 4,5,8 --repeat 3
    bench/run.py --scenarios 1,4 --targets xs3lerator
    bench/run.py --sweep chunk-size=1MiB,4MiB,8MiB --scenarios 4
    bench/run.py --variant xs3-dio="--direct-io" --scenarios 4

Only Debian's python3 standard library; wrk, h2load (nghttp2-client), nginx and gnuplot from
Debian. See bench/README.md.
"""
import argparse
import datetime
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness.common import KiB, MiB, GiB, Meter, ScenarioError, NotAvailable, fmt_size, \
    parse_duration_ms, tail  # noqa: E402
from harness.procs import Emulator, Xs3lerator, Nginx, NginxStatic, Machine  # noqa: E402
from harness.report import write_results  # noqa: E402
from harness.scenarios import registry  # noqa: E402

# Object sizes, counts and load per scale. "full" is the issues' set.
SCALES = {
    "small": dict(big=8 * MiB, herd=4 * MiB, huge=16 * MiB, medium=256 * KiB, medium_count=8,
                  tiny=4 * KiB, tiny_count=32, clients=8, duration=1, large_runs=2,
                  range_len=256 * KiB, probe=8 * MiB, startup_files=500, startup_size=4 * KiB),
    "medium": dict(big=256 * MiB, herd=64 * MiB, huge=512 * MiB, medium=MiB, medium_count=32,
                   tiny=4 * KiB, tiny_count=256, clients=32, duration=4, large_runs=2,
                   range_len=MiB, probe=256 * MiB, startup_files=20000, startup_size=4 * KiB),
    "full": dict(big=GiB, herd=256 * MiB, huge=4 * GiB, medium=MiB, medium_count=64,
                 tiny=4 * KiB, tiny_count=1000, clients=32, duration=10, large_runs=3,
                 range_len=MiB, probe=GiB, startup_files=100000, startup_size=4 * KiB),
}

SCENARIOS = registry()
DEFAULT_SCENARIOS = "1,2,3,4,5,6,8,9,10,11,12"
BASE_TARGETS = ("xs3lerator", "nginx")
# Built-in variants: name -> (xs3lerator arguments, scenarios it runs in). The TTL variant is
# The comparison of hits that ask S3 every time (metadata-ttl 0) against cached metadata.
TTL_VARIANT = "xs3lerator-ttl"
TTL_SCENARIOS = (2, 3, 10, 11)
# The --baseline target: the same scenarios with another binary (before/after a change, same run).
BASELINE = "xs3-base"


class Harness:
    def __init__(self, args):
        self.args = args
        self.scale = dict(SCALES[args.scale])
        if args.clients:
            self.scale["clients"] = args.clients
        if args.duration:
            self.scale["duration"] = args.duration
        build = args.build_dir
        self.s3emu = os.path.join(build, "bench", "s3emu")
        self.s3emu_fetch = os.path.join(build, "bench", "s3emu-fetch")
        self.s3emu_verify = os.path.join(build, "bench", "s3emu-verify")
        self.cachegen = os.path.join(build, "bench", "xs3-cachegen")
        for b in (self.s3emu, self.s3emu_fetch):
            if not os.path.exists(b):
                sys.exit(f"run.py: {b} not found; build first (ninja -C {build})")
        self.knobs = {"workers": args.workers, "chunk-size": args.chunk_size,
                      "concurrency": args.concurrency, "direct-io": args.direct_io,
                      "pipe-size": args.pipe_size, "splice-size": args.splice_size}
        # name -> (extra xs3lerator arguments, scenarios or None for all)
        self.variants = {TTL_VARIANT: (["--metadata-ttl", args.ttl], TTL_SCENARIOS)}
        for name, extra in args.variant:
            scen = self.variants.get(name, (None, None))[1]
            self.variants[name] = (extra, scen)
        # --baseline: another build of the proxy (e.g. main's) with plain xs3lerator's arguments.
        self.binaries = {}
        if args.baseline:
            self.variants[BASELINE] = (["--metadata-ttl", "0s"], None)
            self.binaries[BASELINE] = args.baseline
        self.rows = []  # one per run x scenario x target x metric (see report.aggregate)
        self.tmp = None
        self.workdir = None
        self.docroot = None

    # ------------------------------------------------------------ targets

    def targets_for(self, spec):
        out = []
        if "machine" in spec.kinds:
            return ["machine"]
        for t in self.args.targets:
            if t == "nginx" and "nginx" in spec.kinds:
                out.append(t)
            elif t == "xs3lerator" and "xs3lerator" in spec.kinds:
                out.append(t)
            elif t in self.variants and "xs3lerator" in spec.kinds and not spec.self_start:
                scen = self.variants[t][1]
                if scen is None or spec.number in scen:
                    out.append(t)
        return out

    def make_target(self, spec, name, emu):
        if name == "machine":
            return Machine(self, emu, self.workdir)
        if name == "nginx":
            if spec.nginx == "static-h2":
                return NginxStatic(self, emu, self.workdir, docroot=self.docroot_dir(),
                                   http2=True)
            return Nginx(self, emu, self.workdir)
        # xs3lerator pins --metadata-ttl 0s so the TTL variant is compared against "ask S3 on
        # every request" whatever the proxy's default becomes.
        extra = ["--metadata-ttl", "0s"] if name == "xs3lerator" else list(self.variants[name][0])
        return Xs3lerator(self, emu, self.workdir, name=name, extra_args=extra,
                          binary=self.binaries.get(name))

    def docroot_dir(self):
        if self.docroot is None:
            self.docroot = os.path.join(self.tmp, "docroot")
            os.makedirs(self.docroot, exist_ok=True)
        return self.docroot

    def ensure_docroot(self, emu, names):
        """A docroot holding the emulator's bytes of `names` (built once per harness run)."""
        root = self.docroot_dir()
        missing = [n for n in names if not os.path.exists(os.path.join(root, n))]
        if missing:
            emu.download(missing, root)
        return root

    # ------------------------------------------------------------ one run

    def record(self, base, metric, better, value, status="ok", reason=""):
        self.rows.append(dict(base, metric=metric, better=better, value=value, status=status,
                              reason=reason))

    def run_one(self, spec, target_name, knob_label="", run=0):
        self.workdir = tempfile.mkdtemp(prefix=f"s{spec.number}-{target_name}-", dir=self.tmp)
        emu = Emulator(self, spec.profile, self.workdir, spec.groups)
        target = None
        t0 = time.time()
        base = {"scenario": spec.number, "title": spec.title(self), "target": target_name,
                "knob": knob_label, "run": run}
        try:
            emu.start()
            target = self.make_target(spec, target_name, emu)
            if spec.self_start:
                emu.wait_digests()
            else:
                target.start()
                emu.wait_digests()
            emu.reset()
            meter = Meter(target)
            metrics, served = spec.func(self, target, emu, meter)
            if target.proc is not None and not target.alive():
                raise ScenarioError("target exited: " + tail(target.log))
            if spec.resources:
                metrics["peak RSS MiB"] = (meter.rss / MiB, "lower")
                if spec.resources == "per_gb" and served:
                    metrics["CPU s/GB"] = (meter.cpu / (served / 1e9), "lower")
                elif spec.resources == "per_gb":
                    metrics["CPU s/GB"] = (float("nan"), "lower", "na", "no bytes served")
                else:
                    metrics["CPU s"] = (meter.cpu, "lower")
            for k, entry in metrics.items():
                value, better = entry[0], entry[1]
                status, reason = (entry[2], entry[3]) if len(entry) > 2 else ("ok", "")
                self.record(base, k, better, value, status, reason)
            bad = [e for e in metrics.values() if len(e) > 2 and e[2] == "fail"]
            status = "ok" if not bad else f"ok, {len(bad)} metric(s) FAIL"
        except NotAvailable as e:
            self.record(base, "(n/a)", "", float("nan"), "na", str(e)[:300])
            status = "n/a: " + str(e)[:120]
        except (ScenarioError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
            msg = str(e) or type(e).__name__
            if target is not None and target.proc is not None and not target.alive():
                msg += f" [target exited {target.proc.returncode}]"
            self.record(base, "(failed)", "", float("nan"), "fail", msg[:300])
            status = "FAILED: " + msg[:120]
        finally:
            if target is not None:
                target.stop()
            emu.stop()
            if not self.args.keep_temp:
                shutil.rmtree(self.workdir, ignore_errors=True)
        rep = f" run {run + 1}/{self.args.repeat}" if self.args.repeat > 1 else ""
        print(f"  scenario {spec.number:<2} {target_name:<14} {knob_label:<18}{rep} "
              f"{time.time() - t0:6.1f}s {status}", flush=True)

    def run_scenarios(self, knob_label=""):
        # Repetitions interleave targets, so a noisy minute hits every target alike.
        for n in self.args.scenarios:
            spec = SCENARIOS[n]
            for rep in range(self.args.repeat):
                for t in self.targets_for(spec):
                    self.run_one(spec, t, knob_label, rep)

    def run(self):
        self.tmp = tempfile.mkdtemp(prefix="xs3bench-", dir=self.args.tmp_dir)
        try:
            if self.args.sweep:
                knob, values = self.args.sweep
                for v in values:
                    self.knobs[knob] = v
                    self.run_scenarios(f"{knob}={v}")
            else:
                self.run_scenarios()
        finally:
            if self.args.keep_temp:
                print(f"kept caches and logs in {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


def parse_variant(text):
    name, sep, extra = text.partition("=")
    if not sep or not name or name in BASE_TARGETS or name in ("machine", BASELINE):
        raise argparse.ArgumentTypeError(
            f"--variant wants NAME=\"ARGS\" with a new NAME, got {text!r}")
    return name, shlex.split(extra)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=sorted(SCALES), default="full")
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                   help="comma-separated scenario numbers (7, resources, is measured in each)")
    p.add_argument("--targets", help="comma-separated: xs3lerator, nginx, xs3lerator-ttl and any "
                                     "--variant (default: all of them)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run every scenario x target N times; the table shows medians and the "
                        "spread")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--xs3lerator", help="proxy binary (default: BUILD/xs3lerator)")
    p.add_argument("--baseline", metavar="PATH",
                   help=f"another proxy binary, run as target {BASELINE} with xs3lerator's "
                        "arguments in every scenario xs3lerator runs (old build vs new, same run)")
    p.add_argument("--nginx", default="nginx")
    p.add_argument("--out", help="results directory (default: bench/results/<timestamp>)")
    p.add_argument("--tmp-dir", default=None,
                   help="where caches live during a run (the disk probe writes here too)")
    p.add_argument("--keep-temp", action="store_true", help="keep caches and logs of each run")
    # Knobs.
    p.add_argument("--chunk-size", help="xs3lerator --chunk-size (and nginx slice when given)")
    p.add_argument("--concurrency", help="xs3lerator --max-concurrency")
    p.add_argument("--workers", type=int, default=2, help="xs3lerator workers / nginx processes")
    p.add_argument("--direct-io", action="store_true", help="xs3lerator --direct-io")
    p.add_argument("--pipe-size", help="xs3lerator --pipe-size")
    p.add_argument("--splice-size", help="xs3lerator --splice-size")
    p.add_argument("--nginx-slice", default="8MiB", help="nginx slice size (1-8 MiB)")
    p.add_argument("--sweep", help="KNOB=v1,v2,...: run the scenarios once per value "
                                   "(knobs: chunk-size, concurrency, workers, direct-io, "
                                   "pipe-size, splice-size)")
    p.add_argument("--ttl", default="60s",
                   help="--metadata-ttl of the xs3lerator-ttl variant (xs3lerator runs with 0s)")
    p.add_argument("--variant", action="append", default=[], type=parse_variant,
                   help='NAME="ARGS": one more xs3lerator target with extra arguments, run in '
                        'every scenario xs3lerator runs (repeatable; NAME=xs3lerator-ttl '
                        'replaces the built-in variant\'s arguments)')
    # Load and origin.
    p.add_argument("--clients", type=int,
                   help="connections for scenarios 2, 3 and 5; streams for 10 and 11")
    p.add_argument("--duration", type=int,
                   help="seconds of wrk / h2load load for scenarios 2, 3, 10, 11")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--h2load-threads", type=int, default=1)
    p.add_argument("--origin-latency", default="20ms")
    p.add_argument("--origin-bandwidth", default="100MB", help="per origin connection, per second")
    p.add_argument("--emu-threads", type=int, default=2)
    p.add_argument("--no-sha224", dest="sha224", action="store_false",
                   help="objects without x-amz-meta-sha224")
    p.add_argument("--max-cache-size", default="8GiB")
    p.add_argument("--startup-timeout", type=float, default=120,
                   help="seconds scenario 12 waits for answers and for the scan to finish")
    p.add_argument("--xs3-arg", action="append", default=[], help="extra xs3lerator argument")
    p.add_argument("--emu-arg", action="append", default=[], help="extra s3emu argument")
    args = p.parse_args(argv)
    try:
        args.scenarios = [int(s) for s in args.scenarios.split(",")
                          if s.strip() and s.strip() != "7"]
    except ValueError:
        p.error(f"--scenarios wants numbers, got {args.scenarios!r}")
    for s in args.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s} (known: {', '.join(map(str, sorted(SCENARIOS)))})")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    try:
        parse_duration_ms(args.origin_latency)
    except argparse.ArgumentTypeError as e:
        p.error(f"--origin-latency: {e}")
    variants = [TTL_VARIANT] + [n for n, _ in args.variant if n != TTL_VARIANT]
    if args.baseline:
        if not os.path.exists(args.baseline):
            p.error(f"--baseline: {args.baseline} not found")
        variants.append(BASELINE)
    known = list(BASE_TARGETS) + variants
    if args.targets is None:
        args.targets = ["xs3lerator"] + variants + ["nginx"]
    else:
        args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in args.targets:
        if t not in known:
            p.error(f"unknown target {t} (known: {', '.join(known)})")
    if args.xs3lerator is None:
        args.xs3lerator = os.path.join(args.build_dir, "xs3lerator")
    if args.sweep:
        knob, _, values = args.sweep.partition("=")
        knobs = ("chunk-size", "concurrency", "workers", "direct-io", "pipe-size", "splice-size")
        if knob not in knobs or not values:
            p.error("--sweep wants KNOB=v1,v2 with KNOB one of " + ", ".join(knobs))
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if knob == "workers":
            vals = [int(v) for v in vals]
        args.sweep = (knob, vals)
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    h = Harness(args)
    started = datetime.datetime.now()
    out_dir = args.out or os.path.join(HERE, "results", started.strftime("%Y%m%d-%H%M%S"))
    sc = h.scale
    print(f"xs3lerator bench: scale={args.scale} (large {fmt_size(sc['big'])}, herd "
          f"{fmt_size(sc['herd'])}, huge {fmt_size(sc['huge'])}, {sc['medium_count']}x"
          f"{fmt_size(sc['medium'])}, {sc['tiny_count']}x{fmt_size(sc['tiny'])}, "
          f"{sc['clients']} clients, {sc['startup_files']} cached files), targets="
          f"{','.join(args.targets)}, origin {args.origin_bandwidth}/s per connection + "
          f"{args.origin_latency} first byte"
          + (f", {args.repeat} runs each" if args.repeat > 1 else ""), flush=True)
    h.run()
    table, charts = write_results(h, out_dir, started.isoformat(timespec="seconds"))
    print()
    print(table)
    print()
    print(f"results: {out_dir} (table.txt, results.csv, results.json"
          + (", " + ", ".join(charts) if charts else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
