"""What the concurrent-reads scenario's total measures, threads against processes.

`concurrency.concurrent_reads` times barrier release to the last read's end. With a fresh
fork per reader per repeat and a multiprocessing.Barrier (perflab before the worker pool),
the process total on this 2-core machine was 180-230 ms (quiet) to 420-760 ms (load 18)
for 50 readers whose slowest single read took 0.4 ms: the barrier's release, which wakes
its 50 waiters one at a time through one lock, not the reads. Threads gave 10-20 ms. With
the pool (workers forked once, released by one event) processes give 10-21 ms (quiet) to
12-51 ms (loaded), and the scenario takes 1.1 s instead of 5.0 s (quiet; 1.6 against
14.6 s loaded).

This prints, for the embedded default's scenario on the quick database, each mode's
totals per repeat, the slowest single read, the setup and the wall time. A ballast of
Python objects makes the parent as large as a notebook kernel (forks copy its page
tables; its pages are copied on write).

    .venv/bin/python benchmarks/bench_concurrency_start.py [--lib DIR] [--ballast 4000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", help="import perflab from this folder (e.g. an older commit's lib)")
    ap.add_argument("--ballast", type=int, default=4000, help="thousands of ints kept alive")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    lib = Path(args.lib) if args.lib else Path(__file__).resolve().parents[1] / "lib"
    sys.path.insert(0, str(lib))
    import perflab
    from perflab.measure import concurrency
    from perflab.measure.latency import sample_params

    ctx = perflab.open_database(args.profile)  # prepare() takes RunInputs now, not a name
    wl = ctx.workload
    scen = concurrency.scenario(wl)
    q = wl.query(scen.query)
    conn = ctx.connect()
    try:
        params = sample_params(conn, wl, 1000, ctx.build.seed)[q.name]
    finally:
        conn.close()
    ballast = [list(range(1000)) for _ in range(args.ballast)]
    print(f"perflab from {lib}; {scen.readers} readers x {scen.reads_per_reader} reads ({q.name})")
    shape = {"readers": scen.readers, "reads_per_reader": scen.reads_per_reader}
    for mode in ("thread", "process"):
        t0 = time.perf_counter()
        r = concurrency.concurrent_reads(
            ctx.db_path, q.sql, params, mode=mode, repeats=args.repeats, **shape
        )
        wall = time.perf_counter() - t0
        runs = " ".join(f"{v:.1f}" for v in r["total_ms_runs"])
        print(
            f"  {mode:8s} total ms per repeat: {runs}; slowest read {r['slowest_read_ms']:.2f} ms;"
            f" setup {r['setup_ms']:.0f} ms; wall {wall:.1f} s"
        )
    del ballast


if __name__ == "__main__":
    main()
