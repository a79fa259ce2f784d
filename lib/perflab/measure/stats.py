"""Statistics that hold on noisy machines: bootstrap CIs, repeatability,
growth-model fits, and the comparison rule.

Percentile intervals come from order statistics (`measure.quantile_ci`): exact
and distribution-free where a percentile bootstrap under-covers at p99. The
bootstrap is used here only for statistics without an exact interval: the mean
(hence throughput = 1 / mean op time) and ratios of medians.

Growth models follow measurement-facts §6: t = a + b·g(n), a, b ≥ 0, fitted by
least squares on *relative* error (latencies span decades) and chosen by AICc,
which, unlike BIC, does not call constant data non-constant on small samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

# --------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Bootstrap:
    """How a percentile-bootstrap interval is drawn: its confidence, how many resamples,
    and the generator's seed (the same seed gives the same interval). One value for
    every bootstrap here, so a caller sets the three together, once."""

    conf: float = 0.95
    resamples: int = 2000
    seed: int = 0

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def bounds(self, estimates: np.ndarray) -> tuple[float, float]:
        """The central `conf` interval of the resampled estimates."""
        a = (1 - self.conf) / 2
        lo, hi = np.quantile(estimates, [a, 1 - a])
        return float(lo), float(hi)


#: The comparison's bootstrap: a 99% interval (measurement-facts §7).
COMPARE_BOOTSTRAP = Bootstrap(conf=0.99)


def bootstrap_ci(
    x: Sequence[float],
    stat: Callable[[np.ndarray], np.ndarray] | None = None,
    boot: Bootstrap = Bootstrap(),
) -> tuple[float, float, float]:
    """Percentile-bootstrap CI of a statistic; returns (estimate, lo, hi).

    `stat` takes a 2-D array (resamples, n) and reduces along axis 1 (default: mean).
    Deterministic for a given seed. With fewer than 2 samples the interval is
    the estimate itself (nothing to resample).
    """
    x = np.asarray(x, dtype=float)
    stat = stat or (lambda a: a.mean(axis=-1))
    if x.size == 0:
        return math.nan, math.nan, math.nan
    est = float(stat(x[None, :])[0])
    if x.size < 2:
        return est, est, est
    rng, total = boot.rng(), boot.resamples
    # resample in chunks to bound memory (resamples x n can be large)
    chunk = max(1, min(total, 2_000_000 // x.size))
    vals = []
    for start in range(0, total, chunk):
        b = min(chunk, total - start)
        vals.append(stat(x[rng.integers(0, x.size, (b, x.size))]))
    return (est, *boot.bounds(np.concatenate(vals)))


def throughput_ci(
    op_seconds: Sequence[float], ops_per_unit: float = 1.0, boot: Bootstrap = Bootstrap()
) -> dict:
    """Throughput with a bootstrap CI from per-unit durations (seconds).

    A unit is one transaction; it carries `ops_per_unit` operations (the batch
    size). ops/s = ops_per_unit / mean(unit seconds); the CI is the bootstrap
    CI of the mean mapped through that (monotone) function, so lo/hi swap.
    """
    est, lo, hi = bootstrap_ci(op_seconds, boot=boot)
    if not (est > 0):
        return {"ops_per_s": None, "ci": [None, None], "conf": boot.conf, "units": len(op_seconds)}
    return {
        "ops_per_s": ops_per_unit / est,
        "ci": [ops_per_unit / hi if hi > 0 else None, ops_per_unit / lo if lo > 0 else None],
        "conf": boot.conf,
        "units": int(len(op_seconds)),
    }


# ----------------------------------------------------------------- repeatability


def repeatability(values: Sequence[float]) -> dict:
    """Spread of repeated measurements of one quantity.

    spread_pct = (max - min) / median · 100; cv_pct = sample std / mean · 100.
    `stable` follows pyperf's check: a CV under 10%.
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {
            "n": 0,
            "values": [],
            "median": None,
            "spread_pct": None,
            "cv_pct": None,
            "stable": None,
        }
    med = float(np.median(v))
    cv = float(v.std(ddof=1) / v.mean() * 100) if v.size > 1 and v.mean() else 0.0
    spread = float((v.max() - v.min()) / med * 100) if med else 0.0
    return {
        "n": int(v.size),
        "values": v.tolist(),
        "median": med,
        "min": float(v.min()),
        "max": float(v.max()),
        "spread_pct": spread,
        "cv_pct": cv,
        "stable": bool(cv < 10.0),
    }


#: Fewest samples an A/A spread is computed from (4 per half).
MIN_AA_SAMPLES = 8


