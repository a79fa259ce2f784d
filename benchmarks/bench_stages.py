"""Where each stage's time goes, without kernels: the stage functions called directly.

`bench_run.py` times whole notebooks (kernel start, papermill, figures included); this
prepares one context (the database from the cache) and calls `stages.<name>.run(ctx)`
in this process, with the measuring functions each stage calls wrapped in timers, so
every step's seconds show (call count, total, share of the stage). A step nested in
another is indented under it and counted in both.

    .venv/bin/python benchmarks/bench_stages.py [--profile quick] [--stages plans,latency]
        [--lib DIR] [--repeat 1] [--cprofile 0]

--lib imports perflab from DIR (an older commit's lib) to compare old and new code in
the same session: run the two one after the other, or interleave them with --repeat.
--cprofile N prints the N costliest functions of each stage (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import pstats
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
        ("perflab.analysis.findings", "quick_latency"),
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


def run_stage(ctx, name: str, cprof: int) -> None:
    from perflab import stages

    steps = Steps()
    for modname, fn in STEPS.get(name, []):
        steps.wrap(modname, fn)
    prof = cProfile.Profile() if cprof else None
    t0 = time.perf_counter()
    try:
        if prof:
            prof.enable()
        getattr(stages, name).run(ctx)
    finally:
        if prof:
            prof.disable()
        total = time.perf_counter() - t0
        steps.restore()
    print(f"{name:12s} {total:7.2f} s")
    for depth, label in steps.order:
        n, secs = steps.totals[label]
        name = f"{'  ' * depth}{label}"
        print(f"  {name:40s} {n:5d}x {secs:7.2f} s {secs / total:6.1%}")
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(cprof)
        print(s.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--stages", default="plans,latency,indexes,throughput,scale,summary")
    ap.add_argument("--lib", help="import perflab from this folder")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cprofile", type=int, default=0)
    args = ap.parse_args()
    lib = Path(args.lib) if args.lib else Path(__file__).resolve().parents[1] / "lib"
    sys.path.insert(0, str(lib))
    from perflab.run.context import prepare

    load = Path("/proc/loadavg")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ctx = prepare(args.profile, run_dir=tmp, progress=False)
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
