"""Before and after in one process, interleaved: A B, then B A, ... so that the machine's
drift (a neighbour's load, the page cache, the clock) hits both sides alike.

One implementation serves the advisor (each candidate index, the whole advised schema),
the rewrite diagnostics and the lab's experiments. A side is a connection, a statement and
its parameters (cycled); the result is the ratio of medians, after / before, with its
bootstrap interval (`measure.stats.compare`, 99% by default), as a frozen record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perflab.measure.stats import COMPARE_BOOTSTRAP, Bootstrap, compare
from perflab.measure.timing import time_statement

#: Untimed executions of each side before the first round (statement cache, pages).
WARMUP = 5


def cycled(params: Sequence[tuple], n: int) -> list[tuple]:
    """`n` parameter tuples, `params` repeated in order (one empty tuple when none)."""
    p = list(params) or [()]
    return [p[i % len(p)] for i in range(n)]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: `sql` with `params` on `conn`."""

    conn: sqlite3.Connection
    sql: str
    params: Sequence[tuple]

    def time(self, n: int) -> np.ndarray:
        """`n` executions, each timed with its fetch, in ns."""
        return time_statement(self.conn, self.sql, cycled(self.params, n), warmup=0).ns.astype(
            float
        )


def interleaved(
    time_a: Callable[[], np.ndarray], time_b: Callable[[], np.ndarray], rounds: int
) -> tuple[np.ndarray, np.ndarray]:
    """A then B, then B then A, ...: all of A's samples and all of B's."""
    sa, sb = [], []
    for r in range(rounds):
        if r % 2 == 0:
            sa.append(time_a())
            sb.append(time_b())
        else:
            sb.append(time_b())
            sa.append(time_a())
    return np.concatenate(sa), np.concatenate(sb)


@dataclass(frozen=True)
class AB:
    """Medians before and after, their ratio (after / before) with its interval, and
    `compare`'s verdict (regression | improvement | inconclusive | unchanged)."""

    p50_before_ms: float
    p50_after_ms: float
    ratio: float
    ratio_ci: tuple[float, float]
    verdict: str
    conf: float
    min_effect: float
    rounds: int
    executions: int  # per side and round


def ab(
    before: Side,
    after: Side,
    *,
    rounds: int,
    executions: int,
    min_effect: float,
    boot: Bootstrap = COMPARE_BOOTSTRAP,
) -> AB:
    """Warm both sides alike, then `rounds` interleaved rounds of `executions` each."""
    before.time(WARMUP), after.time(WARMUP)
    sa, sb = interleaved(lambda: before.time(executions), lambda: after.time(executions), rounds)
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
        executions=executions,
    )
