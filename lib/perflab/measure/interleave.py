"""Before and after in one process, interleaved: A B, then B A, ... so that the machine's
drift (a neighbour's load, the page cache, the clock) hits both sides alike.

One implementation serves the advisor (each candidate index, the whole advised schema),
the rewrite diagnostics and the lab's experiments. A side is a connection, a statement and
its parameters (cycled); the result is the ratio of medians, after / before, with its
bootstrap interval (`measure.stats.compare`, 99% by default), as a frozen record.

A comparison may be given a time budget (`seconds`). The warm-up, which runs anyway, says
what one execution of each side costs; from that estimate, before any timed sample, the
executions per round are cut so that the rounds fit the budget, never below
`MIN_EXECUTIONS`. The count depends on the warm-up only, never on the timed samples or
the verdict, so the interval covers as it does at a fixed count (no optional stopping):
a slow query is compared on fewer executions, with the interval that many give.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perflab.measure.stats import COMPARE_BOOTSTRAP, Bootstrap, compare
from perflab.measure.timing import time_statement

#: Untimed executions of each side before the first round (statement cache, pages); with a
#: budget, a side's warm-up stops early once it has spent `WARMUP_SHARE` of the budget.
WARMUP = 5
#: Share of a comparison's budget each side's warm-up may spend (at least one execution).
WARMUP_SHARE = 0.1
#: Fewest executions per side and round a budget leaves: with the profiles' 4 rounds, 20
#: per side (the rewrite diagnostics' floor before budgets), where `compare`'s 99% interval
#: of the ratio of medians still covers as it says: 99.0-100% of 400 simulated draws per
#: shape (lognormal, bimodal), A/A false calls <= 1% (benchmarks/bench_ab_budget.py).
MIN_EXECUTIONS = 5


def cycled(params: Sequence[tuple], n: int, start: int = 0) -> list[tuple]:
    """`n` parameter tuples, `params` repeated in order from index `start` (one empty tuple
    when none)."""
    p = list(params) or [()]
    return [p[(start + i) % len(p)] for i in range(n)]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: `sql` with `params` on `conn`."""

    conn: sqlite3.Connection
    sql: str
    params: Sequence[tuple]

    def time(self, n: int, start: int = 0, max_seconds: float | None = None) -> np.ndarray:
        """`n` executions, parameters from index `start` on, each timed with its fetch, in
        ns; with `max_seconds`, fewer: the loop stops after the execution that crosses it."""
        ps = cycled(self.params, n, start)
        s = time_statement(self.conn, self.sql, ps, warmup=0, max_seconds=max_seconds)
        return s.ns.astype(float)


def interleaved(
    time_a: Callable[[int], np.ndarray], time_b: Callable[[int], np.ndarray], rounds: int
) -> tuple[np.ndarray, np.ndarray]:
    """A then B, then B then A, ...: all of A's samples and all of B's. Each is called with
    the round's number, so both sides of a round run the same parameters."""
    sa, sb = [], []
    for r in range(rounds):
        if r % 2 == 0:
            sa.append(time_a(r))
            sb.append(time_b(r))
        else:
            sb.append(time_b(r))
            sa.append(time_a(r))
    return np.concatenate(sa), np.concatenate(sb)


def executions_within(
    seconds: float, per_pair_ns: float, rounds: int, asked: int, floor: int = MIN_EXECUTIONS
) -> int:
    """Executions per side and round so that `rounds` rounds of both sides fit in
    `seconds`, given one execution of each side costs `per_pair_ns` together: at most
    `asked`, at least `floor` (or `asked`, when that is smaller)."""
    if per_pair_ns <= 0:
        return asked
    fit = int(seconds * 1e9 // (rounds * per_pair_ns))
    return min(asked, max(floor, fit))


@dataclass(frozen=True)
class AB:
    """Medians before and after, their ratio (after / before) with its interval, and
    `compare`'s verdict (regression | improvement | inconclusive | unchanged).

    `executions` were timed per side and round; `asked` is what the caller asked for:
    fewer were timed when the comparison's time budget (`budget_s`) cut them."""

    p50_before_ms: float
    p50_after_ms: float
    ratio: float
    ratio_ci: tuple[float, float]
    verdict: str
    conf: float
    min_effect: float
    rounds: int
    executions: int  # per side and round, timed
    asked: int | None = None  # per side and round, asked for (None: as timed)
    budget_s: float | None = None  # the comparison's time budget, if it had one

    @property
    def cut(self) -> bool:
        """The time budget timed fewer executions than asked."""
        return self.asked is not None and self.executions < self.asked

    @property
    def n(self) -> int:
        """Timed executions per side."""
        return self.rounds * self.executions


def ab(
    before: Side,
    after: Side,
    *,
    rounds: int,
    executions: int,
    min_effect: float,
    boot: Bootstrap = COMPARE_BOOTSTRAP,
    seconds: float | None = None,
) -> AB:
    """Warm both sides alike, then `rounds` interleaved rounds of `executions` each (fewer,
    down to `MIN_EXECUTIONS`, when the warm-up says they would not fit in `seconds`).

    Round r runs the parameters from r x executions on (cycled), the same on both sides, so
    a cut count still spreads over as many parameter sets as the rounds reach."""
    cap = None if seconds is None else seconds * WARMUP_SHARE
    t0 = time.perf_counter()
    wa, wb = before.time(WARMUP, 0, cap), after.time(WARMUP, 0, cap)
    n = executions
    if seconds is not None:
        # the first execution may be cold: the estimate is the median of the warm-up
        per_pair = float(np.median(wa) + np.median(wb))
        left = max(seconds - (time.perf_counter() - t0), 0.0)
        n = executions_within(left, per_pair, rounds, executions)
    sa, sb = interleaved(lambda r: before.time(n, r * n), lambda r: after.time(n, r * n), rounds)
    c = compare(sa, sb, min_effect=min_effect, boot=boot)
    lo, hi = c["ci"]
    return AB(
        p50_before_ms=float(np.median(sa)) / 1e6,
        p50_after_ms=float(np.median(sb)) / 1e6,
        ratio=float(c["ratio"]),
        ratio_ci=(float(lo), float(hi)),
        verdict=c["verdict"],
        conf=float(c["conf"]),
        min_effect=min_effect,
        rounds=rounds,
        executions=n,
        asked=executions,
        budget_s=seconds,
    )
