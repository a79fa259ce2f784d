"""Integrity checks and an audit of the pragmas in force against documented advice.

The audit reads what a connection with the application's settings sees; each
rule cites the SQLite documentation's reasoning in a sentence, so a reader can
disagree with a recommendation knowingly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

import pandas as pd

from perflab.database.checks import CheckResult, run_checks
from perflab.sqlite.engine import pragma_values


@dataclass(frozen=True)
class PragmaCheck:
    pragma: str
    value: object
    status: str  # ok | advice | risk
    recommendation: str
    why: str


def integrity(conn: sqlite3.Connection, max_errors: int = 20) -> dict:
    """`PRAGMA integrity_check` and `foreign_key_check`, as lists of problems."""
    return run_checks(conn, max_errors)


def audit_pragmas(conn: sqlite3.Connection, db_bytes: int) -> list[PragmaCheck]:
    """Judge the pragmas in force; `db_bytes` sizes the cache advice."""
    p = pragma_values(conn)
    has_fks = bool(
        conn.execute(
            "SELECT 1 FROM sqlite_schema s, pragma_foreign_key_list(s.name) "
            "WHERE s.type = 'table' LIMIT 1"
        ).fetchone()
    )
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0] or 1
    page_size = int(p["page_size"])
    cache = int(p["cache_size"])
    cache_bytes = -cache * 1024 if cache < 0 else cache * page_size
    out = []

    def add(name, value, ok, status, rec, why):
        out.append(PragmaCheck(name, value, "ok" if ok else status, "" if ok else rec, why))

    jm = str(p["journal_mode"]).lower()
    add(
        "journal_mode",
        jm,
        jm == "wal",
        "risk",
        "PRAGMA journal_mode=WAL",
        "WAL lets readers run while one writer commits; rollback journals block readers.",
    )
    sync = int(p["synchronous"])
    sync_name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, str(sync))
    if sync == 0:
        add(
            "synchronous",
            sync_name,
            False,
            "risk",
            "PRAGMA synchronous=NORMAL",
            "OFF can corrupt the database on power loss.",
        )
    else:
        add(
            "synchronous",
            sync_name,
            jm != "wal" or sync == 1,
            "advice",
            "PRAGMA synchronous=NORMAL",
            "In WAL mode NORMAL is durable against application crashes and much faster "
            "than FULL; only a power loss can roll back the last commits.",
        )
    add(
        "foreign_keys",
        p["foreign_keys"],
        bool(p["foreign_keys"]) or not has_fks,
        "risk",
        "PRAGMA foreign_keys=ON on every connection",
        "Foreign keys are declared but not enforced unless each connection turns them on.",
    )
    add(
        "busy_timeout",
        p["busy_timeout"],
        int(p["busy_timeout"]) >= 1000,
        "risk",
        "PRAGMA busy_timeout=5000",
        "Without a busy timeout a concurrent writer makes statements fail with SQLITE_BUSY.",
    )
    add(
        "cache_size",
        f"{cache} ({cache_bytes / 2**20:.1f} MiB)",
        cache_bytes >= min(db_bytes, 64 * 2**20),
        "advice",
        f"PRAGMA cache_size=-{min(max(db_bytes // 1024, 2000), 262144)}",
        f"The page cache holds {cache_bytes / 2**20:.1f} MiB of a {db_bytes / 2**20:.1f} MiB "
        "database; pages beyond it come from the OS cache at a higher cost per read.",
    )
    add(
        "mmap_size",
        p["mmap_size"],
        int(p["mmap_size"]) > 0,
        "advice",
        "PRAGMA mmap_size=268435456",
        "Memory-mapped reads skip a copy per page for read-heavy workloads.",
    )
    add(
        "page_size",
        page_size,
        page_size >= 4096,
        "advice",
        "PRAGMA page_size=4096 + VACUUM",
        "4096 bytes matches OS pages; smaller pages deepen B-trees.",
    )
    add(
        "auto_vacuum",
        p["auto_vacuum"],
        True,
        "advice",
        "",
        "NONE keeps writes cheapest; use INCREMENTAL only if the file must shrink after deletes.",
    )
    add(
        "free_pages",
        f"{free} of {pages} ({free / pages:.1%})",
        free / pages < 0.10,
        "advice",
        "VACUUM",
        "Over 10% free pages: the file is larger and less dense than it needs to be.",
    )
    return out


def pragma_frame(checks: list[PragmaCheck]) -> pd.DataFrame:
    """Columns: pragma, value, status (ok | advice | risk), recommendation, why."""
    return pd.DataFrame([asdict(c) for c in checks])


def check_note(check: CheckResult) -> str:
    """When and on what the checks ran, as the report says it."""
    when = check.checked_at.replace("T", " ").replace("Z", " UTC")
    took = f"{check.seconds:.1f} s" if check.seconds >= 0.1 else f"{check.seconds * 1000:.0f} ms"
    if check.reused:
        return (
            f"taken {when} ({took}) on this database file and kept beside it; read back "
            "because the file has not changed since (same size, modification time and inode)"
        )
    return f"taken now, {when} ({took}), on this database file"


def integrity_records(conn: sqlite3.Connection, db_bytes: int, check: CheckResult) -> dict:
    """The checks' findings (``check``: `perflab.database.checks.checked` on the file
    ``conn`` reads), when they were taken, and the pragma audit of ``conn``, as summary.json
    carries them."""
    return {
        **check.findings(),
        "check_method": check.method,
        "checked_at": check.checked_at,
        "check_seconds": check.seconds,
        "check_reused": check.reused,
        "check_note": check_note(check),
        "pragma_audit": [
            {**asdict(c), "value": str(c.value)} for c in audit_pragmas(conn, db_bytes)
        ],
    }
