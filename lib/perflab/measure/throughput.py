"""Write throughput: the workload's write operations, timed and checked.

Every write runs on a *copy* of the database (SQLite's backup API into a
temporary file), never on the cached build or a user's file. Each operation's
statements run in one transaction (batch_size = 1), or `batch_size` operations
share one transaction. After each run the workload's `verify` query must have
moved by exactly ops × per_op: a lost or duplicated write is a failure
(`DataCheckError`), never a figure.

Timings are closed-loop (the next operation starts when the previous commit
returns), so they are service times of one writer, not latency under load.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from perflab.errors import PerflabError
from perflab.inputs.workload import ParamSampler, StatementSpec, WriteSpec, check_statement
from perflab.measure.stats import Bootstrap, aa_spread, throughput_ci
from perflab.measure.timing import Budget, summarize
from perflab.sqlite import engine


class DataCheckError(PerflabError):
    """A write run changed the data by something other than ops × per_op."""


class NotReplayable(PerflabError):
    """SQLite refused the write's statements on this database (a constraint, a missing
    table...): the write is listed as not replayed, the run goes on."""

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        from perflab.inputs.replay import reason_of

        self.reason = reason_of(cause)


def _durability(conn: sqlite3.Connection) -> dict:
    """journal_mode and synchronous as SQLite reports them ('wal', 1): the form every
    write record carries, whether it ran, was not replayed, or is a reference."""
    return {k: conn.execute(f"PRAGMA {k}").fetchone()[0] for k in ("journal_mode", "synchronous")}


@contextmanager
def _replaying(conn: sqlite3.Connection, where: str) -> Iterator[None]:
    """SQLite refusing a statement, or the keys running out, ends the write as not
    replayed: its open transaction is rolled back so the copy stays usable."""
    try:
        yield
    except (sqlite3.Error, PerflabError) as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise NotReplayable(f"{where}: {exc}", exc) from None


def _warm_up(execute, begin: str, one_op, warmup_ops: int, batch_size: int) -> None:
    for i in range(0, warmup_ops, batch_size):
        execute(begin)
        for _ in range(min(batch_size, warmup_ops - i)):
            one_op()
        execute("COMMIT")


def not_replayed_record(write: WriteSpec, batch_size: int, pragmas: dict, reason: str) -> dict:
    """A write run that could not run at all, as summary.json carries it."""
    return {
        "write": write.name,
        "batch_size": batch_size,
        "pragmas": pragmas,
        "ops": 0,
        "status": "not_replayed",
        "error": f"not replayed: {reason}",
        "ops_per_s": None,
        "ops_per_s_ci": [None, None],
        "verify": {"expected_delta": None, "actual_delta": None},
    }


def _run_or_list(
    conn: sqlite3.Connection, write: WriteSpec, budget: Budget, batch_size: int, token: str
) -> dict:
    """One run of a sweep as its record: a failed data check comes back as status 'failed'
    (not raised), a write SQLite refuses as 'not_replayed'."""
    try:
        run = run_write(conn, write, budget, batch_size=batch_size, token=token, check=False)
    except NotReplayable as exc:
        return not_replayed_record(write, batch_size, _durability(conn), exc.reason)
    return run.record(budget.seed)


# ------------------------------------------------------------------ one run


@dataclass
class WriteRun:
    """Result of one write configuration; `ok` False means the data check failed."""

    write: str
    batch_size: int
    pragmas: dict
    ops: int
    warmup_ops: int
    seconds: float  # wall time of the timed part
    txn_ns: np.ndarray  # per-transaction durations (BEGIN .. COMMIT)
    op_ns: np.ndarray  # per-operation durations (commit included for the op that commits)
    verify_expected: float | None
    verify_actual: float | None
    ok: bool = True
    error: str = ""
    extra: dict = field(default_factory=dict)

    def record(self, seed: int = 0) -> dict:
        """The run as summary.json carries it (no figures when the check failed); `seed`
        seeds the throughput interval's bootstrap."""
        base = {
            "write": self.write,
            "batch_size": self.batch_size,
            "pragmas": self.pragmas,
            "ops": self.ops,
            "warmup_ops": self.warmup_ops,
            "transactions": int(self.txn_ns.size),
            "seconds": self.seconds,
            "verify": {"expected_delta": self.verify_expected, "actual_delta": self.verify_actual},
            "status": "ok" if self.ok else "failed",
        }
        if not self.ok:
            return {**base, "error": self.error, "ops_per_s": None, "ops_per_s_ci": [None, None]}
        tp = throughput_ci(self.txn_ns / 1e9, self.batch_size, Bootstrap(seed=seed))
        st = summarize(self.op_ns)
        tx = summarize(self.txn_ns)
        return {
            **base,
            "ops_per_s": tp["ops_per_s"],
            "ops_per_s_ci": tp["ci"],
            # throughput is ops / mean transaction time: its halves' spread is of means
            "ops_per_s_aa_spread": aa_spread(self.txn_ns, np.mean),
            "ops_per_s_wall": self.ops / self.seconds if self.seconds > 0 else None,
            "op_latency_ms": st["latency_ms"],
            "op_latency_ci_ms": st["latency_ci_ms"],
            "txn_latency_ms": tx["latency_ms"],
        }


