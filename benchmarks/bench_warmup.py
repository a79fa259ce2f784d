"""What the warm-up after the counting pass does to p50: with it and without it, interleaved.

The latency stage runs an untimed counting pass over each query's first tuples (at most
100 executions or 2 s) on the timing connection, then a warm-up of the rest of the
profile's `warmup` tuples (at most `stopping.WARMUP_SECONDS`), then the timed loop. This
script times each query on fresh connections in two arms, A (counting pass only) and B
(counting pass and the warm-up of tuples 100..warmup), in A B, B A order per repeat, and
prints per query the p50 of each arm (median over repeats) and B / A: a warm-up that
matters shows as a ratio below 1 in every repeat.

    .venv/bin/python benchmarks/bench_warmup.py [--profile quick] [--repeat 4] [--n 400]
        [--max-ms 5]   # only queries whose counting pass ran below this per execution
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from perflab.inputs.config import RunInputs  # noqa: E402
from perflab.inputs.context import prepare  # noqa: E402
from perflab.measure.latency import sample_params  # noqa: E402
from perflab.measure.timing import time_statement  # noqa: E402
from perflab.sqlite import counters  # noqa: E402


def arm(ctx, sql: str, params: list[tuple], warm: int, n: int) -> float:
    """p50 (ms) of `n` timed executions on a fresh connection after the counting pass and
    `warm` more untimed executions."""
    conn = ctx.connect()
    try:
        counters.count_work(conn, sql, params, max_seconds=counters.MAX_SECONDS)
        first = counters.MAX_EXECUTIONS
        rest = params[first : first + warm]
        time_statement(conn, sql, rest, warmup=len(rest))
        timed = params[first + warm : first + warm + n]
        return float(np.median(time_statement(conn, sql, timed, warmup=0).ns)) / 1e6
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--max-ms", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = prepare(RunInputs.create(args.profile), run_dir=tmp, progress=False)
        prof = ctx.config.profile
        warm = max(0, prof.warmup - counters.MAX_EXECUTIONS)
        conn = ctx.connect()
        params = sample_params(conn, ctx.workload, 2 * (prof.warmup + args.n), ctx.build.seed)
        conn.close()
        print(
            f"profile {args.profile}: warm-up {prof.warmup} = counting pass "
            f"{counters.MAX_EXECUTIONS} + {warm} more; {args.n} timed, {args.repeat} repeats"
        )
        print(f"{'query':26s} {'A p50 ms':>9s} {'B p50 ms':>9s} {'B/A':>6s}   B/A per repeat")
        for q in ctx.workload.queries:
            ps = params[q.name]
            conn = ctx.connect()
            t0 = time.perf_counter()
            w = counters.count_work(conn, q.sql, ps, max_seconds=counters.MAX_SECONDS)
            conn.close()
            per_ms = (time.perf_counter() - t0) * 1e3 / max(1, w.executions if w else 1)
            if per_ms > args.max_ms:
                print(f"{q.name:26s} {per_ms:9.3f}  (not cheap: skipped)")
                continue
            a, b = [], []
            for rep in range(args.repeat):
                order = ("A", "B") if rep % 2 == 0 else ("B", "A")
                for label in order:
                    p50 = arm(ctx, q.sql, ps, warm if label == "B" else 0, args.n)
                    (a if label == "A" else b).append(p50)
            ratios = " ".join(f"{y / x:.2f}" for x, y in zip(a, b, strict=True))
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{q.name:26s} {ma:9.4f} {mb:9.4f} {mb / ma:6.2f}   {ratios}")


if __name__ == "__main__":
    main()
