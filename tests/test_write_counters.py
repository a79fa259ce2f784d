"""A write's work counters: the same for the same write and seed, and they move when the
write does more work (a trigger, an index), whatever the clock says."""

from __future__ import annotations

import sqlite3

from perflab.database.snapshot import fingerprint
from perflab.inputs.workload import ParamSpec, StatementSpec, WriteSpec
from perflab.measure import write_counters
from perflab.sqlite import counters

DDL = "CREATE TABLE items (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT);"
ROWS = "".join(f"INSERT INTO items (k, v) VALUES ('seed{i}', 'x');" for i in range(200))
INSERT = WriteSpec(
    "insert_item",
    (
        StatementSpec(
            "INSERT INTO items (k, v) VALUES (?, ?)",
            (ParamSpec("format", "k_{run}_{n}"), ParamSpec("value", "v")),
        ),
    ),
)
STMT = counters.unavailable_reason(sqlite3.connect(":memory:")) is None


def _count(path):
    return write_counters.count_writes(path, [INSERT], seed=7, ops=10)["insert_item"]


def test_counts_are_identical_across_runs_and_the_source_is_untouched(make_db):
    db = make_db(DDL, rows=ROWS)
    sha = fingerprint(db)
    a, b = _count(db), _count(db)
    assert a == b and a.reason is None and a.ops == 10
    assert a.rows_changed == (1,) * 10
    assert all(p >= 1 for p in a.pages_written)
    assert len(a.vm_steps) == (10 if STMT else 0)
    assert fingerprint(db) == sha


def test_a_trigger_or_an_index_on_the_written_table_raises_the_counts(make_db):
    base = _count(make_db(DDL, "base.db", ROWS))
    trig = _count(
        make_db(
            DDL + "CREATE TABLE log (k TEXT);"
            "CREATE TRIGGER t AFTER INSERT ON items BEGIN INSERT INTO log VALUES (new.k); END;",
            "trig.db",
            ROWS,
        )
    )
    idx = _count(make_db(DDL + "CREATE INDEX ix_k ON items (k, v);", "idx.db", ROWS))
    assert trig.means()["rows_changed"] == 2 * base.means()["rows_changed"]
    if STMT:
        assert trig.means()["vm_steps"] > base.means()["vm_steps"]
        assert idx.means()["vm_steps"] > base.means()["vm_steps"]
    assert idx.means()["pages_written"] > base.means()["pages_written"]


def test_a_write_sqlite_refuses_is_not_counted_with_its_reason(make_db):
    db = make_db(DDL, rows=ROWS)
    bad = WriteSpec(
        "bad", (StatementSpec("INSERT INTO nowhere VALUES (?)", (ParamSpec("value", 1),)),)
    )
    out = write_counters.count_writes(db, [bad, INSERT], seed=7, ops=3)
    assert out["bad"].reason and "nowhere" in out["bad"].reason
    assert out["insert_item"].ops == 3


# ------------------------------------------------------------- the gate on writes


def _write_summary(db, name: str) -> dict:
    """A summary's throughput as a run writes it: measured writes with their counters."""
    from perflab.measure import throughput
    from perflab.measure.timing import Budget

    recs = throughput.measure_writes(db, [INSERT], Budget(iterations=60, warmup=5, seed=3))
    work = write_counters.count_writes(db, [INSERT], seed=3)
    writes = [{**w, "counters": work[w["write"]].record()} for w in recs]
    return {"run_id": name, "queries": [], "throughput": {"writes": writes}}


def _scale_throughput(s: dict, factor: float) -> dict:
    """The same summary with every write's throughput (and interval) times `factor`: a
    between-run move of the clock with the work unchanged."""
    import copy

    out = copy.deepcopy(s)
    for w in out["throughput"]["writes"]:
        w["ops_per_s"] *= factor
        w["ops_per_s_ci"] = [x * factor for x in w["ops_per_s_ci"]]
        w["ops_per_s_aa_spread"] = 1.0  # no spread to hide behind: the counters decide
    return out


def test_throughput_moved_054x_with_identical_work_is_inconclusive_and_never_gates(make_db):
    from perflab.judge.compare import compare
    from perflab.judge.gate import check_gates

    db = make_db(DDL, rows=ROWS)
    a = _write_summary(db, "A1")
    b = _scale_throughput(a, 0.54)  # A2: the A/A pair of the issue, clock only
    b["throughput"]["writes"] = [
        {**w, "counters": c["counters"]}
        for w, c in zip(
            b["throughput"]["writes"], _write_summary(db, "A2")["throughput"]["writes"], strict=True
        )
    ]
    cmp = compare(_scale_throughput(a, 1.0), b)
    tp = [m for m in cmp["metrics"] if m["metric"] == "ops_per_s"]
    assert tp and all(m["verdict"] == "inconclusive" and m["work"] == "identical" for m in tp)
    assert [w["verdict"] for w in cmp["write_work"]] == ["same"]
    assert check_gates({"comparison": cmp}, ["regression"]) == []


def test_a_write_that_gains_a_trigger_or_an_index_fails_the_gate_by_its_counters(make_db):
    from perflab.judge.compare import compare
    from perflab.judge.gate import check_gates

    base = _write_summary(make_db(DDL, "base.db", ROWS), "base")
    trig = _write_summary(
        make_db(
            DDL + "CREATE TABLE log (k TEXT);"
            "CREATE TRIGGER t AFTER INSERT ON items BEGIN INSERT INTO log VALUES (new.k); END;",
            "trig.db",
            ROWS,
        ),
        "trigger",
    )
    idx = _write_summary(make_db(DDL + "CREATE INDEX ix_k ON items (k, v);", "i.db", ROWS), "ix")
    for head, counter in ((trig, "rows changed"), (idx, "pages written")):
        # the clock says nothing: head's throughput is base's exactly
        head["throughput"]["writes"] = [
            {**h, "ops_per_s": b["ops_per_s"], "ops_per_s_ci": b["ops_per_s_ci"]}
            for h, b in zip(head["throughput"]["writes"], base["throughput"]["writes"], strict=True)
        ]
        cmp = compare(base, head)
        assert cmp["write_work_regressions"] == 1
        fails = check_gates({"comparison": cmp}, ["regression"])
        assert len(fails) == 1 and "insert_item" in fails[0] and counter in fails[0], fails