def _verify_value(conn: sqlite3.Connection, sql: str) -> float:
    row = conn.execute(sql).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def samplers(
    conn: sqlite3.Connection, stmts: Sequence[StatementSpec], seed: int, token: str, where: str
) -> list[ParamSampler]:
    """One checked parameter sampler per statement of a write (seeded per statement)."""
    out = []
    for j, st in enumerate(stmts):
        w = f"{where}.statements[{j}]"
        s = ParamSampler(conn, st.params, seed=seed + j, where=w, run_token=token)
        check_statement(conn, st.sql, len(s.draw()), w)  # one draw spent on the check
        out.append(s)
    return out


#: A write's budget when none is given (a run's comes from its profile): `iterations` are
#: its timed operations, `warmup` its untimed ones.
DEFAULT_BUDGET = Budget(iterations=200, warmup=10)


def run_write(
    conn: sqlite3.Connection,
    write: WriteSpec,
    budget: Budget = DEFAULT_BUDGET,
    *,
    batch_size: int = 1,
    token: str | None = None,
    check: bool = True,
) -> WriteRun:
    """Run `write` `budget.iterations` times (after `budget.warmup` untimed operations) on
    `conn`, `batch_size` operations per transaction, then verify.

    `conn` must be a writable connection to a copy, in autocommit mode
    (isolation_level None, as `engine.connect` opens it). `budget.max_seconds` stops
    the timed part early (at a transaction boundary); the check then uses the
    operations actually done. With `check` a failed verification raises
    `DataCheckError`; without it the run comes back with ok=False.
    """
    if batch_size < 1:
        raise PerflabError(f"write {write.name!r}: batch_size must be ≥ 1")
    where = f"write {write.name!r}"
    ops, warmup_ops, seed = budget.iterations, budget.warmup, budget.seed
    token = token or f"s{seed}b{batch_size}"
    try:
        draws = samplers(conn, write.statements, seed, token, where)
    except PerflabError as exc:
        raise NotReplayable(str(exc), exc) from None
    sqls = [st.sql for st in write.statements]
    pragmas = _durability(conn)
    verify = write.verify
    before = _verify_value(conn, verify.sql) if verify else None
    execute = conn.execute
    clock = time.perf_counter_ns
    begin = f"BEGIN {write.begin}"  # the application's mode, for a captured write

    def one_op() -> int:
        changed = 0
        for sql, s in zip(sqls, draws, strict=True):
            changed += execute(sql, s.draw()).rowcount
        return changed

    # warm-up: same path, untimed (statement cache, page cache, WAL file growth)
    with _replaying(conn, where):
        _warm_up(execute, begin, one_op, warmup_ops, batch_size)
    n_txn = (ops + batch_size - 1) // batch_size
    txn_ns = np.zeros(n_txn, dtype=np.int64)
    op_ns = np.zeros(ops, dtype=np.int64)
    cap = budget.max_seconds
    deadline = None if cap is None else clock() + int(cap * 1e9)
    done_ops = done_txn = 0
    t_start = clock()
    with _replaying(conn, where):
        for t in range(n_txn):
            k = min(batch_size, ops - done_ops)
            t0 = clock()
            execute(begin)
            last = t0
            for _ in range(k - 1):
                one_op()
                now = clock()
                op_ns[done_ops] = now - last
                last = now
                done_ops += 1
            one_op()
            execute("COMMIT")
            t1 = clock()
            op_ns[done_ops] = t1 - last
            done_ops += 1
            txn_ns[t] = t1 - t0
            done_txn += 1
            if deadline is not None and t1 > deadline:
                break
    seconds = (clock() - t_start) / 1e9
    run = WriteRun(
        write.name,
        batch_size,
        pragmas,
        done_ops,
        warmup_ops,
        seconds,
        txn_ns[:done_txn],
        op_ns[:done_ops],
        None,
        None,
    )
    if verify is not None:
        after = _verify_value(conn, verify.sql)
        run.verify_expected = (done_ops + warmup_ops) * verify.per_op
        run.verify_actual = after - (before or 0.0)
        if abs(run.verify_actual - run.verify_expected) > 1e-9:
            run.ok = False
            run.error = (
                f"{where}: data check failed: `{verify.sql}` moved by {run.verify_actual:g}, "
                f"expected {run.verify_expected:g} ({done_ops + warmup_ops} ops × "
                f"{verify.per_op:g}) — a write was lost or duplicated"
            )
            if check:
                raise DataCheckError(run.error)
    return run


