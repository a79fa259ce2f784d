"""What a column profile (`perflab.analysis.column_profile`, sqlite-utils' analyze_column)
costs on a table the size of the full profile's largest (audit: 2,000,000 rows), against
a full read of the same table (`SELECT count(*)`... over the column) in the same process.

Prints the seconds per column and the ratio to the baseline; the cap in column_profile
(`MAX_ROWS`, `BUDGET_SECONDS`) is set from these figures. Nothing is asserted.

    python benchmarks/bench_column_profile.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from perflab.analysis.column_profile import profile_columns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "big.db"
        c = sqlite3.connect(db)
        c.execute("CREATE TABLE audit(id INTEGER PRIMARY KEY, operation TEXT, actor INTEGER)")
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO audit(operation, actor) SELECT 'op' || (i % 20), i % 50000 FROM n",
            (a.rows,),
        )
        c.commit()
        c.close()
        ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        base, prof = [], {"operation": [], "actor": []}
        for _ in range(a.repeats):  # interleaved: the baseline and each column in turn
            t0 = time.perf_counter()
            ro.execute("SELECT count(DISTINCT operation) FROM audit").fetchone()
            base.append(time.perf_counter() - t0)
            for col in prof:
                (p,) = profile_columns(ro, [("audit", col, "bench")], max_rows=10**9)
                prof[col].append(p.seconds)
        ro.close()
        b = statistics.median(base)
        print(f"table: {a.rows:,} rows; baseline count(DISTINCT) median {b:.3f} s")
        for col, v in prof.items():
            m = statistics.median(v)
            print(f"analyze_column({col}): median {m:.3f} s, x{m / b:.2f} the baseline")


if __name__ == "__main__":
    main()
