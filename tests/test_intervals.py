"""Order-statistic intervals (measure.quantile_ci): ranks pinned against scipy's
binomial over a grid of n, and coverage checked exactly and by simulation.

With x = 1..n the interval's bounds *are* its ranks, so a wrong rank is a wrong value."""

from __future__ import annotations

import numpy as np
import pytest
from perflab.measure.timing import quantile_ci
from scipy import stats

CONF = 0.95
A = (1 - CONF) / 2
GRID = [*range(1, 41), 50, 71, 72, 73, 99, 100, 101, 250, 367, 368, 369, 500, 1000, 2000]
QS = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def expected_ranks(n: int, q: float) -> tuple[int | None, int | None]:
    """The tightest ranks whose one-sided coverage is each >= 1 - A, from scipy.

    Lower rank l: P(X_(l) <= x_q) = P(K >= l) = binom.sf(l - 1) must be >= 1 - A; the
    largest such l. Upper rank u: P(X_(u) >= x_q) = binom.cdf(u - 1) >= 1 - A; the
    smallest such u. None when no rank in 1..n qualifies."""
    b = stats.binom(n, q)
    lows = [r for r in range(1, n + 1) if b.sf(r - 1) >= 1 - A]
    highs = [r for r in range(1, n + 1) if b.cdf(r - 1) >= 1 - A]
    return (max(lows) if lows else None), (min(highs) if highs else None)


@pytest.mark.parametrize("q", QS.values(), ids=QS.keys())
def test_ranks_match_the_binomial_over_a_grid_of_n(q):
    for n in GRID:
        x = np.arange(1, n + 1, dtype=float)
        _, lo, hi = quantile_ci(x, q, CONF)
        assert (lo, hi) == expected_ranks(n, q), f"n={n}, q={q}"


@pytest.mark.parametrize(
    ("q", "n_first"),
    [(0.5, 6), (0.95, 72), (0.99, 368)],
)
def test_an_upper_bound_first_exists_at_the_documented_n(q, n_first):
    # measurement-facts section 5 and the README: p95 needs 72 samples, p99 368
    assert quantile_ci(np.arange(1.0, n_first), q)[2] is None
    assert quantile_ci(np.arange(1.0, n_first + 1), q)[2] is not None


def test_pinned_ranks_for_the_runs_sample_sizes():
    # n = 1000 (tiny and quick profiles) and 2000 (full); from scipy once, pinned here
    pins = {
        (1000, 0.50): (469, 532),
        (1000, 0.95): (936, 964),
        (1000, 0.99): (983, 997),
        (2000, 0.99): (1971, 1989),
    }
    for (n, q), ranks in pins.items():
        _, lo, hi = quantile_ci(np.arange(1.0, n + 1), q)
        assert (lo, hi) == ranks, (n, q)


def test_exact_coverage_is_at_least_nominal_wherever_both_bounds_exist():
    for q in QS.values():
        for n in GRID:
            _, lo, hi = quantile_ci(np.arange(1.0, n + 1), q)
            if lo is None or hi is None:
                continue
            b = stats.binom(n, q)
            exact = b.cdf(hi - 1) - b.cdf(lo - 1)  # P(X_(lo) <= x_q <= X_(hi))
            assert exact >= CONF, (n, q, exact)


@pytest.mark.parametrize(("n", "q"), [(20, 0.5), (200, 0.95), (1000, 0.99)])
def test_simulated_coverage_equals_the_exact_binomial_coverage(n, q):
    rng = np.random.default_rng(20261126)
    reps = 1500
    truth = -np.log1p(-q)  # quantile of Exp(1)
    _, lo_r, hi_r = quantile_ci(np.arange(1.0, n + 1), q)
    b = stats.binom(n, q)
    exact = b.cdf(hi_r - 1) - b.cdf(lo_r - 1)
    hits = 0
    for _ in range(reps):
        _, lo, hi = quantile_ci(rng.exponential(size=n), q)
        hits += lo <= truth <= hi
    cover = hits / reps
    se = np.sqrt(exact * (1 - exact) / reps)
    assert abs(cover - exact) < 4 * se + 1e-9, (cover, exact)
    assert cover >= CONF - 4 * se


def test_the_estimate_is_the_sample_quantile_and_empty_input_has_no_bounds():
    x = np.random.default_rng(1).lognormal(size=999)
    est, _, _ = quantile_ci(x, 0.95)
    assert est == pytest.approx(np.quantile(x, 0.95))
    est, lo, hi = quantile_ci(np.array([]), 0.5)
    assert np.isnan(est) and lo is None and hi is None
