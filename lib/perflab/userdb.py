"""Bring your own database or schema: the user's file is read, never written.

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

The working copy is checked with ``PRAGMA integrity_check``: problems in a file
that can still be read are returned as findings; a file that cannot be read is
one clear error. ANALYZE is never run (``analyzed`` says whether the user's file
carries ``sqlite_stat1``).

`schema_spec` writes the dataset spec used when only DDL is given (``--schema``)
and `spec_for_database` derives one from an existing database (used by the scale
sweep, which generates synthetic data of the same shape).
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

import yaml

from perflab import paths
from perflab.engine import copy_database
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text

__all__ = [
    "DEFAULT_ROWS",
    "SnapshotReport",
    "empty_targets",
    "existing_build",
    "fingerprint",
    "is_sqlite_file",
    "is_working_copy",
    "resolve_inputs",
    "schema_ddl",
    "schema_spec",
    "snapshot",
    "spec_for_database",
]

SQLITE_HEADER = b"SQLite format 3\x00"
#: Rows per table for each profile scale when only a schema is given.
DEFAULT_ROWS: Mapping[str, int] = {"tiny": 1_000, "quick": 10_000, "full": 100_000}
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


def _check_source(path: Path) -> None:
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
    _check_source(src)
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
            problems, how = _integrity(dst, work) if check else ((), "skipped")
            info = _contents(dst)
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
        return report
    finally:
        if dst is not None:
            dst.close()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _integrity(conn: sqlite3.Connection, path: Path) -> tuple[list[str], str]:
    how = "integrity_check" if path.stat().st_size <= FULL_CHECK_MAX_BYTES else "quick_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {how}({INTEGRITY_MAX_ERRORS})")]
    return ([] if rows == ["ok"] else [str(r) for r in rows]), how


def _contents(conn: sqlite3.Connection) -> dict:
    from perflab.schema import quote_ident

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


def existing_build(path: str | Path, *, seed: int | None = None, busy_timeout: float = 5.0):
    """A BuildReport for an existing database: the working copy if ``path`` is one,
    else a fresh snapshot of the user's file (scale 'existing', from_cache False)."""
    from perflab.dataset import BuildReport

    p = Path(path).expanduser().resolve()
    rep = (
        load_snapshot(p)
        if is_working_copy(p)
        else snapshot(p, snapshot_path(p), busy_timeout=busy_timeout)
    )
    total = sum(rep.row_counts.values())
    notes = []
    if rep.integrity:
        notes.append(f"integrity problems ({rep.integrity_check}): " + "; ".join(rep.integrity))
    if rep.virtual_tables:
        notes.append(
            "virtual tables not analysed (their storage belongs to a module): "
            + ", ".join(rep.virtual_tables)
        )
    return BuildReport(
        path=rep.path,
        scale="existing",
        seed=int(seed) if seed is not None else 0,
        row_counts=dict(rep.row_counts),
        seconds=rep.seconds,
        rows_per_s=total / rep.seconds if rep.seconds > 0 else 0.0,
        analyzed=rep.analyzed,
        dropped_duplicates={},
        cache_key="",
        from_cache=False,
        source=str(rep.source),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------- specs from DDL


def schema_ddl(db: str | Path) -> str:
    """The DDL of an existing database (tables, indexes, views, triggers), without virtual
    tables, their shadow tables or SQLite's internal tables."""
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        info = _contents(conn)
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


def cache_file(kind: str, stem: str, content: str, suffix: str) -> Path:
    """A generated input file in perflab's cache, named by its content's hash."""
    key = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    folder = paths.cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{key}{suffix}"
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        atomic_write_text(path, content)
    return path


def schema_spec(
    schema: str | Path,
    *,
    rows: Mapping[str, int] | Mapping[str, Mapping[str, int]] | None = None,
    name: str | None = None,
) -> Path:
    """Write (in the cache) the default dataset spec for a DDL file and return its path.

    ``rows`` maps scale -> rows per table (or scale -> {table: rows}); default
    `DEFAULT_ROWS`. Virtual tables are left out (reported by the schema introspection).
    """
    from perflab.schema import introspect_ddl, load_ddl

    schema = Path(schema).expanduser().resolve()
    ddl = load_ddl(schema)
    info = introspect_ddl(ddl, str(schema))
    if not info.tables:
        raise PerflabError(f"{schema}: no tables in the schema")
    info.dependency_order()  # a FK cycle is refused here, naming its tables
    rows = rows or DEFAULT_ROWS
    scales = {}
    for scale, n in rows.items():
        if isinstance(n, Mapping):
            scales[scale] = {t.name: int(n.get(t.name, 0)) for t in info.tables}
        else:
            scales[scale] = {t.name: int(n) for t in info.tables}
    spec = {
        "name": name or schema.stem,
        "schema": str(schema),
        "seed": 0,
        "scales": scales,
    }
    text = (
        "# generated by perflab from "
        + str(schema)
        + "\n"
        + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    )
    return cache_file("specs", schema.stem, text, ".yaml")


def spec_for_database(db: str | Path):
    """A DatasetSpec with the database's schema and, per scale, its row counts capped at
    `DEFAULT_ROWS` (used by the scale sweep, which generates synthetic data)."""
    from perflab.dataset import load_dataset_spec

    db = Path(db)
    if is_working_copy(db):
        counts = load_snapshot(db).row_counts
    else:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            counts = _contents(conn)["tables"]
        finally:
            conn.close()
    ddl = schema_ddl(db)
    ddl_path = cache_file("schemas", db.stem, ddl, ".sql")
    rows = {s: {t: min(int(n), cap) for t, n in counts.items()} for s, cap in DEFAULT_ROWS.items()}
    return load_dataset_spec(schema_spec(ddl_path, rows=rows, name=db.stem))


def empty_targets() -> Path:
    """A targets file with no targets (used with --db/--schema when --targets is absent)."""
    text = "# generated by perflab: no targets given\nsource: none\ntargets: []\n"
    return cache_file("targets", "none", text, ".yaml")


@dataclass(frozen=True)
class ResolvedInputs:
    dataset: Path | None
    workload: Path | None
    targets: Path | None
    notes: tuple[str, ...] = ()
    snapshot: SnapshotReport | None = None


def resolve_inputs(
    *,
    db: str | Path | None = None,
    schema: str | Path | None = None,
    dataset: str | Path | None = None,
    workload: str | Path | None = None,
    targets: str | Path | None = None,
    busy_timeout: float | None = None,
) -> ResolvedInputs:
    """Turn --db / --schema into the files a run passes to its notebooks.

    --db: the database is snapshotted now (the working copy becomes the run's
    ``dataset``); --schema: a dataset spec is generated (or the given --dataset is
    re-pointed at the schema). Without --workload a workload is drafted from the
    schema; without --targets the target set is empty.
    """
    notes: list[str] = []
    if busy_timeout is None:  # how long to wait for another process's lock on --db
        try:
            busy_timeout = float(os.environ.get("PERFLAB_BUSY_TIMEOUT", "5"))
        except ValueError:
            raise PerflabError("PERFLAB_BUSY_TIMEOUT must be a number of seconds") from None
    if db and schema:
        raise PerflabError("give --db or --schema, not both")
    if db and dataset:
        raise PerflabError("--dataset does not apply to --db (the data is the database's own)")
    if not db and not schema:
        return ResolvedInputs(
            Path(dataset) if dataset else None,
            Path(workload) if workload else None,
            Path(targets) if targets else None,
        )
    for what, value in (("workload", workload), ("targets", targets)):
        if value and not Path(value).expanduser().is_file():
            raise PerflabError(f"{value}: {what} file not found")
    if workload:  # a YAML error is reported before the database is even read
        from perflab.workload import load_workload

        load_workload(Path(workload).expanduser())
    snap = None
    if db:
        src = Path(db).expanduser()
        _check_source(src.resolve() if src.exists() else src)
        snap = snapshot(src, snapshot_path(src), busy_timeout=busy_timeout)
        data_path = snap.path
        if snap.integrity:
            notes.append(
                f"{src}: integrity problems ({snap.integrity_check}): {snap.integrity[0]}"
                + (f" (+{len(snap.integrity) - 1} more)" if len(snap.integrity) > 1 else "")
            )
    else:
        schema_p = Path(schema).expanduser()
        if not schema_p.is_file():
            raise PerflabError(f"{schema}: schema file not found")
        if dataset:
            data_path = _respec(Path(dataset).expanduser(), schema_p)
        else:
            data_path = schema_spec(schema_p)
    wl = Path(workload).expanduser().resolve() if workload else None
    if wl is None:
        from perflab.draft import draft_workload

        text = draft_workload(db=snap.path if snap else None, schema=None if db else schema)
        wl = cache_file("workloads", Path(db or schema).stem, text, ".yaml")
        notes.append(
            f"no --workload: using a drafted workload ({wl}); edit it with `perflab workload init`"
        )
    elif snap is not None:
        wl = _fit_captured(snap.path, wl, notes)
    tg = Path(targets).expanduser().resolve() if targets else empty_targets()
    return ResolvedInputs(data_path, wl, tg, tuple(notes), snap)


def _fit_captured(db: Path, wl: Path, notes: list[str]) -> Path:
    """A captured workload, fitted to this database (perflab.replay): keys that respect its
    constraints; statements that still cannot run are listed, not fatal."""
    from perflab.replay import fit_workload
    from perflab.workload import load_workload

    if load_workload(wl).origin != "capture":
        return wl
    fit = fit_workload(db, wl)
    out = cache_file("workloads", wl.stem + "-fitted", fit.text, ".yaml")
    if fit.rewritten:
        notes.append(
            f"captured writes fitted to the schema (keys, parents, existing rows): "
            f"{', '.join(fit.rewritten)}"
        )
    for s in fit.not_replayed:
        notes.append(f"not replayed: {s.kind} {s.name}: {s.reason}")
    return out


def _respec(dataset: Path, schema: Path) -> Path:
    """The user's dataset spec, validated against --schema, re-pointed at it."""
    from perflab.dataset import load_dataset_spec

    load_dataset_spec(dataset, schema=schema)  # errors name the user's file and line
    from perflab.yamlio import load_yaml

    data = load_yaml(dataset)
    data["schema"] = str(schema.resolve())
    text = f"# {dataset} with schema {schema}\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True
    )
    return cache_file("specs", dataset.stem, text, ".yaml")
