"""`perflab sweep`: the matrix file checked before any work, cells keyed by their inputs'
contents, the engine a cell asks for being the one its run reports, and a real Dask
cluster (a `dask scheduler` and two `dask worker` processes) losing a worker mid-cell
without losing a cell."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from perflab import paths
from perflab.cli import main
from perflab.inputs.matrix import load_matrix
from perflab.run import sweep as sweep_mod
from perflab.sqlite import engines

VENV_BIN = Path(sys.executable).parent

# Two queries of the default schema and one target: a tiny run of it takes ~20 s.
WORKLOAD = """\
name: small
queries:
  - name: session_by_id
    sql: SELECT * FROM sessions WHERE id = ?
    params:
      - sample: SELECT id FROM sessions
  - name: active_sessions
    sql: SELECT * FROM sessions WHERE status = 'active' ORDER BY last_update_time DESC
"""
TARGETS = """\
targets:
  - {metric: latency_p99_ms, query: session_by_id, comparator: "<", threshold: 50}
"""
MATRIX = """\
name: kill
axes:
  engine: [sqlite3, apsw]
  pragmas:
    wal: {journal_mode: WAL}
    rollback: {journal_mode: DELETE}
  scale: [tiny]
  workload: {small: w.yaml}
  targets: {small: t.yaml}
