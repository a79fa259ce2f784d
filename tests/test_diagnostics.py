import sqlite3

import numpy as np
import pytest
from perflab.analysis.diagnostics import (
    diagnose,
    diagnose_query,
    from_records,
    inputs_key,
    records,
)
from perflab.errors import PerflabError
from perflab.inputs.workload import QuerySpec, Workload
from perflab.measure import interleave
from perflab.measure.timing import Samples

DDL = """
CREATE TABLE m (id INTEGER PRIMARY KEY, ns TEXT, nns TEXT COLLATE NOCASE, status TEXT,
                ts TEXT, n INT, code TEXT, x INT, y INT);
CREATE INDEX m_ns ON m(ns);
CREATE INDEX m_nns ON m(nns);
CREATE INDEX m_ts_ap ON m(ts) WHERE status IN ('active', 'paused');
CREATE INDEX m_n ON m(n);
CREATE INDEX m_code ON m(code);
CREATE INDEX m_x_y ON m(x, y);
CREATE INDEX m_st_ts ON m(status, ts);
"""


@pytest.fixture
def conn(make_db):
    rows = "".join(
        f"INSERT INTO m VALUES ({i}, 'user:u{i % 20}:p', 'user:u{i % 20}:p', "
        f"'{['active', 'paused', 'done', 'done'][i % 4]}', "
        f"'2025-01-{1 + i % 28:02d} 10:{i % 60:02d}', "
        f"{i}, '{i}', {i % 10}, {i % 13});"
        for i in range(400)
    )
    c = sqlite3.connect(make_db(DDL, rows=rows))
    yield c
    c.close()


def diag(conn, sql, params=((),)):
    return diagnose_query(conn, "q", sql, list(params), executions=10)


def by_rule(rows, rule):
    return [r for r in rows if r["diagnostic"] == rule]


def test_like_on_binary_column_fires_with_range_and_glob(conn):
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE ns LIKE ?", [("user:u1%",), ("user:u2%",)]),
        "like_collation",
    )
    kinds = sorted(r["fix_kind"] for r in rows)
    assert kinds == ["index", "rewrite", "rewrite"]
    for r in rows:
        assert r["confirmed"], r
        assert "(ns>? AND ns<?)" in r["plan_after"]
    assert all(r["equivalent"] == "yes" for r in rows if r["fix_kind"] == "rewrite")


def test_like_rewrite_not_equivalent_with_case_variants(conn):
    conn.execute("UPDATE m SET ns = upper(ns) WHERE id % 3 = 0")
    rows = by_rule(diag(conn, "SELECT * FROM m WHERE ns LIKE 'user:u1%'"), "like_collation")
    rw = [r for r in rows if r["fix_kind"] == "rewrite"]
    assert rw and all(r["equivalent"] == "no" and not r["recommended"] for r in rw)


def test_like_that_can_use_the_index_does_not_fire(conn):
    assert not by_rule(diag(conn, "SELECT * FROM m WHERE nns LIKE 'user:u1%'"), "like_collation")
    assert not by_rule(diag(conn, "SELECT * FROM m WHERE ns LIKE '%u1'"), "like_collation")


def test_partial_index_not_implied_and_implied(conn):
    conn.execute("DROP INDEX m_st_ts")  # leave the partial index as the only candidate
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE status = 'active' ORDER BY ts"), "partial_not_implied"
    )
    assert len(rows) == 1 and rows[0]["index"] == "m_ts_ap"
    r = rows[0]
    assert r["confirmed"] and r["equivalent"].startswith("yes")
    assert "IN ('active', 'paused')" in r["fix"] and "m_ts_ap" in r["plan_after"]
    ok = "SELECT * FROM m WHERE status IN ('active', 'paused') ORDER BY ts"
    assert not by_rule(diag(conn, ok), "partial_not_implied")
    # the query selects rows outside the index: no rewrite is possible
    assert not by_rule(
        diag(conn, "SELECT * FROM m WHERE status = 'done' ORDER BY ts"), "partial_not_implied"
    )


