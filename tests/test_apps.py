"""A real ORM application (peewee) end to end: capture, fit to its own database, replay
writes and queries on copies; the application's file is never changed."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

import pytest

pytest.importorskip("peewee", reason="peewee not installed (pinned in requirements.txt)")

from perflab.capture import build_workload, capture_command, group  # noqa: E402
from perflab.replay import fit_workload  # noqa: E402
from perflab.throughput import measure_writes  # noqa: E402
from perflab.workload import ParamSampler, load_workload  # noqa: E402

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
    recs = measure_writes(db, w.writes, ops=20, batch_sizes=(1,), warmup_ops=2)
    assert [r["status"] for r in recs] == ["ok"] * len(w.writes)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
