"""Notebook 04's stage, this lib against an older one: seconds, and what the verdict reads.

Each run calls `stages.throughput.run` in a fresh process (the database from the cache,
no kernel), the two libraries alternating (A B, then B A, ... --repeat times), and
prints per run the stage's seconds, each step's seconds, and every output a decision or
a claim reads from the stage: each write target's ops/s with its 95% interval and status,
the concurrent-reads target's total (worst mode) with its interval and status, failed
data checks (critical issues) and failed reads (a high issue). It also says how many of
the reader sweep's configurations have both bounds of their p99 interval (a figure no
target reads, measured more cheaply, but still with its interval).

    PERFLAB_CACHE_DIR=... .venv/bin/python benchmarks/bench_throughput.py
        [--profile quick] [--against OLD/lib] [--repeat 1] [--lib DIR]

Export an older lib with `git archive <commit> lib | tar -x -C /tmp/old`.
"""

from __future__ import annotations

import argparse
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(lib: Path, profile: str, cprof: int = 0) -> dict:
    """One run of the stage in this process, with `lib` first on the path."""
    sys.path.insert(0, str(lib))
    sys.path.insert(1, str(HERE))
    import perflab
    from bench_stages import timed_stage
    from perflab.judge import verdict
    from perflab.stages.summary import RunRecords, measured

    with tempfile.TemporaryDirectory() as tmp:
        ctx = perflab.open_database(profile, run_dir=tmp)
        rec, secs, steps, prof = timed_stage(ctx, "throughput", cprof)
        if prof:  # to stderr: stdout carries the result
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(cprof)
        got = measured(RunRecords(throughput=rec), ctx.targets)
        targets = [
            {
                "target": f"{t.metric} {t.subject}",
                "status": t.status,
                "value": t.value,
                "ci": list(t.ci),
            }
            for t in verdict.evaluate_targets(got, ctx.targets)
            if t.metric in ("ops_per_s", "total_ms") and t.milestone == "current"
        ]
        conc = rec.concurrency
        sweep = conc.sweep if conc else ()
        both = sum(
            1 for r in sweep if None not in (r["latency_ci_ms"]["p99"] or [None]) and r["reads"]
        )
        failed_reads = sum(r["errors"] for r in sweep)
        if conc:
            failed_reads += sum(
                conc.concurrent_reads[m]["errors"]
                for m in ("thread", "process")
                if m in conc.concurrent_reads
            )
        return {
            "seconds": secs,
            "steps": {label: steps.totals[label] for _d, label in steps.order},
            "targets": targets,
            "failures": list(rec.failures),
            "failed_reads": failed_reads,
            "sweep_configs": len(sweep),
            "sweep_p99_bounded": both,
            "min_reads_per_config": min((r["reads"] for r in sweep), default=0),
        }


def _run(lib: Path, profile: str, cprof: int) -> dict:
    cmd = [sys.executable, __file__, "--child", "--lib", str(lib), "--profile", profile]
    done = subprocess.run([*cmd, "--cprofile", str(cprof)], capture_output=True, text=True)
    if done.returncode or cprof:
        print(done.stderr, file=sys.stderr)
    done.check_returncode()
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def show(label: str, r: dict) -> None:
    print(f"\n[{label}] stage {r['seconds']:.1f} s")
    for name, (n, secs) in r["steps"].items():
        print(f"  {name:40s} {n:4d}x {secs:7.2f} s")
    for t in r["targets"]:
        lo, hi = t["ci"]
        print(f"  {t['target']:40s} {t['status']:13s} {_fmt(t['value'])} [{_fmt(lo)}, {_fmt(hi)}]")
    print(
        f"  failed data checks {len(r['failures'])}; failed reads {r['failed_reads']}; "
        f"sweep: {r['sweep_p99_bounded']}/{r['sweep_configs']} configurations with both p99 "
        f"bounds, fewest reads {r['min_reads_per_config']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--lib", help="import perflab from this folder")
    ap.add_argument("--against", help="an older lib folder: alternate with it")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cprofile", type=int, default=0, help="print the N costliest functions")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    lib = Path(args.lib) if args.lib else HERE.parent / "lib"
    if args.child:
        print(json.dumps(child(lib, args.profile, args.cprofile)))
        return
    libs = {"new": lib} | ({"old": Path(args.against)} if args.against else {})
    runs: dict[str, list[dict]] = {k: [] for k in libs}
    for rep in range(args.repeat):
        order = list(libs) if rep % 2 == 0 else list(libs)[::-1]
        for label in order:
            r = _run(libs[label], args.profile, args.cprofile)
            runs[label].append(r)
            show(f"{label} {libs[label]} run {rep + 1}", r)
    print(f"\nprofile {args.profile}: median stage seconds over {args.repeat} run(s)")
    for label, rs in runs.items():
        print(f"  {label}: {statistics.median(r['seconds'] for r in rs):.1f} s")
    if "old" in runs:
        same = all(
            [t["status"] for t in a["targets"]] == [t["status"] for t in b["targets"]]
            and bool(a["failures"]) == bool(b["failures"])
            and bool(a["failed_reads"]) == bool(b["failed_reads"])
            for a, b in zip(runs["new"], runs["old"], strict=True)
        )
        print(f"  target statuses, failed checks and failed reads alike: {same}")


if __name__ == "__main__":
    main()
