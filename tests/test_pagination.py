"""Pagination by rule (perflab.analysis.pagination) on small schemas built here, where the
answer is known: OFFSET work grows linearly with depth and keyset work does not; the
keyset rewrite returns the OFFSET pages exactly; what cannot be analysed says why."""

from __future__ import annotations

import itertools
import random
import sqlite3
from dataclasses import asdict, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from perflab.analysis import pagination as pg
from perflab.sqlite.schema import introspect

N_ROWS = 20_000


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> sqlite3.Connection:
    """20k events, an index on the ORDER BY (ts DESC), ts with many ties; (kind, v) indexed
    for the paged listing of one kind."""
    path = tmp_path_factory.mktemp("pag") / "events.db"
    conn = sqlite3.connect(path)
    rng = random.Random(7)
    conn.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, kind TEXT, v INTEGER)")
    conn.executemany(
        "INSERT INTO ev (ts, kind, v) VALUES (?, ?, ?)",
        [
            (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", rng.choice("ab"), i % 97)
            for i in range(N_ROWS)
        ],
    )
    conn.execute("CREATE INDEX ev_ts ON ev (ts DESC)")
    conn.execute("CREATE INDEX ev_kind_v ON ev (kind, v)")  # v has ~200 rows per value
    conn.execute("CREATE TABLE empty (id INTEGER PRIMARY KEY, ts TEXT NOT NULL)")
    conn.commit()
    yield conn
    conn.close()


def test_offset_grows_linearly_keyset_stays_flat(events):
    sql = "SELECT id, ts, v FROM ev ORDER BY ts DESC, id DESC LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "page", sql, [(0,)], cap_seconds=1.5)
    assert r is not None and r.status == "analysed", r
    assert [m.page for m in r.pages] == [1, 10, 50, 100]
    assert [m.offset for m in r.pages] == [0, 1800, 9800, 19800]
    assert r.tie_breaker == "" and r.keyset_form == "row-value"
    assert "(ts, id) < (?, ?)" in r.keyset_sql and "OFFSET" not in r.keyset_sql
    assert r.equivalent is True and r.pages_checked == 100
    assert r.offset_vm.kind == "linear" and r.offset_vm.slope >= 1
    assert r.keyset_vm.kind == "flat"
    # the deepest OFFSET page does work for every row it skips; keyset does not
    assert r.pages[-1].offset_vm_steps > 10 * r.pages[-1].keyset_vm_steps
    assert all(m.rows == 200 for m in r.pages)


def test_non_unique_order_gets_the_primary_key_appended(events):
    sql = "SELECT kind, v FROM ev WHERE kind = ? ORDER BY v LIMIT 50 OFFSET ?"
    r = pg.analyse_query(events, "by_v", sql, [("a", 0)], cap_seconds=1.0)
    assert r is not None and r.status == "analysed", r
    assert r.tie_breaker == "id"
    assert r.order_by == "v, id"
    # the keys the next page needs are added to the SELECT list
    assert r.keyset_sql.startswith("SELECT kind, v, id FROM ev WHERE (kind = ?) AND")
    # walked at least to the deepest page measured (the cap may stop the walk past it)
    assert r.equivalent is True and r.pages_checked >= r.pages[-1].page
    assert "not unique" in r.equivalence_note


def _rw(conn, sql):
    return pg.rewrite(pg.detect(sql), introspect(conn))


def test_unique_not_null_order_needs_no_tie_breaker(tmp_path):
    conn = sqlite3.connect(tmp_path / "u.db")
    conn.execute("CREATE TABLE t (a TEXT NOT NULL UNIQUE, b TEXT UNIQUE, c INT)")
    assert _rw(conn, "SELECT * FROM t ORDER BY a LIMIT 5 OFFSET ?").tie_breaker == ""
    # UNIQUE allows many NULLs: b does not identify a row
    assert _rw(conn, "SELECT * FROM t ORDER BY b LIMIT 5 OFFSET ?").tie_breaker == "rowid"
    conn.execute("CREATE TABLE w (x INT, y INT, z INT, PRIMARY KEY (x, y)) WITHOUT ROWID")
    rw = _rw(conn, "SELECT z FROM w ORDER BY y DESC LIMIT 5 OFFSET ?")
    assert rw.tie_breaker == "x" and rw.form == "row-value"
    assert "(y, x) < (?, ?)" in rw.keyset_sql


def test_no_order_by_is_not_analysed_with_reason(events):
    r = pg.analyse_query(events, "bare", "SELECT * FROM ev LIMIT 100 OFFSET ?", [(0,)])
    assert r is not None and r.status == "not_analysed"
    assert "no ORDER BY" in r.reason
    assert r.sentence().startswith("bare: not analysed: no ORDER BY")


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT * FROM empty ORDER BY ts LIMIT 10 OFFSET ?", "empty"),
        ("SELECT * FROM ev ORDER BY nope LIMIT 10 OFFSET ?", "failed"),
        ("SELECT * FROM ev WHERE v = 1 ORDER BY ts LIMIT 1000 OFFSET ?", "growth fit needs"),
        ("SELECT kind, count(*) FROM ev GROUP BY kind ORDER BY kind LIMIT 1 OFFSET ?", "GROUP"),
        ("SELECT * FROM ev JOIN ev e2 USING (id) ORDER BY ev.id LIMIT 5 OFFSET ?", "join"),
    ],
)
def test_what_cannot_be_analysed_says_why(events, sql, why):
    r = pg.analyse_query(events, "q", sql, [(0,)], cap_seconds=0.5)
    assert r is not None and r.status == "not_analysed" and why in r.reason, r


