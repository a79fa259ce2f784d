"""The bulk load's INSERT: one row per statement against ROWS_PER_INSERT rows per statement
(`perflab.database.build._insert_rows`), the same generated rows, alternating, each into a
fresh file (no indexes: the load alone), with the file's sha256 to show the same bytes.

    .venv/bin/python benchmarks/bench_build_insert.py [--scale quick] [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))


def main() -> None:
    from perflab import paths
    from perflab.database import build
    from perflab.database.generate import generate
    from perflab.database.source import load_dataset_spec
    from perflab.sqlite.schema import load_ddl, split_statements

    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    spec = load_dataset_spec(paths.DEFAULT_DATASET)
    ddl = load_ddl(spec.schema_path)
    chunks = list(generate(spec, ddl, args.scale))
    tables = [
        s if s.endswith(";") else s + ";"
        for s in split_statements(ddl)
        if not build._is_create_index(s) and not build._is_create_trigger(s)
    ]
    print(f"{sum(len(c.rows) for c in chunks):,} rows ({args.scale})")
    default = build.ROWS_PER_INSERT

    def load(k: int) -> tuple[float, str]:
        build.ROWS_PER_INSERT = k
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.db"
            conn = sqlite3.connect(path, isolation_level=None)
            for p in build.BUILD_PRAGMAS:
                conn.execute(p)
            conn.executescript("\n".join(tables))
            t0 = time.perf_counter()
            for c in chunks:
                if c.rows:
                    conn.execute("BEGIN")
                    build._insert_rows(conn, c.table, c.columns, c.rows)
                    conn.execute("COMMIT")
            secs = time.perf_counter() - t0
            conn.close()
            return secs, hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    got: dict[int, list[float]] = {1: [], default: []}
    for rep in range(args.repeat):
        for k in (1, default) if rep % 2 == 0 else (default, 1):
            secs, sha = load(k)
            got[k].append(secs)
            print(f"  {k:3d} rows per INSERT  {secs:6.2f} s  sha256 {sha}")
    one, many = min(got[1]), min(got[default])
    print(f"best: 1 row {one:.2f} s, {default} rows {many:.2f} s, ratio {many / one:.2f}")


if __name__ == "__main__":
    main()
