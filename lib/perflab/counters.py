"""Work counters from SQLite itself: VM steps, full-scan steps, sorts, automatic-index rows.

Timings on a shared machine move 1.5-2x between runs; these counters do not move at all
for the same data, plan and parameters. They are read from the `sqlite_stmt` virtual
table (SQLITE_ENABLE_STMTVTAB) on the very connection that ran the statement, so they come
from the same engine and the same prepared statement as the timings. Where that table is
missing the counters are reported as unavailable, with the reason, never guessed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SOURCE",
    "CounterTotals",
    "WorkCounters",
    "count_work",
    "totals",
    "unavailable_reason",
]

SOURCE = "sqlite_stmt"
_READ = "SELECT nstep, nscan, nsort, naidx, run, reprep FROM sqlite_stmt WHERE sql = ?"


@dataclass(frozen=True)
class CounterTotals:
    """Cumulative counters of one prepared statement since it was prepared."""

    vm_steps: int
    fullscan_steps: int
    sorts: int
    autoindex: int
    runs: int
    reprepares: int

    def __sub__(self, other: CounterTotals) -> CounterTotals:
        return CounterTotals(
            self.vm_steps - other.vm_steps,
            self.fullscan_steps - other.fullscan_steps,
            self.sorts - other.sorts,
            self.autoindex - other.autoindex,
            self.runs - other.runs,
            self.reprepares - other.reprepares,
        )


_ZERO = CounterTotals(0, 0, 0, 0, 0, 0)


def unavailable_reason(conn: sqlite3.Connection) -> str | None:
    """None when `sqlite_stmt` can be read on this connection, else why not."""
    try:
        conn.execute("SELECT 1 FROM sqlite_stmt LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        return (
            f"SQLite {sqlite3.sqlite_version} has no sqlite_stmt table "
            f"(built without SQLITE_ENABLE_STMTVTAB): {exc}"
        )
    return None


def totals(conn: sqlite3.Connection, sql: str) -> CounterTotals:
    """The counters of the cached statement whose text is `sql` (zeros if not cached).

    Python's statement cache may hold one statement per text; if the text is prepared
    more than once at a time (nested cursors), the rows are added up.
    """
    rows = conn.execute(_READ, (sql,)).fetchall()
    if not rows:
        return _ZERO
    s = np.asarray(rows, dtype=np.int64).sum(axis=0)
    return CounterTotals(*(int(v) for v in s))


@dataclass(frozen=True)
class WorkCounters:
    """Per-execution work of one statement over a list of parameter tuples.

    Arrays hold one value per execution, in the order of the parameters given, so the
    same seed gives the same arrays on any machine.
    """

    source: str
    vm_steps: np.ndarray
    fullscan_steps: np.ndarray
    sorts: np.ndarray
    autoindex: np.ndarray
    rows: np.ndarray

    @property
    def executions(self) -> int:
        return int(self.vm_steps.size)

    def mean(self, name: str) -> float:
        a = getattr(self, name)
        return float(a.mean()) if a.size else 0.0


def count_work(
    conn: sqlite3.Connection, sql: str, params: Sequence[tuple], *, max_executions: int = 200
) -> WorkCounters | None:
    """Run `sql` once per parameter tuple (at most `max_executions`, the first ones), untimed,
    reading the statement's counters after each; None when `sqlite_stmt` is unavailable.

    A separate pass keeps the counter reads out of the timings; the counters describe
    the same statement text on the same connection and data.
    """
    if unavailable_reason(conn) is not None:
        return None
    use = list(params[:max_executions])
    n = len(use)
    cols = np.zeros((5, n), dtype=np.int64)
    cur = conn.cursor()
    for i, p in enumerate(use):
        before = totals(conn, sql)
        rows = cur.execute(sql, p).fetchall()
        d = totals(conn, sql) - before
        if d.runs != 1:  # evicted and re-prepared between the reads: the delta is not ours
            d = totals(conn, sql)
        cols[:, i] = (d.vm_steps, d.fullscan_steps, d.sorts, d.autoindex, len(rows))
    return WorkCounters(SOURCE, cols[0], cols[1], cols[2], cols[3], cols[4])
