"""Column profiles: how selective a column is, for each column a diagnosis or an advised
index names, so the reader sees why an index on it is worth having or not.

An index on a column pays when an equality on it matches few rows: on average the
table's non-NULL rows divided by its distinct values, and for its most common value
that value's share of the table. Both come from sqlite-utils' `analyze_column` (distinct
values, NULLs, most common values), run on the run's read-only snapshot.

`analyze_column` reads the whole column (COUNT DISTINCT and a GROUP BY for the most
common values), so its cost grows with the table: each profile is timed, tables above
`MAX_ROWS` rows and columns after `BUDGET_SECONDS` in all are "not analysed" with the
reason (benchmarks/bench_column_profile.py prints the cost on the full profile's largest
table).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BUDGET_SECONDS",
    "MAX_ROWS",
    "SELECTIVE",
    "ColumnProfile",
    "index_leading_column",
    "profile_columns",
]

#: Tables larger than this are not profiled (the full profile's largest, 2M rows, takes
#: about 0.7 s per column here, x5.4 a COUNT(DISTINCT) of it: bench_column_profile.py).
MAX_ROWS = 2_500_000
#: Seconds all profiles of one stage may take; the columns after it are not analysed.
BUDGET_SECONDS = 10.0
#: An equality that matches at most this share of the table, on average, is selective:
#: an index on the column reads a small part of the table instead of all of it.
SELECTIVE = 0.05


@dataclass(frozen=True)
class ColumnProfile:
    """One column's selectivity, or why it was not analysed (`reason`)."""

    table: str
    column: str
    named_by: str  # what named it: "diagnosis <query>" or "advised index <ddl head>"
    rows: int
    distinct: int | None = None
    nulls: int | None = None
    most_common: tuple[tuple[str, int], ...] = ()  # (value, rows), at most 3
    seconds: float = 0.0
    reason: str = ""  # non-empty: not analysed, and why

    @property
    def rows_per_value(self) -> float | None:
        """Rows an equality matches on average (non-NULL rows / distinct values)."""
        if self.distinct is None or not self.distinct:
            return None
        return (self.rows - (self.nulls or 0)) / self.distinct

    @property
    def top_share(self) -> float | None:
        """The most common value's share of the table's rows."""
        if not self.most_common or not self.rows:
            return None
        return self.most_common[0][1] / self.rows

    @property
    def sentence(self) -> str:
        """What the profile says about an index on this column, in one sentence."""
        if self.reason:
            return f"not analysed: {self.reason}"
        per, top = self.rows_per_value, self.top_share
        if per is None:
            return "every row is NULL: an equality on it matches nothing"
        share = per / self.rows if self.rows else 0.0
        kind = "selective" if share <= SELECTIVE else "not selective"
        text = (
            f"{kind}: an equality matches {per:,.1f} of {self.rows:,} rows on average "
            f"({share:.2%}; {self.distinct:,} distinct values, {self.nulls or 0:,} NULL)"
        )
        if top is not None and top > SELECTIVE and self.most_common:
            value = self.most_common[0][0]
            text += (
                f"; its most common value {value!r} is {top:.0%} of the rows, where an "
                "index helps little"
            )
        return text

    def to_dict(self) -> dict:
        return {
            "table": self.table,
            "column": self.column,
            "named_by": self.named_by,
            "rows": self.rows,
            "distinct": self.distinct,
            "nulls": self.nulls,
            "most_common": [list(v) for v in self.most_common],
            "rows_per_value": self.rows_per_value,
            "top_share": self.top_share,
            "seconds": round(self.seconds, 4),
            "profile": self.sentence,
        }


_ON = re.compile(r'\bON\s+["`\[]?(\w+)["`\]]?\s*\(\s*["`\[]?(\w+)', re.IGNORECASE)


def index_leading_column(ddl: str) -> tuple[str, str] | None:
    """(table, first column) of a CREATE INDEX: the column an equality search enters by.
    None for an index whose first key is an expression or a name this cannot read."""
    m = _ON.search(ddl)
    if m is None or ddl[m.end() :].lstrip().startswith("("):
        return None
    return m.group(1), m.group(2)


def profile_columns(
    conn: sqlite3.Connection,
    named: Iterable[tuple[str, str, str]],
    *,
    max_rows: int = MAX_ROWS,
    budget: float = BUDGET_SECONDS,
) -> tuple[ColumnProfile, ...]:
    """Profile each (table, column, named_by) once, in the order given, on ``conn`` (the
    run's read-only snapshot): sqlite-utils reads, never writes."""
    import sqlite_utils

    db = sqlite_utils.Database(conn, execute_plugins=False)
    tables = set(db.table_names())
    out: list[ColumnProfile] = []
    seen: set[tuple[str, str]] = set()
    spent = 0.0
    for table, column, why in named:
        if (table, column) in seen:
            continue
        seen.add((table, column))
        if table not in tables:
            out.append(ColumnProfile(table, column, why, 0, reason=f"no table {table!r}"))
            continue
        t = db.table(table)
        if column not in t.columns_dict:
            out.append(ColumnProfile(table, column, why, 0, reason=f"no column {column!r}"))
            continue
        rows = t.count
        if rows == 0:
            out.append(ColumnProfile(table, column, why, 0, reason="the table is empty"))
            continue
        if rows > max_rows:
            reason = f"{rows:,} rows, above the profile's cap of {max_rows:,}"
            out.append(ColumnProfile(table, column, why, rows, reason=reason))
            continue
        if spent >= budget:
            reason = f"the profiles' time budget ({budget:g} s) was spent"
            out.append(ColumnProfile(table, column, why, rows, reason=reason))
            continue
        t0 = time.perf_counter()
        d = t.analyze_column(
            column, common_limit=3, value_truncate=40, total_rows=rows, least_common=False
        )
        took = time.perf_counter() - t0
        spent += took
        common = tuple((str(v), int(n)) for v, n in (d.most_common or ()))
        out.append(
            ColumnProfile(table, column, why, rows, d.num_distinct, d.num_null, common, took)
        )
    return tuple(out)