def aa_spread(
    samples: Sequence[float], stat: Callable[[np.ndarray], float] = np.median
) -> float | None:
    """The run's own A/A spread: how far apart `stat` of two halves of its samples lie,
    as a ratio >= 1. Two splits are taken (alternate samples, and first half against
    second half, which also sees drift during the run) and the larger is kept; a
    comparison calls a timing change only beyond it. None below `MIN_AA_SAMPLES`."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < MIN_AA_SAMPLES:
        return None
    h = x.size // 2
    worst = 1.0
    for a, b in ((x[0::2], x[1::2]), (x[:h], x[h:])):
        sa, sb = float(stat(a)), float(stat(b))
        if sa <= 0 or sb <= 0:
            return None
        worst = max(worst, sa / sb, sb / sa)
    return worst


# ------------------------------------------------------------------ comparison


def compare(
    base: Sequence[float],
    head: Sequence[float],
    *,
    min_effect: float = 0.05,
    boot: Bootstrap = COMPARE_BOOTSTRAP,
) -> dict:
    """Ratio of medians (head / base) with a bootstrap CI (99% by default), and a verdict.

    regression: CI lower bound > 1 and ratio ≥ 1 + min_effect; improvement: the
    mirror; inconclusive: the effect is large but the CI straddles 1; else
    unchanged (measurement-facts §7).
    """
    rng, n = boot.rng(), boot.resamples
    b = np.asarray(base, dtype=float)
    h = np.asarray(head, dtype=float)
    mb = np.median(b[rng.integers(0, b.size, (n, b.size))], axis=1)
    mh = np.median(h[rng.integers(0, h.size, (n, h.size))], axis=1)
    lo, hi = boot.bounds(mh / mb)
    r = float(np.median(h) / np.median(b))
    if lo > 1 and r >= 1 + min_effect:
        verdict = "regression"
    elif hi < 1 and r <= 1 / (1 + min_effect):
        verdict = "improvement"
    elif r >= 1 + min_effect or r <= 1 / (1 + min_effect):
        verdict = "inconclusive"
    else:
        verdict = "unchanged"
    return {
        "verdict": verdict,
        "ratio": r,
        "ci": [lo, hi],
        "conf": boot.conf,
        "min_effect": min_effect,
    }


# ---------------------------------------------------------------- growth models

GROWTH_MODELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "O(1)": lambda n: np.ones_like(n, dtype=float),
    "O(log n)": lambda n: np.log(n),
    "O(n)": lambda n: n.astype(float),
    "O(n log n)": lambda n: n * np.log(n),
    "O(n^2)": lambda n: n.astype(float) ** 2,
}


#: Fewest sizes a growth fit accepts: k = 3 (a, b, variance) needs m - k - 1 > 0.
MIN_GROWTH_POINTS = 5


@dataclass(frozen=True)
class GrowthFit:
    """The chosen model t(n) = a + b·g(n)/g(n_ref) and how well it fits."""

    model: str
    a: float
    b: float
    n_ref: float  # g is normalized by g(n_ref) (the largest size fitted)
    rel_rmse: float  # root mean square relative error of the fit
    aicc: dict[str, float] = field(default_factory=dict)  # per model
    weights: dict[str, float] = field(default_factory=dict)  # Akaike weights
    n_points: int = 0

    def predict(self, n: float | np.ndarray) -> np.ndarray:
        g = GROWTH_MODELS[self.model]
        n = np.asarray(n, dtype=float)
        if self.model == "O(1)":
            return self.a + self.b * np.ones_like(n)
        return self.a + self.b * g(n) / g(np.asarray(self.n_ref, dtype=float))

    def crossing(self, threshold: float, n_max: float = 1e15) -> float | None:
        """Smallest n ≥ 1 where the model reaches `threshold`.

        Returns None if it never does below n_max (O(1) under the threshold, or a
        slope too small), 1.0 if it is already above it at n = 1.
        """
        if self.predict(1.0) >= threshold:
            return 1.0
        if self.model == "O(1)" or self.b <= 0 or self.predict(n_max) < threshold:
            return None
        lo, hi = 1.0, n_max  # predict is increasing in n: bisect on log n
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            if self.predict(mid) >= threshold:
                hi = mid
            else:
                lo = mid
            if hi / lo < 1 + 1e-9:
                break
        return float(hi)

    def as_dict(self) -> dict:
        return asdict(self)


def _usable(n: Sequence[float], t: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The (size, time) points a growth fit can use: finite, n ≥ 1 and t > 0."""
    n = np.asarray(n, dtype=float)
    t = np.asarray(t, dtype=float)
    ok = np.isfinite(n) & np.isfinite(t) & (n >= 1) & (t > 0)
    return n[ok], t[ok]


