"""Benchmark: build_database vs. a plain executemany of the same rows (goal: ratio >= 0.7).

    python benchmarks/bench_datagen.py [--scale quick] [--reps 3] [--spec PATH]

In one process, interleaved: (a) build_database for the spec at the scale (generation,
inserts, indexes, ANALYZE, WAL switch: everything), and (b) the rows generate() yields,
collected in memory beforehand, inserted with executemany into a fresh file created
from the same DDL (indexes included) under the same pragmas, one transaction per table.
Prints rows/s of both (median of the repetitions) and their ratio.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from perflab import paths
from perflab.database.build import BUILD_PRAGMAS, BuildRequest, build_database
from perflab.database.generate import generate
from perflab.database.spec import load_spec
from perflab.sqlite.schema import apply_ddl, load_ddl, quote_ident


def baseline(ddl: str, tables: dict[str, tuple[tuple[str, ...], list[tuple]]], dest: Path) -> float:
    """Seconds for plain executemany of pre-generated rows into the full schema."""
    conn = sqlite3.connect(dest, isolation_level=None)
    for p in BUILD_PRAGMAS:
        conn.execute(p)
    apply_ddl(conn, ddl, "ddl")
    t0 = time.perf_counter()
    for table, (cols, rows) in tables.items():
        sql = (
            f"INSERT INTO {quote_ident(table)} ({', '.join(map(quote_ident, cols))}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--spec", type=Path, default=paths.DEFAULT_DATASET)
    args = ap.parse_args(argv)

    spec = load_spec(args.spec)
    ddl = load_ddl(spec.schema_path)
    tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
    for chunk in generate(spec, ddl, args.scale):
        cols, rows = tables.setdefault(chunk.table, (chunk.columns, []))
        rows.extend(chunk.rows)
    total = sum(len(r) for _c, r in tables.values())

    request = BuildRequest.of(spec, args.scale)
    build_rates, base_rates = [], []
    with tempfile.TemporaryDirectory(prefix="perflab-bench-") as tmp:
        for rep in range(args.reps):
            report = build_database(request, Path(tmp) / f"b{rep}.sqlite", progress=False)
            build_rates.append(report.rows_per_s)
            secs = baseline(ddl, tables, Path(tmp) / f"p{rep}.sqlite")
            base_rates.append(total / secs)
            print(
                f"rep {rep + 1}: build_database {report.rows_per_s:,.0f} rows/s "
                f"({report.seconds:.2f} s), executemany {total / secs:,.0f} rows/s ({secs:.2f} s)",
                file=sys.stderr,
            )
    b, p = statistics.median(build_rates), statistics.median(base_rates)
    print(f"scale={args.scale} rows={total:,} reps={args.reps}")
    print(f"build_database      : {b:12,.0f} rows/s (median)")
    print(f"plain executemany   : {p:12,.0f} rows/s (median)")
    print(
        f"ratio build/baseline: {b / p:.2f}  (goal >= 0.70: {'met' if b / p >= 0.7 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
