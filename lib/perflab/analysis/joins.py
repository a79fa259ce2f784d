"""JOIN analysis by rule: the loops SQLite chose, the rows each visits, and a missing index
on a join column advised and measured.

For every query whose plan visits more than one table, the top-level SCAN/SEARCH lines of
EXPLAIN QUERY PLAN (`perflab.sqlite.plans`) are SQLite's nested loops, outermost first.
Neither engine here has STMT_SCANSTATUS, so rows per loop are counted, not read: for loop
k, exact ``COUNT(*)`` queries with the same parameters over the join of the first k
tables of SQLite's order, each with only the WHERE/ON terms those tables can evaluate
(LEFT JOINs kept as LEFT JOINs). Then

- ``runs``: how often loop k starts = rows out of loops 1..k-1 (1 for the outer loop);
- ``rows_out``: rows out of loops 1..k;
- ``rows_visited``: a full scan reads its table (or index) once per run, so ``runs x
  table rows``; a search (index, rowid, automatic index) reads the rows its constraint
  matches, a prefix count with only the terms on the constraint's columns.

The query is also run untimed on the same parameter tuples with SQLite's counters
(`perflab.sqlite.counters`: VM steps, full-scan steps, automatic-index rows): the scans'
rows visited sit beside SQLite's full-scan steps, and the last loop's rows beside the rows
returned, so the counts are checked against SQLite's own. A query whose prefixes cannot
be built (a subquery, CTE, view, compound select, USING/NATURAL/RIGHT join, a column
whose table is ambiguous) keeps its join order and counters, and says "rows per loop not
analysed: <why>".

A missing join index: an inner loop (not the outermost) that SCANs its table, scans a
whole index, or builds an AUTOMATIC index, on a table compared by equality with another
table's column. The advice is ``CREATE INDEX ... ON inner(join columns, equality columns)``
measured as the advisor measures every index (`analysis.advisor.evaluate` on copies,
interleaved before/after with a 99% interval, write cost), plus VM steps and the new
plan (`advisor.Trial.work`). No rule reads a table, index or query name.

Cost cap per query: at most `MAX_TUPLES` parameter tuples (those with the first tuple's
plan), and `COUNT_SECONDS` for all its prefix counts together (a progress handler
interrupts them past it; the rows are then "not analysed: the cap").
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import sqlglot
from sqlglot import exp

from perflab.analysis import advisor
from perflab.analysis.diagnostics import index_ddl
from perflab.errors import PerflabError
from perflab.inputs.config import IndexSettings
from perflab.sqlite import counters
from perflab.sqlite.plans import PlanNode, explain
from perflab.sqlite.querymodel import flatten_and, parse_query, render
from perflab.sqlite.schema import SchemaInfo, introspect, quote_ident

#: Parameter tuples analysed per query (the first ones whose plan is the first tuple's).
MAX_TUPLES = 3
#: Seconds all prefix counts of one query may take together (then: not analysed, the cap).
COUNT_SECONDS = 2.0
#: Plan kinds that are one loop over one table.
_LOOP_KINDS = {
    "scan_table",
    "scan_index",
    "scan_covering_index",
    "search_index",
    "search_covering_index",
    "search_rowid",
    "search_primary_key",
    "search_automatic_index",
    "search_table",
    "scan_virtual_table",
}
_SCANS = {"scan_table", "scan_index", "scan_covering_index"}
_MISSING = _SCANS | {"search_automatic_index"}
_CONSTRAINT_COL = re.compile(r"^\s*(?:ANY\()?([\w$]+)\)?\s*(?:=|>|<|IS\b)")


@dataclass(frozen=True)
class JoinLoop:
    """One nested loop of SQLite's chosen order (position 1 is the outermost). Row figures
    are means per execution over the analysed tuples; None when not counted."""

    position: int
    alias: str  # the name the plan line uses (the alias, or the table)
    table: str  # the table it reads
    detail: str  # the plan line
    access: str  # the plan line's kind (perflab.sqlite.plans.KINDS)
    index: str | None = None
    constraint: str | None = None
    left_join: bool = False
    bloom_filter: bool = False  # SQLite checks a Bloom filter before this loop's search
    table_rows: int | None = None
    runs: float | None = None  # times the loop starts: rows out of the loops before it
    rows_visited: float | None = None  # rows the loop reads over all its runs
    rows_out: float | None = None  # rows out of loops 1..position
    visited_how: str = ""  # how rows_visited was counted, in words


@dataclass(frozen=True)
class JoinIndexAdvice:
    """An index on an inner loop's join column(s), measured on a copy as the advisor
    measures every index (interleaved, 99% interval of after/before, write cost)."""

    query: str
    table: str
    columns: tuple[str, ...]
    ddl: str
    reason: str
    loop: int  # the loop it is for
    measured: bool = False
    verdict: str | None = None  # improvement | regression | unchanged | inconclusive
    p50_before_ms: float | None = None
    p50_after_ms: float | None = None
    ratio: float | None = None  # after / before
    ratio_ci_lo: float | None = None
    ratio_ci_hi: float | None = None
    executions: int | None = None  # timed per side
    vm_steps_before: float | None = None
    vm_steps_after: float | None = None
    plan_after: str | None = None
    insert_us: float | None = None  # change per INSERT on the table
    size_bytes: float | None = None
    recommended: bool = False
    why: str = ""


@dataclass(frozen=True)
class JoinQuery:
    """One multi-table query: its loops, how rows were counted, SQLite's counters on the
    same tuples, and the advised join indexes."""

    query: str
    sql: str
    loops: tuple[JoinLoop, ...]
    rows_analysed: bool
    rows_note: str  # how the rows were counted, or "rows per loop not analysed: why"
    tuples: int = 0  # parameter tuples analysed
    vm_steps: float | None = None  # SQLite's counters, per execution, same tuples
    fullscan_steps: float | None = None
    autoindex_rows: float | None = None
    rows_returned: float | None = None
    counters_note: str = ""  # the loops' counts beside SQLite's counters, in words
    advice: tuple[JoinIndexAdvice, ...] = ()


@dataclass(frozen=True)
class JoinAnalysis:
    """Every multi-table query analysed, and what could not be, with why."""

    queries: tuple[JoinQuery, ...] = ()
    not_analysed: tuple[dict, ...] = ()  # {query, reason}
    method: str = ""
    cap: str = ""


METHOD = (
    "rows per loop are exact COUNT(*) queries over the join of the first k tables of "
    "SQLite's order, each with the WHERE/ON terms those tables can evaluate and the same "
    "parameters (neither engine has STMT_SCANSTATUS); a scan visits its table once per "
    "run, a search the rows its constraint matches; SQLite's own counters (sqlite_stmt) on "
    "the same tuples stand beside them"
)
CAP = (
    f"at most {MAX_TUPLES} parameter tuples per query and {COUNT_SECONDS:g} s of prefix "
    "counts per query"
)


# ---------------------------------------------------------------------------------------------
# the loops from the plan


def plan_loops(nodes: Sequence[PlanNode]) -> list[PlanNode]:
    """The top-level table loops of a plan, outermost first (MULTI-INDEX OR: its first
    branch's line stands for the loop)."""
    kids: dict[int, list[PlanNode]] = {}
    for n in nodes:
        kids.setdefault(n.parent, []).append(n)
    out = []
    for n in kids.get(0, []):
        if n.kind in _LOOP_KINDS and n.table:
            out.append(n)
        elif n.kind == "multi_index_or":
            branch = [m for b in kids.get(n.id, []) for m in kids.get(b.id, [])]
            if branch and branch[0].table:
                out.append(PlanNode(n.id, 0, n.detail, "multi_index_or", branch[0].table))
    return out


def tables_visited(nodes: Sequence[PlanNode]) -> set[str]:
    """Every table name a plan line reads (subqueries included)."""
    return {n.table.lower() for n in nodes if n.table and n.kind in _LOOP_KINDS}


def _constraint_columns(constraint: str | None) -> list[str]:
    out = []
    for part in (constraint or "").split(" AND "):
        m = _CONSTRAINT_COL.match(part)
        if m:
            out.append(m.group(1).lower())
    return out


# ---------------------------------------------------------------------------------------------
# the query's sources and terms


class _Unanalysable(Exception):
    """The prefixes of this query cannot be built: the message says why."""


@dataclass
class _Source:
    key: str  # alias or table, lower case
    table: str
    sql: str  # `table AS alias` as written
    left: bool
    on: list[exp.Expression] = field(default_factory=list)


@dataclass
class _Term:
    expr: exp.Expression
    refs: frozenset[str]  # source keys
    cols: dict[str, set[str]]  # source key -> its columns the term reads


def _sources(
    sql: str, name: str, schema: SchemaInfo
) -> tuple[list[_Source], list[_Term], dict[str, list[_Term]], bool]:
    """(sources in FROM order, terms of WHERE and inner ON clauses, each LEFT JOIN's ON
    terms, has LIMIT); raises
    _Unanalysable with the reason for shapes the prefix counts cannot rebuild."""
    try:
        model = parse_query(sql, name)
    except PerflabError as exc:
        raise _Unanalysable(str(exc)) from None
    s = model.select
    if s is None:
        raise _Unanalysable("not a plain SELECT (a compound select or another statement)")
    if s.args.get("with"):
        raise _Unanalysable("a CTE (WITH)")
    if any(isinstance(x, exp.Select) for x in s.find_all(exp.Select) if x is not s):
        raise _Unanalysable("a subquery")
    frm = s.args.get("from_") or s.args.get("from")
    items = [(frm.this if frm else None, None)] + [(j.this, j) for j in s.args.get("joins") or []]
    sources: list[_Source] = []
    for t, j in items:
        if not isinstance(t, exp.Table) or not t.name:
            raise _Unanalysable("a FROM item that is not a table")
        if not schema.has_table(t.name):
            raise _Unanalysable(f"{t.name} is not a table (a view or virtual table)")
        left = False
        if j is not None:
            side = (j.args.get("side") or "").upper()
            if j.args.get("using") or (j.args.get("method") or "").upper() == "NATURAL":
                raise _Unanalysable("a USING or NATURAL join")
            if side in ("RIGHT", "FULL"):
                raise _Unanalysable(f"a {side} JOIN")
            left = side == "LEFT"
        key = (t.alias or t.name).lower()
        on = list(flatten_and(j.args["on"])) if j is not None and j.args.get("on") else []
        sources.append(_Source(key, schema.table(t.name).name, t.sql(dialect="sqlite"), left, on))
    by_key = {x.key: x for x in sources}
    if len(by_key) != len(sources):
        raise _Unanalysable("two FROM items share a name")
    terms = [_term(e, by_key, schema) for e in model.where_terms()]
    ons: dict[str, list[_Term]] = {}
    for src in sources:
        resolved = [_term(e, by_key, schema) for e in src.on]
        if src.left:
            ons[src.key] = resolved  # a LEFT JOIN's ON terms stay on it
        else:
            terms += resolved  # an inner join's ON terms are WHERE terms
    return sources, terms, ons, model.has_limit()


def _term(e: exp.Expression, by_key: Mapping[str, _Source], schema: SchemaInfo) -> _Term:
    """A WHERE/ON term with the FROM items (and their columns) it reads."""

    def cols_of(key: str) -> set[str]:
        t = schema.table(by_key[key].table)
        return {c.name.lower() for c in t.columns} | (
            set() if t.without_rowid else {"rowid", "oid", "_rowid_"}
        )

    cols: dict[str, set[str]] = {}
    for c in e.find_all(exp.Column):
        if isinstance(c.this, exp.Star):
            continue
        if c.table:
            key = c.table.lower()
            if key not in by_key:
                raise _Unanalysable(f"column {c.sql()} names no FROM item")
        else:
            owners = [k for k in by_key if c.name.lower() in cols_of(k)]
            if len(owners) != 1:
                raise _Unanalysable(f"column {c.name} belongs to {len(owners)} FROM items")
            key = owners[0]
        cols.setdefault(key, set()).add(c.name.lower())
    return _Term(e, frozenset(cols), cols)


@dataclass
class _Counter:
    """Runs COUNT(*) prefix statements on one connection within a shared deadline."""

    conn: sqlite3.Connection
    deadline: float

    def count(self, sql: str, params: tuple) -> int:
        def stop() -> int:
            return 1 if time.perf_counter() > self.deadline else 0

        self.conn.set_progress_handler(stop, 1_000)
        try:
            return int(self.conn.execute(sql, params).fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc).lower():
                raise _Unanalysable(
                    f"the prefix counts exceeded the cap of {COUNT_SECONDS:g} s"
                ) from None
            raise _Unanalysable(f"a prefix count failed: {exc}") from None
        finally:
            self.conn.set_progress_handler(None, 0)


def _prefix_sql(
    sources: Sequence[_Source],
    keys: set[str],
    terms: Sequence[_Term],
    left_keys: set[str],
    ons: Mapping[str, list[_Term]],
    only: tuple[str, set[str]] | None = None,
) -> str:
    """COUNT(*) over the FROM items in `keys` (FROM order kept), with the terms they can
    evaluate. `left_keys`: the items joined as LEFT JOIN (their ON terms stay on them).
    `only` = (key, columns): that item joined inner with just the terms on those columns
    (the rows its search constraint matches)."""
    parts, where = [], []
    first = True
    for src in sources:
        if src.key not in keys:
            continue
        on_sql = ""
        is_left = src.key in left_keys and not first and (only is None or only[0] != src.key)
        if is_left:
            mine = [t for t in ons[src.key] if t.refs <= keys]
            if any(not (t.refs <= keys) for t in ons[src.key]):
                raise _Unanalysable("a LEFT JOIN's ON clause reads a table SQLite visits after it")
            on_sql = (
                " ON " + " AND ".join(t.expr.sql(dialect="sqlite") for t in mine) if mine else ""
            )
        head = "FROM " if first else ("LEFT JOIN " if is_left else "JOIN ")
        parts.append(head + src.sql + on_sql)
        first = False
    pool = list(terms) + [t for k in keys if k not in left_keys for t in ons.get(k, [])]
    if only is not None:
        pool += ons.get(only[0], []) if only[0] in left_keys else []
    for t in pool:
        if not t.refs <= keys:
            continue
        if only is not None and only[0] in t.refs and not t.cols[only[0]] <= only[1]:
            continue  # a filter after the search, not part of its constraint
        where.append("(" + t.expr.sql(dialect="sqlite") + ")")
    sql = "SELECT count(*) " + " ".join(parts) + (" WHERE " + " AND ".join(where) if where else "")
    return sql


def _positional(sql: str) -> tuple[str, object]:
    tree = sqlglot.parse_one(sql, read="sqlite")
    return render(tree, {})


# ---------------------------------------------------------------------------------------------
# one query


def _table_rows(conn, schema: SchemaInfo, table: str, node: PlanNode, cache: dict) -> int:
    """Rows a full scan of this loop reads: the table's, or a partial index's entries."""
    where = None
    if node.kind in ("scan_index", "scan_covering_index") and node.index:
        ix = next((i for i in schema.indexes_of(table) if i.name == node.index), None)
        where = ix.where_sql if ix is not None and ix.partial else None
    key = (table.lower(), where)
    if key not in cache:
        sql = f"SELECT count(*) FROM {quote_ident(table)}" + (f" WHERE {where}" if where else "")
        cache[key] = int(conn.execute(sql).fetchone()[0])
    return cache[key]


def analyse_query(
    conn: sqlite3.Connection,
    name: str,
    sql: str,
    params: Sequence[tuple],
    *,
    schema: SchemaInfo | None = None,
    row_cache: dict | None = None,
) -> JoinQuery | None:
    """The join analysis of one query; None when its plan visits one table or none.
    Raises PerflabError when the query cannot even be explained."""
    schema = schema or introspect(conn)
    row_cache = {} if row_cache is None else row_cache
    params = list(params) or [()]
    nodes = explain(conn, sql, params[0])
    if len(tables_visited(nodes)) < 2:
        return None
    first = [n.detail for n in nodes]
    tuples = [params[0]] + [
        p for p in dict.fromkeys(params[1:]) if p != params[0] and _same_plan(conn, sql, p, first)
    ]
    tuples = tuples[:MAX_TUPLES]
    loops_n = plan_loops(nodes)
    bloom = {n.table.lower() for n in nodes if n.kind == "bloom_filter" and n.table}
    try:
        sources, terms, ons, has_limit = _sources(sql, name, schema)
        by_key = {s.key: s for s in sources}
        if any(n.table.lower() not in by_key for n in loops_n) or len(loops_n) != len(sources):
            raise _Unanalysable("the plan's loops do not map one to one onto the FROM items")
        note_rows = None
    except _Unanalysable as exc:
        sources, terms, ons, has_limit, by_key = [], [], {}, False, {}
        note_rows = str(exc)
    loops = _loops(conn, schema, by_key, loops_n, bloom, row_cache)
    if note_rows is not None:  # the order of every table loop, subqueries' included
        loops_n = [n for n in nodes if n.kind in _LOOP_KINDS and n.table]
        loops = _loops(conn, schema, by_key, loops_n, bloom, row_cache, sql)
    else:
        try:
            loops = _count_loops(conn, schema, sources, terms, ons, loops, loops_n, tuples)
        except _Unanalysable as exc:
            note_rows = str(exc)
    work = counters.count_work(conn, sql, tuples, max_seconds=COUNT_SECONDS)
    analysed = note_rows is None
    if analysed:
        rows_note = (
            f"rows counted by prefix COUNT(*) queries, mean of {len(tuples)} parameter tuple"
            + ("s" if len(tuples) != 1 else "")
            + (
                "; the query has a LIMIT, so SQLite may stop before these counts"
                if has_limit
                else ""
            )
        )
    else:
        rows_note = f"rows per loop not analysed: {note_rows}"
    q = JoinQuery(name, sql, tuple(loops), analysed, rows_note, len(tuples))
    if work is not None and work.executions:
        q = _with_counters(q, work)
    elif work is None:
        q = JoinQuery(**{**q.__dict__, "counters_note": counters.unavailable_reason(conn) or ""})
    return q


def _loops(conn, schema, by_key, loops_n, bloom, row_cache, sql="") -> list[JoinLoop]:
    """The loops as the plan names them, with their tables' rows (nothing counted yet);
    without FROM items (`by_key` empty) aliases are read from the parsed query."""
    aliases: dict[str, str] = {}
    if not by_key and sql:
        with contextlib.suppress(PerflabError):
            aliases = parse_query(sql).tables
    loops = []
    for i, n in enumerate(loops_n, 1):
        src = by_key.get(n.table.lower())
        table = src.table if src else aliases.get(n.table.lower(), n.table)
        loops.append(
            JoinLoop(
                i,
                n.table,
                table,
                n.detail,
                n.kind,
                n.index,
                n.constraint,
                left_join=n.detail.endswith(" LEFT-JOIN"),
                bloom_filter=n.table.lower() in bloom,
                table_rows=_table_rows(conn, schema, table, n, row_cache)
                if schema.has_table(table)
                else None,
            )
        )
    return loops


def _same_plan(conn, sql, p, first) -> bool:
    try:
        return [n.detail for n in explain(conn, sql, p)] == first
    except PerflabError:
        return False


def _count_loops(conn, schema, sources, terms, ons, loops, loops_n, tuples) -> list[JoinLoop]:
    counter = _Counter(conn, time.perf_counter() + COUNT_SECONDS)
    by_key = {s.key: s for s in sources}
    # a LEFT JOIN SQLite turned into an inner join (its plan line lacks LEFT-JOIN) is one:
    # its WHERE rejects the rows a LEFT JOIN would add
    left_keys = {
        s.key
        for s, n in ((by_key[n.table.lower()], n) for n in loops_n)
        if s.left and n.detail.endswith(" LEFT-JOIN")
    }
    plain = list(terms) + [t for k, ts in ons.items() if k not in left_keys for t in ts]
    ons = {k: v for k, v in ons.items() if k in left_keys}
    sums = {"out": [0.0] * len(loops), "vis": [0.0] * len(loops)}
    keys: set[str] = set()
    stmts = []
    for i, n in enumerate(loops_n):
        key = n.table.lower()
        before = set(keys)
        keys.add(key)
        out_sql = _positional(_prefix_sql(sources, set(keys), plain, left_keys, ons))
        vis = None
        if loops[i].access not in _SCANS and loops[i].access != "multi_index_or":
            cols = set(_constraint_columns(n.constraint))
            ipk = schema.table(by_key[key].table).rowid_alias
            if "rowid" in cols and ipk:
                cols |= {ipk.lower(), "oid", "_rowid_"}
            if loops[i].access == "search_rowid":
                cols |= {"rowid", "oid", "_rowid_"} | ({ipk.lower()} if ipk else set())
            vis = _positional(
                _prefix_sql(sources, before | {key}, plain, left_keys, ons, only=(key, cols))
            )
        stmts.append((out_sql, vis))
    for p in tuples:
        for i, (out_sql, vis) in enumerate(stmts):
            sums["out"][i] += counter.count(out_sql[0], out_sql[1](tuple(p)))
            if vis is not None:
                sums["vis"][i] += counter.count(vis[0], vis[1](tuple(p)))
    k = len(tuples)
    out = []
    prev = 1.0
    for i, lp in enumerate(loops):
        rows_out = sums["out"][i] / k
        runs = prev
        if lp.access in _SCANS:
            visited = runs * (lp.table_rows or 0)
            how = f"a full scan: {_n(runs)} run(s) x {lp.table_rows:,} rows"
        elif lp.access == "multi_index_or":
            visited, how = None, "a multi-index OR: its branches' rows are not counted"
        else:
            visited = sums["vis"][i] / k
            how = f"rows its constraint ({lp.constraint or 'none'}) matches, over {_n(runs)} run(s)"
            if lp.access == "search_automatic_index":
                how += f"; plus {lp.table_rows:,} rows read once to build the automatic index"
        out.append(
            JoinLoop(
                **{
                    **lp.__dict__,
                    "runs": runs,
                    "rows_out": rows_out,
                    "rows_visited": visited,
                    "visited_how": how,
                }
            )
        )
        prev = rows_out
    return out


def _n(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if abs(x - round(x)) < 0.05 else f"{x:,.1f}"


def _with_counters(q: JoinQuery, w: counters.WorkCounters) -> JoinQuery:
    n = min(w.executions, q.tuples) or w.executions
    mean = {
        k: float(getattr(w, k)[:n].mean())
        for k in ("vm_steps", "fullscan_steps", "autoindex", "rows")
    }
    parts = [
        f"SQLite per execution (mean of {n}): {_n(mean['vm_steps'])} VM steps, "
        f"{_n(mean['fullscan_steps'])} full-scan steps, {_n(mean['autoindex'])} automatic-index "
        f"rows, {_n(mean['rows'])} rows returned"
    ]
    if q.rows_analysed:
        scans = [lp for lp in q.loops if lp.access in _SCANS]
        if scans:
            scanned = sum(lp.rows_visited or 0 for lp in scans)
            # SQLite's FULLSCAN_STEP counts the steps to a next row: n - 1 per scan of n rows
            expect = sum((lp.runs or 0) * max((lp.table_rows or 0) - 1, 0) for lp in scans)
            agree = (
                "agrees"
                if abs(expect - mean["fullscan_steps"]) < 0.5
                else f"differs (the loops' counts predict {_n(expect)})"
            )
            parts.append(
                f"the scan loops visit {_n(scanned)} rows per execution; SQLite counted "
                f"{_n(mean['fullscan_steps'])} full-scan steps (n - 1 per scan of n rows): {agree}"
            )
        autos = [lp for lp in q.loops if lp.access == "search_automatic_index"]
        if autos:
            sizes = ", ".join(f"{lp.table_rows:,}" for lp in autos)
            parts.append(
                f"automatic indexes: {_n(mean['autoindex'])} rows inserted per execution by "
                f"SQLite's counter (tables of {sizes} rows)"
            )
    return JoinQuery(
        **{
            **q.__dict__,
            "vm_steps": mean["vm_steps"],
            "fullscan_steps": mean["fullscan_steps"],
            "autoindex_rows": mean["autoindex"],
            "rows_returned": mean["rows"],
            "counters_note": "; ".join(parts),
        }
    )


# ---------------------------------------------------------------------------------------------
# missing join indexes


def _equality_pairs(e: exp.Expression) -> tuple[exp.Column, exp.Expression] | None:
    if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column):
        return e.this, e.expression
    return None


def join_index_candidates(
    conn: sqlite3.Connection, q: JoinQuery, schema: SchemaInfo | None = None
) -> list[JoinIndexAdvice]:
    """The index a loop lacks on its join column, for each loop that

    - is inner (not the outermost) and scans its table, a whole index, or builds an
      automatic index, or
    - is the outermost and scans its table while another table of the join has a term of
      its own (`= ?`, a range...) that could drive the join from that side instead,

    on a table compared by equality with another table's column (or an expression of
    other tables) where no index of the table is led by that column: the index on (join
    columns, then its columns compared by equality with a parameter or literal).
    Unmeasured; `analyse` measures them."""
    schema = schema or introspect(conn)
    try:
        sources, terms, ons, _ = _sources(q.sql, q.query, schema)
    except _Unanalysable:
        return []
    by_key = {s.key: s for s in sources}
    every = list(terms) + [t for ts in ons.values() for t in ts]  # LEFT JOINs' ON terms too
    out: list[JoinIndexAdvice] = []
    seen = set()
    for lp in q.loops:
        key = lp.alias.lower()
        if key not in by_key:
            continue
        if lp.position == 1:
            # a term of another table alone (WHERE or an inner ON, never a LEFT JOIN's ON)
            filtered = any(len(t.refs) == 1 and key not in t.refs for t in terms)
            if lp.access != "scan_table" or not filtered:
                continue
        elif lp.access not in _MISSING:
            continue
        join_cols, eq_cols = _join_columns(every, key)
        table = by_key[key].table
        info = schema.table(table)
        led = {  # the rowid (its INTEGER PRIMARY KEY alias) and every full index's first key
            ix.key_columns[0].name.lower()
            for ix in schema.indexes_of(table)
            if ix.key_columns and ix.key_columns[0].name and not ix.partial
        } | ({"rowid", "oid", "_rowid_"} if not info.without_rowid else set())
        if info.rowid_alias:
            led.add(info.rowid_alias.lower())
        if info.without_rowid and info.primary_key:
            led.add(info.primary_key[0].lower())
        cols = [c for c in join_cols if c not in led]
        if not cols:
            continue
        cols += [c for c in eq_cols if c not in cols]
        real = [schema.table(table).column(c).name for c in cols]
        ddl = index_ddl(table, [quote_ident(c) for c in real])
        if ddl in seen:
            continue
        seen.add(ddl)
        visited = f" ({_n(lp.rows_visited)} rows visited per execution)" if lp.rows_visited else ""
        if lp.position == 1:
            how = (
                f"the outer loop scans {table}{visited}: `{lp.detail}`; with an index on "
                f"{table}.{real[0]} SQLite could start from the other table's own terms and "
                f"look {table} up"
            )
        else:
            verb = "scans" if lp.access in _SCANS else "builds an automatic index on"
            how = f"inner loop {lp.position} {verb} {table}{visited}: `{lp.detail}`"
        out.append(
            JoinIndexAdvice(
                q.query,
                table,
                tuple(real),
                ddl,
                f"{how}; {table}.{real[0]} is compared with another table's column and no "
                "index is led by it",
                lp.position,
            )
        )
    return out


def _join_columns(terms: Sequence[_Term], key: str) -> tuple[list[str], list[str]]:
    """(columns of FROM item `key` compared by `=` with other tables, its columns compared
    by `=` with a parameter or literal), lower case, in the query's order."""
    join_cols, eq_cols = [], []
    for t in terms:
        if key not in t.refs or not isinstance(t.expr, exp.EQ):
            continue
        for a, b in ((t.expr.this, t.expr.expression), (t.expr.expression, t.expr.this)):
            if not isinstance(a, exp.Column) or a.name.lower() not in t.cols[key]:
                continue
            if a.table and a.table.lower() != key:
                continue
            others = t.refs - {key}
            if others and t.cols[key] == {a.name.lower()}:
                # the other side reads only other tables (a column, or an expression of
                # them): an index on this column is what a nested-loop search needs
                join_cols.append(a.name.lower())
            elif not others and not list(b.find_all(exp.Column)):
                eq_cols.append(a.name.lower())
    return list(dict.fromkeys(join_cols)), list(dict.fromkeys(eq_cols))


def _measured(a: JoinIndexAdvice, row: Mapping) -> JoinIndexAdvice:
    v = (row.get("verdicts") or {}).get(a.query)
    base = {
        **a.__dict__,
        "insert_us": _num(row.get("insert_us")),
        "size_bytes": _num(row.get("size_bytes")),
        "recommended": bool(row.get("recommended")),
        "why": str(row.get("why") or ""),
    }
    if not v:
        return JoinIndexAdvice(**{**base, "recommended": False})
    lo, hi = (list(v.get("ci99") or []) + [None, None])[:2]
    return JoinIndexAdvice(
        **{
            **base,
            "measured": True,
            "verdict": v.get("verdict"),
            "p50_before_ms": v.get("p50_before_ms"),
            "p50_after_ms": v.get("p50_after_ms"),
            "ratio": v.get("ratio"),
            "ratio_ci_lo": lo,
            "ratio_ci_hi": hi,
            "executions": v.get("executions"),
            "vm_steps_before": v.get("vm_steps_before"),
            "vm_steps_after": v.get("vm_steps_after"),
            "plan_after": v.get("plan_after"),
            # recommended for this query: the advisor's rule (a measured improvement and no
            # regression anywhere) and this query among the improved ones
            "recommended": bool(row.get("recommended")) and v.get("verdict") == "improvement",
        }
    )


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


# ---------------------------------------------------------------------------------------------
# the workload


def analyse(
    conn: sqlite3.Connection,
    db,
    workload,
    params: Mapping[str, Sequence[tuple]],
    *,
    settings: IndexSettings | None = None,
    seed: int = 0,
) -> JoinAnalysis:
    """Every multi-table query of the workload: loops, rows, counters, and each advised
    join index measured on copies of `db` (`advisor.evaluate`; copies only if advised).
    A query that cannot be analysed is listed with the reason; the run goes on."""
    schema = introspect(conn)
    cache: dict = {}
    found: list[JoinQuery] = []
    skipped: list[dict] = []
    for q in workload.queries:
        try:
            jq = analyse_query(
                conn, q.name, q.sql, params.get(q.name) or [()], schema=schema, row_cache=cache
            )
        except _FAILURES as exc:
            skipped.append({"query": q.name, "reason": f"join analysis: {_why(exc)}"})
            continue
        if jq is not None:
            if not jq.rows_analysed:
                skipped.append({"query": q.name, "reason": jq.rows_note})
            found.append(jq)
    advice: dict[str, list[JoinIndexAdvice]] = {}
    for q in found:
        try:
            advice[q.query] = join_index_candidates(conn, q, schema)
        except _FAILURES as exc:
            advice[q.query] = []
            skipped.append({"query": q.query, "reason": f"join index advice: {_why(exc)}"})
    cands = {a.ddl: a for lst in advice.values() for a in lst}
    if not cands:
        return JoinAnalysis(tuple(found), tuple(skipped), METHOD, CAP)
    trial = advisor.Trial(db, workload, params, settings or IndexSettings(), seed, work=True)
    try:
        frame = advisor.evaluate(
            trial,
            [
                {"action": "create", "ddl": d, "table": a.table, "source": "joins:missing_index"}
                for d, a in cands.items()
            ],
        )
        rows = {r["ddl"]: r for r in frame.to_dict("records")}
    except _FAILURES as exc:  # the advice stays, unmeasured, and says why
        rows = {d: {"why": f"not measured: {_why(exc)}"} for d in cands}
    found = [
        JoinQuery(
            **{
                **q.__dict__,
                "advice": tuple(_measured(a, rows.get(a.ddl, {})) for a in advice[q.query]),
            }
        )
        for q in found
    ]
    return JoinAnalysis(tuple(found), tuple(skipped), METHOD, CAP)


#: What one query's analysis may raise: it is then "not analysed", with the reason.
_FAILURES = (
    PerflabError,
    sqlite3.Error,
    OSError,
    KeyError,
    ValueError,
    AttributeError,
    TypeError,
    IndexError,
)


def _why(exc: BaseException) -> str:
    if isinstance(exc, PerflabError | sqlite3.Error):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# frames for the notebook


def loops_frame(analysis: JoinAnalysis) -> pd.DataFrame:
    """One row per loop. Columns: query, loop, table, access (the plan line), runs,
    rows_visited, rows_out, table_rows, how."""
    rows = [
        {
            "query": q.query,
            "loop": lp.position,
            "table": lp.table
            if lp.alias.lower() == lp.table.lower()
            else f"{lp.table} AS {lp.alias}",
            "access": lp.detail + (" (Bloom filter)" if lp.bloom_filter else ""),
            "runs": lp.runs,
            "rows_visited": lp.rows_visited,
            "rows_out": lp.rows_out,
            "table_rows": lp.table_rows,
            "how": lp.visited_how if q.rows_analysed else q.rows_note,
        }
        for q in analysis.queries
        for lp in q.loops
    ]
    cols = [
        "query",
        "loop",
        "table",
        "access",
        "runs",
        "rows_visited",
        "rows_out",
        "table_rows",
        "how",
    ]
    return pd.DataFrame(rows, columns=cols)


def advice_frame(analysis: JoinAnalysis) -> pd.DataFrame:
    """One row per advised join index. Columns: query, ddl, verdict, p50_before_ms,
    p50_after_ms, ratio with ratio_lo/ratio_hi (99% interval of after/before),
    executions (timed per side), vm_steps_before, vm_steps_after, insert_us, plan_after,
    recommended, why."""
    rows = [
        {
            "query": a.query,
            "ddl": a.ddl,
            "verdict": a.verdict if a.measured else "not measured",
            "p50_before_ms": a.p50_before_ms,
            "p50_after_ms": a.p50_after_ms,
            "ratio": a.ratio,
            "ratio_lo": a.ratio_ci_lo,
            "ratio_hi": a.ratio_ci_hi,
            "executions": a.executions,
            "vm_steps_before": a.vm_steps_before,
            "vm_steps_after": a.vm_steps_after,
            "insert_us": a.insert_us,
            "plan_after": a.plan_after,
            "recommended": a.recommended,
            "why": a.why,
        }
        for q in analysis.queries
        for a in q.advice
    ]
    cols = [
        "query",
        "ddl",
        "verdict",
        "p50_before_ms",
        "p50_after_ms",
        "ratio",
        "ratio_lo",
        "ratio_hi",
        "executions",
        "vm_steps_before",
        "vm_steps_after",
        "insert_us",
        "plan_after",
        "recommended",
        "why",
    ]
    return pd.DataFrame(rows, columns=cols)
