"""The database work of a whole run from a cold cache: the run's database, 05's sweep sizes
and 06's integrity check, old lib against new.

Each side runs in a fresh process with an empty cache folder (PERFLAB_CACHE_DIR) and does,
timing each step:

1. `prepare`: the database stage as `perflab run` calls it (new: with the run's notebook
   list, so the sweep sizes and the check are made there, in parallel processes);
2. `scale.build_sweep`: what notebook 05 does before measuring (new: finds every size in
   the cache);
3. the integrity check as notebook 06 takes it (old: `integrity_records` on the
   application's connection; new: `perflab.database.checks.checked`, read back).

CPU is user + system seconds of the process and its children (the pool's workers): on a
busy machine the wall clock shows the other load, the CPU seconds do not; on 2 idle cores
the wall is at least half of them. Peak RSS is the largest sum of resident memory over the
process and its children, sampled every 0.1 s (psutil), so two builds in parallel count
together.

    .venv/bin/python benchmarks/bench_database_stage.py [--profile full] [--against OLD/lib]
        [--repeat 1]

Export an older lib with `git archive <commit> lib | tar -x -C /tmp/old`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, inspect, resource


def cpu():
    a, b = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


from perflab.inputs.config import RunInputs, profile as get_profile
from perflab.inputs import context
from perflab.measure import scale
from perflab.run.runner import notebook_names

prof = sys.argv[1]
out = {}
t0 = time.perf_counter()
c0 = cpu()
new = "notebooks" in inspect.signature(context.prepare).parameters
kw = {"notebooks": notebook_names()} if new else {}
ctx = context.prepare(RunInputs.create(prof), progress=False, **kw)
out["prepare"] = time.perf_counter() - t0
t0 = time.perf_counter()
factors = get_profile(prof).scale_sweep.factors
builds = scale.build_sweep(ctx.dataset_spec, prof, factors, seed=ctx.config.seed)
out["sweep_in_05"] = time.perf_counter() - t0
out["sweep_sizes"] = len(builds)
t0 = time.perf_counter()
try:
    from perflab.database import checks
    c = checks.checked(ctx.db_path, store=True)
    out["check_reused"] = c.reused
    out["integrity_ok"] = c.integrity_ok
except ImportError:
    from perflab.analysis import integrity
    conn = ctx.connect()
    r = integrity.integrity(conn)
    conn.close()
    out["check_reused"] = False
    out["integrity_ok"] = r["integrity_ok"]
out["check_in_06"] = time.perf_counter() - t0
out["cpu"] = cpu() - c0
out["db_bytes"] = ctx.db_path.stat().st_size
print("RESULT " + json.dumps(out))
"""


def one(lib: Path, profile: str) -> dict:
    """One cold run of CHILD importing perflab from `lib`: its steps, wall and peak RSS."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="bench-dbstage-") as cache:
        env = dict(os.environ, PERFLAB_CACHE_DIR=cache, PYTHONPATH=str(lib))
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, profile],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                procs = [ps, *ps.children(recursive=True)]
                rss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        out = proc.stdout.read() if proc.stdout else ""
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"{lib}: child failed (exit {proc.returncode})")
        res = json.loads(line[len("RESULT ") :])
        return {**res, "wall": wall, "peak_rss_gib": peak / 2**30}


def show(label: str, r: dict) -> None:
    steps = r["prepare"] + r["sweep_in_05"] + r["check_in_06"]
    print(
        f"{label:4s} prepare {r['prepare']:7.1f} s | 05 builds {r['sweep_in_05']:6.1f} s "
        f"({r['sweep_sizes']} sizes) | 06 check {r['check_in_06']:6.1f} s "
        f"(reused {r['check_reused']}, ok {r['integrity_ok']}) | sum {steps:7.1f} s | "
        f"CPU {r['cpu']:7.1f} s | peak RSS {r['peak_rss_gib']:.2f} GiB | "
        f"db {r['db_bytes'] / 2**20:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--against", help="an older lib folder, run alternately with this one")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    new = Path(__file__).resolve().parents[1] / "lib"
    sides = [("new", new)] + ([("old", Path(args.against))] if args.against else [])
    print(f"profile {args.profile}, cold cache each run, load {os.getloadavg()[0]:.2f}")
    for rep in range(args.repeat):
        order = sides if rep % 2 == 0 else list(reversed(sides))
        for label, lib in order:
            show(label, one(lib, args.profile))
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
