"""The user's database file, read but never written: its snapshot (working copy).

`snapshot` copies the user's database into a working copy with SQLite's backup
API; everything perflab does afterwards (plans, timing, writes, ANALYZE
experiments) happens on that copy. How the source is opened depends on what is
beside it, so that not one byte of the user's files changes, including the
``-wal``/``-shm`` companions and including when they are absent:

==========================  =======================================================
source state                how it is read
==========================  =======================================================
rollback journal, no        ``mode=ro`` URI: shared locks only, honours another
``-journal``                process's lock (waits ``busy_timeout``, then one error)
WAL header, no ``-wal``     ``mode=ro&immutable=1``: a plain ``mode=ro`` open would
                            create ``-wal`` and ``-shm`` files beside the user's db
``-wal`` (or a hot          the db and its ``-wal``/``-journal`` are copied byte for
``-journal``) present       byte into a private folder (re-copied until their size
                            and mtime are stable), then opened there: SQLite
                            recovers the committed WAL frames (or rolls the hot
                            journal back) in the private copy. A ``mode=ro`` reader
                            would write read-marks into the user's ``-shm``.
==========================  =======================================================

The working copy is checked with ``PRAGMA integrity_check`` (and ``foreign_key_check``, the
result kept beside it for notebook 06: `perflab.database.checks`): problems in a file
that can still be read are returned as findings; a file that cannot be read is
one clear error. ANALYZE is never run (``analyzed`` says whether the user's file
carries ``sqlite_stat1``).

This module sits below `dataset`, `draft` and `userdb`: it knows SQLite files, not
dataset specs or workloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perflab import paths
from perflab.database import checks
from perflab.errors import PerflabError
from perflab.sqlite.engine import copy_database
from perflab.sqlite.schema import quote_ident

__all__ = [
    "SnapshotReport",
    "fingerprint",
    "is_sqlite_file",
    "is_working_copy",
    "load_snapshot",
    "schema_ddl",
    "snapshot",
    "snapshot_path",
]

SQLITE_HEADER = b"SQLite format 3\x00"
#: Above this size integrity_check is replaced by quick_check (no index-vs-table check).
FULL_CHECK_MAX_BYTES = 2 << 30
INTEGRITY_MAX_ERRORS = 20
SIDE_KIND = "perflab-working-copy"


# ---------------------------------------------------------------------------------- files


def fingerprint(path: str | Path) -> dict[str, str | None]:
    """sha256 of a database file and of each companion (-wal, -shm, -journal); None if absent."""
    out: dict[str, str | None] = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[suffix or "db"] = h.hexdigest()
        else:
            out[suffix or "db"] = None
    return out


def _stat_key(path: Path) -> tuple:
    parts = []
    for suffix in ("", "-wal", "-journal"):
        try:
            st = os.stat(str(path) + suffix)
            parts.append((suffix, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            parts.append((suffix, None, None))
    return tuple(parts)


def is_sqlite_file(path: str | Path) -> bool:
    """True when the file starts with SQLite's 16-byte header."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(16) == SQLITE_HEADER
    except OSError:
        return False


