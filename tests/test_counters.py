"""Work counters from sqlite_stmt on real files: known answers on small schemas."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.counters import count_work, unavailable_reason


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
