"""`PRAGMA integrity_check` and `foreign_key_check` of a database perflab made, run once and
kept beside the file for as long as the file stays the one that was checked.

A check reads every page and looks up every index entry of every row: on the full profile's
database it was most of notebook 06. Nothing changes a database perflab built or copied
once it is in place: the stages open it through ``mode=ro`` connections and write only to
copies (`perflab.sqlite.engine.working_copy`). So the result is written beside the file
(``<db>.check.json``, atomically) with the file's identity (size, modification time in ns,
inode, and no ``-wal`` holding frames), and `checked` reads it back while that identity
holds; any change, and the check runs again. Each result says when it was taken, on which
identity and how long it took, so a report can say so.

`perflab run` takes the check during its database stage, beside the other builds, where
nothing is measured (`perflab.inputs.context.prepare`); notebook 06 then reads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from perflab.fsio import atomic_write_text
from perflab.sqlite.schema import quote_ident

__all__ = [
    "CheckResult",
    "check_part",
    "check_parts",
    "checked",
    "combine",
    "identity",
    "keep",
    "run_checks",
    "stored",
]

#: Problems listed at most (integrity_check's own limit, and foreign-key rows listed).
MAX_ERRORS = 20
#: Version of the stored result's format: another version is not read back.
STORE_VERSION = 1
#: The check's page cache: the whole file up to this (an index entry's lookup then finds its
#: pages in memory instead of going back to the OS for pages evicted from 2 MB).
CHECK_CACHE_MAX = 1 << 30


@dataclass(frozen=True)
class CheckResult:
    """What the checks found on one file, and when and how they ran."""

    integrity_ok: bool
    integrity_problems: tuple[str, ...]
    foreign_keys_ok: bool
    foreign_key_violations: int
    foreign_key_problems: tuple[str, ...]
    method: str  # integrity_check (every page and index entry)
    checked_at: str  # UTC, ISO 8601, when the check ran
    seconds: float
    file: tuple[int, int, int]  # (size, mtime_ns, inode) of the file checked
    reused: bool = False  # read back from beside the file, not run now
    how: str = "one integrity_check"  # or in parts, in parallel (`check_parts`)

    def findings(self) -> dict:
        """The five keys summary.json's `integrity` carries for them."""
        return {
            "integrity_ok": self.integrity_ok,
            "integrity_problems": list(self.integrity_problems),
            "foreign_keys_ok": self.foreign_keys_ok,
            "foreign_key_violations": self.foreign_key_violations,
            "foreign_key_problems": list(self.foreign_key_problems),
        }


def run_checks(
    conn: sqlite3.Connection, max_errors: int = MAX_ERRORS, method: str = "integrity_check"
) -> dict:
    """`PRAGMA integrity_check` (or ``quick_check``) and `foreign_key_check` on ``conn``,
    as lists of problems (the keys of `CheckResult.findings`)."""
    rows = [str(r[0]) for r in conn.execute(f"PRAGMA {method}({int(max_errors)})")]
    problems = [] if rows == ["ok"] else rows
    fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    fk_problems = _fk_lines(fk[:max_errors])
    return {
        "integrity_ok": not problems,
        "integrity_problems": problems,
        "foreign_keys_ok": not fk,
        "foreign_key_violations": len(fk),
        "foreign_key_problems": fk_problems,
    }


def _fk_lines(rows: list[tuple]) -> list[str]:
    return [
        f"{t}: rowid {rid} references missing row in {parent} (foreign key #{idx})"
        for t, rid, parent, idx in rows
    ]


# ------------------------------------------------------------------------------ in parts
# integrity_check = quick_check (every page, B-tree structure, free list, NOT NULL and CHECK)
# + for each table, its index entries against its rows and its UNIQUE constraints, which
# `PRAGMA integrity_check(TABLE)` checks for that table (SQLite's "partial integrity
# check"). The parts run in separate processes: the two largest tables took about the
# same time, so two processes take about half the single check's time.


def check_parts(path: str | Path, rows: Mapping[str, int] | None = None) -> list[str]:
    """The parts `check_part` takes, together integrity_check and foreign_key_check: each
    ordinary table, and "" (quick_check of the whole file). Longest first, by an estimate:
    a table's rows times (1 + its indexes), the quick check half the rows of the file (on
    the full profile: audit 2M rows x 7 took 30 s, memory_entries 1M x 8 19 s, the quick
    check of all 5.1M rows 4.6 s)."""
    conn = _open(Path(path))
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' "
                "AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%'"
            )
        ]
        indexes = dict(
            conn.execute(
                "SELECT tbl_name, count(*) FROM sqlite_schema WHERE type = 'index' GROUP BY 1"
            )
        )
    finally:
        conn.close()
    rows = rows or {}
    cost = {t: int(rows.get(t, 0)) * (1 + int(indexes.get(t, 0))) for t in names}
    cost[""] = sum(int(rows.get(t, 0)) for t in names) // 2
    return sorted(cost, key=lambda t: -cost[t])


