"""Where each stage's time goes, without kernels: the stage functions called directly.

`bench_run.py` times whole notebooks (kernel start, papermill, figures included); this
prepares one context (the database from the cache) and calls `stages.<name>.run(ctx)`
in this process, with the measuring functions each stage calls wrapped in timers, so
every step's seconds show (call count, total, share of the stage). A step nested in
another is indented under it and counted in both.

    .venv/bin/python benchmarks/bench_stages.py [--profile quick] [--stages plans,latency]
        [--lib DIR] [--repeat 1] [--cprofile 0]

--lib imports perflab from DIR (an older commit's lib). --against DIR compares: each stage
runs in a fresh process per library, the two alternating (A B, then B A, ... --repeat
times), and the medians and their ratio (this lib / DIR's) print per stage, so load that
comes and goes hits both alike. Export an older lib with
`git archive <commit> lib | tar -x -C /tmp/old`.
--cprofile N prints the N costliest functions of each stage (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Steps timed inside each stage: (module, function). Only names that exist are wrapped,
#: so the script runs against older and newer libraries alike.
STEPS = {
    "plans": [
        ("perflab.measure.latency", "sample_params"),
        ("perflab.sqlite.plans", "workload_plans"),
        ("perflab.analysis.findings", "plan_findings"),
        ("perflab.analysis.diagnostics", "diagnose"),
        ("perflab.sqlite.counters", "count_work"),
    ],
    "latency": [
        ("perflab.measure.timing", "harness_overhead"),
        ("perflab.measure.latency", "sample_params"),
        ("perflab.measure.stopping", "time_sequential"),
        ("perflab.measure.timing", "time_statement"),
        ("perflab.sqlite.counters", "count_work"),
    ],
    "indexes": [
        ("perflab.measure.latency", "sample_params"),
        ("perflab.sqlite.plans", "workload_plans"),
        ("perflab.analysis.indexes", "inventory"),
        ("perflab.analysis.indexes", "usage_matrix"),
        ("perflab.analysis.indexes", "health"),
        ("perflab.analysis.indexes", "write_cost"),
        ("perflab.analysis.diagnostics", "diagnose"),
        ("perflab.analysis.advisor", "candidates"),
        ("perflab.analysis.advisor", "expert_candidates"),
        ("perflab.analysis.advisor", "evaluate"),
        ("perflab.analysis.advisor", "before_after"),
        ("perflab.analysis.advisor", "write_outputs"),
    ],
    "throughput": [
        ("perflab.measure.timing", "harness_overhead"),
        ("perflab.measure.throughput", "measure_writes"),
        ("perflab.measure.throughput", "pragma_sweep"),
        ("perflab.measure.throughput", "repeat_write"),
        ("perflab.measure.latency", "sample_params"),
        ("perflab.measure.concurrency", "reader_sweep"),
        ("perflab.measure.concurrency", "concurrent_reads"),
        ("perflab.measure.concurrency", "_run_group"),
        ("perflab.measure.drivers", "compare_drivers"),
        ("perflab.measure.drivers", "compare_plans"),
        ("perflab.sqlite.engine", "copy_database"),
    ],
    "scale": [
        ("perflab.measure.scale", "build_sweep"),
        ("perflab.measure.scale", "measure_sweep"),
        ("perflab.measure.latency", "measure_workload"),
        ("perflab.measure.latency", "sample_params"),
        ("perflab.measure.scale", "sweep_counters"),
        ("perflab.measure.scale", "fit_sweep"),
    ],
    "summary": [
        ("perflab.database.checks", "checked"),
        ("perflab.analysis.integrity", "integrity_records"),
        ("perflab.judge.verdict", "assess"),
    ],
}


class Steps:
    """Timers around module functions, patched where they are defined and wherever a
    stage module imported them by name."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}
        self.depth = 0
        self.order: list[tuple[int, str]] = []
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, modname: str, name: str) -> None:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            return
        orig = getattr(mod, name, None)
        if orig is None or not callable(orig):
            return
        label = f"{modname.rsplit('.', 1)[-1]}.{name}"

        @functools.wraps(orig)
        def timed(*a, **kw):
            if label not in self.totals:
                self.totals[label] = [0, 0.0]
                self.order.append((self.depth, label))
            self.depth += 1
            t0 = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                self.depth -= 1
                self.totals[label][0] += 1
                self.totals[label][1] += time.perf_counter() - t0

        for m in list(sys.modules.values()):
            ours = m is not None and getattr(m, "__name__", "").startswith("perflab")
            if ours and getattr(m, name, None) is orig:
                self._undo.append((m, name, orig))
                setattr(m, name, timed)

    def restore(self) -> None:
        for m, name, orig in reversed(self._undo):
            setattr(m, name, orig)
        self._undo.clear()