def _fit_class(name: str, n: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Best (rss, a, b) of t ≈ a + b·g(n)/g(n_max) for one growth class, by relative least
    squares with a, b ≥ 0 (the unconstrained optimum, else a or b alone)."""
    m = n.size
    if name != "O(1)":
        gn = GROWTH_MODELS[name](n)
        gx = gn / gn.max()
    else:
        gx = np.ones(m)
    # constant candidate: the relative-LS optimum of a alone
    cands = [(float(np.sum(1 / t) / np.sum(1 / t**2)), 0.0)]
    if name != "O(1)":
        A = np.column_stack([np.ones(m), gx]) / t[:, None]
        a, b = np.linalg.lstsq(A, np.ones(m), rcond=None)[0]
        if a >= 0 and b >= 0:
            cands.append((float(a), float(b)))
        w = gx / t
        b0 = float(w.sum() / (w @ w))
        if b0 > 0:
            cands.append((0.0, b0))
    return min((float(np.sum(((a + b * gx) / t - 1) ** 2)), a, b) for a, b in cands)


def aicc_parameters(name: str, b: float) -> int:
    """Parameters the AICc counts for one fitted class: the curve's (a; or a and b) plus
    the residual variance, which least squares estimates too (rss / m). Leaving the
    variance out under-penalizes the two-parameter classes on 5 points and lets pure
    noise pick a growing class ~4.5% of the time instead of ~0.2% (benchmarks/bench_growth.py).
    """
    return (1 if (name == "O(1)" or b == 0) else 2) + 1


def fit_growth(n: Sequence[float], t: Sequence[float], *, parsimony: float = 0.0) -> GrowthFit:
    """Fit every growth class by relative least squares with a, b ≥ 0; pick by AICc.

    With `parsimony` > 0 the simplest class whose AICc is within that much of the
    best wins (ΔAICc ≤ 2 is the usual "as well supported" band); 0 = plain minimum.

    Needs at least MIN_GROWTH_POINTS sizes (a growing class has k = 3 parameters with
    the variance, and AICc needs m - k - 1 > 0). Whether the fit may be *claimed* is
    decided elsewhere (`perflab.measure.scale`): material growth, enough range, counters.
    """
    n, t = _usable(n, t)
    m = n.size
    if m < MIN_GROWTH_POINTS:
        raise ValueError(
            f"growth fit needs at least {MIN_GROWTH_POINTS} sizes with positive times, got {m}"
        )
    best: tuple | None = None
    aiccs: dict[str, float] = {}
    fits: dict[str, tuple[float, float, float, int]] = {}
    for name in GROWTH_MODELS:
        rss, a, b = _fit_class(name, n, t)
        k = aicc_parameters(name, b)
        # the floor keeps float noise (rss ~ 1e-30 on exact curves) from picking a class
        aicc = m * math.log(rss / m + 1e-20) + 2 * k + 2 * k * (k + 1) / (m - k - 1)
        aiccs[name] = aicc
        fits[name] = (a, b, rss, k)
        # ties (e.g. b == 0 reduces to the constant) go to the simpler model: keep first
        if best is None or aicc < best[0] - 1e-9:
            best = (aicc, name)
    assert best is not None
    name = best[1]
    if parsimony > 0:
        name = next(k for k in GROWTH_MODELS if aiccs[k] <= best[0] + parsimony)
    a, b, rss, _ = fits[name]
    # a class whose best fit has b = 0 *is* the constant model: not a rival of its own
    distinct = {k: v for k, v in aiccs.items() if k == "O(1)" or fits[k][1] > 0}
    amin = min(distinct.values())
    raw = {k: math.exp(-(v - amin) / 2) for k, v in distinct.items()}
    tot = sum(raw.values())
    if name == "O(1)" or b == 0:
        name, b = "O(1)", 0.0
        a = fits["O(1)"][0]
    return GrowthFit(
        model=name,
        a=float(a),
        b=float(b),
        n_ref=float(n.max()),
        rel_rmse=float(math.sqrt(rss / m)),
        aicc=aiccs,
        weights={k: v / tot for k, v in raw.items()},
        n_points=int(m),
    )


def refit(model: str, n: Sequence[float], t: Sequence[float]) -> GrowthFit:
    """Fit one given class (e.g. the p99 curve with the class chosen on p50)."""
    n, t = _usable(n, t)
    m = n.size
    rss, a, b = _fit_class(model, n, t)
    return GrowthFit(
        model if b > 0 else "O(1)",
        a,
        b,
        float(n.max()),
        float(math.sqrt(rss / max(m, 1))),
        {},
        {},
        int(m),
    )
