"""When to stop sampling a query: once its reported percentiles are known well enough.

A fixed count wastes time twice: a cheap, steady query gets far more executions than
its percentiles need, and a slow one spends its whole budget. This rule looks at the
samples at geometric checkpoints (n0, 2·n0, 4·n0, ..., max) and stops at the first one
where every reported percentile's distribution-free interval (`timing.quantile_ci`) has
a relative half-width, (hi - lo) / 2 / estimate, within its tolerance.

Optional stopping biases coverage: looking at an interval several times and stopping
when it looks good picks the looks where it happens to be narrow. The rule keeps its
coverage by a Bonferroni split of alpha over the checkpoints (the simplest
alpha-spending schedule, fixed before any sample is drawn): with K looks, each interval
is computed at 1 - alpha / K, so the probability that the interval at *any* look misses
its true quantile is at most K · alpha / K = alpha, whatever the stopping time.
The interval reported is therefore a conservative (>= conf) interval, never a narrower
one. `benchmarks/bench_stopping.py` shows the coverage by simulation (lognormal, bimodal,
heavy-tailed), `tests/test_stopping.py` a fast version of it: 98.2-99.6% with the split,
and 95.2-96.6% when every look uses plain 95% intervals (2000 runs each, tolerances set
where half the runs stop at the first look). Stopping on the width alone biases these
intervals little; the split makes the 95% a guarantee rather than an observation.

A percentile needs a minimum count before its interval has both bounds (p99 at 97.5%,
two looks: 437 samples); the first checkpoint is that count, so no look is spent where the rule
cannot stop. A time cap still ends any loop: then the interval is reported as it is
(a bound may be missing, as before).

A query the time cap cannot pay for: when its time per execution, measured *before* the
timed loop (the counting pass, the warm-up), says the cap affords fewer than all
executions, sampling up to the cap buys width but no new bound; only the counts at which
a bound appears matter. Such a query gets at most two looks, fixed before its first
timed sample (`StoppingRule.capped_looks`): where p95's interval gains both bounds, then
where p99's does, with the family's alpha split between them unequally and in advance
(FIRST_LOOK_ALPHA: 0.01 at the first look, 0.04 at the second, 104 and 390 samples;
weighted Bonferroni, so every reported interval covers with >= 95% whichever look it
stops at). At the first look it goes on only if the rest of its cap, at the mean time
per execution of the samples so far, pays for the second (PLAN_SHARE of it); either stop
is "planned". A query whose estimate says the cap cannot even pay for the first look gets
one look at 95%, the largest count where a bound appears that it pays for (p50 6,
p95 72). `bench_stopping.py` simulates all three plans ("capped" rows, 1000 runs each
over lognormal, bimodal and Pareto draws, looks fixed from a 10-draw warm-up): 96.0-99.9%
coverage; with Pareto's tail 1-2% of the runs were cut by the cap before their look.
Until 2026-11 these looks were p50's, p95's and p99's at an equal three-way split (7,
94 and 477 samples). One look planned from the estimate alone (368) was tried and lost
a heavy-tailed query's p99 at full: audit_by_namespace's first executions said > 130 ms
each (its mean over 477 is ~75 ms), so it planned p95's look; the look at 104 now decides
on its own samples.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from perflab.measure.timing import PERCENTILES, Samples, quantile_ci, time_statement
from perflab.results import to_jsonable

#: Relative half-width each reported percentile must reach before sampling stops.
#: p50 5%: the comparison's smallest effect (measurement-facts §7, min_effect 0.05) is
#: then resolved by each run's own median. p95 and p99 10%: a tail interval narrower than
#: that needs ~10x the samples for each halving (only 1% of samples lie beyond p99),
#: and the targets the tail is judged against are far coarser than 10%.
DEFAULT_TOLERANCE: Mapping[str, float] = {"p50": 0.05, "p95": 0.10, "p99": 0.10}


def min_count(q: float, conf: float) -> int:
    """Fewest samples for which the order-statistic interval of quantile `q` at `conf`
    has both bounds: the upper bound needs q^n <= alpha / 2, the lower (1 - q)^n."""
    a = (1 - conf) / 2
    tail = max(q, 1 - q)
    return int(math.ceil(math.log(a) / math.log(tail)))


@dataclass(frozen=True)
class StoppingRule:
    """Checkpoints, tolerances and the per-look confidence for one sampling loop.

    `conf` is the family confidence: each reported interval covers its quantile with at
    least this probability over the whole sequential procedure.
    """

    tolerance: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    conf: float = 0.95
    growth: float = 2.0  # checkpoint ratio
    #: Bonferroni split of alpha over the looks. False only shows (bench_stopping.py) what
    #: looking at plain `conf` intervals does to coverage.
    split: bool = True

    def checkpoints(self, max_n: int) -> tuple[int, ...]:
        """Sample counts at which the rule looks, ending at `max_n`.

        The first is the count at which every tolerated percentile has both bounds at the
        per-look confidence, which itself depends on how many looks there are: solved
        by iterating from one look (the count only grows with K, so this terminates)."""
        k = 1
        while True:
            look = 1 - (1 - self.conf) / (k if self.split else 1)
            first = max(min_count(PERCENTILES[p], look) for p in self.tolerance)
            pts: list[int] = []
            n = first
            while n * math.sqrt(self.growth) < max_n:  # no look just before the last
                pts.append(n)
                n = int(math.ceil(n * self.growth))
            pts.append(max_n)
            if len(pts) <= k:
                return tuple(pts)
            k = len(pts)

    def look_conf(self, max_n: int) -> float:
        """Confidence of each look's intervals: 1 - (1 - conf) / K (Bonferroni)."""
        if not self.split:
            return self.conf
        return 1 - (1 - self.conf) / len(self.checkpoints(max_n))

    def widths(self, x: np.ndarray, conf: float) -> dict[str, float]:
        """Relative half-width of each tolerated percentile's interval (inf: a bound is
        missing or the estimate is not positive)."""
        out = {}
        for p in self.tolerance:
            est, lo, hi = quantile_ci(x, PERCENTILES[p], conf)
            ok = lo is not None and hi is not None and est > 0
            out[p] = (hi - lo) / 2 / est if ok else math.inf
        return out

    def satisfied(self, x: np.ndarray, conf: float) -> bool:
        """Every tolerated percentile's interval is within its tolerance."""
        w = self.widths(x, conf)
        return all(w[p] <= tol for p, tol in self.tolerance.items())

    def bound_counts(self, max_n: int) -> tuple[int, ...]:
        """The counts at which each tolerated percentile's interval gains both bounds at
        `conf` in one look, at most `max_n`: p50 6, p95 72, p99 368 at 95%."""
        return tuple(
            sorted({min(max_n, min_count(PERCENTILES[p], self.conf)) for p in self.tolerance})
        )

    def capped_looks(self, max_n: int, per_execution: float, seconds: float) -> tuple[Look, ...]:
        """The looks of a query the cap cannot pay for, fixed before its first timed sample.

        Two, when PLAN_SHARE of `seconds` pays for the first at `per_execution`: where the
        second-highest tolerated percentile gains both bounds at 1 - FIRST_LOOK_ALPHA x
        alpha, then where the highest does at the rest of alpha (p95 104, p99 390).
        Otherwise one at `conf`: the largest `bound_counts` below the highest percentile's
        that it pays for, the smallest when none (the cap may then end the loop first)."""
        alpha = 1 - self.conf
        qs = sorted(PERCENTILES[p] for p in self.tolerance)
        if self.split and len(qs) >= 2:
            c1 = 1 - alpha * FIRST_LOOK_ALPHA
            c2 = 1 - alpha * (1 - FIRST_LOOK_ALPHA)
            first = Look(min(max_n, min_count(qs[-2], c1)), c1)
            if first.n * per_execution <= PLAN_SHARE * seconds:
                return first, Look(min(max_n, min_count(qs[-1], c2)), c2)
        counts = [min(max_n, min_count(q, self.conf)) for q in qs[:-1] or qs]
        fit = [c for c in counts if c * per_execution <= PLAN_SHARE * seconds]
        return (Look(max(fit) if fit else min(counts), self.conf),)

    @staticmethod
    def capped(max_n: int, per_execution: float | None, seconds: float | None) -> bool:
        """Whether `seconds` cannot pay for `max_n` executions of `per_execution` seconds
        (False when either is unknown: the ordinary looks run, and the cap still ends them)."""
        if per_execution is None or seconds is None or per_execution <= 0:
            return False
        return seconds / per_execution < max_n


