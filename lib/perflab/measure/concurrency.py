"""Real concurrency on a file database in WAL mode.

N readers, each on its own connection, run as threads or as separate
processes, start together at a barrier and read for a fixed duration (or a
fixed number of reads), optionally beside a writer on its own connection. A
monitor samples the WAL file (size, checkpoint sequence in its header) while
they run. Everything runs on a copy of the database.

Readers are closed-loop by default: each read starts when the previous one
returns, so their latencies are **service times** under contention, and a
stall is counted once however many reads it delayed (coordinated omission).
Give `interval_s` to run them open-loop instead: reads are scheduled at a fixed
rate and timed from their scheduled start, so queueing behind a stall counts.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from perflab.errors import PerflabError
from perflab.inputs.workload import ConcurrencySpec, ParamSampler, WriteSpec
from perflab.measure.stats import bootstrap_ci, repeatability
from perflab.measure.throughput import DataCheckError, Pristine, working_copy
from perflab.measure.timing import quantile_ci, summarize
from perflab.sqlite import engine

_BUSY = ("database is locked", "database is busy", "database table is locked")


@dataclass(frozen=True)
class ReaderTask:
    """What one reader does (picklable, so it can go to a spawned process)."""

    db_path: str
    sql: str
    params: tuple[tuple, ...]
    duration_s: float | None = 1.0  # stop after this long ...
    reads: int | None = None  # ... or after this many reads
    interval_s: float | None = None  # open-loop schedule; None = closed loop
    pragmas: tuple[tuple[str, object], ...] = tuple(engine.APP_PRAGMAS.items())
    max_retries: int = 100


@dataclass(frozen=True)
class WriterTask:
    db_path: str
    write: WriteSpec
    duration_s: float = 1.0
    rate_per_s: float | None = None  # None: as fast as it can (closed loop)
    seed: int = 0
    token: str = "writer"
    pragmas: tuple[tuple[str, object], ...] = tuple(engine.APP_PRAGMAS.items())
    max_retries: int = 100


def _is_busy(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(m in str(exc) for m in _BUSY)


def _wait_until(clock, when_ns: int) -> None:
    """Sleep until ``clock()`` reaches ``when_ns`` (an open-loop schedule), waking about
    50 µs early and re-checking, so the start is not late by a whole sleep."""
    while clock() < when_ns:
        time.sleep(max(0.0, (when_ns - clock()) / 1e9 - 50e-6))


def _with_retries(op, max_retries: int, rollback: sqlite3.Connection | None = None):
    """Run ``op()``, retrying SQLITE_BUSY up to ``max_retries`` times 1 ms apart (as the
    application's busy handler would); any other error, or the last busy one, is a failure.
    ``rollback``: the connection whose open transaction a failure rolls back.
    Returns (succeeded, retries spent, what ``op`` returned or None)."""
    retries = 0
    for attempt in range(max_retries + 1):
        try:
            return True, retries, op()
        except sqlite3.OperationalError as exc:
            if rollback is not None and rollback.in_transaction:
                rollback.execute("ROLLBACK")
            if not _is_busy(exc) or attempt == max_retries:
                return False, retries, None
            retries += 1
            time.sleep(0.001)
    raise AssertionError("unreachable")  # the loop always returns


def _transaction(conn: sqlite3.Connection, sqls: Sequence[str], params: Sequence[tuple]) -> None:
    """One write operation: its statements in one BEGIN IMMEDIATE ... COMMIT."""
    conn.execute("BEGIN IMMEDIATE")
    for sql, p in zip(sqls, params, strict=True):
        conn.execute(sql, p)
    conn.execute("COMMIT")


def _reader(task: ReaderTask, barrier, offset: int = 0) -> dict:
    clock = time.perf_counter_ns
    t_open = clock()
    conn = engine.connect(Path(task.db_path), readonly=True, pragmas=dict(task.pragmas))
    open_ns = clock() - t_open
    cur = conn.cursor()
    execute = cur.execute
    params = task.params
    np_ = len(params)
    lat: list[int] = []
    ends: list[int] = []
    errors = retries = rows = 0
    barrier.wait(timeout=120)
    start = clock()
    end = start + int(task.duration_s * 1e9) if task.duration_s else None
    step = int(task.interval_s * 1e9) if task.interval_s else 0
    i = 0
    t1 = start
    while True:
        p = params[(offset + i) % np_]
        scheduled = start + i * step
        if step:
            _wait_until(clock, scheduled)
        t0 = clock()
        ok, tries, got = _with_retries(
            lambda p=p: len(execute(task.sql, p).fetchall()), task.max_retries
        )
        t1 = clock()
        retries += tries
        rows += got if ok else 0
        errors += not ok
        if ok:  # a failed read returned nothing: it has no latency, it is an error
            lat.append(t1 - (scheduled if step else t0))
            ends.append(t1)
        i += 1
        if task.reads is not None and i >= task.reads:
            break
        if end is not None and t1 >= end:
            break
    conn.close()
    return {
        "lat_ns": np.asarray(lat, dtype=np.int64),
        "ends": np.asarray(ends, dtype=np.int64),
        "errors": errors,
        "retries": retries,
        "rows": rows,
        "start": start,
        "end": t1,
        "open_ns": open_ns,
        "pid": os.getpid(),
    }


def _writer(task: WriterTask, barrier, offset: int = 0) -> dict:
    clock = time.perf_counter_ns
    conn = engine.connect(Path(task.db_path), readonly=False, pragmas=dict(task.pragmas))
    samplers = [
        ParamSampler(conn, st.params, seed=task.seed + j, run_token=task.token)
        for j, st in enumerate(task.write.statements)
    ]
    sqls = [st.sql for st in task.write.statements]
    lat: list[int] = []
    errors = retries = 0
    barrier.wait(timeout=120)
    start = clock()
    end = start + int(task.duration_s * 1e9)
    step = int(1e9 / task.rate_per_s) if task.rate_per_s else 0
    i = 0
    t1 = start
    while t1 < end:
        scheduled = start + i * step
        if step:
            _wait_until(clock, scheduled)
        t0 = clock()
        drawn = [s.draw() for s in samplers]
        ok, tries, _ = _with_retries(
            lambda drawn=drawn: _transaction(conn, sqls, drawn), task.max_retries, conn
        )
        t1 = clock()
        retries += tries
        errors += not ok
        lat.append(t1 - (scheduled if step else t0))
        i += 1
    conn.close()
    return {
        "lat_ns": np.asarray(lat, dtype=np.int64),
        "errors": errors,
        "retries": retries,
        "ops": len(lat) - errors,
        "start": start,
        "end": t1,
    }


def _wal_header(path: Path) -> tuple[int, int] | None:
    """(size in bytes, checkpoint sequence number) of a WAL file, None if absent."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    seq = struct.unpack(">I", head[12:16])[0] if len(head) >= 16 else 0
    return size, seq


class WalMonitor(threading.Thread):
    """Samples the -wal file every `period_s`: time, size, checkpoint sequence.

    The sequence number in the WAL header goes up each time the log restarts
    after a completed checkpoint, so its increments count checkpoints that let
    the log be reused.
    """

    def __init__(self, db_path: Path, period_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.wal = Path(str(db_path) + "-wal")
        self.period = period_s
        self.samples: list[tuple[float, int, int]] = []
        self._halt = threading.Event()
        self._t0 = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            h = _wal_header(self.wal)
            if h is not None:
                self.samples.append((time.perf_counter() - self._t0, h[0], h[1]))
            self._halt.wait(self.period)

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        h = _wal_header(self.wal)
        if h is not None:
            self.samples.append((time.perf_counter() - self._t0, h[0], h[1]))
        sizes = [s[1] for s in self.samples]
        seqs = [s[2] for s in self.samples]
        resets = sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a)
        step = max(1, len(self.samples) // 200)  # keep at most ~200 points
        return {
            "max_bytes": max(sizes) if sizes else 0,
            "final_bytes": sizes[-1] if sizes else 0,
            "checkpoint_resets": resets,
            "series": [
                {"t_s": round(t, 4), "bytes": b, "seq": q} for t, b, q in self.samples[::step]
            ],
        }


# ------------------------------------------------------------------ running


def _run_group(
    mode: str,
    readers: Sequence[ReaderTask],
    writer: WriterTask | None,
    start_method: str | None,
    pool: WorkerPool | None = None,
) -> tuple[list[dict], dict | None, float]:
    """Run readers (+ writer) together; returns reader results, writer result and
    the setup time (handing out the tasks + connect, before the barrier releases) in
    seconds. Processes come from `pool` (kept across configurations), else from a pool
    made for this group alone."""
    n = len(readers) + (writer is not None)
    t_setup = time.perf_counter_ns()
    if mode == "thread":
        barrier = threading.Barrier(n)
        out: list = [None] * n
        errs: list[BaseException] = []

        def target(i: int, fn, task) -> None:
            try:
                out[i] = fn(task, barrier, i * 7)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errs.append(exc)
                barrier.abort()

        jobs = [
            threading.Thread(target=target, args=(i, _reader, t)) for i, t in enumerate(readers)
        ]
        if writer is not None:
            jobs.append(threading.Thread(target=target, args=(n - 1, _writer, writer)))
        for j in jobs:
            j.start()
        for j in jobs:
            j.join()
        if errs:
            raise PerflabError(f"concurrency: a worker failed: {errs[0]}")
    elif mode == "process":
        tasks = [("r", t) for t in readers] + ([("w", writer)] if writer is not None else [])
        if pool is not None:
            out = pool.run(tasks)
        else:
            with WorkerPool(start_method) as own:
                out = own.run(tasks)
    else:
        raise PerflabError(f"concurrency: mode must be 'thread' or 'process', not {mode!r}")
    first = min(r["start"] for r in out)
    setup_s = (first - t_setup) / 1e9
    if writer is not None:
        return out[:-1], out[-1], setup_s
    return out, None, setup_s


class _GoBarrier:
    """The barrier a pooled worker waits at: it reports ready, then waits for the parent's
    `go` (set once every worker of the group is ready). An mp.Barrier has a fixed number
    of parties and can only be inherited at fork, so it cannot serve a pool whose groups
    differ in size; this releases the same way (one notify_all on a shared condition)."""

    def __init__(self, i: int, go, queue) -> None:
        self.i, self.go, self.queue = i, go, queue

    def wait(self, timeout: float | None = None) -> None:
        self.queue.put(("ready", self.i, None, None))
        if not self.go.wait(timeout):
            raise threading.BrokenBarrierError

    def abort(self) -> None:  # the parent stops waiting when the error arrives
        pass


def _pool_main(pipe, go, queue) -> None:
    """A pooled worker: run each task sent through `pipe` until told to stop (None)."""
    while True:
        msg = pipe.recv()
        if msg is None:
            return
        i, kind, task = msg
        barrier = _GoBarrier(i, go, queue)
        try:
            res = (_reader if kind == "r" else _writer)(task, barrier, i * 7)
            queue.put(("done", i, res, None))
        except BaseException as exc:  # noqa: BLE001 - sent to the parent as text
            queue.put(("done", i, None, f"{type(exc).__name__}: {exc}"))


class WorkerPool:
    """Reader and writer processes kept for a whole sweep or series of repeats.

    Forking a worker per reader per configuration cost more than the measuring (quick:
    ~520 forks of a notebook kernel, 5-8 s of 04's ~25 s); a worker here is forked once and
    runs one task per group, each on a connection it opens for that task, and waits at
    the group's barrier as before. Nothing is timed before the barrier releases, so only
    the setup figure (now: handing out the task and connecting) no longer includes a fork.
    Use as a context manager: the workers are stopped and joined on exit."""

    def __init__(self, start_method: str | None = None) -> None:
        self.ctx = mp.get_context(start_method or _default_start_method())
        self.go = self.ctx.Event()
        self.queue = self.ctx.SimpleQueue()
        self.workers: list[tuple[object, object]] = []  # (process, parent end of its pipe)

    def _grow(self, n: int) -> None:
        while len(self.workers) < n:
            mine, theirs = self.ctx.Pipe()
            p = self.ctx.Process(target=_pool_main, args=(theirs, self.go, self.queue), daemon=True)
            p.start()
            theirs.close()
            self.workers.append((p, mine))

    def run(self, tasks: Sequence[tuple[str, object]]) -> list[dict]:
        """Run ("r" | "w", task) pairs together, one per worker; results in task order.
        A worker's failure raises after every worker has reported."""
        n = len(tasks)
        self._grow(n)
        self.go.clear()
        for i, (kind, task) in enumerate(tasks):
            self.workers[i][1].send((i, kind, task))
        out: list = [None] * n
        failed: list[str] = []
        ready: set[int] = set()
        finished: set[int] = set()
        while len(finished) < n:
            what, i, res, err = self.queue.get()
            if what == "ready":
                ready.add(i)
            else:
                finished.add(i)
                out[i] = res
                if err:
                    failed.append(err)
            if len(ready | finished) == n and not self.go.is_set():
                self.go.set()  # every worker ready (or failed before the barrier): go
        self.go.clear()
        if failed:
            raise PerflabError(f"concurrency: a worker process failed: {failed[0]}")
        return out

    def close(self) -> None:
        for _p, pipe in self.workers:
            with contextlib.suppress(OSError):  # a worker that died has closed its end
                pipe.send(None)
        for p, pipe in self.workers:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
            pipe.close()
        self.workers.clear()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def _pool(given: WorkerPool | None, start_method: str | None) -> Iterator[WorkerPool]:
    """`given` as it is (its owner closes it), else a pool closed on exit."""
    if given is not None:
        yield given
        return
    with WorkerPool(start_method) as own:
        yield own


def _default_start_method() -> str:
    # fork is fastest and what a server pre-forking workers does; elsewhere spawn
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


# ------------------------------------------------------------------ summaries


def _windowed_rate_ci(
    ends: Sequence[np.ndarray], start: int, end: int, windows: int = 10
) -> tuple[float | None, float | None]:
    """95% bootstrap CI of the total read rate: the run is cut into equal time
    windows, reads completed per window give window rates, and the mean window
    rate (≈ total reads / wall time) is bootstrapped over windows."""
    if end <= start:
        return None, None
    allends = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    edges = np.linspace(start, end, windows + 1)
    counts = np.histogram(allends, bins=edges)[0]
    rates = counts / ((end - start) / windows / 1e9)
    _, lo, hi = bootstrap_ci(rates)
    return lo, hi


def _reader_summary(results: Sequence[dict]) -> dict:
    lat = np.concatenate([r["lat_ns"] for r in results]) if results else np.zeros(0)
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    wall = (end - start) / 1e9
    per_reader_p99 = [
        float(np.quantile(r["lat_ns"], 0.99)) / 1e6 for r in results if r["lat_ns"].size
    ]
    lo, hi = _windowed_rate_ci([r["ends"] for r in results], start, end)
    st = summarize(lat)
    return {
        "reads": int(lat.size),
        "wall_s": wall,
        "reads_per_s": lat.size / wall if wall > 0 else None,
        "reads_per_s_ci": [lo, hi],
        "latency_ms": st["latency_ms"],
        "latency_ci_ms": st["latency_ci_ms"],
        "per_reader_p99_ms": {
            "min": min(per_reader_p99) if per_reader_p99 else None,
            "median": float(np.median(per_reader_p99)) if per_reader_p99 else None,
            "max": max(per_reader_p99) if per_reader_p99 else None,
        },
        "errors": int(sum(r["errors"] for r in results)),
        "retries": int(sum(r["retries"] for r in results)),
        "connect_ms_max": max(r["open_ns"] for r in results) / 1e6,
        "processes": len({r["pid"] for r in results}),
    }


def _writer_summary(res: dict, stall_ms: float) -> dict:
    lat_ms = res["lat_ns"] / 1e6
    wall = (res["end"] - res["start"]) / 1e9
    st = summarize(res["lat_ns"])
    return {
        "ops": int(res["ops"]),
        "ops_per_s": res["ops"] / wall if wall > 0 else None,
        "latency_ms": st["latency_ms"],
        "errors": int(res["errors"]),
        "retries": int(res["retries"]),
        "stall_ms": stall_ms,
        "stalls": int((lat_ms > stall_ms).sum()),
        "stalled_ms_total": float(lat_ms[lat_ms > stall_ms].sum()),
    }


# ------------------------------------------------------------------ public API


@dataclass(frozen=True)
class ConcurrencyConfig:
    """One point of the sweep."""

    mode: str = "thread"  # thread | process
    readers: int = 4
    writer: bool = False
    duration_s: float = 0.5
    interval_s: float | None = None  # open-loop readers when set
    writer_rate_per_s: float | None = None
    stall_ms: float = 50.0
    start_method: str | None = None
    extra: dict = field(default_factory=dict)


def run_config(
    db_path: Path,
    sql: str,
    params: Sequence[tuple],
    cfg: ConcurrencyConfig,
    *,
    write: WriteSpec | None = None,
    control: sqlite3.Connection | None = None,
    seed: int = 0,
    pool: WorkerPool | None = None,
) -> dict:
    """Run one configuration on `db_path` (which must already be a working copy in
    WAL mode); returns a record. The writer's effect is verified afterwards. `pool`:
    worker processes to reuse for process mode (else forked for this run)."""
    if cfg.writer and write is None:
        raise PerflabError("concurrency: a writer was asked for but no write operation given")
    params = tuple(tuple(p) for p in params)
    readers = [
        ReaderTask(str(db_path), sql, params, cfg.duration_s, None, cfg.interval_s)
        for _ in range(cfg.readers)
    ]
    writer = None
    before = None
    if cfg.writer:
        token = f"{seed}-{cfg.mode}-{cfg.readers}-{time.monotonic_ns()}"
        writer = WriterTask(str(db_path), write, cfg.duration_s, cfg.writer_rate_per_s, seed, token)
        if write.verify is not None and control is not None:
            before = control.execute(write.verify.sql).fetchone()[0] or 0
    mon = WalMonitor(Path(db_path))
    mon.start()
    try:
        rres, wres, setup_s = _run_group(cfg.mode, readers, writer, cfg.start_method, pool)
    finally:
        wal = mon.stop()
    rec = {
        "mode": cfg.mode,
        "readers": cfg.readers,
        "writer": cfg.writer,
        "loop": "open" if cfg.interval_s else "closed",
        "latency_kind": "latency from scheduled start" if cfg.interval_s else "service time",
        "duration_s": cfg.duration_s,
        "setup_s": setup_s,
        **_reader_summary(rres),
        "wal": wal,
    }
    if wres is not None:
        rec["writer_stats"] = _writer_summary(wres, cfg.stall_ms)
        if before is not None:
            after = control.execute(write.verify.sql).fetchone()[0] or 0
            expected = wres["ops"] * write.verify.per_op
            rec["writer_stats"]["verify"] = {
                "expected_delta": expected,
                "actual_delta": after - before,
            }
            if abs((after - before) - expected) > 1e-9:
                raise DataCheckError(
                    f"concurrency writer {write.name!r}: `{write.verify.sql}` moved by "
                    f"{after - before:g}, expected {expected:g}: a write was lost or duplicated"
                )
    return rec


def reader_sweep(
    db_path: Path | Pristine,
    sql: str,
    params: Sequence[tuple],
    *,
    readers: Sequence[int] = (1, 2, 4, 8),
    modes: Sequence[str] = ("thread", "process"),
    writer: Sequence[bool] = (False, True),
    write: WriteSpec | None = None,
    duration_s: float = 0.5,
    seed: int = 0,
    workdir: Path | None = None,
    progress: bool = False,
    pool: WorkerPool | None = None,
    **cfg_kw,
) -> list[dict]:
    """Scaling from 1 to N readers, per mode, with and without a writer, on one copy.

    Without a write operation (`write=None`) only the reader-only configurations run.
    `pool`: worker processes to use (and leave running), e.g. the ones the concurrent
    reads used; else a pool is made for this sweep."""
    if write is None:
        writer = [w for w in writer if not w]
    grid = [(m, w, n) for m in modes for w in writer for n in readers]
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(grid, desc="concurrency", unit="config")
    out = []
    with (
        working_copy(db_path, workdir) as path,
        _pool(pool, cfg_kw.get("start_method")) as pool,  # forks only if a process mode runs
    ):
        control = engine.connect(path, readonly=False)  # sets WAL; keeps -wal/-shm alive
        try:
            for m, w, n in grid:
                cfg = ConcurrencyConfig(m, n, w, duration_s, **cfg_kw)
                # each configuration starts from an empty WAL, so growth is its own
                control.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                out.append(
                    run_config(
                        path, sql, params, cfg, write=write, control=control, seed=seed, pool=pool
                    )
                )
        finally:
            control.close()
    return out


#: Repeats needed for a distribution-free 95% interval on the median of the totals:
#: with n repeats, min..max covers the median with probability 1 - 2 * 0.5**n,
#: which first reaches 95% at n = 6.
REPEATS_FOR_CI = 7


def concurrent_reads(
    db_path: Path | Pristine,
    sql: str,
    params: Sequence[tuple],
    *,
    readers: int = 50,
    reads_per_reader: int = 1,
    mode: str = "thread",
    repeats: int = REPEATS_FOR_CI,
    start_method: str | None = None,
    workdir: Path | None = None,
    pool: WorkerPool | None = None,
) -> dict:
    """The original's "N concurrent reads", done for real: N connections, a barrier,
    each reader does `reads_per_reader` reads; total = barrier release to the last
    read's end. Setup (handing tasks to the workers, connecting) is reported apart.

    Repeated `repeats` times: `total_ms` is the median of the repeats and
    `total_ms_ci` its 95% order-statistic interval ([None, None] with fewer than 6
    repeats: then no claim can be judged on it). Reads that fail are counted in
    `errors` and kept out of the latencies; `reads` counts the good ones. `pool`: worker
    processes to use (and leave running), as `reader_sweep`'s."""
    totals, setups, lat = [], [], []
    errors = good = 0
    with working_copy(db_path, workdir) as path, _pool(pool, start_method) as pool:
        control = engine.connect(path, readonly=False)
        try:
            for r in range(repeats):
                tasks = [
                    ReaderTask(
                        str(path),
                        sql,
                        tuple(tuple(p) for p in params[i::readers] or params[:1]),
                        None,
                        reads_per_reader,
                    )
                    for i in range(readers)
                ]
                tasks = [
                    replace(t, params=t.params[r % len(t.params) :] + t.params[: r % len(t.params)])
                    for t in tasks
                ]
                res, _, setup_s = _run_group(mode, tasks, None, start_method, pool)
                s = _reader_summary(res)
                totals.append(s["wall_s"] * 1000)
                setups.append(setup_s * 1000)
                if s["reads"]:
                    lat.append(s["latency_ms"]["max"])
                errors += s["errors"]
                good += s["reads"]
        finally:
            control.close()
    _, lo, hi = quantile_ci(np.asarray(totals), 0.5)
    return {
        "mode": mode,
        "readers": readers,
        "reads_per_reader": reads_per_reader,
        "total_ms": float(np.median(totals)),
        "total_ms_ci": [lo, hi],
        "total_ms_runs": totals,
        "setup_ms": float(np.median(setups)),
        "slowest_read_ms": float(np.median(lat)) if lat else None,
        "reads": good,
        "errors": errors,
        "repeatability": repeatability(totals),
    }


def sweep_frame(records: Sequence[dict]) -> pd.DataFrame:
    """One row per configuration: mode, readers, writer, reads_per_s (+CI), p50/p99 ms,
    per-reader p99 max, errors, retries, writer ops/s, writer p99, stalls, WAL max KiB,
    checkpoint resets."""
    rows = []
    for r in records:
        ws = r.get("writer_stats") or {}
        rows.append(
            {
                "mode": r["mode"],
                "readers": r["readers"],
                "writer": r["writer"],
                "reads_per_s": r["reads_per_s"],
                "reads_per_s_lo": r["reads_per_s_ci"][0],
                "reads_per_s_hi": r["reads_per_s_ci"][1],
                "p50_ms": r["latency_ms"]["p50"],
                "p99_ms": r["latency_ms"]["p99"],
                "reader_p99_max_ms": r["per_reader_p99_ms"]["max"],
                "errors": r["errors"],
                "retries": r["retries"],
                "writer_ops_per_s": ws.get("ops_per_s"),
                "writer_p99_ms": (ws.get("latency_ms") or {}).get("p99"),
                "writer_stalls": ws.get("stalls"),
                "wal_max_kib": r["wal"]["max_bytes"] / 1024,
                "checkpoints": r["wal"]["checkpoint_resets"],
            }
        )
    return pd.DataFrame(rows)


def scenario(workload) -> ConcurrencySpec:
    """The workload's first concurrency scenario; without one, the first query read by
    8 concurrent readers (labelled as perflab's default, not the application's)."""
    if workload.concurrency:
        return workload.concurrency[0]
    q = workload.queries[0]
    return ConcurrencySpec(
        "concurrent_reads",
        q.name,
        readers=8,
        reads_per_reader=1,
        description="perflab default: the workload names no concurrency scenario",
    )


def operation_target(targets, operation: str, metric: str = "total_ms"):
    """The current-milestone target of an operation (e.g. concurrent reads), or None."""
    for t in targets.targets:
        if t.operation == operation and t.metric == metric and t.current:
            return t
    return None