# ------------------------------------------------------------------ copies


@dataclass(frozen=True)
class Pristine:
    """A private copy of the database that nothing ever opens: each working copy a stage
    needs is cloned from it by a plain file copy (the kernel's copy, no SQLite pager).

    SQLite's backup API is the safe way to copy a database someone else may open, and
    it reads and writes page by page: at full scale (1.65 GB) one copy took 4.6-7.7 s
    on this 2-core machine under load, and notebook 04 made 16 (115 s of its 379 s). A
    file nobody opens is consistent on disk as it is, so copying its bytes and syncing
    them (as the backup's commit does) gives the same database in 1.6-1.9 s (8.5 s for
    the first, same machine and load)."""

    path: Path


@contextmanager
def pristine(db_path: Path, workdir: Path | None = None) -> Iterator[Pristine]:
    """One backup-API copy of `db_path` (`engine.working_copy`: next to it, or in
    `workdir`), kept closed for cloning by `working_copy`, removed afterwards."""
    with engine.working_copy(db_path, workdir, name="pristine.db") as path:
        yield Pristine(path)


@contextmanager
def working_copy(src: Path | Pristine, workdir: Path | None = None) -> Iterator[Path]:
    """A writable copy of `src`, deleted afterwards with its -wal/-shm: cloned from a
    `Pristine` (in a private folder beside it, same filesystem), else made by
    `engine.working_copy` (the backup API)."""
    if not isinstance(src, Pristine):
        with engine.working_copy(src, workdir) as path:
            yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix=".perflab-copy-", dir=workdir or src.path.parent))
    try:
        dest = Path(shutil.copyfile(src.path, tmp / "copy.db"))
        # On disk before anything is timed, as the backup API's commit leaves its copy:
        # otherwise the kernel writes the clone back while the writes are measured, and
        # their fsyncs wait behind it.
        with open(dest, "rb+") as fh:
            os.fsync(fh.fileno())
        yield dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ sweeps

#: Durability configurations of the pragma sweep: (journal_mode, synchronous).
PRAGMA_GRID: tuple[tuple[str, str], ...] = tuple(
    (j, s) for j in ("WAL", "DELETE") for s in ("OFF", "NORMAL", "FULL")
)


def _open_copy(path: Path, pragmas: Mapping[str, object]) -> sqlite3.Connection:
    conn = engine.connect(path, readonly=False, pragmas=pragmas)
    return conn


def measure_writes(
    db_path: Path | Pristine,
    writes: Sequence[WriteSpec],
    budget: Budget = DEFAULT_BUDGET,
    *,
    batch_sizes: Sequence[int] = (1, 50),
    pragmas: Mapping[str, object] | None = None,
    workdir: Path | None = None,
) -> list[dict]:
    """Every write at every batch size under `pragmas` (default: the application's),
    on one copy of the database, each run within `budget`. Failed data checks come back
    as status 'failed'."""
    pragmas = dict(engine.APP_PRAGMAS if pragmas is None else pragmas)
    out = []
    seed = budget.seed
    with working_copy(db_path, workdir) as path:
        conn = _open_copy(path, pragmas)
        try:
            for w in writes:
                for bs in batch_sizes:
                    out.append(_run_or_list(conn, w, budget, bs, f"{seed}-{w.name}-{bs}"))
        finally:
            conn.close()
    return out


