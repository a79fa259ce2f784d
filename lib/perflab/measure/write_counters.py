"""Work counters of a write: SQLite's own counts per executed write, measured untimed.

Write throughput on a shared machine moved 0.54x between two runs of the same code on
the same file (an A/A pair); nothing in the write had changed. What SQLite did for each
write does not move like that: the VM steps its statements executed (triggers and index
maintenance run in the same virtual machine, so both add steps), the pages one write's
transaction wrote, and the rows it changed (triggers' changes included). A separate
counting pass measures them on its own copy, so the timed runs see the same data as
before and the counts are the same on any machine for the same data, write and seed.

Pages written are the WAL frames one transaction appends with checkpoints off: the
counting copy runs in WAL mode whatever the application's journal mode, because that is
the one mode where SQLite itself says how many pages a commit wrote.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from perflab.errors import PerflabError
from perflab.inputs.workload import WriteSpec
from perflab.measure import throughput
from perflab.sqlite import counters, engine

__all__ = ["COUNTED_OPS", "WRITE_COUNTERS", "WriteCounters", "count_writes"]

#: Writes counted per write workload (each in its own transaction, after none timed).
COUNTED_OPS = 20

#: What each per-write counter counts.
WRITE_COUNTERS = {
    "vm_steps": "virtual-machine instructions of the write's statements (triggers included)",
    "pages_written": "database pages its transaction wrote (WAL frames appended)",
    "rows_changed": "rows inserted, updated or deleted (by triggers too)",
}

_COUNTING_PRAGMAS = {
    "journal_mode": "WAL",
    "synchronous": "OFF",  # nothing here is timed; durability changes no count
    "foreign_keys": "ON",
    "wal_autocheckpoint": 0,  # the WAL only grows, so its frames are the pages written
}


@dataclass(frozen=True)
class WriteCounters:
    """One write's counts per executed write, in execution order (the same seed draws
    the same parameters, so two runs compare write by write). `vm_steps` is empty when
    this SQLite has no `sqlite_stmt` table; `reason` says why nothing was counted."""

    write: str
    ops: int = 0
    vm_steps: tuple[int, ...] = ()
    pages_written: tuple[int, ...] = ()
    rows_changed: tuple[int, ...] = ()
    reason: str | None = None

    def means(self) -> dict[str, float | None]:
        return {k: (sum(v) / len(v) if (v := getattr(self, k)) else None) for k in WRITE_COUNTERS}

    def record(self) -> dict:
        """The `counters` entry of a write in summary.json."""
        rec = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        return {**rec, "per_write": self.means(), "sentence": self.sentence()}

    def sentence(self) -> str:
        if self.reason:
            return f"work counters unavailable: {self.reason}"
        m = self.means()
        vm = "" if m["vm_steps"] is None else f"{m['vm_steps']:,.0f} VM steps, "
        return (
            f"{vm}{m['pages_written']:,.1f} pages written and {m['rows_changed']:,.1f} rows "
            f"changed per write (mean of {self.ops} writes, each its own transaction)"
        )


def _frames(wal: Path, page_size: int) -> int:
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, (size - 32) // (page_size + 24))


def _count_one(conn: sqlite3.Connection, wal: Path, write: WriteSpec, ops: int, seed: int):
    where = f"write {write.name!r}"
    samplers = throughput.samplers(conn, write.statements, seed, f"count{seed}", where)
    sqls = [st.sql for st in write.statements]
    texts = sorted(set(sqls))
    stmt = counters.unavailable_reason(conn) is None
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    vm, pages, rows = [], [], []
    for _ in range(ops):
        before = [counters.totals(conn, s) for s in texts] if stmt else []
        changes, frames = conn.total_changes, _frames(wal, page)
        conn.execute(f"BEGIN {write.begin}")
        for sql, s in zip(sqls, samplers, strict=True):
            conn.execute(sql, s.draw())
        conn.execute("COMMIT")
        if stmt:
            after = [counters.totals(conn, s) for s in texts]
            vm.append(sum((a - b).vm_steps for a, b in zip(after, before, strict=True)))
        pages.append(_frames(wal, page) - frames)
        rows.append(conn.total_changes - changes)
    return WriteCounters(write.name, ops, tuple(vm), tuple(pages), tuple(rows))


def count_writes(
    src: Path | throughput.Pristine,
    writes: Sequence[WriteSpec],
    seed: int,
    *,
    ops: int = COUNTED_OPS,
) -> dict[str, WriteCounters]:
    """Each write's counters, by name, from `ops` writes on a private copy of `src`.

    A write SQLite refuses is not counted (its reason kept); the others still are."""
    out: dict[str, WriteCounters] = {}
    with throughput.working_copy(src) as path:
        conn = engine.connect(path, readonly=False, pragmas=_COUNTING_PRAGMAS)
        wal = Path(f"{path}-wal")
        try:
            for w in writes:
                try:
                    out[w.name] = _count_one(conn, wal, w, ops, seed)
                except (sqlite3.Error, PerflabError) as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    out[w.name] = WriteCounters(w.name, reason=f"not counted: {exc}")
        finally:
            conn.close()
            for extra in (wal, Path(f"{path}-shm")):
                if extra.exists():
                    os.remove(extra)
    return out
