"""JOIN analysis (perflab.analysis.joins) on small schemas built here, where the loops, the
rows each visits and the missing join index are known: planted, then counted."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.analysis import joins
from perflab.inputs.config import IndexSettings
from perflab.inputs.workload import QuerySpec, Workload
from perflab.stages.plans import JoinsRecord

PARENTS = 50  # ids 1..50 have children; id 51 has none
CHILDREN_PER_PARENT = 20  # child.v = its number % 10: 2 children per parent have v = 0
GRAND_PER_CHILD = 2
FAST = IndexSettings(rounds=2, executions=8, write_ops=20, write_rounds=1, ab_seconds=1.0)

ONE_PARENT = "SELECT p.id, c.v FROM parent p JOIN child c ON c.parent_id = p.id WHERE p.id = ?"
FILTERED = ONE_PARENT + " AND c.v < 5"
LEFT = (
    "SELECT p.id, count(c.id) FROM parent p LEFT JOIN child c "
    "ON c.parent_id = p.id AND c.v = 0 GROUP BY p.id"
)
THREE = (
    "SELECT g.w FROM parent p JOIN child c ON c.parent_id = p.id "
    "JOIN grand g ON g.child_id = c.id WHERE p.id = ?"
)


def _db(tmp_path, *, indexed: bool) -> str:
    path = tmp_path / ("indexed.db" if indexed else "bare.db")
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE parent (id INTEGER PRIMARY KEY, kind TEXT);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),
                            v INTEGER);
        CREATE TABLE grand (id INTEGER PRIMARY KEY, child_id INTEGER REFERENCES child(id),
                            w INTEGER);
        """
    )
    conn.executemany(  # kind 'x': parents 10, 20, 30, 40, 50
        "INSERT INTO parent VALUES (?, ?)",
        [(i, "x" if i % 10 == 0 else "k") for i in range(1, PARENTS + 2)],
    )
    kids = [
        (p * 100 + k, p, k % 10) for p in range(1, PARENTS + 1) for k in range(CHILDREN_PER_PARENT)
    ]
    conn.executemany("INSERT INTO child VALUES (?, ?, ?)", kids)
    conn.executemany(
        "INSERT INTO grand (child_id, w) VALUES (?, ?)",
        [(c[0], j) for c in kids for j in range(GRAND_PER_CHILD)],
    )
    if indexed:
        conn.executescript(
            "CREATE INDEX child_parent ON child(parent_id);"
            "CREATE INDEX grand_child ON grand(child_id);"
        )
    conn.commit()
    conn.close()
    return str(path)


def _analyse(db: str, *queries: tuple[str, str], params=((7,),)):
    wl = Workload("w", tuple(QuerySpec(n, s) for n, s in queries))
    ps = {n: list(params) if "?" in s else [()] for n, s in queries}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return joins.analyse(conn, db, wl, ps, settings=FAST)
    finally:
        conn.close()


def _query(analysis: joins.JoinAnalysis, name: str) -> joins.JoinQuery:
    return next(q for q in analysis.queries if q.query == name)


def test_unindexed_fk_inner_loop_scans_and_its_index_is_advised_and_measured(tmp_path):
    db = _db(tmp_path, indexed=False)
    q = _query(_analyse(db, ("one_parent", ONE_PARENT)), "one_parent")
    outer, inner = q.loops
    assert (outer.table, outer.access, outer.runs, outer.rows_out) == (
        "parent",
        "search_rowid",
        1,
        1,
    )
    assert inner.table == "child" and inner.access in ("scan_table", "search_automatic_index")
    assert inner.runs == 1 and inner.rows_out == CHILDREN_PER_PARENT
    if inner.access == "scan_table":  # every child row read once
        assert inner.rows_visited == PARENTS * CHILDREN_PER_PARENT
    (adv,) = q.advice
    assert adv.table == "child" and adv.columns == ("parent_id",) and adv.loop == 2
    assert adv.ddl.startswith("CREATE INDEX") and '"child"("parent_id")' in adv.ddl
    # measured on a copy as the advisor measures an index: interleaved, with an interval
    assert adv.measured and adv.verdict in ("improvement", "unchanged", "inconclusive")
    assert adv.ratio_ci_lo is not None and adv.ratio_ci_lo <= adv.ratio <= adv.ratio_ci_hi
    assert adv.executions and adv.p50_before_ms > 0 and adv.p50_after_ms > 0
    # the counters settle it: the index cuts SQLite's work
    assert adv.vm_steps_after < adv.vm_steps_before / 5
    assert "USING INDEX" in adv.plan_after and "child" in adv.plan_after
    # SQLite's counters tie to the loops: rows returned = the last loop's rows out
    assert q.rows_returned == CHILDREN_PER_PARENT and q.vm_steps > 0
    if inner.access == "scan_table":
        assert q.fullscan_steps == PARENTS * CHILDREN_PER_PARENT - 1
        assert "agrees" in q.counters_note


