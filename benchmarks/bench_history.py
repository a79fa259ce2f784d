"""How often `perflab history` calls a timing change point, by run-to-run noise.

Synthetic series of 8 runs (each run's p50 = 1 x exp(N(0, sigma)), within-run intervals
+-0.25% as tiny runs give): the A/A rate (any change point on a flat series) and, for a
step of `--step` (default 30%) at run 6, the rate at which it is called at run 6 and at a
wrong run. The A/A noise measured on this project's shared machine with 8 real tiny runs
was sigma 0.027-0.045 for p50 (0.14-0.38 for p99): compare your own A/A history with it
before trusting a timing change point, as `perflab compare` asks for its min_effect.

    .venv/bin/python benchmarks/bench_history.py [--trials 1000] [--step 0.3] [--runs 8]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from perflab.judge.history import Point, RunPoint, timing_changes


def series(rng, n: int, sigma: float, step_at: int | None, factor: float) -> list[Point]:
    out = []
    for i in range(n):
        v = math.exp(rng.normal(0, sigma)) * (factor if step_at is not None and i >= step_at else 1)
        out.append(Point(i + 1, v, v * 0.9975, v * 1.0025))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--step", type=float, default=0.3)
    ap.add_argument("--runs", type=int, default=8)
    a = ap.parse_args()
    runs = [RunPoint(i, f"r{i}", "-", machine="m") for i in range(1, a.runs + 1)]
    at = a.runs - 3  # 0-based: the step's first run is run (runs - 2)
    print(f"{a.runs} runs, step {a.step:+.0%} at run {at + 1}, {a.trials} seeds each")
    print("sigma   A/A rate   called at the step   called elsewhere   ms per series")
    for sigma in (0.02, 0.03, 0.045, 0.07, 0.1, 0.15):
        aa = hit = wrong = 0
        t0 = time.perf_counter()
        for seed in range(a.trials):
            rng = np.random.default_rng(seed)
            flat = timing_changes("q", "query", "p50", series(rng, a.runs, sigma, None, 1), runs)
            aa += any(c.called for c in flat)
            pts = series(rng, a.runs, sigma, at, 1 + a.step)
            got = [c for c in timing_changes("q", "query", "p50", pts, runs) if c.called]
            hit += any(c.run == at + 1 for c in got)
            wrong += any(c.run != at + 1 for c in got)
        ms = (time.perf_counter() - t0) * 1000 / (2 * a.trials)
        print(
            f"{sigma:5.3f}   {aa / a.trials:8.1%}   {hit / a.trials:18.1%}   "
            f"{wrong / a.trials:16.1%}   {ms:13.2f}"
        )


if __name__ == "__main__":
    main()
