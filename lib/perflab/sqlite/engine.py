"""Connections: the application's pragmas, read-only opening, engine facts.

One engine per run: measurements and plans come from the same SQLite build,
and the report records which one it was.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from perflab.errors import PerflabError
from perflab.sqlite import engines

#: The application's connection settings (seed workload).
APP_PRAGMAS: Mapping[str, object] = {
    "journal_mode": "WAL",
    "synchronous": "NORMAL",
    "foreign_keys": "ON",
    "busy_timeout": 5000,
    "wal_autocheckpoint": 1000,
    # a process started for a sweep cell runs its own (perflab.sqlite.engines)
    **engines.pragma_overrides(),
}
engines.activate()  # APSW's engine: the sqlite_stmt table for the counters

#: Pragmas that are reported for every run, whether set or not.
REPORTED_PRAGMAS = (
    "journal_mode",
    "synchronous",
    "foreign_keys",
    "busy_timeout",
    "wal_autocheckpoint",
    "cache_size",
    "mmap_size",
    "page_size",
    "auto_vacuum",
    "temp_store",
    "locking_mode",
    "case_sensitive_like",
)

# Read-only connections cannot change journal_mode; these apply everywhere.
_SESSION_PRAGMAS = {
    "synchronous",
    "foreign_keys",
    "busy_timeout",
    "wal_autocheckpoint",
    "cache_size",  # a sweep's pragma set may name these (perflab.sqlite.engines)
    "mmap_size",
    "temp_store",
}


def _check_sqlite_file(path: Path) -> None:
    if not path.is_file():
        raise PerflabError(f"{path}: database file not found")
    with path.open("rb") as fh:
        head = fh.read(16)
    if head and head != b"SQLite format 3\x00":
        raise PerflabError(f"{path}: not a SQLite database")


def connect(
    path: Path,
    *,
    readonly: bool = False,
    pragmas: Mapping[str, object] | None = None,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open a database file with the given pragmas (default: the application's).

    Read-only opening uses a `mode=ro` URI so the user's file can never be written.
    """
    path = Path(path)
    _check_sqlite_file(path)
    pragmas = APP_PRAGMAS if pragmas is None else pragmas
    uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=check_same_thread
        )
        for name, value in pragmas.items():
            if readonly and name not in _SESSION_PRAGMAS:
                continue
            conn.execute(f"PRAGMA {name} = {value}")
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.DatabaseError as exc:
        raise PerflabError(f"{path}: cannot open database: {exc}") from None
    return conn


def copy_database(src: str | Path | sqlite3.Connection, dest: str | Path | None = None) -> Path:
    """Copy a database with SQLite's online backup API (consistent even in WAL mode: the
    committed WAL content is included).

    ``src`` is a path, opened read-only (``mode=ro`` URI) so the original file cannot
    change, or an open connection, used as it is and left open. ``dest`` must not exist
    yet; None makes a new temporary file that the caller deletes. Returns the copy's path.
    """
    if dest is not None:
        dest = Path(dest)
        if dest.exists():
            raise PerflabError(f"{dest}: refusing to overwrite an existing file")
    own = not isinstance(src, sqlite3.Connection)
    if own:
        src_path = Path(src)
        if not src_path.is_file():
            raise PerflabError(f"{src_path}: database file not found")
    if dest is None:
        fd, name = tempfile.mkstemp(prefix="perflab-copy-", suffix=".db")
        os.close(fd)
        dest = Path(name)
    s = sqlite3.connect(f"{src_path.resolve().as_uri()}?mode=ro", uri=True) if own else src
    d = sqlite3.connect(dest)
    try:
        s.backup(d)
    finally:
        d.close()
        if own:
            s.close()
    return dest


@contextlib.contextmanager
def working_copy(
    src: str | Path | sqlite3.Connection, workdir: str | Path | None = None, name: str = "copy.db"
) -> Iterator[Path]:
    """A temporary copy of ``src`` (`copy_database`), deleted afterwards with its -wal/-shm.

    The copy lives in a private folder in ``workdir``, else next to the source when that
    folder is writable (same filesystem, so fsync costs are the ones the database really
    sees), else (and for a connection) in the system temp folder.
    """
    if workdir:
        base: Path | None = Path(workdir)
    else:
        base = None if isinstance(src, sqlite3.Connection) else Path(src).parent
    tmp = None
    if base is not None:
        with contextlib.suppress(OSError):
            tmp = Path(tempfile.mkdtemp(prefix=".perflab-copy-", dir=base))
    if tmp is None:
        tmp = Path(tempfile.mkdtemp(prefix="perflab-copy-"))
    try:
        yield copy_database(src, tmp / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pragma_values(conn: sqlite3.Connection) -> dict[str, object]:
    """The pragmas in force on this connection, as the report shows them."""
    out: dict[str, object] = {}
    for name in REPORTED_PRAGMAS:
        row = conn.execute(f"PRAGMA {name}").fetchone()
        out[name] = row[0] if row else None
    return out


def engine_info(conn: sqlite3.Connection) -> dict[str, object]:
    """SQLite version, compile options, driver and platform for the report."""
    return {
        "driver": f"sqlite3 (Python {platform.python_version()})",
        "sqlite_version": conn.execute("SELECT sqlite_version()").fetchone()[0],
        "compile_options": [r[0] for r in conn.execute("PRAGMA compile_options")],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Exact row count of every ordinary table (virtual tables excluded)."""
    from perflab.sqlite.schema import quote_ident

    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    return {n: conn.execute(f"SELECT count(*) FROM {quote_ident(n)}").fetchone()[0] for n in names}