def check_source(path: Path) -> None:
    """Refuse, in one line, what is not a readable SQLite database file."""
    if not path.exists():
        raise PerflabError(f"{path}: database file not found")
    if not path.is_file():
        raise PerflabError(f"{path}: not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise PerflabError(f"{path}: cannot read database: {exc.strerror}") from None
    if not head:
        raise PerflabError(f"{path}: empty database (0 bytes, no tables)")
    if head[:16] != SQLITE_HEADER:
        raise PerflabError(f"{path}: not a SQLite database (no 'SQLite format 3' header)")
    if len(head) < 100:
        raise PerflabError(f"{path}: truncated database ({len(head)} bytes, header incomplete)")


def _sidecar(db: Path) -> Path:
    return db.with_name(db.name + ".json")


def is_working_copy(path: str | Path) -> bool:
    """True for a snapshot perflab made (it carries a sidecar naming its source)."""
    side = _sidecar(Path(path))
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("kind") == SIDE_KIND
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class SnapshotReport:
    """What `snapshot` did: where the copy is, how the source was read, what it holds."""

    source: Path
    path: Path
    method: str
    journal_mode: str  # of the source: 'wal' or 'rollback'
    analyzed: bool  # sqlite_stat1 present in the user's file
    row_counts: Mapping[str, int]
    integrity: tuple[str, ...]  # empty: integrity_check said ok
    integrity_check: str  # 'integrity_check' or 'quick_check'
    views: tuple[str, ...]
    virtual_tables: tuple[str, ...]
    seconds: float
    source_fingerprint: tuple

    def to_json(self) -> dict:
        return {
            "kind": SIDE_KIND,
            "source": str(self.source),
            "path": str(self.path),
            "method": self.method,
            "journal_mode": self.journal_mode,
            "analyzed": self.analyzed,
            "row_counts": dict(self.row_counts),
            "integrity": list(self.integrity),
            "integrity_check": self.integrity_check,
            "views": list(self.views),
            "virtual_tables": list(self.virtual_tables),
            "seconds": self.seconds,
            "source_fingerprint": [list(x) for x in self.source_fingerprint],
        }

    @classmethod
    def from_json(cls, d: dict) -> SnapshotReport:
        return cls(
            source=Path(d["source"]),
            path=Path(d["path"]),
            method=d["method"],
            journal_mode=d["journal_mode"],
            analyzed=bool(d["analyzed"]),
            row_counts=dict(d["row_counts"]),
            integrity=tuple(d.get("integrity") or ()),
            integrity_check=d.get("integrity_check", "integrity_check"),
            views=tuple(d.get("views") or ()),
            virtual_tables=tuple(d.get("virtual_tables") or ()),
            seconds=float(d.get("seconds") or 0.0),
            source_fingerprint=tuple(tuple(x) for x in d.get("source_fingerprint") or ()),
        )


def _locked_error(path: Path, timeout: float, exc: Exception) -> PerflabError:
    return PerflabError(
        f"{path}: database is locked by another process (waited {timeout:g} s): {exc}; "
        "retry when it is idle"
    )


def _private_copy(src: Path, folder: Path, attempts: int = 5) -> Path:
    """Copy db + -wal/-journal byte for byte until a copy is taken with no change under it."""
    dst = folder / "source.db"
    for _ in range(attempts):
        before = _stat_key(src)
        for suffix in ("", "-wal", "-journal"):
            target = Path(str(dst) + suffix)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            s = Path(str(src) + suffix)
            try:
                shutil.copyfile(s, target)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise PerflabError(f"{s}: cannot read: {exc.strerror}") from None
        if _stat_key(src) == before:
            return dst
        time.sleep(0.05)
    raise PerflabError(
        f"{src}: the database kept changing while it was copied ({attempts} attempts); "
        "retry when the application is idle"
    )


def _open_source(src: Path, tmpdir: Path, timeout: float) -> tuple[sqlite3.Connection, str, str]:
    with src.open("rb") as fh:
        head = fh.read(100)
    wal_header = head[18] == 2 or head[19] == 2
    wal = Path(str(src) + "-wal")
    journal = Path(str(src) + "-journal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if journal.exists() and not has_wal:
        # a writer may hold the lock (mode=ro waits busy_timeout, then 'locked'); only a
        # hot journal left by a crash, which a read-only connection cannot roll back,
        # sends us to the private copy below
        uri = f"{src.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            return conn, "backup API from a mode=ro connection", "rollback"
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise
    if has_wal or journal.exists():
        private = _private_copy(src, tmpdir)
        conn = sqlite3.connect(private, timeout=timeout, isolation_level=None)
        method = (
            "byte copy of db + " + ("-wal" if has_wal else "-journal") + ", recovered privately"
        )
    elif wal_header:
        uri = f"{src.resolve().as_uri()}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        method = "backup API from a mode=ro&immutable=1 connection (WAL file, no -wal)"
    else:
        uri = f"{src.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        method = "backup API from a mode=ro connection"
    return conn, method, "wal" if (wal_header or has_wal) else "rollback"


def snapshot(
    source: str | Path,
    dest: str | Path,
    *,
    busy_timeout: float = 5.0,
    check: bool = True,
) -> SnapshotReport:
    """Copy the user's database to ``dest`` (atomically) without changing any of its files.

    Raises PerflabError (one line naming the file) for a missing, non-SQLite, truncated,
    unreadable, locked or empty database. Integrity problems in a readable file are
    returned in ``report.integrity``.
    """
    t0 = time.perf_counter()
    src = Path(source).expanduser().resolve()
    dest = Path(dest)
    check_source(src)
    fp = _stat_key(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".perflab-snap-", dir=dest.parent))
    work = tmpdir / "copy.sqlite"
    conn = dst = None
    try:
        try:
            conn, method, jmode = _open_source(src, tmpdir, busy_timeout)
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            copy_database(conn, work)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _locked_error(src, busy_timeout, exc) from None
            raise PerflabError(f"{src}: cannot read the database: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise PerflabError(f"{src}: cannot read the database: {exc}") from None
        finally:
            if conn is not None:
                conn.close()
        dst = sqlite3.connect(work, isolation_level=None)
        try:
            full = None
            if check and work.stat().st_size <= FULL_CHECK_MAX_BYTES:
                # notebook 06's checks too (foreign keys included), kept beside the copy
                full = checks.checked(work, conn=dst)
                problems, how = list(full.integrity_problems), full.method
            else:
                problems, how = _integrity(dst, work) if check else ((), "skipped")
            info = database_contents(dst)
        except sqlite3.DatabaseError as exc:
            raise PerflabError(f"{src}: cannot read the database: {exc}") from None
        dst.close()
        dst = None
        if not info["tables"]:
            extra = ""
            if info["virtual"]:
                extra = f" (only virtual tables: {', '.join(info['virtual'])})"
            raise PerflabError(f"{src}: empty database: no tables{extra}")
        os.replace(work, dest)
        report = SnapshotReport(
            source=src,
            path=dest,
            method=method,
            journal_mode=jmode,
            analyzed=info["analyzed"],
            row_counts=info["tables"],
            integrity=tuple(problems),
            integrity_check=how,
            views=tuple(info["views"]),
            virtual_tables=tuple(info["virtual"]),
            seconds=time.perf_counter() - t0,
            source_fingerprint=fp,
        )
        side = _sidecar(dest)
        side.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
        if full is not None:
            checks.keep(dest, full)  # os.replace kept the identity it was taken on
        return report
    finally:
        if dst is not None:
            dst.close()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _integrity(conn: sqlite3.Connection, path: Path) -> tuple[list[str], str]:
    how = "integrity_check" if path.stat().st_size <= FULL_CHECK_MAX_BYTES else "quick_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {how}({INTEGRITY_MAX_ERRORS})")]
    return ([] if rows == ["ok"] else [str(r) for r in rows]), how


