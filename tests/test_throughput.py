"""Write throughput runs on copies, and data checks that catch lost writes."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from perflab.errors import PerflabError
from perflab.inputs import config
from perflab.inputs.workload import (
    ParamSpec,
    QuerySpec,
    StatementSpec,
    VerifySpec,
    Workload,
    WriteSpec,
)
from perflab.measure import throughput
from perflab.measure.latency import sample_params
from perflab.measure.timing import Budget
from perflab.sqlite import engine

DDL = """
CREATE TABLE items (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT);
CREATE TABLE sessions (id TEXT PRIMARY KEY, events TEXT NOT NULL DEFAULT '[]');
"""
ROWS_NO_GS = "".join(
    [f"INSERT INTO items (k, v) VALUES ('seed{i}', 'x');" for i in range(50)]
    + [f"INSERT INTO sessions (id) VALUES ('s{i}');" for i in range(20)]
)

INSERT = WriteSpec(
    "insert_item",
    (
        StatementSpec(
            "INSERT INTO items (k, v) VALUES (?, ?)",
            (ParamSpec("format", "k_{run}_{n}"), ParamSpec("value", "v")),
        ),
    ),
    verify=VerifySpec("SELECT count(*) FROM items", 1),
)
APPEND = WriteSpec(
    "append_event",
    (
        StatementSpec(
            "UPDATE sessions SET events = json_insert(events, '$[#]', ?) WHERE id = ?",
            (ParamSpec("format", "{n}"), ParamSpec("sample", "SELECT id FROM sessions")),
        ),
    ),
    verify=VerifySpec("SELECT sum(json_array_length(events)) FROM sessions", 1),
)


@pytest.fixture
def db(make_db) -> Path:
    path = make_db(DDL, rows=ROWS_NO_GS)
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.close()
    return path


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_copy_database_is_a_consistent_copy_and_source_is_untouched(db, tmp_path):
    before = _sha(db)
    dst = engine.copy_database(db, tmp_path / "c.db")
    with sqlite3.connect(dst) as c:
        assert c.execute("SELECT count(*) FROM items").fetchone()[0] == 50
    assert _sha(db) == before
    with pytest.raises(Exception, match="refusing"):
        engine.copy_database(db, dst)


def test_working_copy_is_removed_afterwards(db):
    with engine.working_copy(db) as p:
        assert p.exists() and p != db
        kept = p.parent
    assert not kept.exists()


def test_run_write_counts_ops_and_verifies(db, tmp_path):
    conn = engine.connect(engine.copy_database(db, tmp_path / "w.db"))
    run = throughput.run_write(conn, INSERT, Budget(iterations=37, warmup=5), batch_size=1)
    assert run.ok and run.ops == 37 and run.txn_ns.size == 37
    assert run.verify_expected == run.verify_actual == 42
    rec = run.record()
    assert rec["status"] == "ok" and rec["ops_per_s"] > 0
    lo, hi = rec["ops_per_s_ci"]
    assert lo <= rec["ops_per_s"] <= hi
    assert rec["pragmas"]["journal_mode"] == "wal"


def test_batched_run_groups_ops_in_transactions(db, tmp_path):
    conn = engine.connect(engine.copy_database(db, tmp_path / "w.db"))
    run = throughput.run_write(conn, APPEND, Budget(iterations=25, warmup=0), batch_size=10)
    assert run.txn_ns.size == 3 and run.op_ns.size == 25  # 10 + 10 + 5
    assert run.ok and run.verify_actual == 25


def test_a_write_that_matches_nothing_is_caught_as_lost(db, tmp_path):
    lost = WriteSpec(
        "lost_append",
        (
            StatementSpec(
                "UPDATE sessions SET events = json_insert(events, '$[#]', ?) WHERE id = ?",
                (ParamSpec("format", "{n}"), ParamSpec("value", "no-such-session")),
            ),
        ),
        verify=APPEND.verify,
    )
    conn = engine.connect(engine.copy_database(db, tmp_path / "w.db"))
    with pytest.raises(throughput.DataCheckError, match="lost or duplicated"):
        throughput.run_write(conn, lost, Budget(iterations=10, warmup=0))
    run = throughput.run_write(conn, lost, Budget(iterations=10, warmup=0), check=False)
    assert not run.ok and run.verify_actual == 0 and run.verify_expected == 10
    rec = run.record()
    assert rec["status"] == "failed" and rec["ops_per_s"] is None  # a failure, not a figure


def test_a_verify_with_the_wrong_per_op_is_caught(db, tmp_path):
    wrong = WriteSpec(INSERT.name, INSERT.statements, verify=VerifySpec(INSERT.verify.sql, 2))
    recs = throughput.measure_writes(db, [wrong], Budget(iterations=5, warmup=0), batch_sizes=(1,))
    assert recs[0]["status"] == "failed"
    assert throughput.failures(recs) and "expected 10" in throughput.failures(recs)[0]


def test_a_duplicated_write_is_caught(db, tmp_path):
    dup = WriteSpec(
        INSERT.name,
        INSERT.statements * 1
        + (
            StatementSpec(
                "INSERT INTO items (k, v) VALUES (?, 'dup')",
                (ParamSpec("format", "dup_{run}_{n}"),),
            ),
        ),
        verify=INSERT.verify,
    )
    conn = engine.connect(engine.copy_database(db, tmp_path / "w.db"))
    with pytest.raises(throughput.DataCheckError):
        throughput.run_write(conn, dup, Budget(iterations=4, warmup=0))


def test_measure_writes_never_touches_the_source(db):
    before = _sha(db)
    recs = throughput.measure_writes(
        db, [INSERT, APPEND], Budget(iterations=20, warmup=2), batch_sizes=(1, 5)
    )
    assert [r["status"] for r in recs] == ["ok"] * 4
    assert _sha(db) == before
    frame = throughput.write_frame(recs)
    assert set(frame["batch_size"]) == {1, 5} and (frame["ops"] == 20).all()


def test_pragma_sweep_applies_each_durability_setting(db):
    recs = throughput.pragma_sweep(db, [INSERT], Budget(iterations=10, warmup=0))
    frame = throughput.write_frame(recs)
    got = set(zip(frame["journal_mode"], frame["synchronous"], strict=True))
    assert got == set(throughput.PRAGMA_GRID)
    assert (frame["status"] == "ok").all()


def test_time_cap_stops_early_and_the_check_uses_ops_done(db, tmp_path):
    conn = engine.connect(engine.copy_database(db, tmp_path / "w.db"))
    run = throughput.run_write(conn, INSERT, Budget(iterations=100000, warmup=0, max_seconds=0.0))
    assert 1 <= run.ops < 100000 and run.ok


def test_repeat_write_reports_a_spread(db):
    rep = throughput.repeat_write(db, INSERT, Budget(iterations=10, warmup=0), repeats=3)
    v = rep["values"]
    assert rep["n"] == 3 and len(v) == 3 and rep["median"] == sorted(v)[1]
    assert rep["spread_pct"] == pytest.approx((max(v) - min(v)) / sorted(v)[1] * 100)
    assert (rep["min"], rep["max"]) == (min(v), max(v))


def test_settings_parse_reader_lists():
    s = config.settings("tiny", "throughput", readers="1, 3", write_ops=None)
    assert s.readers == (1, 3) and s.write_ops == config.profile("tiny").throughput.write_ops


def test_an_unknown_profile_or_setting_raises_everywhere():
    for call in (
        lambda: config.settings("huge", "throughput"),
        lambda: config.settings("tiny", "throughput", write_opps=3),
        lambda: config.settings("tiny", "nope"),
        lambda: config.settings("tiny", "throughput", readers="1,x"),
    ):
        with pytest.raises(PerflabError):
            call()


def test_reported_pragmas_match_what_a_write_run_records(db):
    rec = throughput.measure_writes(db, [INSERT], Budget(iterations=5, warmup=0), batch_sizes=(1,))[
        0
    ]
    assert rec["pragmas"] == throughput.reported_pragmas()
    assert throughput.reported_pragmas({"journal_mode": "DELETE", "synchronous": "FULL"}) == {
        "journal_mode": "delete",
        "synchronous": 2,
    }


def test_clones_of_a_pristine_copy_each_start_from_the_source(db):
    """Every working copy cloned from the private copy holds the source's data, whatever
    an earlier clone had written; the source and the private copy are never changed, and
    everything is removed afterwards."""
    before = _sha(db)
    with throughput.pristine(db) as src:
        kept = _sha(src.path)
        for _ in range(2):
            with throughput.working_copy(src) as path:
                assert path.parent.parent == src.path.parent  # beside it: same filesystem
                c = engine.connect(path)
                assert c.execute("SELECT count(*) FROM items").fetchone()[0] == 50
                c.execute("INSERT INTO items (k, v) VALUES ('new', 'x')")
                c.close()
            assert not path.parent.exists()
        assert _sha(src.path) == kept
        recs = throughput.measure_writes(src, [INSERT], Budget(iterations=5, warmup=0))
        assert [r["status"] for r in recs] == ["ok", "ok"]
    assert not src.path.parent.exists() and _sha(db) == before
    assert not [p for p in db.parent.iterdir() if p.name.startswith(".perflab-copy-")]


def test_a_longer_parameter_draw_begins_with_the_shorter_one(db):
    # the throughput stage draws once for readers (1000) and drivers (400), and gives the
    # drivers the first 400: the same tuples as a draw of 400 alone
    wl = Workload(
        "w",
        (
            QuerySpec(
                "q",
                "SELECT v FROM items WHERE k = ? AND v = ?",
                (ParamSpec("sample", "SELECT k FROM items"), ParamSpec("values", ("x", "y"))),
            ),
        ),
    )
    conn = engine.connect(db, readonly=True)
    try:
        long, short = sample_params(conn, wl, 50, 3)["q"], sample_params(conn, wl, 20, 3)["q"]
    finally:
        conn.close()
    assert long[:20] == short and len(set(long)) > 10