def pragma_sweep(
    db_path: Path | Pristine,
    writes: Sequence[WriteSpec],
    budget: Budget = DEFAULT_BUDGET,
    *,
    grid: Sequence[tuple[str, str]] = PRAGMA_GRID,
    batch_size: int = 1,
    workdir: Path | None = None,
) -> list[dict]:
    """What durability costs: each write under each (journal_mode, synchronous), each run
    within `budget`.

    One copy per journal mode (switching to DELETE rewrites the file header);
    other pragmas are the application's.
    """
    out = []
    for journal in dict.fromkeys(j for j, _ in grid):
        with working_copy(db_path, workdir) as path:
            for j, sync in grid:
                if j != journal:
                    continue
                pr = {**engine.APP_PRAGMAS, "journal_mode": journal, "synchronous": sync}
                conn = _open_copy(path, pr)
                try:
                    for w in writes:
                        token = f"{budget.seed}-{w.name}-{journal}-{sync}"
                        out.append(_run_or_list(conn, w, budget, batch_size, token))
                finally:
                    conn.close()
    return out


def failures(records: Sequence[dict]) -> list[str]:
    """Error lines of the runs whose data check failed."""
    return [r["error"] for r in records if r.get("status") == "failed"]


def not_replayed(records: Sequence[dict]) -> list[str]:
    """``name: not replayed: reason`` for each write SQLite refused on this database."""
    seen = dict.fromkeys(
        f"{r['write']}: {r['error']}" for r in records if r.get("status") == "not_replayed"
    )
    return list(seen)


def write_frame(records: Sequence[dict]) -> pd.DataFrame:
    """One row per run: write, batch_size, journal_mode, synchronous, ops, ops_per_s,
    ops_per_s_lo/hi (95% bootstrap CI), op p50/p99 ms, status."""
    rows = []
    for r in records:
        lat = r.get("op_latency_ms") or {}
        ci = r.get("ops_per_s_ci") or [None, None]
        rows.append(
            {
                "write": r["write"],
                "batch_size": r["batch_size"],
                "journal_mode": str(r["pragmas"].get("journal_mode", "")).upper(),
                "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                    r["pragmas"].get("synchronous"), r["pragmas"].get("synchronous")
                ),
                "ops": r["ops"],
                "ops_per_s": r.get("ops_per_s"),
                "ops_per_s_lo": ci[0],
                "ops_per_s_hi": ci[1],
                "op_p50_ms": lat.get("p50"),
                "op_p99_ms": lat.get("p99"),
                "status": r["status"],
                "work": (r.get("counters") or {}).get("sentence", ""),
            }
        )
    return pd.DataFrame(rows, columns=WRITE_FRAME_COLUMNS)


WRITE_FRAME_COLUMNS = [
    "write",
    "batch_size",
    "journal_mode",
    "synchronous",
    "ops",
    "ops_per_s",
    "ops_per_s_lo",
    "ops_per_s_hi",
    "op_p50_ms",
    "op_p99_ms",
    "status",
    "work",  # SQLite's own work per write (measure.write_counters), when counted
]


def repeat_write(
    db_path: Path | Pristine,
    write: WriteSpec,
    budget: Budget = DEFAULT_BUDGET,
    *,
    repeats: int = 5,
    batch_size: int = 1,
    workdir: Path | None = None,
) -> dict | None:
    """Repeat one write measurement `repeats` times, each on a fresh copy with the next
    seed, and report the spread of ops/s (a within-run repeatability check; between-run
    noise is larger, see measurement-facts §7)."""
    from perflab.measure.stats import repeatability

    vals = []
    for r in range(repeats):
        with working_copy(db_path, workdir) as path:
            conn = _open_copy(path, engine.APP_PRAGMAS)
            try:
                each = replace(budget, seed=budget.seed + r)
                run = run_write(conn, write, each, batch_size=batch_size, token=f"rep{r}")
                vals.append(run.record(budget.seed)["ops_per_s"])
            except NotReplayable:
                return None  # listed by measure_writes; nothing to repeat
            finally:
                conn.close()
    ops = budget.iterations
    return {"write": write.name, "batch_size": batch_size, "ops": ops, **repeatability(vals)}


def reported_pragmas(pragmas: Mapping[str, object] | None = None) -> dict:
    """The durability pragmas as a write run records them (`PRAGMA journal_mode`,
    `PRAGMA synchronous` read back: 'wal', 1), for `pragmas` (default: the application's).

    Read back from a connection to an empty scratch database, so the form is SQLite's
    own and matches the `pragmas` of every record `measure_writes` returns."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="perflab-pragmas-") as tmp:
        scratch = Path(tmp) / "scratch.db"
        scratch.touch()  # an empty file is an empty SQLite database
        conn = _open_copy(scratch, dict(engine.APP_PRAGMAS if pragmas is None else pragmas))
        try:
            return _durability(conn)
        finally:
            conn.close()
