"""Stage times of `perflab run --profile quick` (goal: under 90 s in all on 2 cores).

Runs the real command in a subprocess twice unless --once: the first run may
build the database (cold), the second reuses the cache (warm). Prints the
stage times from each run's summary.json.

    .venv/bin/python benchmarks/bench_run.py [--profile quick] [--once]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(profile: str, out: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "run", "--profile", profile, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        raise SystemExit(f"perflab run failed with exit code {proc.returncode}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "wall": wall,
        "stages": summary["stages"],
        "from_cache": summary["database"]["from_cache"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1 if args.once else 2):
            r = one_run(args.profile, Path(tmp) / f"run{i}")
            kind = "warm (database from cache)" if r["from_cache"] else "cold (database built)"
            print(f"run {i + 1}: {kind}: wall {r['wall']:.1f} s (goal < 90 s)")
            for name, secs in r["stages"].items():
                print(f"  {name:32s} {secs:7.2f} s")


if __name__ == "__main__":
    main()