#: Longest warm-up after the counting pass, which already ran the first tuples untimed
#: (benchmarks/bench_warmup.py: what more warm-up does to p50).
WARMUP_SECONDS = 1.0


def warmup_cap(max_seconds: float | None) -> float:
    """How long a query's warm-up may last: WARMUP_SECONDS, or a quarter of the query's
    time cap when that is less (the counting pass, which is the warm-up, takes the same)."""
    return WARMUP_SECONDS if max_seconds is None else min(WARMUP_SECONDS, max_seconds / 4)


#: Share of the cap (of what is left of it, at a second look) a capped query plans on
#: spending to reach its next look at its estimated time per execution: a loop cut by the
#: cap just before a look spends the time without gaining the bound.
PLAN_SHARE = 0.8

#: Share of the family's alpha a capped query's first look spends, of two (weighted
#: Bonferroni, fixed in advance): 0.01 there (p95 bounds at 104 samples), 0.04 at the second
#: (p99 at 390). An equal split would put them at 86 and 436: most capped queries at full
#: go on to the second look, so it is the one made cheap.
FIRST_LOOK_ALPHA = 0.2

#: The rule `latency.measure_workload` uses unless told otherwise.
DEFAULT_RULE = StoppingRule()


@dataclass(frozen=True)
class Look:
    """A count at which a capped query looks, and the confidence of its intervals there."""

    n: int
    conf: float


