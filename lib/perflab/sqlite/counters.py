"""Work counters from SQLite itself: VM steps, full-scan steps, sorts, automatic-index rows.

Timings on a shared machine move 1.5-2x between runs; these counters do not move at all
for the same data, plan and parameters. They are read from the `sqlite_stmt` virtual
table (SQLITE_ENABLE_STMTVTAB) on the very connection that ran the statement, so they come
from the same engine and the same prepared statement as the timings. Where that table is
missing the counters are reported as unavailable, with the reason, never guessed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "COUNTERS",
    "SOURCE",
    "CounterTotals",
    "WorkCounters",
    "count_work",
    "counter_record",
    "describe",
    "totals",
    "unavailable_reason",
]

SOURCE = "sqlite_stmt"

#: The per-execution counters recorded, in the order `WorkCounters` holds them, with what
#: each one counts (sqlite3_stmt_status: SQLITE_STMTSTATUS_VM_STEP, FULLSCAN_STEP, SORT,
#: AUTOINDEX) and, last, the rows the statement returned.
COUNTERS = {
    "vm_steps": "virtual-machine instructions executed",
    "fullscan_steps": "forward steps through a table or index in a full scan",
    "sorts": "sort operations (ORDER BY or GROUP BY without a usable index)",
    "autoindex": "rows inserted into automatic (transient) indexes",
    "rows": "rows returned",
}

#: Default cap of the counting pass: the first tuples of the timed run's parameters.
MAX_EXECUTIONS = 100
#: Default time budget of the counting pass per statement (checked after each execution).
MAX_SECONDS = 2.0
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
    truncated: bool = False  # the time budget stopped the pass before the cap

    @property
    def executions(self) -> int:
        return int(self.vm_steps.size)

    def mean(self, name: str) -> float:
        a = getattr(self, name)
        return float(a.mean()) if a.size else 0.0


def count_work(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence[tuple],
    *,
    max_executions: int = MAX_EXECUTIONS,
    max_seconds: float | None = None,
) -> WorkCounters | None:
    """Run `sql` once per parameter tuple (at most `max_executions`, the first ones), untimed,
    reading the statement's counters after each; None when `sqlite_stmt` is unavailable.

    A separate pass keeps the counter reads out of the timings; the counters describe
    the same statement text on the same connection and data. `max_seconds` stops the pass
    after the execution that crosses it (at least one execution always runs), so a slow
    query costs seconds, not minutes; the executions done are a prefix of `params`, so two
    runs can still be compared execution by execution on their common prefix.
    """
    if unavailable_reason(conn) is not None:
        return None
    use = list(params[:max_executions])
    n = len(use)
    cols = np.zeros((5, n), dtype=np.int64)
    cur = conn.cursor()
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    done = n
    for i, p in enumerate(use):
        before = totals(conn, sql)
        rows = cur.execute(sql, p).fetchall()
        d = totals(conn, sql) - before
        if d.runs != 1:  # evicted and re-prepared between the reads: the delta is not ours
            d = totals(conn, sql)
        cols[:, i] = (d.vm_steps, d.fullscan_steps, d.sorts, d.autoindex, len(rows))
        if deadline is not None and time.perf_counter() > deadline:
            done = i + 1
            break
    cols = cols[:, :done]
    return WorkCounters(SOURCE, cols[0], cols[1], cols[2], cols[3], cols[4], done < n)


def _stats(a: np.ndarray) -> dict[str, float]:
    if not a.size:
        return {"mean": 0.0, "min": 0, "max": 0}
    return {"mean": float(a.mean()), "min": int(a.min()), "max": int(a.max())}


def counter_record(w: WorkCounters | None, reason: str | None = None) -> dict:
    """The `counters` entry of a query in summary.json.

    `per_execution`: mean/min/max of each counter; `values`: the per-execution arrays
    (the counting pass is capped, so they stay short), which let a comparison match two
    runs execution by execution; `sentence`: the work in words. Unavailable counters
    are a record too: source null and the reason, never zeros.
    """
    if w is None:
        return {
            "source": None,
            "reason": reason or "no work counters were read",
            "executions": 0,
            "truncated": False,
            "per_execution": None,
            "values": None,
            "sentence": f"work counters unavailable: {reason or 'not read'}",
        }
    per = {k: _stats(getattr(w, k)) for k in COUNTERS}
    rec = {
        "source": w.source,
        "reason": None,
        "executions": w.executions,
        "truncated": w.truncated,
        "per_execution": per,
        "values": {k: getattr(w, k).astype(int).tolist() for k in COUNTERS},
    }
    rec["sentence"] = describe(rec)
    return rec


def _n(x: float) -> str:
    """A human count: 99,999 or 2.5 (a mean that is not whole keeps one decimal)."""
    r = round(x)
    return f"{r:,}" if abs(x - r) < 0.05 else f"{x:,.1f}"


def _rows(x: float) -> str:
    return f"{_n(x)} row" + ("" if _n(x) == "1" else "s")


def describe(rec: dict) -> str:
    """One sentence per query from its counter record, e.g. "visits 99,999 rows in full
    scans to return 1 row (312,004 VM steps per execution)"."""
    per = rec.get("per_execution")
    if rec.get("source") is None or not per:
        return f"work counters unavailable: {rec.get('reason') or 'not read'}"
    m = {k: per[k]["mean"] for k in COUNTERS}
    if m["fullscan_steps"] > 0:
        head = f"visits {_rows(m['fullscan_steps'])} in full scans to return {_rows(m['rows'])}"
    else:
        head = f"returns {_rows(m['rows'])} without a full scan"
    extra = []
    if m["sorts"] > 0:
        extra.append("sorts once" if _n(m["sorts"]) == "1" else f"sorts {_n(m['sorts'])} times")
    if m["autoindex"] > 0:
        extra.append(f"builds an automatic index of {_rows(m['autoindex'])}")
    tail = f" ({_n(m['vm_steps'])} VM steps per execution"
    tail += f", mean of {rec['executions']:,} executions)"
    return head + "".join(f"; {e}" for e in extra) + tail
