"""How few executions `compare`'s interval still covers with: the floor of a budgeted comparison.

`measure.interleave.ab` with a time budget cuts the executions per side and round, never
below `MIN_EXECUTIONS` (4 rounds x 5 = 20 per side). The count is fixed from the warm-up,
before any timed sample, so what matters is how the 99% bootstrap interval of the ratio of
medians (`measure.stats.compare`) covers at a fixed small n. This draws both sides from
known distributions (true ratio of medians 1, or 0.5), runs `compare` on each draw and
prints, per n per side: coverage of the true ratio, how often a verdict other than
unchanged / inconclusive is called when nothing changed (A/A), how often a halving is
called an improvement, and the interval's median width.

    .venv/bin/python benchmarks/bench_ab_budget.py [--reps 1000] [--n 8,12,20,40,100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from perflab.measure.stats import COMPARE_BOOTSTRAP, compare  # noqa: E402


def lognormal(sigma: float):
    def draw(rng, n, scale):
        return scale * rng.lognormal(0.0, sigma, n)  # median = scale

    return draw


def bimodal(rng, n, scale):
    """70% near 1, 30% near 3 (a cache miss, a slow tail): median about 1.12 x scale."""
    x = np.where(rng.random(n) < 0.7, rng.normal(1.0, 0.05, n), rng.normal(3.0, 0.3, n))
    return scale * x


def true_median(draw, scale: float) -> float:
    rng = np.random.default_rng(12345)
    return float(np.median(draw(rng, 2_000_000, scale)))


SHAPES = {
    "lognormal s=0.1": lognormal(0.1),
    "lognormal s=0.5": lognormal(0.5),
    "bimodal 70/30": bimodal,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", default="8,12,20,40,100", help="timed executions per side")
    args = ap.parse_args()
    ns = [int(x) for x in args.n.split(",")]
    rng = np.random.default_rng(7)
    print(f"{args.reps} draws per row; 99% interval ({COMPARE_BOOTSTRAP.resamples} resamples)")
    print(f"{'shape':18s} {'n':>4s} {'ratio':>6s} {'coverage':>9s} {'called':>7s} {'width':>7s}")
    for shape, draw in SHAPES.items():
        for true in (1.0, 0.5):
            want = true_median(draw, true) / true_median(draw, 1.0)
            for n in ns:
                cover = called = 0
                widths = []
                for i in range(args.reps):
                    a, b = draw(rng, n, 1.0), draw(rng, n, true)
                    boot = COMPARE_BOOTSTRAP.__class__(conf=0.99, resamples=2000, seed=i)
                    c = compare(a, b, min_effect=0.05, boot=boot)
                    lo, hi = c["ci"]
                    cover += lo <= want <= hi
                    called += c["verdict"] in (
                        ("regression", "improvement") if true == 1.0 else ("improvement",)
                    )
                    widths.append(hi / lo)
                what = "false" if true == 1.0 else "power"
                print(
                    f"{shape:18s} {n:4d} {true:6.2f} {cover / args.reps:9.1%} "
                    f"{called / args.reps:6.1%}{what[0]} {np.median(widths):7.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