def database_contents(conn: sqlite3.Connection) -> dict:
    """Row count per ordinary table, views, virtual tables, and whether ANALYZE ran."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY rowid").fetchall()
    shadow: set[str] = set()
    with contextlib.suppress(sqlite3.Error):
        shadow = {r[1] for r in conn.execute("PRAGMA main.table_list") if r[2] == "shadow"}
    tables: dict[str, int] = {}
    views, virtual = [], []
    for typ, name, sql in rows:
        if typ == "view":
            views.append(name)
        if typ != "table" or name.startswith("sqlite_") or name in shadow:
            continue
        if (sql or "").lstrip()[:14].upper().startswith("CREATE VIRTUAL"):
            virtual.append(name)
            continue
        tables[name] = conn.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone()[0]
    analyzed = any(n == "sqlite_stat1" for _t, n, _s in rows)
    return {"tables": tables, "views": views, "virtual": virtual, "analyzed": analyzed}


# ------------------------------------------------------------------------- run integration


def snapshot_dir() -> Path:
    return paths.cache_dir() / "snapshots"


def snapshot_path(source: str | Path) -> Path:
    """The working copy's path for a source file (stable per path and file state)."""
    src = Path(source).expanduser().resolve()
    key = hashlib.sha256(repr((str(src), _stat_key(src))).encode()).hexdigest()[:16]
    return snapshot_dir() / f"{src.stem}-{key}.sqlite"


def load_snapshot(path: str | Path) -> SnapshotReport:
    d = json.loads(_sidecar(Path(path)).read_text(encoding="utf-8"))
    rep = SnapshotReport.from_json(d)
    return rep


# ------------------------------------------------------------------------------- its DDL


def schema_ddl(db: str | Path) -> str:
    """The DDL of an existing database (tables, indexes, views, triggers), without virtual
    tables, their shadow tables or SQLite's internal tables."""
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        info = database_contents(conn)
        skip = set(info["virtual"])
        shadow: set[str] = set()
        with contextlib.suppress(sqlite3.Error):
            shadow = {r[1] for r in conn.execute("PRAGMA main.table_list") if r[2] == "shadow"}
        out = []
        for typ, name, tbl, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
            "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 "
            "ELSE 3 END, rowid"
        ):
            if name.startswith("sqlite_") or name in skip or name in shadow:
                continue
            if tbl in skip or tbl in shadow:
                continue
            del typ
            out.append(sql.rstrip().rstrip(";") + ";")
        return "\n\n".join(out) + "\n"
    finally:
        conn.close()