def test_function_on_column(conn):
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE n + 1 = ?", [(5,), (9,)]), "function_on_column"
    )
    rw = [r for r in rows if r["fix_kind"] == "rewrite"][0]
    assert rw["confirmed"] and rw["equivalent"] == "yes" and "m_n" in rw["plan_after"]
    ix = [r for r in rows if r["fix_kind"] == "index"][0]
    assert ix["confirmed"] and "<expr>" in ix["plan_after"]
    assert not by_rule(diag(conn, "SELECT * FROM m WHERE n = ? + 1", [(5,)]), "function_on_column")


def test_affinity_and_collation_mismatch(conn):
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE code = CAST(? AS INTEGER)", [("7",)]), "affinity_mismatch"
    )
    assert rows and rows[0]["confirmed"] and rows[0]["equivalent"] == "yes"
    assert not by_rule(diag(conn, "SELECT * FROM m WHERE code = ?", [(7,)]), "affinity_mismatch")
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE code = '7' COLLATE NOCASE"), "collation_mismatch"
    )
    assert {r["fix_kind"] for r in rows} == {"rewrite", "index"}
    assert all(r["confirmed"] for r in rows)


def test_leading_column_and_or(conn):
    rows = by_rule(diag(conn, "SELECT * FROM m WHERE y = 3"), "leading_column_unconstrained")
    assert rows and rows[0]["index"] == "m_x_y" and rows[0]["confirmed"]
    assert not by_rule(
        diag(conn, "SELECT * FROM m WHERE x = 1 AND y = 3"), "leading_column_unconstrained"
    )
    rows = by_rule(diag(conn, "SELECT * FROM m WHERE n = 3 OR y = 4"), "or_across_columns")
    assert rows and rows[0]["confirmed"] and "MULTI-INDEX OR" in rows[0]["plan_after"]
    assert not by_rule(diag(conn, "SELECT * FROM m WHERE n = 3 OR code = '4'"), "or_across_columns")


def test_order_by_not_served(conn):
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE x = 1 ORDER BY ts DESC"), "order_by_not_served"
    )
    assert rows and rows[0]["confirmed"] and "TEMP B-TREE" not in rows[0]["plan_after"]
    assert not by_rule(
        diag(conn, "SELECT * FROM m WHERE status = 'done' ORDER BY ts"), "order_by_not_served"
    )
    mixed = by_rule(
        diag(conn, "SELECT * FROM m WHERE x = 1 ORDER BY y, id DESC"), "order_by_not_served"
    )
    assert mixed


def test_bad_sql_names_the_query(conn):
    with pytest.raises(PerflabError, match="'q'"):
        diag(conn, "SELECT * FROM nope WHERE")


# ---------------------------------------------------------------- timing of rewrites

LIKE_SQL = "SELECT * FROM m WHERE ns LIKE ?"
LIKE_PARAMS = [("user:u1%",), ("user:u2%",)]


def fake_timing(monkeypatch, before_ms, after_ms, noise=0.0):
    """time_statement replaced: the original takes `before_ms` per execution, any rewrite
    `after_ms`, with relative Gaussian noise; returns the SQL of every timed call, in order."""
    calls: list[str] = []
    rng = np.random.default_rng(7)

    def fake(conn, sql, params, *, warmup=0, max_seconds=None):
        calls.append(sql)
        n = max(len(params) - warmup, 0)
        ms = before_ms if sql == LIKE_SQL else after_ms
        ns = ms * 1e6 * (1 + noise * rng.standard_normal(n))
        return Samples(ns.astype(np.int64), np.ones(n, dtype=np.int64), warmup)

    monkeypatch.setattr(interleave, "time_statement", fake)
    return calls


