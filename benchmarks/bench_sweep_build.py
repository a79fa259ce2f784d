"""Cold build time of a scale sweep: the run's own database reused for the largest size.

In a fresh cache folder: builds the run's database (as `perflab run` does before any
notebook), then the sweep with `scale.build_sweep` (which finds the factor-1 size in
the cache), then, for the baseline, what the sweep built before: the factor-1 size again
under its sweep name (same rows, same content, another file).

    .venv/bin/python benchmarks/bench_sweep_build.py [--profile tiny|quick|full]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PERFLAB_CACHE_DIR"] = tmp
        from perflab import paths
        from perflab.database import sizes
        from perflab.database.build import cached_database
        from perflab.database.source import load_dataset_spec
        from perflab.inputs import config
        from perflab.measure import scale

        spec = load_dataset_spec(paths.DEFAULT_DATASET)
        base = args.profile
        t0 = time.perf_counter()
        cached_database(spec, base, progress=False)
        t_run = time.perf_counter() - t0
        factors = config.profile(args.profile).scale_sweep.factors
        t0 = time.perf_counter()
        builds = scale.build_sweep(spec, base, factors)
        t_sweep = time.perf_counter() - t0
        name, rows = list(sizes.sweep_scales(spec, base, factors).items())[-1]
        t0 = time.perf_counter()
        cached_database(replace(spec, scales={**spec.scales, name: rows}), name, progress=False)
        t_dup = time.perf_counter() - t0
    print(f"profile {args.profile}: {len(builds)} sizes, load {os.getloadavg()[0]:.2f}")
    print(f"  run's database (built before the notebooks)   {t_run:7.2f} s")
    print(f"  sweep, reusing it for the largest size        {t_sweep:7.2f} s")
    print(f"  sweep as before (+ the largest built again)   {t_sweep + t_dup:7.2f} s")
    print(f"  ratio after / before                           {t_sweep / (t_sweep + t_dup):7.2f}")


if __name__ == "__main__":
    main()
