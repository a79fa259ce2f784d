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


def fake_costs(monkeypatch, ms: dict[str, float]) -> list[tuple[str, list[tuple]]]:
    """`time_statement` replaced: each statement "takes" its `ms` per execution, without
    taking the time; every call is recorded with the parameters it was given."""
    calls: list[tuple[str, list[tuple]]] = []

    def fake(c, sql, params, *, warmup=0, max_seconds=None):
        calls.append((sql, list(params)))
        n = len(params)
        return Samples(np.full(n, int(ms[sql] * 1e6)), np.ones(n, dtype=np.int64), 0)

    monkeypatch.setattr(interleave, "time_statement", fake)
    return calls


SLOW, FAST = "SELECT v FROM t", "SELECT id FROM t"
PARAMS = [(i,) for i in range(100)]


def test_a_budget_sets_the_count_from_the_warm_up_before_any_timed_round(conn, monkeypatch):
    """10 ms + 10 ms a pair, 4 rounds, 0.5 s: 6 executions per side and round (not the 25
    asked), the same in every round, and the record says the budget cut them."""
    calls = fake_costs(monkeypatch, {SLOW: 10.0, FAST: 10.0})
    a, b = interleave.Side(conn, SLOW, PARAMS), interleave.Side(conn, FAST, PARAMS)
    t = interleave.ab(a, b, rounds=4, executions=25, min_effect=0.05, seconds=0.5)
    assert [len(p) for _, p in calls] == [5, 5] + [6] * 8
    assert (t.executions, t.asked, t.n, t.cut, t.budget_s) == (6, 25, 24, True, 0.5)


def test_rounds_run_successive_parameters_on_both_sides(conn, monkeypatch):
    """A cut count still spreads over as many parameter sets as the rounds reach: round r
    starts at r x executions, and both sides of a round run the same tuples."""
    calls = fake_costs(monkeypatch, {SLOW: 1.0, FAST: 1.0})
    a, b = interleave.Side(conn, SLOW, PARAMS), interleave.Side(conn, FAST, PARAMS)
    interleave.ab(a, b, rounds=4, executions=6, min_effect=0.05)
    rounds = [p for _, p in calls[2:]]
    firsts = [p[0][0] for p in rounds]
    assert firsts == [0, 0, 6, 6, 12, 12, 18, 18]
    assert all(rounds[2 * r] == rounds[2 * r + 1] for r in range(4))


def test_a_budget_never_goes_below_the_floor_nor_above_the_count_asked(conn, monkeypatch):
    fake_costs(monkeypatch, {SLOW: 500.0, FAST: 1.0})
    a, b = interleave.Side(conn, SLOW, PARAMS), interleave.Side(conn, FAST, PARAMS)
    tight = interleave.ab(a, b, rounds=4, executions=25, min_effect=0.05, seconds=0.01)
    assert tight.executions == interleave.MIN_EXECUTIONS and tight.cut
    roomy = interleave.ab(a, b, rounds=4, executions=25, min_effect=0.05, seconds=1e6)
    assert roomy.executions == 25 and not roomy.cut
    few = interleave.ab(a, b, rounds=4, executions=3, min_effect=0.05, seconds=0.01)
    assert few.executions == 3 and not few.cut  # fewer asked than the floor: as asked
    free = interleave.ab(a, b, rounds=4, executions=25, min_effect=0.05)
    assert free.executions == 25 and not free.cut and free.budget_s is None


def test_a_side_warms_up_within_its_share_of_the_budget(conn, monkeypatch):
    """A side whose one execution outlasts its share of the budget warms up once, not
    `WARMUP` times (a 1.7 s query warmed 5 times cost 8.5 s per side)."""
    got: list[int] = []
    real = interleave.time_statement

    def spy(*args, **kwargs):
        s = real(*args, **kwargs)
        got.append(len(s.ns))
        return s

    monkeypatch.setattr(interleave, "time_statement", spy)
    a = interleave.Side(conn, "SELECT v FROM t WHERE id = ?", PARAMS)
    b = interleave.Side(conn, "SELECT id FROM t WHERE v = ?", PARAMS)
    interleave.ab(a, b, rounds=2, executions=10, min_effect=0.05, seconds=1e-6)
    assert got == [1, 1] + [interleave.MIN_EXECUTIONS] * 4
    got.clear()
    interleave.ab(a, b, rounds=2, executions=10, min_effect=0.05)  # no budget: all of it
    assert got == [interleave.WARMUP] * 2 + [10] * 4


def test_a_real_comparison_cut_by_its_budget_still_finds_the_faster_side(tmp_path):
    c = sqlite3.connect(tmp_path / "r.db")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
    c.executemany("INSERT INTO t(v) VALUES (?)", [(i % 1000,) for i in range(50_000)])
    c.execute("CREATE INDEX t_v ON t(v)")
    params = [(i,) for i in range(50)]
    slow = interleave.Side(c, "SELECT id FROM t NOT INDEXED WHERE v = ?", params)
    fast = interleave.Side(c, "SELECT id FROM t WHERE v = ?", params)
    t = interleave.ab(slow, fast, rounds=4, executions=1000, min_effect=0.05, seconds=0.2)
    assert t.cut and interleave.MIN_EXECUTIONS <= t.executions < 1000
    assert t.verdict == "improvement" and t.ratio_ci[1] < 1
    c.close()