def test_a_query_that_does_not_page_is_not_touched(events):
    for sql in (
        "SELECT * FROM ev ORDER BY ts DESC LIMIT 10",
        "SELECT * FROM ev WHERE id = ?",
        "not sql at all (",
    ):
        assert pg.detect(sql) is None
        assert pg.analyse_query(events, "q", sql, [(1,)]) is None

    class Q:
        def __init__(self, name, sql):
            self.name, self.sql = name, sql

    qs = [Q("top", "SELECT * FROM ev ORDER BY ts LIMIT 5"), Q("bare", "SELECT 1 LIMIT 1 OFFSET 2")]
    out = pg.analyse_workload(events, qs, {"top": [()], "bare": [()]}, cap_seconds=0.2)
    assert [r.query for r in out] == ["bare"]  # only the paged one; the other untouched


def test_named_and_literal_offsets_are_detected():
    assert pg.index_placeholders("SELECT a FROM t WHERE x = :x AND y = ? AND z = :x")[1] == 2
    for sql in (
        "SELECT a FROM t ORDER BY a LIMIT :n OFFSET :off",
        "SELECT a FROM t ORDER BY a LIMIT 10 OFFSET 30",
        "SELECT a FROM t ORDER BY a LIMIT ?, ?",  # LIMIT offset, count
    ):
        assert pg.detect(sql) is not None, sql


def test_fit_growth_classes():
    x = [0, 900, 4900, 9900]
    assert pg.fit_growth(x, [100 + 3 * v for v in x], 1.0).kind == "linear"
    assert pg.fit_growth(x, [500, 520, 510, 530], 1.0).kind == "flat"
    assert pg.fit_growth(x, [100, 100, 100, 5000], 1.0).kind == "grows"


# --------------------------------------------------------------- property: same pages


_COLS = ("a", "b", "c")


@st.composite
def paged_tables(draw):
    rows = draw(
        st.lists(st.tuples(*[st.one_of(st.none(), st.integers(0, 3)) for _ in _COLS]), max_size=40)
    )
    n_keys = draw(st.integers(1, 3))
    cols = draw(st.permutations(_COLS))[:n_keys]
    terms = []
    for c in cols:
        d = draw(st.sampled_from(["", " DESC"]))
        nulls = draw(st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]))
        terms.append(f"{c}{d}{nulls}")
    not_null = draw(st.booleans())
    page = draw(st.integers(1, 6))
    return rows, terms, not_null, page


