import sqlite3

import pytest
from perflab.sqlite.plans import classify, explain, plan_summary, plan_text

DDL = """
CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b INT, c TEXT, name TEXT);
CREATE INDEX t_ab ON t(a, b);
CREATE INDEX t_c ON t(c);
CREATE TABLE u (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
"""


@pytest.fixture
def conn(make_db):
    rows = "".join(
        f"INSERT INTO t VALUES ({i}, {i % 7}, {i % 13}, 'c{i}', 'n{i}');" for i in range(200)
    )
    c = sqlite3.connect(make_db(DDL, rows=rows))
    yield c
    c.close()


@pytest.mark.parametrize(
    ("sql", "params", "kind"),
    [
        ("SELECT * FROM t WHERE name = ?", ("n1",), "scan_table"),
        ("SELECT * FROM t WHERE a = ?", (1,), "search_index"),
        ("SELECT b FROM t WHERE a = ?", (1,), "search_covering_index"),
        ("SELECT * FROM t WHERE id = ?", (1,), "search_rowid"),
        ("SELECT * FROM u WHERE k = ?", ("x",), "search_primary_key"),
        ("SELECT a, b FROM t ORDER BY a", (), "scan_covering_index"),
    ],
)
def test_access_kinds_from_real_plans(conn, sql, params, kind):
    nodes = explain(conn, sql, params)
    assert kind in {n.kind for n in nodes}, [n.detail for n in nodes]


def test_temp_btree_purpose_and_summary(conn):
    nodes = explain(conn, "SELECT * FROM t WHERE name > ? ORDER BY name", ("n",))
    temp = [n for n in nodes if n.kind == "temp_btree"]
    assert temp and temp[0].purpose == "ORDER BY"
    s = plan_summary(nodes)
    assert s["temp_btrees"] == 1
    assert s["full_scans"] + (1 if "scan_index" in s["kinds"] else 0) >= 1


def test_index_search_is_not_a_scan(conn):
    s = plan_summary(explain(conn, "SELECT * FROM t WHERE a = ? AND b = ?", (1, 2)))
    assert s == {**s, "uses_index": True, "full_scans": 0, "temp_btrees": 0}
    assert s["indexes"] == ["t_ab"]


def test_multi_index_or_and_subqueries(conn):
    nodes = explain(conn, "SELECT * FROM t WHERE a = 1 OR c = 'x'")
    kinds = [n.kind for n in nodes]
    assert "multi_index_or" in kinds and kinds.count("or_branch") == 2
    nodes = explain(conn, "SELECT (SELECT max(v) FROM u WHERE u.v = t.a) FROM t")
    assert "correlated_subquery" in {n.kind for n in nodes}


def test_unknown_lines_are_reported_not_dropped():
    assert classify("SOMETHING NEW IN 3.99")["kind"] == "unknown"
    from perflab.sqlite.plans import PlanNode

    nodes = [PlanNode(2, 0, "SOMETHING NEW", "unknown")]
    assert plan_summary(nodes)["unknown_lines"] == ["SOMETHING NEW"]


def test_plan_text_draws_tree(conn):
    nodes = explain(conn, "SELECT * FROM t WHERE a = 1 OR c = 'x'")
    # exactly as the sqlite3 shell's .eqp draws it: branches, last-child corners, indents
    assert plan_text(nodes) == (
        "QUERY PLAN\n"
        "`--MULTI-INDEX OR\n"
        "   |--INDEX 1\n"
        "   |  `--SEARCH t USING INDEX t_ab (a=?)\n"
        "   `--INDEX 2\n"
        "      `--SEARCH t USING INDEX t_c (c=?)"
    )


def test_plan_text_of_siblings_and_nesting_built_by_hand():
    from perflab.sqlite.plans import PlanNode

    nodes = [
        PlanNode(2, 0, "SCAN a", "scan_table"),
        PlanNode(5, 0, "CORRELATED SCALAR SUBQUERY 1", "subquery"),
        PlanNode(9, 5, "SEARCH b USING INDEX b_x (x=?)", "search_index"),
        PlanNode(12, 5, "USE TEMP B-TREE FOR ORDER BY", "temp_btree"),
        PlanNode(20, 0, "USE TEMP B-TREE FOR DISTINCT", "temp_btree"),
    ]
    assert plan_text(nodes).splitlines() == [
        "QUERY PLAN",
        "|--SCAN a",
        "|--CORRELATED SCALAR SUBQUERY 1",
        "|  |--SEARCH b USING INDEX b_x (x=?)",
        "|  `--USE TEMP B-TREE FOR ORDER BY",
        "`--USE TEMP B-TREE FOR DISTINCT",
    ]


def test_like_needs_real_parameter_values(make_db):
    c = sqlite3.connect(make_db("CREATE TABLE p(n TEXT COLLATE NOCASE); CREATE INDEX p_n ON p(n);"))
    assert (
        explain(c, "SELECT * FROM p WHERE n LIKE ?", ("abc%",))[0].kind == "search_covering_index"
    )
    assert explain(c, "SELECT * FROM p WHERE n LIKE ?", ("%abc",))[0].kind in (
        "scan_covering_index",
        "scan_table",
    )
