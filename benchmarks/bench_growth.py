"""Growth-class selection on synthetic curves: false growth on pure noise, and how wide
a range of sizes the class needs (the evidence behind `perflab.measure.scale.MIN_DECADES`).

Curves are t = 0.05 + g(n)/g(n_max) (a fixed overhead of 5% of the largest time, as a
lookup's harness cost), times (1 + noise·N(0, 1)) per size; sizes are geometric over the
span. Pure noise is t = 1 + noise·N(0, 1). Fixed seeds: the printed rates are exact.

    .venv/bin/python benchmarks/bench_growth.py [--trials 1000]
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import numpy as np
from perflab.measure import stats

GROWING = ("O(log n)", "O(n)", "O(n log n)", "O(n^2)")


@contextmanager
def old_aicc():
    """The AICc before the fix: the residual variance not counted."""
    fixed = stats.aicc_parameters
    stats.aicc_parameters = lambda name, b: 1 if (name == "O(1)" or b == 0) else 2
    try:
        yield
    finally:
        stats.aicc_parameters = fixed


def false_growth(points: int, noise: float, trials: int, seed: int = 0) -> float:
    """Fraction of pure-noise curves whose chosen class grows."""
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(1e3, 1e6, points)
    hits = 0
    for _ in range(trials):
        t = 1 + noise * rng.standard_normal(points)
        hits += stats.fit_growth(sizes, t).model != "O(1)"
    return hits / trials


def recovery(true: str, decades: float, points: int, noise: float, trials: int) -> dict:
    """Fractions of curves of class `true` called each class."""
    rng = np.random.default_rng(hash((true, decades, points, noise)) % 2**32)
    sizes = np.geomspace(1e3, 1e3 * 10**decades, points)
    g = stats.GROWTH_MODELS[true](sizes)
    base = 0.05 + (g / g.max() if true != "O(1)" else 0)
    out: dict[str, int] = {}
    for _ in range(trials):
        m = stats.fit_growth(sizes, base * (1 + noise * rng.standard_normal(points))).model
        out[m] = out.get(m, 0) + 1
    return {k: v / trials for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    args = ap.parse_args()
    tr = args.trials
    print("pure noise, 5 sizes over 3 decades: fraction that picks a growing class")
    print(f"{'noise':>6} {'AICc k (before)':>16} {'AICc k+1 (now)':>15}")
    for noise in (0.02, 0.05, 0.10, 0.20):
        with old_aicc():
            before = false_growth(5, noise, tr)
        print(f"{noise:6.0%} {before:16.2%} {false_growth(5, noise, tr):15.2%}")
    print()
    print("true class recovered (and called a *different growing* class), 5 and 7 sizes")
    for noise in (0.05, 0.10):
        for points in (5, 7):
            print(f"noise {noise:.0%}, {points} sizes")
            print(f"{'decades':>8} " + " ".join(f"{c:>16}" for c in ("O(1)", *GROWING)))
            for dec in (1.0, 1.5, 2.0, 2.5, 3.0):
                cells = []
                for true in ("O(1)", *GROWING):
                    r = recovery(true, dec, points, noise, tr // 2)
                    wrong = sum(v for k, v in r.items() if k in GROWING and k != true)
                    cells.append(f"{r.get(true, 0):7.0%} ({wrong:4.0%})")
                print(f"{dec:8.1f} " + " ".join(f"{c:>16}" for c in cells))
            print()


if __name__ == "__main__":
    main()