@dataclass(frozen=True)
class StopRecord:
    """How one sampling loop ended, as the latency record carries it."""

    # "precise" (tolerances met), "max" (all executions), "time" (cap), "planned" (a
    # capped query's look after which the rest of the cap cannot pay for the next)
    reason: str
    n: int
    looks: int  # checkpoints evaluated
    conf: float  # confidence of the reported intervals (per look, Bonferroni)
    rel_half_width: dict[str, float]  # per percentile at the end (inf: a bound is missing)

    def as_dict(self) -> dict:
        """As the latency record carries it (an infinite width as None)."""
        return to_jsonable(asdict(self))


def run_sequential(
    draw: Callable[[int], np.ndarray],
    rule: StoppingRule,
    max_n: int,
    *,
    over_time: Callable[[], bool] = lambda: False,
    capped: Sequence[Look] | None = None,
    afford: Callable[[int, int, np.ndarray], bool] = lambda n, nxt, x: True,
) -> tuple[np.ndarray, StopRecord]:
    """Sample through `draw(count)` (returns up to `count` new values; fewer when its own
    time cap ended it) up to each checkpoint, stopping at the first where the rule is
    satisfied, at `max_n`, or when `over_time()` says the time cap is spent.

    `capped` (a query the cap cannot pay for: `rule.capped_looks`, fixed before any value
    is drawn): those looks instead, each at its own confidence; after each but the last,
    sampling goes on only if `afford(n, next_look, values)` says the rest of the cap pays
    for the next. Stopping at one of them is "planned"."""
    if capped is None:
        pts = rule.checkpoints(max_n)
        confs = [rule.look_conf(max_n)] * len(pts)
    else:
        pts = [min(lk.n, max_n) for lk in capped]
        confs = [lk.conf for lk in capped]
    parts: list[np.ndarray] = []
    n = 0
    looks = 0
    conf = confs[0]
    reason = "max" if capped is None or pts[-1] >= max_n else "planned"
    for i, target in enumerate(pts):
        conf = confs[i]
        new = np.asarray(draw(target - n))
        parts.append(new)
        n += new.size
        x = np.concatenate(parts) if parts else np.zeros(0)
        if n < target or (capped is None and over_time()):
            reason = "time"
            break
        looks += 1
        if capped is not None:
            if i + 1 < len(pts) and not afford(n, pts[i + 1], x):
                reason = "planned"
                break
            continue
        if target < max_n and rule.satisfied(x, conf):
            reason = "precise"
            break
    x = np.concatenate(parts) if parts else np.zeros(0)
    return x, StopRecord(reason, int(x.size), looks, conf, rule.widths(x, conf))


def time_sequential(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence[tuple],
    *,
    warmup: int,
    rule: StoppingRule,
    max_seconds: float | None = None,
    warmed: int = 0,
    per_execution: float | None = None,
) -> tuple[Samples, StopRecord]:
    """`timing.time_statement` under the stopping rule: at most len(params) - warmup timed
    executions, in chunks ending at the rule's checkpoints (the loop inside each chunk is
    the same small loop); the timed executions may use all of `max_seconds`.

    `warmed`: how many of the first tuples already ran untimed on this connection (the
    counting pass, `latency.measure_workload`); the warm-up only runs the rest of its
    `warmup` tuples, so the same executions are not made twice, for at most
    WARMUP_SECONDS (a quarter of `max_seconds` when that is less).

    The time per execution, from the warm-up (timed, and thrown away) or else from
    `per_execution` (the counting pass's seconds per execution), decides before the first
    timed sample whether the cap pays for every execution: if not, the query looks only
    where a bound appears (`StoppingRule.capped_looks`), going on past the first only if
    the rest of the cap (PLAN_SHARE of it) pays for the second at the mean time per
    execution so far."""
    rest = params[min(warmed, warmup) : warmup]
    warm = time_statement(conn, sql, rest, warmup=0, max_seconds=warmup_cap(max_seconds))
    if warm.ns.size:
        per_execution = float(warm.ns.mean()) / 1e9
    timed = params[warmup:]
    capped = rule.capped(len(timed), per_execution, max_seconds)
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    rows: list[np.ndarray] = []
    pos = 0

    def left() -> float | None:
        return None if deadline is None else max(0.0, deadline - time.perf_counter())

    def draw(count: int) -> np.ndarray:
        nonlocal pos
        s = time_statement(conn, sql, timed[pos : pos + count], warmup=0, max_seconds=left())
        pos += s.ns.size
        rows.append(s.rows)
        return s.ns

    def over() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    def afford(n: int, nxt: int, x: np.ndarray) -> bool:
        rest = left()
        return rest is None or float(x.mean()) / 1e9 * (nxt - n) <= rest * PLAN_SHARE

    looks = None
    if capped and per_execution is not None and max_seconds is not None:
        looks = rule.capped_looks(len(timed), per_execution, max_seconds)
    ns, rec = run_sequential(draw, rule, len(timed), over_time=over, capped=looks, afford=afford)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    done = min(warmed, warmup) + warm.ns.size
    return Samples(ns.astype(np.int64), r, done, rec.reason == "time"), rec
