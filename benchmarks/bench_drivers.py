"""Driver ratios: the same queries through sqlite3, aiosqlite and APSW on a tiny run.

Prints, per query, the p50 ratio of each driver to stdlib sqlite3 as
`measure.drivers.compare_drivers` reports it (drivers interleaved in rounds, the
same parameter tuples), and the median ratio per driver over all queries. Used to
check that a change to the timing loop leaves the driver comparison's figures as
they were: run it before and after, compare the medians.

    .venv/bin/python benchmarks/bench_drivers.py [--profile tiny] [--n 300] [--rounds 4]
"""

from __future__ import annotations

import argparse

from perflab import open_database
from perflab.measure import drivers
from perflab.measure.latency import sample_params


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    ctx = open_database(args.profile)
    conn = ctx.connect()
    params = sample_params(conn, ctx.workload, args.n, seed=1)
    conn.close()
    frame = drivers.compare_drivers(
        ctx.db_path, ctx.workload, params, warmup=20, max_seconds=None, rounds=args.rounds
    )
    table = frame.pivot(index="query", columns="driver", values="ratio_p50")
    print(f"p50 ratio to sqlite3, {args.rounds} interleaved rounds x {args.n - 20} calls")
    print(table.round(3).to_string())
    print("median over queries: " + ", ".join(f"{d} {v:.3f}" for d, v in table.median().items()))
    print(f"rows match across drivers: {bool(frame['rows_match'].all())}")


if __name__ == "__main__":
    main()
