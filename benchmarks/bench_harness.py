"""Harness overhead: perflab's timed loop vs a bare hand-written loop.

Both time `session_by_id` with the same statement and parameter tuples on the
same connection, interleaved in rounds so machine noise hits both alike.
Goal: harness p50 within 1.25x of the bare loop's p50.

    .venv/bin/python benchmarks/bench_harness.py [--profile quick] [--rounds 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from perflab import open_database
from perflab.measure.latency import sample_params
from perflab.measure.timing import time_statement


def bare_loop(conn, sql, params):
    out = []
    clock = time.perf_counter_ns
    for p in params:
        t0 = clock()
        conn.execute(sql, p).fetchall()
        out.append(clock() - t0)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--query", default="session_by_id")
    args = ap.parse_args()
    ctx = open_database(args.profile)
    conn = ctx.connect()
    q = ctx.workload.query(args.query)
    params = sample_params(conn, ctx.workload, args.n, seed=1)[q.name]
    harness, bare = [], []
    for _ in range(args.rounds):
        harness.append(np.median(time_statement(conn, q.sql, params, warmup=0).ns))
        bare.append(np.median(bare_loop(conn, q.sql, params)))
    h, b = float(np.median(harness)), float(np.median(bare))
    print(f"query {q.name} on {ctx.db_path.name} ({args.rounds} interleaved rounds x {args.n})")
    print(f"harness p50 {h / 1e3:.2f} us   bare loop p50 {b / 1e3:.2f} us")
    print(f"ratio harness/bare {h / b:.3f}  (goal <= 1.25)")
    print(f"round-to-round spread: harness {np.ptp(harness) / h:.1%}, bare {np.ptp(bare) / b:.1%}")


if __name__ == "__main__":
    main()
