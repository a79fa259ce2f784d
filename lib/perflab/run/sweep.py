"""`perflab sweep MATRIX.yaml`: every cell of a matrix one complete run, on Dask distributed.

Cells are Dask tasks, each needing the resource ``measure=1``: by default a `LocalCluster`
of one worker process with one thread and that one resource, so no two cells ever measure
at the same time on this machine. ``scheduler`` sends them to an existing cluster instead;
a worker started as

    dask worker ADDRESS --nworkers 1 --nthreads 1 --resources measure=1

runs one cell at a time (one process, one thread, one unit of the resource every cell
takes). No scheduling, queueing or transport of our own: Dask places the tasks, retries
them, and carries the results back.

A cell task runs on the worker: it writes the cell's input files (their contents travel
with the task, never their paths), starts `perflab run` in a child process set up for the
cell's engine and pragmas (`perflab.sqlite.engines`: an engine is chosen when a process
starts) and returns the run folder as a gzipped tar, with the worker's machine identity
and its SELECT 1 speed. The submitting side unpacks it into ``OUT/cells/<key>/run/``
(or the workers write it under ``shared_dir``), beside ``cell.json``. The child dies with
its worker (PR_SET_PDEATHSIG), so a killed worker leaves no run measuring beside the next.

A worker that dies mid-cell: the scheduler gives the cell to another worker once (the
local cluster's ``allowed-failures`` is 1; a task that raises is retried once,
``retries=1``), then the cell is failed with Dask's reason; other cells stand. A run that
fails is a failed cell with the run's own error line (it would fail again). Cells whose
folder already holds a finished result for their key are not run again. Ctrl-C cancels
the cells not finished, closes the cluster, writes sweep.json from the finished ones and
exits 130.

At the end the finished cells are compared (`perflab.judge.matrix.compare_cells`) into
``sweep.json`` (checked against ``data/sweep.schema.json``) and ``sweep.html``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab import paths
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.inputs.matrix import Cell, Matrix, load_matrix

if TYPE_CHECKING:
    from perflab.judge.matrix import MatrixResult

__all__ = [
    "WORKER_COMMAND",
    "CellOutcome",
    "SweepResult",
    "machine_identity",
    "run_cell",
    "select_1_ms",
    "sweep",
]

WORKER_COMMAND = "dask worker ADDRESS --nworkers 1 --nthreads 1 --resources measure=1"
#: What each cell task takes of a worker: the one unit of a measuring worker.
RESOURCES = {"measure": 1}
SWEEP_MARKER = ".perflab-sweep"
CELL_FILE = "cell.json"
FORMAT_VERSION = 1
_FINISHED, _FAILED, _CANCELLED = "finished", "failed", "cancelled"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ on the worker


def machine_identity() -> str:
    """Host name, CPU model and count, platform: what tells two machines apart."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{socket.gethostname()} / {model} x{os.cpu_count()} / {platform.platform()}"


def select_1_ms(executions: int = 2000, rounds: int = 5) -> float:
    """The median over ``rounds`` of the mean time of one ``SELECT 1`` (execute + fetch) on
    an in-memory database, in ms: the worker's speed, beside its cells' timings."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    try:
        means = []
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            for _ in range(executions):
                conn.execute("SELECT 1").fetchall()
            means.append((time.perf_counter_ns() - t0) / executions / 1e6)
        return sorted(means)[len(means) // 2]
    finally:
        conn.close()


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname="run")
    return buf.getvalue()


def _failure_line(log: str, rc: int) -> str:
    """The run's own error line (`perflab: error: ...`), else the last line it printed."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("perflab: error:") or ln.startswith("perflab: internal error:"):
            return ln
    return f"perflab run exited {rc}" + (f": {lines[-1]}" if lines else "")