_seq = itertools.count()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(paged_tables())
def test_keyset_returns_the_offset_pages(tmp_path_factory, case):
    """Random small tables with duplicate sort keys, NULLs and mixed directions: walked
    page by page, the keyset rewrite returns exactly the pages OFFSET returns under the
    order it makes total (or the rewrite says why it cannot)."""
    rows, terms, not_null, page = case
    path = tmp_path_factory.getbasetemp() / f"prop{next(_seq)}.db"
    conn = sqlite3.connect(path)
    nn = " NOT NULL" if not_null else ""
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, a INT{nn}, b INT{nn}, c INT{nn})")
    if not_null:
        rows = [tuple(0 if v is None else v for v in r) for r in rows]
    conn.executemany("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", rows)
    sql = f"SELECT a, b FROM t ORDER BY {', '.join(terms)} LIMIT {page} OFFSET ?"
    rw = pg.rewrite(pg.detect(sql), introspect(conn))
    if isinstance(rw, str):  # not analysed: must say why, never raise
        assert rw
        return
    # the reference: OFFSET pages under the original ORDER BY, ties broken by the rowid in
    # the direction the rewrite appended it (written here, not taken from the rewrite)
    tie = "" if rw.tie_breaker == "" else ", id" + (" DESC" if rw.order_by.endswith("DESC") else "")
    order = ", ".join(terms) + tie
    want = [
        conn.execute(
            f"SELECT a, b FROM t ORDER BY {order} LIMIT {page} OFFSET {k * page}"
        ).fetchall()
        for k in range(len(rows) // page + 1)
    ]
    got = []
    for _k, _cursor, got_rows in pg.keyset_pages(conn, rw, (0,)):
        got.append(got_rows)
        if len(got_rows) < page or len(got) > len(want):
            break
    assert got == want[: len(got)] and len(got) == len(want)
    conn.close()


def test_mixed_directions_take_the_expanded_or_form(events):
    """ORDER BY ts DESC, id (mixed): no row-value comparison orders this way; the OR form
    leads with a range on ts, which the index on ts can seek, so keyset stays flat."""
    sql = "SELECT * FROM ev ORDER BY ts DESC, id LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "mixed", sql, [(0,)], cap_seconds=1.5)
    assert r is not None and r.status == "analysed", r
    assert r.keyset_form == "expanded OR with a range on the first key"
    assert "WHERE ts <= ? AND ((ts < ?) OR (ts = ? AND id > ?))" in r.keyset_sql
    assert r.equivalent is True and r.pages_checked == 100
    assert r.offset_vm.kind == "linear" and r.keyset_vm.kind == "flat"


# --------------------------------------------------------------- the verdict's rule


def _summary_entry(r: pg.PaginationResult) -> dict:
    from perflab import results

    return {
        **results.to_jsonable(asdict(r)),
        "missed": r.missed,
        "faster": r.faster,
        "sentence": r.sentence(),
    }


def test_a_missed_pagination_is_an_issue_with_the_measured_fix(events):
    from perflab.inputs.targets import Target, Targets
    from perflab.judge import verdict

    sql = "SELECT id, ts, v FROM ev ORDER BY ts DESC, id DESC LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "paged", sql, [(0,)], cap_seconds=1.5)
    bare = pg.analyse_query(events, "bare", "SELECT * FROM ev LIMIT 9 OFFSET ?", [(0,)])
    # the timings set here (no timed assert): the counters and the equivalence are measured
    d = r.pages[-1]
    fast = replace(
        d,
        offset_p50_ms=3.1,
        offset_p50_ci=(3.0, 3.2),
        keyset_p50_ms=0.11,
        keyset_p50_ci=(0.1, 0.12),
        ratio=0.035,
        ratio_ci=(0.03, 0.04),
        verdict="improvement",
    )
    r = replace(r, pages=(*r.pages[:-1], fast))
    assert r.missed
    # keyset faster but OFFSET work not growing linearly: no missed pagination
    assert not replace(r, offset_vm=replace(r.offset_vm, kind="flat")).missed
    assert not replace(r, equivalent=False).missed
    summary = {"pagination": [_summary_entry(r), _summary_entry(bare)]}
    a = verdict.assess(summary, Targets(()))
    issues = [i for i in a["issues"] if i["origin"] == "pagination"]
    assert len(issues) == 1 and issues[0]["subject"] == "paged"
    assert issues[0]["severity"] == "medium"
    assert "OFFSET paging work grows linearly" in issues[0]["title"]
    assert "measured 28.6x faster" in issues[0]["title"]
    assert r.keyset_sql in issues[0]["recommendation"]
    assert "VM steps" in issues[0]["gain"] and "same pages: True" in issues[0]["gain"]
    assert any("linear" in e and "per row skipped" in e for e in issues[0]["evidence"])
    assert {"stage": "latency", "subject": "bare", "reason": f"pagination: {bare.reason}"} in (
        a["not_analysed"]
    )
    # a failed target on the paged query carries the same measured fix
    t = Targets((Target("latency_p50_ms", "<", 1e-9, query="paged"),))
    q = {"name": "paged", "latency_ms": {"p50": 1.0}, "latency_ci_ms": {"p50": [0.9, 1.1]}}
    a = verdict.assess({**summary, "queries": [q]}, t)
    failed = next(i for i in a["issues"] if i["origin"] == "targets")
    assert r.keyset_sql in failed["recommendation"]


def test_the_counters_decide_and_an_unsettled_timing_is_labelled_inconclusive(events):
    """Two runs of the same code raise the same issue: the counters decide, not the clock."""
    from perflab.inputs.targets import Targets
    from perflab.judge import verdict

    sql = "SELECT id, ts, v FROM ev ORDER BY ts DESC, id DESC LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "paged", sql, [(0,)], cap_seconds=1.5)
    d = r.pages[-1]
    slow = replace(d, verdict="inconclusive", ratio=0.9, ratio_ci=(0.5, 1.2))
    r2 = replace(r, pages=(*r.pages[:-1], slow))
    assert r2.missed and not r2.faster
    a = verdict.assess({"pagination": [_summary_entry(r2)]}, Targets(()))
    (issue,) = [i for i in a["issues"] if i["origin"] == "pagination"]
    assert "timing difference inconclusive" in issue["title"], issue["title"]
    assert "faster" not in issue["title"]


def test_linear_offset_without_a_cheaper_keyset_is_ignored_with_why(events):
    from perflab.inputs.targets import Targets
    from perflab.judge import verdict

    sql = "SELECT id, ts, v FROM ev ORDER BY ts DESC, id DESC LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "paged", sql, [(0,)], cap_seconds=1.5)
    d = r.pages[-1]
    costly = replace(d, keyset_vm_steps=d.offset_vm_steps)
    r2 = replace(r, pages=(*r.pages[:-1], costly))
    assert not r2.missed
    a = verdict.assess({"pagination": [_summary_entry(r2)]}, Targets(()))
    assert not [i for i in a["issues"] if i["origin"] == "pagination"]
    why = [x for x in a["ignored_findings"] if x.get("rule") == "pagination"]
    assert len(why) == 1 and "does not cut the work" in why[0]["why_ignored"]


def test_the_cap_stops_the_walk_and_says_so(events):
    """A cap too small for the walk: it stops after the first page, too shallow for a fit."""
    sql = "SELECT id, ts, v FROM ev ORDER BY ts DESC, id DESC LIMIT 200 OFFSET ?"
    r = pg.analyse_query(events, "page", sql, [(0,)], cap_seconds=1e-4)
    assert r.status == "not_analysed" and r.cut
    assert "cap let the equivalence walk reach page 1 only" in r.reason