def test_outer_scan_of_the_child_with_a_filter_on_the_parent_is_advised(tmp_path):
    # no index on child.parent_id: SQLite scans child and looks each parent up; the
    # filter on parent could drive the join if child were indexed on its join column
    sql = "SELECT c.v FROM parent p JOIN child c ON c.parent_id = p.id WHERE p.kind = ?"
    db = _db(tmp_path, indexed=False)
    q = _query(_analyse(db, ("by_kind", sql), params=(("x",),)), "by_kind")
    assert [(lp.table, lp.access) for lp in q.loops] == [
        ("child", "scan_table"),
        ("parent", "search_rowid"),
    ]
    assert [lp.rows_out for lp in q.loops] == [PARENTS * CHILDREN_PER_PARENT, 5 * 20]
    (adv,) = q.advice
    assert adv.loop == 1 and adv.columns == ("parent_id",) and adv.measured
    assert adv.vm_steps_after < adv.vm_steps_before
    assert "SEARCH c USING INDEX" in adv.plan_after
    # with the index no loop lacks one
    db2 = _db(tmp_path, indexed=True)
    assert _query(_analyse(db2, ("by_kind", sql), params=(("x",),)), "by_kind").advice == ()


def test_indexed_fk_no_advice_and_exact_rows_per_loop(tmp_path):
    db = _db(tmp_path, indexed=True)
    a = _analyse(db, ("one_parent", ONE_PARENT), ("filtered", FILTERED))
    q = _query(a, "one_parent")
    assert q.advice == () and q.rows_analysed
    outer, inner = q.loops
    assert [lp.table for lp in q.loops] == ["parent", "child"]
    assert inner.access == "search_index" and inner.index == "child_parent"
    assert (inner.runs, inner.rows_visited, inner.rows_out) == (1, 20, 20)
    f = _query(a, "filtered")
    # the search reads the parent's 20 children; the filter v < 5 keeps 10
    assert (f.loops[1].rows_visited, f.loops[1].rows_out) == (CHILDREN_PER_PARENT, 10)
    assert f.rows_returned == 10


def test_left_join_counts_unmatched_rows_and_keeps_on_terms(tmp_path):
    db = _db(tmp_path, indexed=True)
    q = _query(_analyse(db, ("left", LEFT)), "left")
    outer, inner = q.loops
    assert outer.table == "parent" and outer.access == "scan_table"
    assert outer.rows_visited == PARENTS + 1 and outer.rows_out == PARENTS + 1
    assert inner.left_join and inner.runs == PARENTS + 1
    # the index finds every child of every parent; ON c.v = 0 keeps 2 per parent, and the
    # childless parent still gives one (null-extended) row
    assert inner.rows_visited == PARENTS * CHILDREN_PER_PARENT
    assert inner.rows_out == PARENTS * 2 + 1
    assert q.advice == ()


def test_left_join_without_index_advises_join_and_equality_columns(tmp_path):
    db = _db(tmp_path, indexed=False)
    q = _query(_analyse(db, ("left", LEFT)), "left")
    inner = q.loops[1]
    assert inner.left_join and inner.access in ("scan_table", "search_automatic_index")
    assert inner.rows_out == PARENTS * 2 + 1
    (adv,) = q.advice
    assert adv.columns == ("parent_id", "v") and adv.measured
    assert adv.vm_steps_after < adv.vm_steps_before


def test_three_table_join_order_and_rows(tmp_path):
    db = _db(tmp_path, indexed=True)
    q = _query(_analyse(db, ("three", THREE)), "three")
    assert [lp.table for lp in q.loops] == ["parent", "child", "grand"]
    assert [lp.position for lp in q.loops] == [1, 2, 3]
    assert [lp.runs for lp in q.loops] == [1, 1, CHILDREN_PER_PARENT]
    assert [lp.rows_out for lp in q.loops] == [1, 20, 20 * GRAND_PER_CHILD]
    assert q.loops[2].rows_visited == 20 * GRAND_PER_CHILD
    assert q.rows_returned == 20 * GRAND_PER_CHILD and q.advice == ()


def test_single_table_query_is_not_touched(tmp_path):
    db = _db(tmp_path, indexed=False)
    a = _analyse(db, ("single", "SELECT * FROM child WHERE parent_id = ?"))
    assert a.queries == () and a.not_analysed == ()


def test_query_that_errors_is_not_analysed_with_reason(tmp_path):
    db = _db(tmp_path, indexed=False)
    a = _analyse(db, ("broken", "SELECT * FROM parent p JOIN nosuch n ON n.id = p.id"))
    assert a.queries == ()
    (skip,) = a.not_analysed
    assert skip["query"] == "broken" and "nosuch" in skip["reason"]


def test_subquery_keeps_order_and_counters_but_not_rows(tmp_path):
    db = _db(tmp_path, indexed=True)
    sql = "SELECT * FROM parent p WHERE EXISTS (SELECT 1 FROM child c WHERE c.parent_id = p.id)"
    q = _query(_analyse(db, ("exists", sql)), "exists")
    assert not q.rows_analysed and q.rows_note == "rows per loop not analysed: a subquery"
    assert [lp.table for lp in q.loops] == ["parent", "child"]
    assert all(lp.rows_visited is None for lp in q.loops)
    assert q.rows_returned == PARENTS and q.vm_steps > 0
    assert any(s["query"] == "exists" for s in _analyse(db, ("exists", sql)).not_analysed)


