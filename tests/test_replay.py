"""Captured writes replay on any schema: keys that respect PRIMARY KEY / UNIQUE (composite
too), INTEGER PRIMARY KEY left to SQLite, FOREIGN KEY parents that exist, UPDATE/DELETE
aimed at existing rows; what still fails is listed and the run goes on."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.inputs.replay import fit_workload
from perflab.inputs.workload import dump_typed, load_workload
from perflab.measure.throughput import measure_writes, not_replayed
from perflab.measure.timing import Budget

DDL = """
PRAGMA journal_mode = WAL;
CREATE TABLE trial(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE param(trial_id INTEGER NOT NULL REFERENCES trial(id), param_name TEXT NOT NULL,
                   value BLOB, UNIQUE(trial_id, param_name));
CREATE TABLE tag(code TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
CREATE TABLE strict_t(id INTEGER PRIMARY KEY, v INTEGER CHECK (v < 0));
"""


@pytest.fixture()
def db(tmp_path):
    p = tmp_path / "app.db"
    c = sqlite3.connect(p)
    c.executescript(DDL)
    c.executemany("INSERT INTO trial(id, name) VALUES (?, ?)", [(i, f"t{i}") for i in range(1, 6)])
    c.executemany(
        "INSERT INTO param VALUES (?, ?, ?)",
        [(t, f"p{k}", bytes([k])) for t in range(1, 6) for k in range(3)],
    )
    c.executemany("INSERT INTO tag VALUES (?, ?)", [("a", 1), ("b", 2)])
    c.execute("INSERT INTO strict_t VALUES (1, -1)")
    c.commit()
    c.close()
    return p


def _captured(tmp_path, writes):
    doc = {
        "name": "cap",
        "origin": "capture",
        "queries": [
            {
                "name": "q",
                "sql": "SELECT * FROM trial WHERE id = ?",
                "params": [{"rows": [[1], [2]]}],
            },
            {
                "name": "gone",
                "sql": "SELECT * FROM missing WHERE id = ?",
                "params": [{"rows": [[1]]}],
            },
        ],
        "writes": writes,
    }
    p = tmp_path / "cap.yaml"
    p.write_text(dump_typed(doc), encoding="utf-8")
    return p


def _w(name, sql, rows):
    return {
        "name": name,
        "begin": "DEFERRED",
        "statements": [{"sql": sql, "params": [{"rows": rows}]}],
    }


def test_captured_inserts_fit_keys_and_parents(db, tmp_path):
    wl = _captured(
        tmp_path,
        [
            # the captured values collide with the rows they created
            _w("ins_trial", "INSERT INTO trial(id, name) VALUES (?, ?)", [[1, "t1"], [2, "t2"]]),
            _w(
                "ins_param",
                "INSERT INTO param(trial_id, param_name, value) VALUES (?, ?, ?)",
                [[1, "p0", b"\x00"], [99, "p1", b"\x01"]],
            ),  # 99: a parent that is gone
            _w("ins_tag", "INSERT INTO tag(code, n) VALUES (?, ?)", [["a", 1]]),
            _w(
                "upd_param",
                "UPDATE param SET value = ? WHERE trial_id = ? AND param_name = ?",
                [[b"\xff", 1, "p0"]],
            ),
            _w("del_tag", "DELETE FROM tag WHERE code = ?", [["zzz"]]),
            _w("bad_check", "INSERT INTO strict_t(id, v) VALUES (?, ?)", [[2, 5]]),
        ],
    )
    before = db.read_bytes()
    fit = fit_workload(db, wl)
    assert db.read_bytes() == before  # trials run on a copy
    skipped = {s.name: s for s in fit.not_replayed}
    assert set(skipped) == {"gone", "bad_check"}
    assert skipped["bad_check"].reason.startswith("CHECK")
    assert "no such table" in skipped["gone"].reason
    out = tmp_path / "fitted.yaml"
    out.write_text(fit.text, encoding="utf-8")
    fitted = load_workload(out)
    assert [q.name for q in fitted.queries] == ["q"]
    kinds = {w.name: [p.kind for p in w.statements[0].params] for w in fitted.writes}
    assert kinds["ins_trial"] == ["value", "unique"]  # rowid left to SQLite, UNIQUE fresh
    assert kinds["ins_param"] == ["column", "unique", "values"]  # parent drawn, key fresh
    assert kinds["ins_tag"][0] == "unique"  # WITHOUT ROWID primary key
    assert kinds["upd_param"] == ["values", "column"]  # aimed at existing rows
    recs = measure_writes(db, fitted.writes, Budget(iterations=40, warmup=2), batch_sizes=(1, 10))
    assert {r["status"] for r in recs} == {"ok"}, not_replayed(recs)
    assert db.read_bytes() == before


def test_a_write_that_cannot_run_is_listed_not_fatal(db, tmp_path):
    """A hand-written write that collides: the run records it as not replayed."""
    wl = tmp_path / "w.yaml"
    wl.write_text(
        dump_typed(
            {
                "name": "h",
                "queries": [{"name": "q", "sql": "SELECT 1"}],
                "writes": [
                    _w("dup", "INSERT INTO param(trial_id, param_name) VALUES (?, ?)", [[1, "p0"]])
                ],
            }
        ),
        encoding="utf-8",
    )
    recs = measure_writes(
        db, load_workload(wl).writes, Budget(iterations=5, warmup=1), batch_sizes=(1,)
    )
    assert recs[0]["status"] == "not_replayed"
    assert not_replayed(recs) == ["dup: not replayed: UNIQUE(trial_id, param_name)"]


def test_schema_run_fits_a_captured_workload_before_the_notebooks(tmp_path, monkeypatch):
    """--schema with a captured workload: `_check_workload` fits it to the generated
    database; a captured query that cannot run there is listed, not fatal."""
    from perflab.inputs.config import RunInputs
    from perflab.inputs.userdb import empty_targets, schema_spec
    from perflab.run.context import prepare
    from perflab.run.runner import _check_workload

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    ddl = tmp_path / "app.sql"
    keep = [s for s in DDL.splitlines() if not s.startswith(("PRAGMA", "CREATE TABLE strict_t"))]
    ddl.write_text("\n".join(keep))
    wl = _captured(
        tmp_path,
        [
            _w(
                "ins_param",
                "INSERT INTO param(trial_id, param_name, value) VALUES (?, ?, ?)",
                [[1, "p0", b"\x00"]],
            )
        ],
    )
    inputs = RunInputs(
        "tiny", dataset=schema_spec(ddl, rows={"tiny": 50}), workload=wl, targets=empty_targets()
    )
    ctx = prepare(inputs, progress=False)
    fitted = _check_workload(ctx)
    assert fitted.workload.origin == "capture-fitted"
    assert fitted.config.workload != ctx.config.workload
    assert [(s.name, s.kind) for s in fitted.workload.not_replayed] == [("gone", "query")]
    assert [q.name for q in fitted.workload.queries] == ["q"]
    kinds = [p.kind for p in fitted.workload.writes[0].statements[0].params]
    assert kinds == ["column", "unique", "values"]


def test_join_table_inserts_draw_unused_parent_pairs(tmp_path):
    """A UNIQUE key made only of foreign keys: replay draws parent pairs no row holds yet,
    each once; when they run out, the write is listed (not a failed run)."""
    db = tmp_path / "j.db"
    c = sqlite3.connect(db)
    c.executescript(
        "CREATE TABLE u(id INTEGER PRIMARY KEY); CREATE TABLE trial(id INTEGER PRIMARY KEY);"
        "CREATE TABLE follow(a INTEGER NOT NULL REFERENCES u(id),"
        " b INTEGER NOT NULL REFERENCES u(id), UNIQUE(a, b));"
    )
    c.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(1, 6)])  # 25 pairs
    c.executemany("INSERT INTO follow VALUES (?, ?)", [(1, 2), (2, 3), (3, 4), (4, 5), (5, 1)])
    c.commit()
    c.close()
    wl = _captured(tmp_path, [_w("follow", "INSERT INTO follow(a, b) VALUES (?, ?)", [[1, 2]])])
    fit = fit_workload(db, wl)
    assert [s.name for s in fit.not_replayed] == ["gone"]
    out = tmp_path / "f.yaml"
    out.write_text(fit.text, encoding="utf-8")
    (w,) = load_workload(out).writes
    assert [p.kind for p in w.statements[0].params] == ["unused"]
    # 17 of 20 pairs
    ok = measure_writes(db, [w], Budget(iterations=15, warmup=2), batch_sizes=(1,))
    assert ok[0]["status"] == "ok" and ok[0]["ops"] == 15
    short = measure_writes(db, [w], Budget(iterations=30, warmup=2), batch_sizes=(1,))
    assert short[0]["status"] == "not_replayed"
    assert "no unused key left" in short[0]["error"]