# The two rewrites a prefix LIKE on a BINARY column gets: bounded by the prefix's range, or
# GLOB (case-sensitive, so the index serves it).
LIKE_REWRITES = {
    "SELECT * FROM m WHERE ns LIKE ? AND ns >= ? AND ns < ?",
    "SELECT * FROM m WHERE ns GLOB ?",
}


def rewrites(conn, **kw):
    """The like_collation rewrites, checked to be exactly the two expected: the loops over
    them in the tests below are never vacuous."""
    rows = diagnose_query(conn, "q", LIKE_SQL, LIKE_PARAMS, executions=40, **kw)
    rws = [r for r in by_rule(rows, "like_collation") if r["fix_kind"] == "rewrite"]
    assert {r["fix"] for r in rws} == LIKE_REWRITES and len(rws) == len(LIKE_REWRITES)
    return rws


def test_original_and_rewrite_are_timed_interleaved(conn, monkeypatch):
    calls = fake_timing(monkeypatch, 1.0, 0.5)
    rws = rewrites(conn)
    assert rws
    for r in rws:
        at = [i for i, s in enumerate(calls) if s == r["fix"]]
        orig = [i for i, s in enumerate(calls) if s == LIKE_SQL]
        # A B B A ...: the original is timed between the rewrite's first and last round,
        # and the order alternates (the rewrite goes first in every other round, so two
        # of its rounds are back to back)
        assert len(at) >= 2 and any(at[0] < i < at[-1] for i in orig)
        assert any(b == a + 1 for a, b in zip(at, at[1:], strict=False))


def test_a_rewrite_clearly_faster_is_recommended_with_its_interval(conn, monkeypatch):
    fake_timing(monkeypatch, 1.0, 0.3, noise=0.05)
    for r in rewrites(conn):
        assert r["recommended"] and r["timing"] == "faster"
        lo, hi = r["ratio_ci"]
        assert lo <= r["p50_after_ms"] / r["p50_before_ms"] <= hi < 1 / 1.05


def test_a_rewrite_faster_by_less_than_the_minimum_effect_is_not_recommended(conn, monkeypatch):
    # 2% faster with almost no noise: real, but below the 5% minimum effect
    fake_timing(monkeypatch, 1.0, 0.98, noise=0.002)
    for r in rewrites(conn):
        assert not r["recommended"] and r["timing"] == "not faster"
        assert r["ratio_ci"][0] > 1 / 1.05


def test_a_rewrite_whose_interval_straddles_the_minimum_effect_is_inconclusive(conn, monkeypatch):
    fake_timing(monkeypatch, 1.0, 0.9, noise=0.6)
    for r in rewrites(conn):
        assert not r["recommended"] and r["timing"] == "inconclusive"
        lo, hi = r["ratio_ci"]
        assert lo < 1 / 1.05 < hi
    # a larger minimum effect turns a clear 3x into a clear "faster" still, and 0.9 into
    # "not faster" once the noise is small
    fake_timing(monkeypatch, 1.0, 0.9, noise=0.002)
    assert all(r["timing"] == "not faster" for r in rewrites(conn, min_effect=0.25))


def test_objects_the_hypothetical_database_lacks_are_reported_not_dropped():
    # an index on an application-defined function: the what-if database cannot hold it
    rows = "".join(f"INSERT INTO u VALUES ({i}, 'e{i}', {i % 7});" for i in range(50))
    c = sqlite3.connect(":memory:")
    c.create_function("norm", 1, str.lower, deterministic=True)
    c.executescript(
        f"CREATE TABLE u (id INTEGER PRIMARY KEY, e TEXT, k INT); {rows}"
        "CREATE INDEX u_norm ON u(norm(e));"
    )
    # the query's ORDER BY needs an index: the what-if database is used, and lacks u_norm
    rows = diagnose_query(c, "q", "SELECT * FROM u WHERE k = ? ORDER BY e", [(3,)], executions=5)
    skipped = [r for r in rows if r["diagnostic"] == "not_analysed"]
    assert len(skipped) == 1
    assert skipped[0]["index"] == "u_norm" and "norm" in skipped[0]["reason"]
    assert skipped[0]["query"] == "q"