def run_cell(cell: Cell, shared_dir: str | None = None) -> dict[str, Any]:
    """One cell's run on this worker (the Dask task). Returns status, reason, machine,
    select_1_ms, seconds, the log's tail and the run folder (``archive``: tar.gz bytes;
    None when written to ``shared_dir``)."""
    from perflab.sqlite import engines

    started = time.perf_counter()
    machine, s1 = machine_identity(), select_1_ms()
    with tempfile.TemporaryDirectory(prefix=f"perflab-cell-{cell.key}-") as tmp_name:
        tmp = Path(tmp_name)
        spec: dict[str, Any] = {"profile": cell.profile, "seed": cell.seed}
        for field in ("schema", "workload", "targets"):
            given = getattr(cell, field)
            if given:
                p = tmp / "inputs" / field / given[0]
                p.parent.mkdir(parents=True)
                p.write_text(given[1], encoding="utf-8")
                spec[field] = str(p)
        if cell.schema:  # the embedded dataset spec, re-pointed at the cell's DDL
            spec["dataset"] = str(paths.DEFAULT_DATASET)
        out = tmp / "run"
        spec["out"] = str(out)
        spec["engine"] = cell.engine
        spec["parent"] = os.getpid()
        spec["workdir"] = str(tmp)
        cache = paths.cache_dir()
        env = engines.environment(cell.engine, dict(cell.pragmas), cache, os.environ)
        # a database per engine: it is built (and ANALYZEd) by the engine that reads it
        env["PERFLAB_CACHE_DIR"] = str(cache / f"sweep-{cell.engine}-{cell.sqlite_version}")
        log_path = tmp / "run.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "perflab.run.sweep", json.dumps(spec)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C is the submitter's to handle
            )
            try:
                rc = proc.wait()
            except BaseException:
                proc.terminate()
                proc.wait()
                raise
        text = log_path.read_text(encoding="utf-8", errors="replace")
        finished = rc == 0 and (out / "summary.json").is_file()
        result: dict[str, Any] = {
            "key": cell.key,
            "status": _FINISHED if finished else _FAILED,
            "reason": "" if finished else _failure_line(text, rc),
            "machine": machine,
            "select_1_ms": s1,
            "seconds": time.perf_counter() - started,
            "log_tail": text[-4000:],
            "archive": None,
        }
        if finished and shared_dir:
            _unpack_into(Path(shared_dir) / "cells" / cell.key, _pack(out))
        elif finished:
            result["archive"] = _pack(out)
        return result


