"""A database file from generated rows: load, create indexes, ANALYZE, and cache by content.

The cache key hashes the spec, the DDL, the scale, the seed and the generator version, so a
changed input builds a new file and an unchanged one is reused (`cached_database`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

from perflab import paths
from perflab.database.generate import GENERATOR_VERSION, check_scale, generate_tables
from perflab.database.spec import ColumnSpec, DatasetSpec, validate_spec
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.sqlite.schema import (
    apply_ddl,
    introspect_ddl,
    load_ddl,
    quote_ident,
    split_statements,
)

# Pragmas while building (the benchmark's baseline uses the same ones).
BUILD_PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-262144",
    "PRAGMA temp_store=MEMORY",
)
# Create explicit indexes after the data is in: sorting once beats B-tree inserts
# (measured by benchmarks/bench_datagen.py). Same final schema either way.
DEFER_INDEXES = True


@dataclass(frozen=True)
class BuildReport:
    path: Path
    scale: str
    seed: int
    row_counts: Mapping[str, int]
    seconds: float
    rows_per_s: float
    analyzed: bool
    dropped_duplicates: Mapping[str, int]
    cache_key: str
    from_cache: bool
    source: str | None = None  # the user's database when the data is theirs (scale 'existing')
    notes: tuple[str, ...] = ()  # things the report must mention (integrity, skipped tables)


# ---------------------------------------------------------------------------------------------
# building and caching


def _jsonable(v: Any) -> Any:
    if isinstance(v, ColumnSpec):
        return {
            "kind": v.kind,
            "options": _jsonable(dict(v.options)),
            "null_fraction": v.null_fraction,
            "null_unless": _jsonable(v.null_unless),
        }
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def _journal_mode() -> str:
    """The journal mode the database is left in: the application's (WAL), or a sweep
    cell's (`perflab.sqlite.engines` pragma overrides): read-only connections cannot
    change it, so the file itself carries it."""
    from perflab.sqlite.engine import APP_PRAGMAS

    return str(APP_PRAGMAS.get("journal_mode", "WAL")).upper()


def cache_key(spec: DatasetSpec, ddl: str, scale: str, seed: int) -> str:
    """sha256 over everything that determines the database's contents."""
    rows = check_scale(spec, scale)
    content = {
        "generator_version": GENERATOR_VERSION,
        "ddl": ddl,
        "spec": {
            "tables": _jsonable({k: v.columns for k, v in sorted(spec.tables.items())}),
            "time_range": list(spec.time_range),
        },
        "scale_rows": dict(sorted(rows.items())),
        "seed": int(seed),
    }
    if _journal_mode() != "WAL":  # a sweep's rollback-journal cell: a file of its own
        content["journal_mode"] = _journal_mode()
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _insert_sql(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    cols = ", ".join(quote_ident(c) for c in columns)
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {quote_ident(table)} ({cols}) VALUES " + ", ".join([marks] * rows)


#: Rows per INSERT statement while building. One statement with many VALUES rows runs the
#: statement once per 64 rows instead of once per row: the quick profile's 102k rows loaded
#: in 0.23 s against 0.36 s (0.64x; 0.47 against 0.75 s on a busy machine), and the file is
#: byte for byte the same, rows going in in the same order (benchmarks/bench_build_insert.py).
#: SQLite's limit of 32,766 bound parameters bounds it for wide tables.
ROWS_PER_INSERT = 64
MAX_VARIABLES = 32766


def _insert_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows) -> None:
    """``rows`` into ``table``, in order, ROWS_PER_INSERT to a statement (the rest one by one)."""
    k = max(1, min(ROWS_PER_INSERT, MAX_VARIABLES // max(1, len(columns))))
    full = len(rows) // k * k if k > 1 else 0
    if full:
        flat = chain.from_iterable
        conn.executemany(
            _insert_sql(table, columns, k),
            (tuple(flat(rows[i : i + k])) for i in range(0, full, k)),
        )
    if full < len(rows):
        conn.executemany(_insert_sql(table, columns), rows[full:])


def _is_create_index(stmt: str) -> bool:
    words = _first_words(stmt, 3)
    return words[:2] == ["CREATE", "INDEX"] or words[:3] == ["CREATE", "UNIQUE", "INDEX"]


def _is_create_trigger(stmt: str) -> bool:
    """Triggers are created after the data: generated rows must not fire them (a trigger
    may insert audit rows or RAISE); the final schema is the same."""
    words = _first_words(stmt, 3)
    return words[:2] == ["CREATE", "TRIGGER"] or (
        words[:1] == ["CREATE"]
        and words[1:2] in (["TEMP"], ["TEMPORARY"])
        and words[2:3] == ["TRIGGER"]
    )


def _is_create_virtual(stmt: str) -> bool:
    return _first_words(stmt, 2) == ["CREATE", "VIRTUAL"]


def _apply_virtual(conn: sqlite3.Connection, stmts: list[str], skipped: dict[str, str]) -> None:
    """Create virtual tables whose module this SQLite has; skip the others with the reason."""
    from perflab.sqlite.schema import tokenize_ddl

    for stmt in stmts:
        try:
            conn.execute(stmt)
        except sqlite3.Error as e:
            toks = [t for t in tokenize_ddl(stmt)]
            name = next(
                (toks[k + 1].value for k, t in enumerate(toks[:-1]) if t.value == "TABLE"), stmt
            )
            skipped[str(name)] = f"virtual table skipped: {e}"


def _first_words(stmt: str, k: int) -> list[str]:
    from perflab.sqlite.schema import tokenize_ddl

    return [t.value for t in tokenize_ddl(stmt)[:k] if t.kind == "word"]


def _check_failure(source: str, schema, table: str, exc: sqlite3.IntegrityError) -> str:
    """One line for a constraint the generated rows break: the table, the column(s) the
    CHECK names, and what to do (a spec with a kind for them), instead of SQLite's error."""
    import re

    msg = str(exc)
    expr = msg.split(":", 1)[1].strip() if ":" in msg else msg
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr)}
    cols = [c.name for c in schema.table(table).columns if c.name.lower() in words]
    what = "CHECK (" + expr + ")" if msg.startswith("CHECK") else msg
    on = f" on column {', '.join(cols)}" if cols else ""
    return (
        f"{source}: table {table}{on}: generated rows break {what}; perflab cannot satisfy "
        "it by rule: give the column a kind in a dataset spec (`perflab draft` writes one)"
    )