def test_prefix_counts_past_the_cap_are_not_analysed(tmp_path, monkeypatch):
    monkeypatch.setattr(joins, "COUNT_SECONDS", 0.0)
    db = _db(tmp_path, indexed=False)
    q = _query(_analyse(db, ("left", LEFT)), "left")
    assert not q.rows_analysed and "cap" in q.rows_note


def test_record_round_trip(tmp_path):
    db = _db(tmp_path, indexed=False)
    a = _analyse(db, ("one_parent", ONE_PARENT))
    rec = JoinsRecord(a.queries, a.not_analysed, a.method, a.cap).save(tmp_path)
    back = JoinsRecord.load(tmp_path)
    assert back == rec
    assert isinstance(back.queries[0].loops[0], joins.JoinLoop)
    assert isinstance(back.queries[0].advice[0], joins.JoinIndexAdvice)


@pytest.mark.parametrize("frame", [joins.loops_frame, joins.advice_frame])
def test_frames_have_one_row_per_loop_or_advice(tmp_path, frame):
    db = _db(tmp_path, indexed=False)
    a = _analyse(db, ("one_parent", ONE_PARENT))
    n = sum(len(q.loops) for q in a.queries) if frame is joins.loops_frame else 1
    assert len(frame(a)) == n


def test_measured_missing_join_index_is_an_issue_and_a_rejected_one_is_ignored(tmp_path):
    from perflab.judge import verdict
    from perflab.judge.evidence import Evidence

    db = _db(tmp_path, indexed=False)
    a = _analyse(db, ("one_parent", ONE_PARENT), ("left", LEFT))
    rec = JoinsRecord(a.queries, a.not_analysed, a.method, a.cap)
    issues, ignored = verdict.derive_issues(Evidence.from_summary({"joins": rec.content()}), [])
    advice = {x.ddl: x for q in a.queries for x in q.advice}
    raised = [i for i in issues if i.origin == "joins"]
    assert {i.recommendation for i in raised} == {d for d, x in advice.items() if x.recommended}
    for i in raised:
        x = advice[i.recommendation]
        assert "missing index on join column" in i.title and i.severity != "info"
        assert any("99% CI" in e for e in i.evidence)
        assert any("VM steps" in e and f"{x.vm_steps_before:,.0f}" in e for e in i.evidence)
    skipped = {d["ddl"] for d in ignored if d.get("rule") == "missing_join_index"}
    assert skipped == {d for d, x in advice.items() if x.measured and not x.recommended}
    assert raised or skipped  # the small schema gives at least one of each kind


def test_anti_join_counts_and_a_rowid_join_column_is_never_advised(tmp_path):
    # parents without children: the outer scan of parent joins on its rowid (the table's
    # own key), so no index is missing although a WHERE term on child exists
    sql = "SELECT p.id FROM parent p LEFT JOIN child c ON c.parent_id = p.id WHERE c.v IS NULL"
    q = _query(_analyse(_db(tmp_path, indexed=True), ("orphans", sql)), "orphans")
    assert [lp.table for lp in q.loops] == ["parent", "child"] and q.loops[1].left_join
    assert [lp.rows_out for lp in q.loops] == [PARENTS + 1, 1]
    assert q.rows_returned == 1 and q.advice == ()


def test_left_join_on_terms_never_drive_the_join(tmp_path):
    # every child must be read (a LEFT JOIN keeps them all): the ON term on parent is no
    # filter that could start the join from parent, so child's join column is not advised
    sql = (
        "SELECT c.id, p.kind FROM child c LEFT JOIN parent p ON p.id = c.parent_id AND p.kind = 'x'"
    )
    q = _query(_analyse(_db(tmp_path, indexed=False), ("kids", sql)), "kids")
    assert q.loops[0].table == "child" and q.loops[0].access == "scan_table"
    assert q.loops[1].rows_out == PARENTS * CHILDREN_PER_PARENT and q.advice == ()


def test_a_failure_in_the_advice_or_its_measurement_is_reported_not_raised(tmp_path, monkeypatch):
    db = _db(tmp_path, indexed=False)

    def broken(*args, **kwargs):
        raise ValueError("planted")

    monkeypatch.setattr(joins.advisor, "evaluate", broken)
    (q,) = _analyse(db, ("one_parent", ONE_PARENT)).queries
    (adv,) = q.advice
    assert not adv.measured and not adv.recommended and "not measured" in adv.why
    assert "planted" in adv.why
    monkeypatch.setattr(joins, "join_index_candidates", broken)
    a = _analyse(db, ("one_parent", ONE_PARENT))
    assert a.queries[0].advice == ()
    assert any("planted" in s["reason"] for s in a.not_analysed)
