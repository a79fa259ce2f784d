"""measure.interleave: the one before/after timing the advisor, the diagnostics and the lab use."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from perflab.measure import interleave
from perflab.measure.timing import Samples


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
    c.executemany("INSERT INTO t(v) VALUES (?)", [(i % 10,) for i in range(200)])
    yield c
    c.close()


def test_parameters_are_cycled_in_order():
    assert interleave.cycled([(1,), (2,)], 5) == [(1,), (2,), (1,), (2,), (1,)]
    assert interleave.cycled([], 2) == [(), ()]


def test_both_sides_are_warmed_then_timed_in_alternating_rounds(conn, monkeypatch):
    calls: list[tuple[str, int]] = []

    def fake(c, sql, params, *, warmup=0, max_seconds=None):
        calls.append((sql, len(params)))
        ms = 2.0 if sql.startswith("SELECT v") else 1.0  # the "after" side is twice as fast
        n = len(params)
        return Samples(np.full(n, int(ms * 1e6)), np.ones(n, dtype=np.int64), 0)

    monkeypatch.setattr(interleave, "time_statement", fake)
    a = interleave.Side(conn, "SELECT v FROM t WHERE v = ?", [(1,), (2,)])
    b = interleave.Side(conn, "SELECT id FROM t WHERE v = ?", [(1,), (2,)])
    t = interleave.ab(a, b, rounds=4, executions=7, min_effect=0.05)
    A, B = a.sql, b.sql
    assert calls == [(A, 5), (B, 5), (A, 7), (B, 7), (B, 7), (A, 7), (A, 7), (B, 7), (B, 7), (A, 7)]
    assert t.p50_before_ms == 2.0 and t.p50_after_ms == 1.0 and t.ratio == 0.5
    assert t.ratio_ci == (0.5, 0.5) and t.verdict == "improvement"
    assert (t.rounds, t.executions, t.conf) == (4, 7, 0.99)


def test_a_real_faster_side_is_measured_faster(conn):
    conn.execute("CREATE INDEX t_v ON t(v)")
    slow = interleave.Side(conn, "SELECT id FROM t NOT INDEXED WHERE v = ?", [(3,), (4,)])
    fast = interleave.Side(conn, "SELECT id FROM t WHERE v = ?", [(3,), (4,)])
    t = interleave.ab(slow, fast, rounds=4, executions=200, min_effect=0.05)
    assert t.ratio < 1 and t.ratio_ci[0] <= t.ratio <= t.ratio_ci[1]