def check_part(path: str | Path, part: str) -> dict:
    """One part of the check on a read-only connection: problems, foreign-key rows (as
    `run_checks` words them) and seconds."""
    t0 = time.perf_counter()
    conn = _open(Path(path))
    try:
        if part:
            name = quote_ident(part)
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({name})")]
            fk = conn.execute(f"PRAGMA foreign_key_check({name})").fetchall()
        else:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA quick_check({MAX_ERRORS})")]
            fk = []
    finally:
        conn.close()
    return {
        "part": part,
        "problems": [] if rows == ["ok"] else rows,
        "fk": _fk_lines(fk[:MAX_ERRORS]),
        "fk_count": len(fk),
        "seconds": time.perf_counter() - t0,
    }


def combine(
    parts: list[dict], *, file: tuple[int, int, int], checked_at: str, seconds: float, how: str
) -> CheckResult:
    """The parts' results as one `CheckResult` (problems in part order, at most MAX_ERRORS)."""
    problems = [p for r in parts for p in r["problems"]][:MAX_ERRORS]
    fk = [p for r in parts for p in r["fk"]][:MAX_ERRORS]
    count = sum(int(r["fk_count"]) for r in parts)
    return CheckResult(
        not problems,
        tuple(problems),
        not count,
        count,
        tuple(fk),
        "integrity_check",
        checked_at,
        round(seconds, 3),
        file,
        how=how,
    )


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity(path: str | Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the database file, or None when it is missing or its
    ``-wal`` holds frames (the content is then more than the file)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    with contextlib.suppress(FileNotFoundError):
        if Path(str(path) + "-wal").stat().st_size > 0:
            return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _store_path(path: Path) -> Path:
    return path.with_name(path.name + ".check.json")


def stored(path: str | Path) -> CheckResult | None:
    """The result stored beside ``path`` when the file is still the one it was taken on;
    None otherwise (no result, another format, or the file changed since)."""
    path = Path(path)
    now = identity(path)
    if now is None:
        return None
    try:
        d = json.loads(_store_path(path).read_text(encoding="utf-8"))
        if d.pop("version", None) != STORE_VERSION:
            return None
        d["file"] = tuple(d["file"])
        d["integrity_problems"] = tuple(d["integrity_problems"])
        d["foreign_key_problems"] = tuple(d["foreign_key_problems"])
        res = CheckResult(**{**d, "reused": True})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return res if res.file == now and res.method == "integrity_check" else None


def _open(path: Path) -> sqlite3.Connection:
    """Read-only, with a page cache holding the file (up to CHECK_CACHE_MAX)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    kib = min(path.stat().st_size, CHECK_CACHE_MAX) // 1024 + 2048
    conn.execute(f"PRAGMA cache_size=-{kib}")
    return conn


def checked(
    path: str | Path, *, store: bool = False, conn: sqlite3.Connection | None = None
) -> CheckResult:
    """The checks of the database at ``path``: the stored result while the file is unchanged,
    else run now (on ``conn`` when given, else a read-only connection of this module's).
    ``store``: keep the result beside the file; only for a file perflab made (a cached
    build or a snapshot's working copy), never beside a user's file."""
    path = Path(path)
    got = stored(path)
    if got is not None:
        return got
    before = identity(path)
    started = now_utc()
    t0 = time.perf_counter()
    own = conn is None
    c = _open(path) if own else conn
    try:
        found = run_checks(c)
    finally:
        if own:
            c.close()
    res = CheckResult(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in found.items()},
        method="integrity_check",
        checked_at=started,
        seconds=round(time.perf_counter() - t0, 3),
        file=before or (0, 0, 0),  # no identity (a -wal with frames): never stored
    )
    if store:
        keep(path, res)
    return res


def keep(path: str | Path, result: CheckResult) -> bool:
    """Store ``result`` beside ``path`` when the file there is still the one it was taken
    on (a file renamed into place keeps its identity); False when it is not."""
    path = Path(path)
    if identity(path) != result.file:
        return False
    d = {"version": STORE_VERSION, **asdict(result)}
    del d["reused"]
    atomic_write_text(_store_path(path), json.dumps(d, indent=2))
    return True
