import sqlite3

import pytest
from perflab.analysis.findings import FINDING_COLUMNS, plan_findings, query_findings, severity
from perflab.sqlite.plans import explain

DDL = """
CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b INT, c TEXT, d TEXT);
CREATE INDEX t_a ON t(a);
CREATE INDEX t_ab ON t(a, b);
CREATE TABLE small (id INTEGER PRIMARY KEY, x INT);
CREATE TABLE u (id INTEGER PRIMARY KEY, tid INT, v INT);
"""


@pytest.fixture
def conn(make_db):
    rows = (
        "INSERT INTO t SELECT value, value % 50, value % 7, 'c' || value, 'd' FROM "
        "(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s "
        "WHERE value < 20000) SELECT value FROM s);"
        "INSERT INTO small VALUES (1, 1), (2, 2);"
        "INSERT INTO u SELECT id, id, id FROM t WHERE id <= 300;"
    )
    c = sqlite3.connect(make_db(DDL, rows=rows))
    yield c
    c.close()


def rules(conn, sql, params=()):
    f = query_findings(conn, "q", sql, explain(conn, sql, params), params)
    return {r["rule"]: r for r in f}


def test_severity_scales_with_rows():
    assert [severity(n) for n in (10, 5_000, 50_000, 1_000_000, None)] == [
        "info",
        "low",
        "medium",
        "high",
        "info",
    ]


def test_full_scan_fires_with_rows_and_not_on_search(conn):
    big = rules(conn, "SELECT * FROM t WHERE c = ?", ("c1",))["full_table_scan"]
    small = rules(conn, "SELECT * FROM small WHERE x = 1")["full_table_scan"]
    assert big["rows"] == 20000 and big["severity"] == "medium"
    assert small["rows"] == 2 and small["severity"] == "info"
    assert "SCAN t" in big["evidence"] and "20,000 rows" in big["evidence"]
    assert "full_table_scan" not in rules(conn, "SELECT * FROM t WHERE a = ?", (1,))


def test_temp_btree_counts_sorted_rows(conn):
    r = rules(conn, "SELECT * FROM t WHERE a = ? ORDER BY c LIMIT 5", (3,))
    assert r["temp_btree_order_by"]["rows"] == 400
    assert "temp_btree_group_by" in rules(conn, "SELECT d, count(*) FROM t GROUP BY d")
    assert "temp_btree_order_by" not in rules(conn, "SELECT * FROM t WHERE a = 3 ORDER BY b")


def test_full_index_scan_automatic_index_correlated(conn):
    assert "full_index_scan" in rules(conn, "SELECT a FROM t ORDER BY a")
    r = rules(conn, "SELECT * FROM t JOIN u ON u.v = t.b WHERE t.a = 1")
    assert "automatic_index" in r or "full_table_scan" in r
    r = rules(conn, "SELECT (SELECT max(v) FROM u WHERE u.tid = t.id) FROM t WHERE a = 2")
    assert r["correlated_subquery"]["rows"] == 400


def test_covering_one_column_away(conn):
    r = rules(conn, "SELECT a, b, c FROM t WHERE a = ? AND b = ?", (1, 1))
    assert r["covering_one_column_away"]["index"] == "t_ab"
    assert "`c`" in r["covering_one_column_away"]["evidence"]
    assert "covering_one_column_away" not in rules(conn, "SELECT * FROM t WHERE a = 1 AND b = 1")
    assert "covering_one_column_away" not in rules(conn, "SELECT b FROM t WHERE a = 1")


def test_unknown_and_virtual_lines_are_reported(conn):
    from perflab.sqlite.plans import PlanNode

    nodes = [
        PlanNode(2, 0, "SOMETHING NEW 42", "unknown"),
        PlanNode(3, 0, "SCAN v VIRTUAL TABLE INDEX 0:", "scan_virtual_table", table="v"),
    ]
    f = query_findings(conn, "q", "SELECT 1", nodes)
    assert {r["rule"] for r in f} == {"unknown_plan_line", "virtual_table"}
    assert all(r["severity"] == "info" for r in f)


def test_frame_columns_and_unparsable_query(conn):
    class W:
        queries = [type("Q", (), {"name": "bad", "sql": "SELECT * FROM t WHERE c = ?"})]

    plans = {"bad": explain(conn, "SELECT * FROM t WHERE c = ?", ("x",))}
    f = plan_findings(conn, W, plans, {"bad": [("x",)]}, latency_ms={"bad": 1.5})
    assert list(f.columns) == list(FINDING_COLUMNS)
    assert f.loc[0, "latency_ms"] == 1.5 and "1.5 ms" in f.loc[0, "evidence"]
