"""A real ORM application (peewee) end to end: capture, fit to its own database, replay
writes and queries on copies; the application's file is never changed."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

import pytest

pytest.importorskip("peewee", reason="peewee not installed (pinned in requirements.txt)")

from perflab.inputs.capture import build_workload, capture_command, group  # noqa: E402
from perflab.inputs.replay import fit_workload  # noqa: E402
from perflab.inputs.workload import ParamSampler, load_workload  # noqa: E402
from perflab.measure.throughput import measure_writes  # noqa: E402
from perflab.measure.timing import Budget  # noqa: E402

DRIVER = Path(__file__).resolve().parents[1] / "benchmarks" / "apps" / "peewee_app.py"


def test_peewee_app_capture_fit_and_replay(tmp_path):
    db = tmp_path / "app.db"
    events, code = capture_command([sys.executable, str(DRIVER), str(db), "60"])
    assert code == 0
    res = group(events)
    # IN lists of every length and every blob fold: a handful of shapes, not hundreds
    assert len(res.shapes) <= 12 and res.statements > 300
    assert any(sum(s.ns) > 0 and s.stats().get("in_lengths") for s in res.shapes)
    wl = tmp_path / "cap.yaml"
    wl.write_text(build_workload(res, name="peewee", source="peewee_app"), encoding="utf-8")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    fit = fit_workload(db, wl)
    fitted = tmp_path / "fitted.yaml"
    fitted.write_text(fit.text, encoding="utf-8")
    w = load_workload(fitted)
    # every query and every write pattern runs on the app's own database: the unique
    # username, the join table's (from_user, to_user) key and the foreign keys are fitted
    assert not fit.not_replayed
    assert len(w.writes) == len(res.patterns) >= 4
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    for i, q in enumerate(w.queries):
        conn.execute(q.sql, ParamSampler(conn, q.params, seed=i).draw()).fetchall()
    conn.close()
    recs = measure_writes(db, w.writes, Budget(iterations=20, warmup=2), batch_sizes=(1,))
    assert [r["status"] for r in recs] == ["ok"] * len(w.writes)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def _files(db: Path) -> dict[str, str]:
    """sha256 of the database and every file beside it that SQLite may use."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(db.parent.glob(db.name + "*"))
    }


def test_peewee_app_from_capture_to_report(tmp_path, monkeypatch):
    """As a user does it: capture the application with the CLI, then `perflab run --db`
    on the file the application wrote; exit 0, every captured shape measured, the file
    and its neighbours byte for byte unchanged."""
    import json
    import subprocess

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "app.db"
    wl = tmp_path / "peewee.yaml"
    cli = [sys.executable, "-m", "perflab.cli"]
    cap = subprocess.run(
        [*cli, "capture", "--out", str(wl), "--", sys.executable, str(DRIVER), str(db), "40"],
        capture_output=True,
        text=True,
    )
    assert cap.returncode == 0, cap.stderr[-2000:]
    before = _files(db)
    out = tmp_path / "report"
    run = subprocess.run(
        [*cli, "run", "--profile", "tiny", "--db", str(db), "--workload", str(wl)]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert _files(db) == before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["database"]["scale"] == "existing"
    captured = {q.name for q in load_workload(wl).queries}
    measured = {q["name"] for q in summary["queries"]}
    listed = {x["name"] for x in summary["workload"]["not_replayed"]}
    assert captured == measured | listed and measured  # each shape measured or listed
    assert summary["decision"]["decision"] in {"APPROVED", "APPROVED WITH CONDITIONS"}
    assert all(q["counters"]["source"] == "sqlite_stmt" for q in summary["queries"])