"""


def _inputs(folder: Path, matrix: str = MATRIX) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "w.yaml").write_text(WORKLOAD)
    (folder / "t.yaml").write_text(TARGETS)
    (folder / "m.yaml").write_text(matrix)
    return folder / "m.yaml"


BAD = {
    "unknown axis": ("axes:\n  colour: [red]\n", "colour"),
    "unknown engine": ("axes:\n  engine: [sqlite3, oracle]\n", "oracle"),
    "no values": ("axes:\n  engine: []\n", "axes: engine: no values"),
    "journal mode": ("axes:\n  pragmas:\n    odd: {journal_mode: SIDEWAYS}\n", "SIDEWAYS"),
    "unknown pragma": ("axes:\n  pragmas:\n    x: {cache_sizes: 5}\n", "cache_sizes"),
    "not a number": ("axes:\n  pragmas:\n    x: {cache_size: big}\n", "cache_size"),
    "unknown profile": ("axes:\n  scale: [tiny, huge]\n", "huge"),
    "missing DDL": ("axes:\n  schema: {advised: advice/after.sql}\n", "advice/after.sql"),
    "bad workload": ("axes:\n  workload: {mine: t.yaml}\n", "mine"),
    "seed": ("seed: soon\n", "seed"),
    "same cell twice": ("axes:\n  workload: {a: w.yaml, b: w.yaml}\n", "same inputs"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_matrix_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, case):
    text, named = BAD[case]
    matrix = _inputs(tmp_path / "in", text)
    out = tmp_path / "sweep"
    assert main(["sweep", str(matrix), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("perflab: error:"), err
    assert named in err[0]
    assert not out.exists()


def test_a_cell_is_keyed_by_contents_not_paths(tmp_path):
    a = load_matrix(_inputs(tmp_path / "a"))
    b = load_matrix(_inputs(tmp_path / "b"))  # the same files, elsewhere
    assert [c.key for c in a.cells] == [c.key for c in b.cells]
    assert len({c.key for c in a.cells}) == 4
    (tmp_path / "b" / "w.yaml").write_text(WORKLOAD.replace("DESC", "ASC"))
    changed = load_matrix(tmp_path / "b" / "m.yaml")
    assert not {c.key for c in changed.cells} & {c.key for c in a.cells}
    labels = [c.labels for c in a.cells]
    assert labels[0]["engine"].startswith("sqlite3 ") and labels[-1]["pragmas"] == "rollback"


def test_a_process_started_for_apsw_runs_its_sqlite_with_counters(tmp_path):
    """The engine is the process's: the stdlib module runs APSW's 3.54.1 build, and the
    work counters' sqlite_stmt table is there."""
    env = engines.environment("apsw", {"cache_size": -4000}, tmp_path, os.environ)
    code = (
        "import sqlite3; from perflab.sqlite import engine\n"
        "c = engine.connect(__import__('pathlib').Path(r'%s'), pragmas=engine.APP_PRAGMAS)\n"
        "c.execute('select 1').fetchall()\n"
        "print(sqlite3.sqlite_version, c.execute('select count(*) from sqlite_stmt')"
        ".fetchone()[0] > 0, c.execute('pragma cache_size').fetchone()[0])\n"
    )
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t(a)")
    conn.close()
    out = subprocess.run(
        [sys.executable, "-c", code % db], env=env, capture_output=True, text=True, check=True
    )
    version, counters, cache = out.stdout.split()
    assert version == engines.engine_version("apsw") != sqlite3.sqlite_version
    assert counters == "True" and cache == "-4000"
    with pytest.raises(Exception, match="engine apsw: this process runs SQLite"):
        engines.check("apsw")  # this process runs the system's


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _alive(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_cell_loses_no_cell(tmp_path, monkeypatch):
    """A real scheduler and two workers (the documented command line); one worker is
    SIGKILLed while a cell runs on it. Every cell ends finished or failed with a reason,
    the finished cells' summaries are readable and report the engine and journal mode
    they were asked for, the killed worker's run died with it, and a re-run reuses every
    finished cell."""
    import psutil
    from distributed import Client

    matrix = _inputs(tmp_path / "in")
    env = {**os.environ, "PERFLAB_CACHE_DIR": str(tmp_path / "cache")}
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "1"
    env["TMPDIR"] = str(tmp_path / "tmp")  # the workers' cell folders, and nobody else's
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("PERFLAB_CACHE_DIR", env["PERFLAB_CACHE_DIR"])
    sched_file = tmp_path / "scheduler.json"
    dask = str(VENV_BIN / "dask")
    procs = [
        _start(
            [
                dask,
                "scheduler",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            env,
            tmp_path / "scheduler.log",
        )
    ]
    try:
        _wait_for(sched_file.is_file, 60, "the scheduler file")
        for i in range(2):
            procs.append(
                _start(
                    [
                        dask,
                        "worker",
                        "--scheduler-file",
                        str(sched_file),
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--resources",
                        "measure=1",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                    ],
                    env,
                    tmp_path / f"worker{i}.log",
                )
            )
        watcher = Client(scheduler_file=str(sched_file), timeout="30s")
        _wait_for(lambda: len(watcher.scheduler_info()["workers"]) == 2, 60, "two workers")
        killed: dict = {}

        def kill_one_mid_cell() -> None:
            def busy():
                for addr, keys in watcher.processing().items():
                    if keys:
                        return addr, keys[0]
                return None

            try:
                addr, key = _wait_for(busy, 120, "a cell to start")
                pid = watcher.run(os.getpid, workers=[addr])[addr]
                time.sleep(6)  # mid-cell: its run is preparing or measuring
                if key not in watcher.processing().get(addr, ()):
                    killed["missed"] = key
                    return
                worker = psutil.Process(pid)
                killed.update(key=key, children=worker.children(recursive=True))
                os.kill(pid, signal.SIGKILL)
                # its run ends with it (a tiny run has >= 10 s left 6 s in): nothing measures
                # beside the cell's retry
                time.sleep(10)
                killed["survivors"] = [p.pid for p in killed["children"] if _alive(p)]
            except Exception as exc:  # noqa: BLE001 - said by the assert below
                killed["error"] = repr(exc)

        killer = threading.Thread(target=kill_one_mid_cell, daemon=True)
        killer.start()
        out = tmp_path / "sweep"
        result = sweep_mod.sweep(matrix, out, scheduler=str(sched_file), progress=False)
        killer.join(timeout=60)
        assert killed.get("key"), f"no worker was killed mid-cell: {killed}"

        assert len(result.cells) == 4
        for c in result.cells:
            assert c.status in ("finished", "failed"), c
            if c.status == "failed":
                assert c.reason, c
        victim = next(c for c in result.cells if killed["key"].endswith(c.key))
        assert victim.status == "finished" or "KilledWorker" in victim.reason, victim
        finished = [c for c in result.cells if c.status == "finished"]
        assert len(finished) >= 3  # the other cells stand
        for c in finished:
            s = json.loads((Path(c.run_dir) / "summary.json").read_text())
            assert s["decision"]["decision"]
            assert s["sqlite_version"] == c.sqlite_version
            want = "delete" if c.pragmas.get("journal_mode") == "DELETE" else "wal"
            assert str(s["pragmas"]["journal_mode"]).lower() == want
        assert {c.sqlite_version for c in finished} == {
            engines.engine_version("sqlite3"),
            engines.engine_version("apsw"),
        }
        body = json.loads(result.sweep_json.read_text())
        assert [c["key"] for c in body["sweep"]["cells"]] == [c.key for c in result.cells]
        assert result.page.is_file()
        assert killed["survivors"] == []  # the run on the killed worker died with it
        # and its working folder went with it
        left = sorted(p.name for p in (tmp_path / "tmp").glob("perflab-cell-*"))
        assert not left, left

        # a re-run runs only what did not finish
        ran: list = []
        monkeypatch.setattr(sweep_mod, "_run_cells", lambda todo, *a: ran.extend(todo))
        again = sweep_mod.sweep(matrix, out, scheduler=str(sched_file), progress=False)
        assert {c.key for c, _ in ran} == {c.key for c in result.cells if c.status != "finished"}
        assert all(c.reused for c in again.cells if c.status == "finished")
        assert [c.key for c in again.cells if c.status == "finished"] == [c.key for c in finished]
        watcher.close()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_the_sweep_folder_is_never_someone_elses(tmp_path, capsys):
    matrix = _inputs(tmp_path / "in")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    assert main(["sweep", str(matrix), "--out", str(theirs)]) == 2
    assert "not a folder perflab sweep made" in capsys.readouterr().err
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]
    assert paths.DATA_DIR.joinpath("sweep.schema.json").is_file()


def test_a_cell_is_reused_only_when_its_folder_finished_that_key(tmp_path):
    cell = load_matrix(_inputs(tmp_path / "in")).cells[0]
    folder = tmp_path / "cells" / cell.key
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "summary.json").write_text("{}")

    def record(**d) -> None:
        (folder / "cell.json").write_text(json.dumps({"key": cell.key, **d}))

    record(status="finished", machine="m", select_1_ms=0.001, reused=False, label="x")
    before = sweep_mod._finished_before(cell, folder)
    assert before is not None and before.reused and before.machine == "m"
    record(status="failed", reason="KilledWorker: ...")
    assert sweep_mod._finished_before(cell, folder) is None  # run again
    (folder / "cell.json").write_text(json.dumps({"key": "0" * 16, "status": "finished"}))
    assert sweep_mod._finished_before(cell, folder) is None  # another cell's result
    record(status="finished")
    (folder / "run" / "summary.json").unlink()
    assert sweep_mod._finished_before(cell, folder) is None  # no summary: not finished