def test_one_fix_proposed_twice_by_a_rule_is_one_row_whose_reason_names_the_fix(conn):
    # both terms on y find m_x_y led by the unconstrained x: the same index, proposed once
    rows = by_rule(
        diag(conn, "SELECT * FROM m WHERE y > 3 AND y < 9"), "leading_column_unconstrained"
    )
    assert [(r["fix_kind"], r["column"], r["index"]) for r in rows] == [("index", "y", "m_x_y")]
    assert rows[0]["reason"].endswith(
        "few distinct leading values); fix: an index led by the constrained column"
    )


def test_a_rewrites_time_budget_cuts_its_executions_and_the_row_says_so(conn, monkeypatch):
    """40 executions asked (4 rounds of 10); 1.3 ms a pair in a 10 ms budget leaves the
    floor, 4 rounds of `MIN_EXECUTIONS`, and a 3x faster rewrite is still called faster."""
    fake_timing(monkeypatch, 1.0, 0.3, noise=0.05)
    asked = rewrites(conn)
    assert asked and all(r["executions"] == 40 and r["budget_cut"] is False for r in asked)
    cut = rewrites(conn, seconds=0.01)
    assert cut and all(r["executions"] == 4 * interleave.MIN_EXECUTIONS for r in cut)
    assert all(r["budget_cut"] and r["timing"] == "faster" for r in cut)


def test_diagnoses_read_back_from_their_records_are_the_same(conn):
    frame = diagnose(conn, Workload("w", (QuerySpec("q", LIKE_SQL),)), {"q": LIKE_PARAMS})
    back = from_records(records(frame))
    assert len(back) == len(frame) > 0 and records(back) == records(frame)
    assert back["recommended"].dtype == bool and back["confirmed"].dtype == bool
    # a count stays a whole number beside the rows without one (an index fix's None)
    counts = [r["executions"] for r in records(back)]
    assert None in counts and {type(n) for n in counts if n is not None} == {int}


def test_the_inputs_key_changes_with_each_thing_the_diagnoses_depend_on():
    wl = Workload("w", (QuerySpec("a", "SELECT * FROM m WHERE n = ?"),))
    other = Workload("w", (QuerySpec("a", "SELECT * FROM m WHERE x = ?"),))
    key = inputs_key("db", wl, {"a": [(1,), (2,)]})
    assert key == inputs_key("db", wl, {"a": [(1,), (2,)]})
    keys = {
        key,
        inputs_key("db2", wl, {"a": [(1,), (2,)]}),
        inputs_key("db", other, {"a": [(1,), (2,)]}),
        inputs_key("db", wl, {"a": [(1,), (3,)]}),
        inputs_key("db", wl, {"a": [(1,)]}),
        inputs_key("db", wl, {"a": [(1,), (2,)]}, min_effect=0.1),
    }
    assert len(keys) == 6


def test_each_distinct_parameter_set_is_checked_for_equivalence_once(conn, monkeypatch):
    """The sample repeats a query's one parameter set (or its empty one) as often as it is
    drawn: the same rows again, so the rewrite's rows are compared once per distinct set."""
    from perflab.analysis import diagnostics

    fake_timing(monkeypatch, 1.0, 0.5)
    checked = []
    real = diagnostics._rows
    monkeypatch.setattr(
        diagnostics, "_rows", lambda c, sql, p: checked.append(p) or real(c, sql, p)
    )
    rows = diagnose_query(conn, "q", LIKE_SQL, LIKE_PARAMS * 10, executions=10)
    assert [r["equivalent"] for r in by_rule(rows, "like_collation") if r["fix"]]
    per_rewrite = len(checked) // len([r for r in rows if r["fix_kind"] == "rewrite"])
    assert per_rewrite == 2 * len(LIKE_PARAMS)  # original and rewrite, per distinct set
