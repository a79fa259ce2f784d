"""Work counters from sqlite_stmt on real files: known answers on small schemas."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.sqlite.counters import count_work, counter_record, unavailable_reason


def _db(tmp_path, n: int) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / f"t{n}.db")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)")
    conn.execute("CREATE INDEX t_a ON t(a)")
    conn.executemany("INSERT INTO t(a, b) VALUES (?, ?)", [(i % 50, i % 7) for i in range(n)])
    conn.commit()
    return conn


def test_sqlite_stmt_is_available_here(tmp_path):
    assert unavailable_reason(_db(tmp_path, 10)) is None


@pytest.mark.parametrize("n", [1_000, 20_000])
def test_lookup_work_is_constant_and_scan_work_grows(tmp_path, n):
    conn = _db(tmp_path, n)
    look = count_work(conn, "SELECT * FROM t WHERE id = ?", [(i,) for i in range(1, 30)])
    assert set(look.vm_steps.tolist()) == {look.vm_steps[0]} and look.vm_steps[0] < 20
    assert look.fullscan_steps.sum() == 0 and set(look.rows.tolist()) == {1}
    scan = count_work(conn, "SELECT * FROM t WHERE b = ?", [(3,), (4,)])
    assert scan.fullscan_steps.tolist() == [n - 1, n - 1]  # one step per row after the first
    assert scan.vm_steps[0] > 3 * n
    srt = count_work(conn, "SELECT * FROM t WHERE a = ? ORDER BY b", [(1,)])
    assert srt.sorts.tolist() == [1] and srt.fullscan_steps.tolist() == [0]


def test_counts_follow_the_parameters_given(tmp_path):
    conn = _db(tmp_path, 1_000)
    w = count_work(conn, "SELECT * FROM t WHERE a = ?", [(1,), (999,), (2,)])
    assert w.rows.tolist() == [20, 0, 20]
    assert w.vm_steps[1] < w.vm_steps[0] == w.vm_steps[2]
    assert w.executions == 3


def test_automatic_index_is_counted(tmp_path):
    conn = _db(tmp_path, 2_000)
    conn.execute("CREATE TABLE u(x INTEGER)")
    conn.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(200)])
    conn.commit()
    w = count_work(conn, "SELECT count(*) FROM u JOIN t ON t.b = u.x", [()])
    assert w.autoindex[0] > 0


def test_time_budget_keeps_a_prefix_and_says_so(tmp_path):
    conn = _db(tmp_path, 2_000)
    params = [(i,) for i in range(50)]
    w = count_work(conn, "SELECT * FROM t WHERE b = ?", params, max_seconds=0.0)
    assert w.executions == 1 and w.truncated  # at least one execution, then the budget
    full = count_work(conn, "SELECT * FROM t WHERE b = ?", params, max_executions=20)
    assert full.executions == 20 and not full.truncated
    assert w.vm_steps[0] == full.vm_steps[0]  # a prefix of the same executions


def test_record_and_sentence_known_answers(tmp_path):
    conn = _db(tmp_path, 20_000)
    rec = counter_record(count_work(conn, "SELECT id FROM t WHERE b = ? LIMIT 1", [(3,)] * 4))
    assert rec["source"] == "sqlite_stmt" and rec["reason"] is None and rec["executions"] == 4
    assert rec["values"]["fullscan_steps"] == [3, 3, 3, 3]  # b = 3 first at id 4
    scan = counter_record(count_work(conn, "SELECT count(*) FROM t WHERE b = ?", [(3,)] * 2))
    assert scan["sentence"] == (
        "visits 19,999 rows in full scans to return 1 row "
        f"({scan['per_execution']['vm_steps']['mean']:,.0f} VM steps per execution, "
        "mean of 2 executions)"
    )
    srt = counter_record(count_work(conn, "SELECT * FROM t WHERE a = ? ORDER BY b", [(1,), (2,)]))
    assert srt["sentence"].startswith("returns 400 rows without a full scan; sorts once (")
    half = counter_record(count_work(conn, "SELECT * FROM t WHERE a = ? LIMIT 3", [(1,), (999,)]))
    assert half["per_execution"]["rows"] == {"mean": 1.5, "min": 0, "max": 3}
    assert half["sentence"].startswith("returns 1.5 rows without")


def test_unavailable_counters_are_a_record_with_the_reason(tmp_path, monkeypatch):
    from perflab.inputs.workload import load_workload
    from perflab.measure import latency
    from perflab.measure.timing import Budget
    from perflab.sqlite import counters

    conn = _db(tmp_path, 500)
    wl = tmp_path / "w.yaml"
    wl.write_text(
        "name: w\nqueries:\n  - name: by_a\n    sql: SELECT * FROM t WHERE a = ?\n"
        "    params:\n      - sample: SELECT a FROM t ORDER BY id\n"
    )
    workload = load_workload(wl)
    frame, _, params = latency.measure_workload(conn, workload, Budget(iterations=20, warmup=2))
    ok = latency.latency_records(frame, workload, params)[0]["counters"]
    assert ok["source"] == "sqlite_stmt" and ok["executions"] == 22
    assert latency.work_table(frame).loc["by_a", "rows"] == 10
    monkeypatch.setattr(counters, "unavailable_reason", lambda conn: "no sqlite_stmt here")
    frame, _, params = latency.measure_workload(conn, workload, Budget(iterations=20, warmup=2))
    rec = latency.latency_records(frame, workload, params)[0]
    assert rec["iterations"] == 20  # timings are still measured
    c = rec["counters"]
    assert c["source"] is None and c["reason"] == "no sqlite_stmt here"
    assert c["per_execution"] is None and c["sentence"].endswith("no sqlite_stmt here")
    assert latency.work_table(frame).loc["by_a", "source"] == "unavailable"