def _cell_main(spec_json: str) -> int:
    """The cell's run, in the child process `run_cell` starts (``python -m
    perflab.run.sweep SPEC``): dies with its worker, checks its engine, runs."""
    spec = json.loads(spec_json)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the worker
    # SIGTERM (the worker gone): unwind, so the run removes its staging folder and kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if os.getppid() != spec["parent"]:  # the worker died before prctl took hold
            return 1
        from perflab.inputs.config import RunInputs
        from perflab.run.runner import run
        from perflab.sqlite import engines

        engines.check(spec["engine"])
        given = {k: spec.get(k) for k in ("dataset", "schema", "workload", "targets", "seed")}
        run(RunInputs.create(spec["profile"], **given), spec["out"])
    except PerflabError as exc:  # as the command line says it: one line, its exit code
        print(f"perflab: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        if os.getppid() != spec["parent"]:  # the worker is gone: nobody else removes it
            import shutil

            shutil.rmtree(spec["workdir"], ignore_errors=True)
    return 0


# ----------------------------------------------------------------- on the submitting side


@dataclass(frozen=True)
class CellOutcome:
    """A cell as the sweep ended it: finished (run folder), failed (reason) or cancelled."""

    key: str
    label: str
    axes: dict[str, str]
    engine: str
    sqlite_version: str
    pragmas: dict[str, object]
    profile: str
    status: str  # finished | failed | cancelled
    reason: str
    machine: str
    select_1_ms: float | None
    seconds: float | None
    reused: bool
    run_dir: str  # the cell's run folder ("" when none)


@dataclass(frozen=True)
class SweepResult:
    """What a sweep made: its folder, sweep.json, the page, each cell as it ended, whether
    Ctrl-C cut it short, and the merged comparison of the finished cells."""

    out: Path
    sweep_json: Path
    page: Path
    cells: tuple[CellOutcome, ...]
    interrupted: bool
    comparison: MatrixResult


def _check_out(out: Path) -> None:
    """Only a new folder, an empty one or one a sweep made (its marker) is written to."""
    cwd = Path.cwd().resolve()
    if out == Path(out.anchor) or out == Path.home().resolve() or out in (cwd, *cwd.parents):
        raise PerflabError(f"{out}: the sweep folder would hold your files; choose a new folder")
    if out.exists():
        if not out.is_dir():
            raise PerflabError(f"{out}: the sweep folder is a file; choose another path")
        if any(out.iterdir()) and not (out / SWEEP_MARKER).is_file():
            raise PerflabError(
                f"{out}: not a folder perflab sweep made (no {SWEEP_MARKER}); choose another path"
            )


def _unpack_into(dest: Path, archive: bytes) -> None:
    """The run folder into ``dest/run``, whole or not at all (a staging folder renamed)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".run.partial-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")
        old = dest / "run"
        if old.exists():
            shutil.rmtree(old)
        os.replace(staging / "run", old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _outcome(cell: Cell, run_dir: Path | None, reused: bool, **given: Any) -> CellOutcome:
    return CellOutcome(
        key=cell.key,
        label=cell.label,
        axes=cell.labels,
        engine=cell.engine,
        sqlite_version=cell.sqlite_version,
        pragmas=dict(cell.pragmas),
        profile=cell.profile,
        status=given.get("status", _FAILED),
        reason=given.get("reason", ""),
        machine=given.get("machine", ""),
        select_1_ms=given.get("select_1_ms"),
        seconds=given.get("seconds"),
        reused=reused,
        run_dir=str(run_dir) if run_dir else "",
    )


def _finished_before(cell: Cell, folder: Path) -> CellOutcome | None:
    """The cell's earlier finished result in ``folder``, when its key and summary hold."""
    try:
        d = json.loads((folder / CELL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if d.get("key") != cell.key or d.get("status") != _FINISHED:
        return None
    if not (folder / "run" / "summary.json").is_file():
        return None
    kept = ("status", "reason", "machine", "select_1_ms", "seconds")
    return _outcome(cell, folder / "run", True, **{k: d.get(k) for k in kept})


def _record(cell: Cell, folder: Path, res: dict[str, Any]) -> CellOutcome:
    """A cell's result from its task: the run folder unpacked, cell.json written."""
    if res.get("archive"):
        _unpack_into(folder, res["archive"])
    finished = res["status"] == _FINISHED and (folder / "run" / "summary.json").is_file()
    out = _outcome(cell, folder / "run" if finished else None, False, **res)
    folder.mkdir(parents=True, exist_ok=True)
    if res.get("log_tail"):
        atomic_write_text(folder / "run.log", res["log_tail"])
    atomic_write_text(folder / CELL_FILE, json.dumps(asdict(out), indent=2, sort_keys=True))
    return out


def _decision(outcome: CellOutcome) -> str:
    if outcome.status != _FINISHED:
        return f"{outcome.status}: {outcome.reason}"
    try:
        s = json.loads((Path(outcome.run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"finished, summary unreadable ({exc})"
    decision = s.get("decision")
    return str(decision.get("decision") if isinstance(decision, dict) else "no decision")


@contextlib.contextmanager
def _client(scheduler: str | None):
    """A Dask client: on an existing scheduler (address or scheduler file), or on a local
    cluster of one worker, one thread, one ``measure`` unit."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            if Path(scheduler).is_file():
                client = Client(scheduler_file=scheduler, timeout="30s")
            else:
                client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise PerflabError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    # the worker processes start with Ctrl-C ignored (a disposition a child inherits): the
    # terminal's SIGINT reaches the whole process group, and only this process acts on it
    # (cancels, then closes the cluster, which ends the workers and their runs)
    own = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if own else None
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                resources=dict(RESOURCES),
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_cells(
    todo: list[tuple[Cell, Path]],
    scheduler: str | None,
    shared_dir: Path | None,
    progress: bool,
    done: Callable[[Cell, CellOutcome], None],
) -> None:
    """Submit ``todo`` and record each result as it comes (``done``); on Ctrl-C the cells
    not finished are cancelled and the KeyboardInterrupt goes on."""
    from distributed import as_completed
    from tqdm import tqdm

    with _client(scheduler) as client:
        futures = {
            client.submit(
                run_cell,
                cell,
                str(shared_dir) if shared_dir else None,
                key=f"perflab-cell-{cell.key}",
                resources=dict(RESOURCES),
                retries=1,
                pure=False,
            ): (cell, folder)
            for cell, folder in todo
        }
        bar = tqdm(
            total=len(futures),
            desc="cells",
            unit="cell",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )
        pending = set(futures)
        try:
            for fut in as_completed(futures):
                cell, folder = futures[fut]
                pending.discard(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - Dask's reason is the cell's reason
                    res = {"status": _FAILED, "reason": f"{type(exc).__name__}: {exc}"}
                outcome = _record(cell, folder, res)
                bar.update(1)
                bar.write(
                    f"perflab: cell {cell.label or cell.key}: {_decision(outcome)}", file=sys.stderr
                )
                done(cell, outcome)
        except KeyboardInterrupt:
            client.cancel(list(pending), force=True)
            bar.close()
            raise
        bar.close()


def sweep(
    matrix: str | Path,
    out: str | Path | None = None,
    *,
    scheduler: str | None = None,
    shared_dir: str | Path | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run every cell of ``matrix`` not finished before into ``out`` (default:
    ``outputs/sweep-<name>``), then compare them: sweep.json and sweep.html."""
    m = load_matrix(matrix)  # bad input: one line, before anything is written or started
    folder = Path(out).expanduser().resolve() if out else paths.runs_dir() / f"sweep-{m.name}"
    _check_out(folder)
    shared = Path(shared_dir).expanduser().resolve() if shared_dir else None
    cells_root = (shared or folder) / "cells"
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / SWEEP_MARKER, f"perflab sweep {m.name}\n")
    outcomes: dict[str, CellOutcome] = {}
    todo = []
    for cell in m.cells:
        before = _finished_before(cell, cells_root / cell.key)
        if before is not None:
            outcomes[cell.key] = before
        else:
            todo.append((cell, cells_root / cell.key))
    if progress:
        _say(
            f"perflab: sweep {m.name}: {len(m.cells)} cells, {len(outcomes)} finished before, "
            f"{len(todo)} to run on {scheduler or 'a local cluster (1 worker, 1 thread)'}"
        )
    interrupted = False
    try:
        if todo:
            _run_cells(
                todo, scheduler, shared, progress, lambda cell, o: outcomes.__setitem__(cell.key, o)
            )
    except KeyboardInterrupt:
        interrupted = True
    except PerflabError:  # no cluster to run on: a folder made for nothing goes again
        if made and [p.name for p in folder.iterdir()] == [SWEEP_MARKER]:
            (folder / SWEEP_MARKER).unlink()
            folder.rmdir()
        raise
    for cell in m.cells:
        if cell.key not in outcomes:
            outcomes[cell.key] = _outcome(
                cell, None, False, status=_CANCELLED, reason="interrupted (Ctrl-C)"
            )
    result = _publish(m, folder, [outcomes[c.key] for c in m.cells], interrupted)
    if interrupted:
        _say(f"perflab: sweep interrupted; finished cells kept in {cells_root}")
        raise KeyboardInterrupt
    return result


def _publish(m: Matrix, folder: Path, cells: list[CellOutcome], interrupted: bool) -> SweepResult:
    """sweep.json (checked against its schema) and sweep.html from the cells as they are."""
    import jsonschema

    from perflab.judge.matrix import CellInput, cell_from_run, compare_cells
    from perflab.present.sweep_page import write_sweep_page

    inputs = []
    for c in cells:
        if c.status == _CANCELLED:
            continue
        if c.status == _FINISHED:
            inputs.append(cell_from_run(c.key, c.axes, c.machine, c.select_1_ms, c.run_dir))
        else:
            inputs.append(
                CellInput(c.key, c.axes, c.machine, c.select_1_ms, _FAILED, c.reason, None)
            )
    comparison = compare_cells(inputs)
    body = comparison.to_dict()
    body["sweep"] = {
        "format_version": FORMAT_VERSION,
        "name": m.name,
        "matrix": {"path": str(m.path), "sha256": m.sha256},
        "interrupted": interrupted,
        "worker_command": WORKER_COMMAND,
        "cells": [asdict(c) for c in cells],
    }
    schema = json.loads((paths.DATA_DIR / "sweep.schema.json").read_text("utf-8"))
    jsonschema.validate(body, schema)
    sweep_json = atomic_write_text(folder / "sweep.json", json.dumps(body, indent=2) + "\n")
    page = write_sweep_page(comparison, folder / "sweep.html")
    return SweepResult(folder, sweep_json, page, tuple(cells), interrupted, comparison)


if __name__ == "__main__":
    sys.exit(_cell_main(sys.argv[1]))