def timed_stage(ctx, name: str, cprof: int):
    """`stages.<name>.run(ctx)` with its steps wrapped in timers and, with `cprof`, under
    cProfile: (record, seconds, steps, profile or None)."""
    from perflab import stages

    steps = Steps()
    for modname, fn in STEPS.get(name, []):
        steps.wrap(modname, fn)
    prof = cProfile.Profile() if cprof else None
    t0 = time.perf_counter()
    try:
        if prof:
            prof.enable()
        rec = getattr(stages, name).run(ctx)
    finally:
        if prof:
            prof.disable()
        total = time.perf_counter() - t0
        steps.restore()
    return rec, total, steps, prof


def run_stage(ctx, name: str, cprof: int) -> None:
    _, total, steps, prof = timed_stage(ctx, name, cprof)
    print(f"{name:12s} {total:7.2f} s")
    for depth, label in steps.order:
        n, secs = steps.totals[label]
        name = f"{'  ' * depth}{label}"
        print(f"  {name:40s} {n:5d}x {secs:7.2f} s {secs / total:6.1%}")
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(cprof)
        print(s.getvalue())


def _stage_seconds(lib: Path, profile: str, stage: str) -> float:
    """One stage in a fresh process importing perflab from `lib`: its seconds."""
    out = subprocess.run(
        [sys.executable, __file__, "--lib", str(lib), "--profile", profile, "--stages", stage],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(rf"^{stage}\s+([0-9.]+) s", out, re.MULTILINE)
    if m is None:
        raise SystemExit(f"no timing for {stage} in:\n{out}")
    return float(m.group(1))


def against(new: Path, old: Path, profile: str, stages: list[str], repeat: int) -> None:
    """Each stage, old and new lib alternating per repeat: medians and new / old."""
    print(f"new: {new}\nold: {old}\nprofile {profile}, {repeat} alternating repeats per stage")
    print(f"{'stage':12s} {'old s':>8s} {'new s':>8s} {'new/old':>8s}   runs (old | new)")
    tot_old = tot_new = 0.0
    for stage in stages:
        runs: dict[str, list[float]] = {"old": [], "new": []}
        for rep in range(repeat):
            order = (("old", old), ("new", new)) if rep % 2 == 0 else (("new", new), ("old", old))
            for label, lib in order:
                runs[label].append(_stage_seconds(lib, profile, stage))
        mo, mn = statistics.median(runs["old"]), statistics.median(runs["new"])
        tot_old, tot_new = tot_old + mo, tot_new + mn
        shown = " ".join(f"{v:.1f}" for v in runs["old"]) + " | "
        shown += " ".join(f"{v:.1f}" for v in runs["new"])
        print(f"{stage:12s} {mo:8.2f} {mn:8.2f} {mn / mo:8.2f}   {shown}")
    print(f"{'sum':12s} {tot_old:8.2f} {tot_new:8.2f} {tot_new / tot_old:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--stages", default="plans,latency,indexes,throughput,scale,summary")
    ap.add_argument("--lib", help="import perflab from this folder")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cprofile", type=int, default=0)
    ap.add_argument("--against", help="an older lib folder: compare stage by stage")
    args = ap.parse_args()
    lib = Path(args.lib) if args.lib else Path(__file__).resolve().parents[1] / "lib"
    if args.against:
        stages = [s.strip() for s in args.stages.split(",")]
        against(lib, Path(args.against), args.profile, stages, args.repeat)
        return
    sys.path.insert(0, str(lib))
    from perflab.inputs.config import RunInputs
    from perflab.inputs.context import prepare

    load = Path("/proc/loadavg")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ctx = prepare(RunInputs.create(args.profile), run_dir=tmp, progress=False)
        secs = time.perf_counter() - t0
        print(f"perflab from {lib}; profile {args.profile}; prepare {secs:.2f} s")
        for rep in range(args.repeat):
            grand = time.perf_counter()
            for name in args.stages.split(","):
                run_stage(ctx, name.strip(), args.cprofile)
            loadavg = " ".join(load.read_text().split()[:3]) if load.exists() else "?"
            secs = time.perf_counter() - grand
            print(f"round {rep + 1}: all stages {secs:.2f} s (load {loadavg})")


if __name__ == "__main__":
    main()