@dataclass(frozen=True)
class BuildRequest:
    """What a database's contents are made from, settled once: the spec, a scale it names,
    the seed (the spec's own unless given) and the DDL text as read now. `key` hashes them:
    `cached_database` names its file by it, `build_database` records it."""

    spec: DatasetSpec
    scale: str
    seed: int
    ddl: str

    @classmethod
    def of(cls, spec: DatasetSpec, scale: str, *, seed: int | None = None) -> BuildRequest:
        """An unknown scale is bad input, named before the DDL is read."""
        check_scale(spec, scale)
        seed = spec.seed if seed is None else int(seed)
        return cls(spec, scale, seed, load_ddl(spec.schema_path))

    @cached_property
    def key(self) -> str:
        return cache_key(self.spec, self.ddl, self.scale, self.seed)


def build_database(request: BuildRequest, dest: Path, *, progress: bool = True) -> BuildReport:
    """Build the requested database atomically at ``dest`` (temp file + os.replace).

    Bulk-load settings while building (journal off, explicit indexes created after the
    data); the result is ANALYZEd and left in WAL mode, like the application's database.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    dest = Path(dest)
    spec, scale, seed, ddl = request.spec, request.scale, request.seed, request.ddl
    rows_for = check_scale(spec, scale)
    source = str(spec.schema_path)
    schema = introspect_ddl(ddl, source)
    validate_spec(spec, schema)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    dropped: dict[str, int] = {}
    counts: dict[str, int] = {}
    conn = None
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        for p in BUILD_PRAGMAS:
            conn.execute(p)
        stmts = split_statements(ddl)
        deferred = [s for s in stmts if _is_create_index(s)] if DEFER_INDEXES else []
        triggers = [s for s in stmts if _is_create_trigger(s)]
        virtual = [s for s in stmts if _is_create_virtual(s)]
        skipped: dict[str, str] = {}
        _apply_virtual(conn, virtual, skipped)
        apply_ddl(
            conn,
            "\n".join(
                s if s.endswith(";") else s + ";"
                for s in stmts
                if s not in deferred and s not in triggers and s not in virtual
            ),
            source,
        )
        bars: dict[str, Any] = {}
        for chunk in generate_tables(spec, schema, scale, seed, dropped):
            bar = bars.get(chunk.table)
            if bar is None:
                for b in bars.values():
                    b.close()
                bar = bars[chunk.table] = tqdm(
                    total=rows_for.get(chunk.table, 0),
                    desc=chunk.table,
                    unit="rows",
                    file=sys.stderr,
                    disable=not progress,
                    leave=True,
                    dynamic_ncols=True,
                )
            counts[chunk.table] = counts.get(chunk.table, 0) + len(chunk.rows)
            if chunk.rows:
                conn.execute("BEGIN")
                try:
                    _insert_rows(conn, chunk.table, chunk.columns, chunk.rows)
                except sqlite3.IntegrityError as e:
                    raise PerflabError(_check_failure(source, schema, chunk.table, e)) from None
                conn.execute("COMMIT")
            bar.update(len(chunk.rows))
        for b in bars.values():
            b.close()
        if deferred or triggers:
            conn.execute("BEGIN")
            for s in deferred + triggers:
                try:
                    conn.execute(s)
                except sqlite3.Error as e:
                    raise PerflabError(f"{source}: SQLite error: {e} (in: {s[:80]})") from None
            conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute(f"PRAGMA journal_mode={_journal_mode()}")
        conn.close()
        conn = None
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(str(dest) + suffix)
        os.replace(tmp, dest)
    finally:
        if conn is not None:
            conn.close()
        if tmp.exists():
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(str(tmp) + suffix)
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    return BuildReport(
        path=dest,
        scale=scale,
        seed=seed,
        row_counts=counts,
        seconds=seconds,
        rows_per_s=total / seconds if seconds > 0 else 0.0,
        analyzed=True,
        dropped_duplicates=dropped,
        cache_key=request.key,
        from_cache=False,
        notes=tuple(f"{k}: {v}" for k, v in skipped.items()),
    )


def cached_database(
    spec: DatasetSpec,
    scale: str,
    *,
    seed: int | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> BuildReport:
    """Reuse the database built for the same content hash, or build it (and its sidecar)."""
    request = BuildRequest.of(spec, scale, seed=seed)
    key = request.key
    cdir = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
    dest = cdir / f"{spec.name}-{scale}-{key[:16]}.sqlite"
    sidecar = dest.with_suffix(".json")
    if dest.exists() and sidecar.exists():
        try:
            d = json.loads(sidecar.read_text(encoding="utf-8"))
            if d.get("cache_key") == key:
                d.update(path=dest, from_cache=True)
                return BuildReport(**d)
        except (OSError, ValueError, TypeError):
            pass  # unreadable sidecar: rebuild
    report = build_database(request, dest, progress=progress)
    d = asdict(report)
    d["path"] = str(report.path)
    atomic_write_text(sidecar, json.dumps(d, indent=2, sort_keys=True))
    return report
