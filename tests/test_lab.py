"""The lab (perflab.lab): plans, timings and what-ifs on small schemas built here, where
the answer is known; the original file is never written; the widget works without a
browser."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import tempfile
from pathlib import Path

import perflab
import pytest
from perflab.errors import PerflabError
from perflab.lab import widgets
from perflab.lab.explore import param_rows, same_results
from perflab.present.plantree import plan_tree_html
from readme_examples import python_blocks

N = 20000


def _db(tmp_path: Path, *, index_k: bool = False) -> Path:
    db = tmp_path / "lab.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INT NOT NULL, v TEXT, ts INT)")
    conn.executemany(
        "INSERT INTO t(k, v, ts) VALUES (?, ?, ?)",
        [(i % 500, f"v{i % 7}", (i * 7919) % N) for i in range(N)],
    )
    if index_k:
        conn.execute("CREATE INDEX t_k ON t(k)")
    conn.commit()
    conn.close()
    return db


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


class Ctx:
    """What the lab needs of a run context: a file and read-only connections."""

    def __init__(self, path: Path) -> None:
        self.db_path = path

    def connect(self, *, readonly: bool = True) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.db_path.as_uri()}?mode=ro", uri=True)


def test_explain_reads_a_full_scan_and_ties_its_work_to_the_scan_node(tmp_path):
    ctx = Ctx(_db(tmp_path))
    plan = perflab.explain(ctx, "SELECT v FROM t WHERE k = ?", (3,))
    assert [n.kind for n in plan] == ["scan_table"]
    assert [f["rule"] for f in plan.findings] == ["full_table_scan"]
    per = plan.counters["per_execution"]
    assert per["fullscan_steps"]["mean"] == N - 1 and per["rows"]["mean"] == N / 500
    page = plan._repr_html_()
    assert page.count("pl-hot") == 2  # the style rule and the one highlighted node
    assert "visits 20k rows per execution" in page and "t: 20k rows" in page
    assert plan.text.splitlines() == ["QUERY PLAN", "`--SCAN t"]


def test_an_index_search_highlights_nothing_and_a_sort_is_tied_to_its_btree(tmp_path):
    ctx = Ctx(_db(tmp_path, index_k=True))
    plan = perflab.explain(ctx, "SELECT v FROM t WHERE k = ?", (3,))
    assert [n.kind for n in plan] == ["search_index"]
    assert [f["rule"] for f in plan.findings] == ["covering_one_column_away"]
    assert 'class="pl-node pl-hot"' not in plan.tree_html()
    sorted_plan = perflab.explain(ctx, "SELECT v FROM t WHERE k = ? ORDER BY v", (3,))
    assert [n.kind for n in sorted_plan] == ["search_index", "temp_btree"]
    tree = sorted_plan.tree_html()
    hot = re.findall(r'class="pl-node pl-hot".*?</code>', tree)
    assert len(hot) == 1 and "USE TEMP B-TREE FOR ORDER BY" in hot[0]
    assert "sorts 40 result rows per execution" in tree


def test_the_tree_nests_children_under_their_parent():
    from perflab.sqlite.plans import PlanNode

    nodes = [
        PlanNode(2, 0, "SCAN a", "scan_table", table="a"),
        PlanNode(5, 0, "CORRELATED SCALAR SUBQUERY 1", "correlated_subquery"),
        PlanNode(9, 5, "SEARCH b USING INDEX b_x (x=?)", "search_index", table="b"),
    ]
    tree = plan_tree_html(nodes, {"a": 10, "b": 1234})
    body = tree[tree.index('<div class="pl-tree">') :]
    # the search sits in a list inside the subquery's item, after it, before the item closes
    i_sub, i_search = body.index("CORRELATED"), body.index("SEARCH b")
    assert i_sub < body.index("<ul>", i_sub) < i_search < body.index("</li>", i_sub)
    assert "b: 1.23k rows" in body and "pl-hot" not in body  # no counters: nothing tied


def test_time_query_gives_intervals_and_work_and_draws_them(tmp_path):
    ctx = Ctx(_db(tmp_path, index_k=True))
    t = perflab.time_query(ctx, "SELECT v FROM t WHERE k = ?", [(1,), (2,)], iterations=400)
    assert t["n"] == 400
    lo, hi = t["latency_ci_ms"]["p50"]
    assert lo <= t["latency_ms"]["p50"] <= hi
    assert t["counters"]["per_execution"]["rows"]["mean"] == N / 500
    page = t._repr_html_()
    assert "400 timed executions" in page and "returns 40 rows" in page
    assert "n/a: too few executions" in page  # p999's upper bound needs more than 400


def test_try_index_finds_the_index_faster_on_a_copy_and_leaves_the_file_alone(tmp_path):
    db = _db(tmp_path)
    before = _sha(db)
    tmp_before = set(Path(tempfile.gettempdir()).glob("*perflab-copy-*"))
    e = perflab.try_index(
        Ctx(db), "CREATE INDEX t_k2 ON t(k)", "SELECT v FROM t WHERE k = ?", [(3,), (4,)]
    )
    assert [n.kind for n in e.plan_before] == ["scan_table"]
    assert [n.kind for n in e.plan_after] == ["search_index"]
    assert e.verdict == "faster" and e.ratio_ci[1] < 1 / 1.05 and e.equivalent is None
    assert _sha(db) == before and sorted(p.name for p in tmp_path.iterdir()) == ["lab.db"]
    # the copies are gone (other tests may use the temp folder meanwhile: only ours count)
    assert set(Path(tempfile.gettempdir()).glob("*perflab-copy-*")) <= tmp_before
    assert "faster" in e._repr_html_() and "CREATE INDEX t_k2" in e._repr_html_()


def test_an_index_that_changes_nothing_is_inconclusive_whatever_the_clock_says(tmp_path):
    db = _db(tmp_path, index_k=True)
    e = perflab.try_index(
        Ctx(db), "CREATE INDEX t_k_again ON t(k)", "SELECT v FROM t WHERE k = ?", (3,)
    )
    assert [n.kind for n in e.plan_after] == ["search_index"]
    assert e.verdict == "inconclusive" and "same SQLite work" in e.reason


def test_a_bad_index_is_one_clear_error(tmp_path):
    with pytest.raises(PerflabError, match="try_index: cannot apply 'CREATE INDEX x ON nope"):
        perflab.try_index(Ctx(_db(tmp_path)), "CREATE INDEX x ON nope(k)", "SELECT 1")


def test_try_rewrite_compares_results_before_claiming_anything(tmp_path):
    ctx = Ctx(_db(tmp_path, index_k=True))
    rows = [(3,), (7,)]
    same = perflab.try_rewrite(
        ctx, "SELECT v FROM t WHERE k + 0 = ?", "SELECT v FROM t WHERE k = ?", rows
    )
    assert same.equivalent in ("yes", "same rows, other order")
    assert [n.kind for n in same.plan_before] == ["scan_table"] and same.verdict == "faster"
    wrong = perflab.try_rewrite(
        ctx, "SELECT v FROM t WHERE k = ?", "SELECT v FROM t WHERE k = ? + 1", rows
    )
    assert wrong.equivalent == "no (parameters (3,))"
    with sqlite3.connect(ctx.db_path) as conn:
        q = "SELECT v FROM t WHERE k = ? ORDER BY id"
        assert same_results(conn, q, q + " DESC", rows) == "same rows, other order"


def test_params_one_tuple_or_several():
    assert param_rows((1, "a")) == [(1, "a")]
    assert param_rows([(1,), (2,)], 5) == [(1,), (2,), (1,), (2,), (1,)]
    assert param_rows((), 2) == [(), ()]


def test_query_box_runs_without_a_browser_and_shows_errors_in_its_pane(tmp_path):
    ctx = Ctx(_db(tmp_path, index_k=True))
    box = perflab.query_box(ctx, "SELECT v FROM t WHERE k = ?", (3,))
    plan_pane, timing_pane = box.children[2].children
    assert "search index" in plan_pane.value and "p50" in timing_pane.value
    box.children[0].value = "SELECT k FROM t WHERE v = ?"
    box.children[1].children[0].value = "'v1'"
    box.run()
    assert "scan table" in plan_pane.value
    box.children[1].children[0].value = "'v1"  # unterminated
    box.run()
    assert "is not a list of Python literals" in plan_pane.value and timing_pane.value == ""


def test_parse_params():
    assert widgets.parse_params("'a', 3") == ("a", 3)
    assert widgets.parse_params("('a',)") == ("a",)
    assert widgets.parse_params("7") == (7,)
    assert widgets.parse_params("") == ()


def test_work_is_tied_to_a_node_only_when_one_node_can_have_done_it():
    from perflab.sqlite.plans import PlanNode

    per = {"per_execution": {"fullscan_steps": {"mean": 500.0}, "rows": {"mean": 1.0}}}
    one = [PlanNode(2, 0, "SCAN a", "scan_table", table="a")]
    two = one + [PlanNode(3, 0, "SCAN b", "scan_table", table="b")]
    assert 'class="pl-node pl-hot"' in plan_tree_html(one, counters=per)
    tree = plan_tree_html(two, counters=per)  # which scan did the 500 steps is unknown
    assert 'class="pl-node pl-hot"' not in tree and "visits" not in tree


@pytest.mark.timeout(300)
def test_readme_lab_example_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = python_blocks("Explore in JupyterLab")
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    exec(compile(blocks[0], "README.md Explore in JupyterLab", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["QUERY PLAN", "|--SCAN sessions", "`--USE TEMP B-TREE FOR ORDER BY"]
    assert out[3].startswith("['full_table_scan', 'temp_btree_order_by'] visits")
    assert namespace["idea"].plan_after[0].kind == "search_index"
    assert namespace["idea"].verdict in ("faster", "inconclusive")
    assert out[-1].split()[0] == "yes"  # the range returns what the LIKE returns here


def test_the_lab_notebook_ships_but_is_not_a_stage_of_a_run():
    from perflab import paths
    from perflab.run.runner import notebook_names

    assert (paths.NOTEBOOKS_DIR / "00_explore.ipynb").is_file()
    names = notebook_names()
    assert "00_explore" not in names and names[0] == "01_query_plans"


def test_a_query_card_shows_the_sql_escaped_its_parameters_work_and_tree(tmp_path):
    from perflab.present.plantree import query_card

    ctx = Ctx(_db(tmp_path))
    sql = "SELECT v FROM t WHERE k < ?"
    plan = perflab.explain(ctx, sql, (3,))
    card = query_card("small_k", sql, (3,), plan, plan.table_rows, plan.counters)
    assert "<h3" in card and "small_k" in card and "k &lt; ?" in card and "(3,)" in card
    assert plan.counters["sentence"] in card and card.count('class="pl-node pl-hot"') == 1


def test_browse_hands_a_read_only_sqlite_utils_database_on_the_snapshot(tmp_path, monkeypatch):
    """Issue 22: the lab hands an engineer sqlite-utils on the run's snapshot; what they
    type cannot change the file the run measured, nor the user's."""
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    src = _db(tmp_path)
    before = _sha(src)
    ctx = perflab.open_database("tiny", db=src)
    db = perflab.browse(ctx)
    assert db.table("t").count == N
    assert db.table("t").analyze_column("k", total_rows=N).num_distinct == 500
    snap = _sha(ctx.db_path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.table("t").insert({"k": 1, "v": "x"})
    db.conn.close()
    assert _sha(ctx.db_path) == snap and _sha(src) == before
