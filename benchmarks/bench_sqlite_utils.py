"""Benchmark: sqlite-utils against what perflab does, where it could replace perflab code.

    python benchmarks/bench_sqlite_utils.py [--scale quick] [--reps 3]

sqlite-utils is not a dependency of perflab (this benchmark is why): `pip install
sqlite-utils` first.

Two jobs on the embedded schema, in one process, interleaved, median of the repetitions:

- inserts: the rows `perflab.database.generate.generate` yields for the scale, collected in memory
  beforehand, into a fresh file made from the same DDL under the build pragmas, one
  transaction per table: (a) executemany, as `build_database` does
  (`bench_datagen.baseline`), against (b) sqlite-utils' ``Table.insert_all``;
- introspection of the resulting file: `perflab.sqlite.schema.introspect` (columns, keys,
  indexes with partial and expression terms, CHECK IN lists, foreign keys) against
  sqlite-utils reading columns, indexes, foreign keys and primary keys of every table
  (less than perflab needs: no CHECK lists, no index expressions or WHERE clauses).

Prints seconds and the ratio sqlite-utils / perflab (above 1: sqlite-utils is slower).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_datagen import baseline  # noqa: E402 - the sibling script's executemany loop
from perflab import paths  # noqa: E402
from perflab.database.build import BUILD_PRAGMAS  # noqa: E402
from perflab.database.generate import generate  # noqa: E402
from perflab.database.spec import load_spec  # noqa: E402
from perflab.sqlite.schema import apply_ddl, introspect, load_ddl  # noqa: E402


def insert_sqlite_utils(ddl: str, tables: dict, dest: Path) -> float:
    conn = sqlite3.connect(dest, isolation_level=None)
    for p in BUILD_PRAGMAS:
        conn.execute(p)
    apply_ddl(conn, ddl, "ddl")
    db = sqlite_utils.Database(conn)
    t0 = time.perf_counter()
    for table, (cols, rows) in tables.items():
        conn.execute("BEGIN")
        db[table].insert_all(dict(zip(cols, r, strict=True)) for r in rows)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def _su_introspect(conn: sqlite3.Connection) -> None:
    for t in sqlite_utils.Database(conn).tables:
        t.columns, t.indexes, t.foreign_keys, t.pks  # noqa: B018 - the reads are the work


def timed_read(db: Path, read: Callable[[sqlite3.Connection], object]) -> float:
    conn = sqlite3.connect(db)
    t0 = time.perf_counter()
    read(conn)
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    spec = load_spec(paths.DEFAULT_DATASET)
    ddl = load_ddl(spec.schema_path)
    tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
    for chunk in generate(spec, ddl, args.scale):
        tables.setdefault(chunk.table, (chunk.columns, []))[1].extend(chunk.rows)
    n = sum(len(r) for _c, r in tables.values())
    res: dict[str, list[float]] = {k: [] for k in ("ins_p", "ins_u", "int_p", "int_u")}
    with tempfile.TemporaryDirectory(prefix="perflab-bench-su-") as tmp:
        for i in range(args.reps):
            a, b = Path(tmp, f"a{i}.sqlite"), Path(tmp, f"b{i}.sqlite")
            res["ins_p"].append(baseline(ddl, tables, a))
            res["ins_u"].append(insert_sqlite_utils(ddl, tables, b))
            res["int_p"].append(timed_read(a, introspect))
            res["int_u"].append(timed_read(a, _su_introspect))
    m = {k: statistics.median(v) for k, v in res.items()}
    print(
        f"inserts, {n:,} rows ({args.scale}): perflab executemany {m['ins_p']:.3f} s, "
        f"sqlite-utils insert_all {m['ins_u']:.3f} s, ratio {m['ins_u'] / m['ins_p']:.2f}"
    )
    print(
        f"introspection, {len(tables)} tables: perflab.sqlite.schema.introspect "
        f"{m['int_p'] * 1e3:.1f} ms, sqlite-utils (columns, indexes, fks, pks) "
        f"{m['int_u'] * 1e3:.1f} ms, ratio {m['int_u'] / m['int_p']:.2f}"
    )


if __name__ == "__main__":
    main()
