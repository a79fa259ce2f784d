import sqlite3

import pytest
from perflab.diagnostics import diagnose_query
from perflab.errors import PerflabError

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
