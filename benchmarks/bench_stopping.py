"""Coverage of the sequential stopping rule (perflab.measure.stopping), by simulation.

Draws latencies from lognormal, bimodal and heavy-tailed (Pareto) distributions whose
true quantiles are known, applies the rule many times and prints, per percentile, how
often the reported interval contains the true quantile (nominal >= 95%), where sampling
stopped, and the same for a naive rule that looks at plain 95% intervals (no Bonferroni
split), which is what optional stopping does to coverage.

Tolerances: the rule's defaults, and "edge" tolerances set to the median relative
half-width at the first checkpoint, so that about half the runs stop there: the case
where picking a narrow-looking interval biases coverage most. A third setting adds a
time cap that ends the loop when the drawn values (as seconds) exceed a budget, since a
cap is a data-dependent stop too. The last settings are what a query the cap cannot pay for
gets (a cap that affords a fifth, a twentieth or a hundredth of the executions): the looks
`StoppingRule.capped_looks` fixes from the mean of a 10-draw warm-up the interval never
sees (p95's bound at 1 - 0.01, then p99's at 1 - 0.04; or one look at 95% when the first
is out of reach), going on past the first while the rest of the cap, at the mean of the
values so far, pays for the second (PLAN_SHARE of it), under the time cap.

    .venv/bin/python benchmarks/bench_stopping.py [--reps 2000] [--max-n 4000]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from perflab.measure.stopping import PLAN_SHARE, StoppingRule, run_sequential  # noqa: E402
from perflab.measure.timing import PERCENTILES, quantile_ci  # noqa: E402

QS = ("p50", "p95", "p99")


def _bimodal_q(q: float) -> float:
    # 85% around 1 ms, 15% around 4 ms (a cache miss path): lognormal mixture, by bisection
    def cdf(x):
        return 0.85 * stats.lognorm.cdf(x, 0.15, scale=1.0) + 0.15 * stats.lognorm.cdf(
            x, 0.25, scale=4.0
        )

    lo, hi = 1e-6, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def _bimodal(rng: np.random.Generator, n: int) -> np.ndarray:
    hi = rng.random(n) < 0.15
    return np.where(hi, rng.lognormal(np.log(4.0), 0.25, n), rng.lognormal(0.0, 0.15, n))


DISTS = {
    "lognormal(0, 0.5)": (
        lambda rng, n: rng.lognormal(0.0, 0.5, n),
        lambda q: float(stats.lognorm.ppf(q, 0.5)),
    ),
    "bimodal 85/15": (_bimodal, _bimodal_q),
    "pareto(1.5)+1": (
        lambda rng, n: 1.0 + rng.pareto(1.5, n),
        lambda q: float(stats.lomax.ppf(q, 1.5) + 1.0),
    ),
}


def _capped(draw_fn, rng: np.random.Generator, budget: float | None):
    """A draw function and an over-time test for one run: with a budget, the values are
    seconds and the loop ends at the one that crosses it (as time_statement's cap does)."""
    spent = [0.0]

    def draw(count: int) -> np.ndarray:
        x = draw_fn(rng, count)
        if budget is None:
            return x
        cum = spent[0] + np.cumsum(x)
        k = int(np.searchsorted(cum, budget, side="right")) + 1  # the one crossing it
        x = x[: min(k, count)]
        spent[0] += float(x.sum())
        return x

    def over() -> bool:
        return budget is not None and spent[0] > budget

    return draw, over


def simulate(
    draw_fn,
    truth: dict[str, float],
    rule: StoppingRule,
    *,
    max_n: int,
    reps: int,
    seed: int,
    budget: float | None = None,
    capped: bool = False,
) -> dict:
    """Apply the rule `reps` times; coverage per percentile and the stop counts. `capped`:
    the capped looks, fixed from a separate warm-up's mean against `budget`, going on while
    the rest of `budget` pays for the next."""
    covered = dict.fromkeys(QS, 0)
    open_bound = dict.fromkeys(QS, 0)
    stops: list[int] = []
    reasons: dict[str, int] = {}
    for r in range(reps):
        draw, over = _capped(draw_fn, np.random.default_rng([seed, r]), budget)
        looks = None
        if capped:
            warm = draw_fn(np.random.default_rng([seed, r, 1]), 10)  # thrown away
            looks = rule.capped_looks(max_n, float(warm.mean()), budget)

        def afford(n, nxt, x):
            return float(x.mean()) * (nxt - n) <= (budget - float(x.sum())) * PLAN_SHARE

        x, rec = run_sequential(draw, rule, max_n, over_time=over, capped=looks, afford=afford)
        stops.append(rec.n)
        reasons[rec.reason] = reasons.get(rec.reason, 0) + 1
        for p in QS:
            _, lo, hi = quantile_ci(x, PERCENTILES[p], rec.conf)
            lo_ok = lo is None or lo <= truth[p]
            hi_ok = hi is None or truth[p] <= hi
            covered[p] += lo_ok and hi_ok
            open_bound[p] += lo is None or hi is None
    return {
        "coverage": {p: covered[p] / reps for p in QS},
        "open": {p: open_bound[p] / reps for p in QS},
        "stop_n": np.percentile(stops, [10, 50, 90], method="inverted_cdf").tolist(),
        "reasons": reasons,
    }


def edge_tolerance(
    draw_fn, rule: StoppingRule, max_n: int, seed: int, pilots: int = 200
) -> dict[str, float]:
    """Median relative half-width of each percentile at the first checkpoint."""
    first = rule.checkpoints(max_n)[0]
    conf = rule.look_conf(max_n)
    ws = {p: [] for p in rule.tolerance}
    for r in range(pilots):
        x = draw_fn(np.random.default_rng([seed, 10**6 + r]), first)
        for p, w in rule.widths(x, conf).items():
            ws[p].append(w)
    return {p: float(np.median(v)) for p, v in ws.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--max-n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    base = StoppingRule()
    print(
        f"checkpoints {base.checkpoints(args.max_n)}, per-look conf "
        f"{base.look_conf(args.max_n):.4f} (family 0.95), {args.reps} runs per row"
    )
    print(
        f"{'distribution':20s} {'setting':22s} {'cov p50':>8s} {'p95':>6s} {'p99':>6s}"
        f"  {'stop n p10/p50/p90':>20s}  reasons"
    )
    for name, (fn, qf) in DISTS.items():
        truth = {p: qf(PERCENTILES[p]) for p in QS}
        edge = replace(base, tolerance=edge_tolerance(fn, base, args.max_n, args.seed))
        naive = replace(base, split=False)
        naive = replace(naive, tolerance=edge_tolerance(fn, naive, args.max_n, args.seed))
        mean = float(np.mean(fn(np.random.default_rng(0), 100_000)))
        settings = [
            ("default tolerances", base, None),
            ("edge tolerances", edge, None),
            ("edge + time cap", edge, mean * args.max_n * 0.4),
            ("edge, naive 95%/look", naive, None),
            ("capped at 1/5 of max", base, mean * args.max_n * 0.2),
            ("capped at 1/20 of max", base, mean * args.max_n * 0.05),
            ("capped at 1/100 of max", base, mean * args.max_n * 0.01),
        ]
        for label, rule, budget in settings:
            res = simulate(
                fn,
                truth,
                rule,
                max_n=args.max_n,
                reps=args.reps,
                seed=args.seed,
                budget=budget,
                capped=label.startswith("capped"),
            )
            cov = res["coverage"]
            stop = "/".join(f"{v:.0f}" for v in res["stop_n"])
            print(
                f"{name:20s} {label:22s} {cov['p50']:8.3f} {cov['p95']:6.3f} {cov['p99']:6.3f}"
                f"  {stop:>20s}  {res['reasons']}"
            )


if __name__ == "__main__":
    main()
