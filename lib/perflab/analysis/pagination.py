"""Pagination by rule: how an OFFSET-paged query grows with page depth, and keyset paging.

A query is *paged* when its SQL (parsed with sqlglot) has a LIMIT with an OFFSET, the
OFFSET a bound parameter (``?``, ``:name``) or a literal. For a paged query with an ORDER
BY this module, on the run's database and never keyed on a name:

1. counts the rows the query matches (with its workload parameters, the tuple matching
   most rows among the first few) and picks the page depths: pages 1, 10, 50 and 100 of
   LIMIT rows, never past the last full page, the last full page added when it is
   shallower than 100 (`DEPTHS`);
2. derives the keyset rewrite from the ORDER BY. The order must be total: a term is the
   rowid (or its INTEGER PRIMARY KEY alias), or the terms hold every column of a UNIQUE
   NOT NULL column set (a WITHOUT ROWID table's PRIMARY KEY). Otherwise the primary key is
   appended as a tie-breaker, and the result says so. One direction and NOT NULL keys give
   a row-value comparison ``(a, id) < (?, ?)``; mixed directions or nullable keys give the
   expanded OR form (``a > ? OR (a = ? AND id > ?)``, NULL-aware where a key may be NULL,
   following the ORDER BY's NULLS FIRST/LAST). The key columns are appended to the SELECT
   list when it lacks them: the application needs them to ask for the next page;
3. checks it page by page: the keyset pages, walked from page 1 to the deepest depth,
   must return exactly the rows (in order) of the OFFSET pages, which are the slices of
   the ordered result (one statement: the same ORDER BY, LIMIT depth x page); the OFFSET
   pages at the measured depths are executed and checked against the same slices;
4. counts SQLite's work per page at each depth for both forms (`perflab.sqlite.counters`,
   the exact, machine-independent evidence) and times both forms at each depth
   interleaved (`perflab.measure.interleave`: the project's timing loop, ABAB rounds), the
   p50s with order-statistic intervals and the ratio keyset / OFFSET with its 99%
   bootstrap interval (`perflab.measure.stats.compare`);
5. fits VM steps (and p50) against the rows skipped, a straight line: *linear* when the
   line explains every depth within 10%, rises by at least a quarter of the first page's
   figure over the depths and (VM steps) adds at least one step per row skipped; *flat*
   when not linear and every depth is within 2x of the cheapest (`fit_growth`).

A *missed pagination* (`PaginationResult.missed`): OFFSET VM steps grow linearly, the
keyset pages are equivalent, and the keyset form's VM steps do not grow linearly and are at
most half the OFFSET form's at the deepest page. It rests on SQLite's counters alone, which
are exact and the same on every machine, so two runs of the same code find the same missed
paginations; the timings are its figures: keyset is *measured faster*
(`PaginationResult.faster`) only when the interleaved comparison says so (its interval below
1 past the minimum effect) with non-overlapping p50 intervals, and is otherwise labelled
inconclusive. (A rule that also required the timing flipped between two quick runs of the
same code on this shared machine: keyset/OFFSET 0.807 [0.304, 0.822] in one, 0.876 [0.363,
1.303] in the next, for identical counters.)

Each query's analysis is capped at `CAP_SECONDS` (the depths and the timed executions
shrink to fit, and the result says when the cap cut them; the execution that crosses the
cap finishes, so a run may end a little past it).

What cannot be analysed (no ORDER BY, a join or compound SELECT, an order with no unique
tie-breaker, an empty or single-page result, a statement that errors) is a result with
status "not_analysed" and the reason, never an exception.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import TokenType

from perflab.errors import PerflabError
from perflab.measure import interleave
from perflab.measure.stats import compare
from perflab.measure.timing import quantile_ci
from perflab.sqlite import counters
from perflab.sqlite.querymodel import QueryModel, matched_rows, param_value, parse_query
from perflab.sqlite.schema import SchemaInfo, TableInfo, introspect

#: Page depths measured (1-based pages of LIMIT rows), as far as the result reaches.
DEPTHS = (1, 10, 50, 100)
#: Time cap of one query's whole analysis (counting, equivalence walk, timings), seconds.
CAP_SECONDS = 2.0
#: Interleaved rounds per depth, and the executions per side and round asked for (fewer,
#: down to `MIN_EXECUTIONS`, when the cap cannot pay for them).
ROUNDS = 4
EXECUTIONS = 15
MIN_EXECUTIONS = 2
#: Share of the cap the equivalence walk may spend; where it stops is the deepest depth.
WALK_SHARE = 0.5
#: Parameter tuples tried when choosing the one whose result is longest.
PARAM_CANDIDATES = 10
#: Growth rules against rows skipped (module docstring, step 5): "linear" when the straight
#: line explains every depth within `LINEAR_MAX_RESIDUAL`, rises over the depths by at least
#: `LINEAR_MIN_RISE` of the first page's figure, and (VM steps) adds at least
#: `LINEAR_MIN_SLOPE` per row skipped (skipping a row takes SQLite a few instructions);
#: "flat" when not linear and every depth is within `FLAT_MAX_GROWTH` of the cheapest.
LINEAR_MAX_RESIDUAL = 0.10
LINEAR_MIN_RISE = 0.25
LINEAR_MIN_SLOPE = 1.0
FLAT_MAX_GROWTH = 2.0
_ROWID_NAMES = ("rowid", "_rowid_", "oid")
_DIALECT = SQLite()


@dataclass(frozen=True)
class Growth:
    """A straight line y = intercept + slope x over the depths (x: rows skipped), and what
    it says: linear | flat | grows (neither) | "" (not fitted)."""

    kind: str = ""
    slope: float = 0.0  # per row skipped
    intercept: float = 0.0
    max_residual: float = 0.0  # largest |y - fit| / y over the depths
    first: float = 0.0  # y at the first page
    deepest: float = 0.0  # y at the deepest page

    @property
    def ratio(self) -> float:
        """The deepest page's figure over the first page's."""
        return self.deepest / self.first if self.first > 0 else float("nan")


@dataclass(frozen=True)
class PageMeasure:
    """One page depth, both forms: work per execution, p50 with its 95% interval, and the
    interleaved ratio keyset / OFFSET with its interval and verdict."""

    page: int  # 1-based
    offset: int  # rows skipped
    rows: int  # rows the page returned
    offset_vm_steps: int
    keyset_vm_steps: int
    offset_fullscan_steps: int
    keyset_fullscan_steps: int
    offset_p50_ms: float
    offset_p50_ci: tuple[float | None, float | None]
    keyset_p50_ms: float
    keyset_p50_ci: tuple[float | None, float | None]
    ratio: float  # keyset p50 / OFFSET p50
    ratio_ci: tuple[float, float]
    verdict: str  # improvement (keyset faster) | regression | inconclusive | unchanged
    executions: int  # timed per side

    @property
    def separated(self) -> bool:
        """The keyset p50 interval lies wholly below the OFFSET one."""
        return (
            self.keyset_p50_ci[1] is not None
            and self.offset_p50_ci[0] is not None
            and self.keyset_p50_ci[1] < self.offset_p50_ci[0]
        )


@dataclass(frozen=True)
class PaginationResult:
    """One paged query analysed, or not analysed with the reason."""

    query: str
    sql: str
    status: str  # analysed | not_analysed
    reason: str = ""
    page_size: int = 0
    result_rows: int | None = None  # rows the query matches with the parameters used
    params: tuple[Any, ...] = ()  # the parameter tuple used (the OFFSET slot as given)
    order_by: str = ""  # the ORDER BY as analysed (tie-breaker included)
    tie_breaker: str = ""  # the columns appended to make the order total ("" if it was)
    keyset_form: str = ""  # row-value | expanded OR | expanded OR, NULL-aware
    keyset_sql: str = ""  # page 2 on: the cursor is the previous page's last key values
    first_page_sql: str = ""  # page 1 of the keyset form: no OFFSET, no cursor
    depths_note: str = ""  # which depths, and why not deeper
    pages: tuple[PageMeasure, ...] = ()
    equivalent: bool | None = None
    pages_checked: int = 0
    equivalence_note: str = ""
    offset_vm: Growth = Growth()
    keyset_vm: Growth = Growth()
    offset_latency: Growth = Growth()
    keyset_latency: Growth = Growth()
    cap_seconds: float = CAP_SECONDS
    seconds: float = 0.0
    cut: bool = False  # the cap cut the depths or the timed executions
    counters_reason: str = ""  # why work counters are missing ("" when counted)

    @property
    def deepest(self) -> PageMeasure | None:
        return self.pages[-1] if self.pages else None

    @property
    def missed(self) -> bool:
        """OFFSET work grows linearly; keyset, equivalent, does at most half of it at the
        deepest page and does not grow linearly (counters only: see the module)."""
        d = self.deepest
        return (
            self.status == "analysed"
            and self.offset_vm.kind == "linear"
            and self.keyset_vm.kind != "linear"
            and self.equivalent is True
            and d is not None
            and 2 * d.keyset_vm_steps <= d.offset_vm_steps
        )

    @property
    def faster(self) -> bool:
        """Keyset measured faster at the deepest page (interleaved ratio interval below 1
        past the minimum effect, p50 intervals apart): the timing claim, beside `missed`."""
        d = self.deepest
        return d is not None and d.verdict == "improvement" and d.separated

    def sentence(self) -> str:
        """The finding in one sentence (what the report and the verdict say)."""
        if self.status != "analysed":
            return f"{self.query}: not analysed: {self.reason}"
        d, f = self.deepest, self.pages[0]
        if d is None:
            return f"{self.query}: no page measured"
        vm = (
            f"VM steps per page {f.offset_vm_steps:,} at page {f.page} -> "
            f"{d.offset_vm_steps:,} at page {d.page} with OFFSET ({_growth_words(self.offset_vm)})"
            f", {f.keyset_vm_steps:,} -> {d.keyset_vm_steps:,} with keyset "
            f"({_growth_words(self.keyset_vm)})"
        )
        lat = (
            f"p50 {_ms(f.offset_p50_ms)} -> {_ms(d.offset_p50_ms)} with OFFSET, "
            f"{_ms(f.keyset_p50_ms)} -> {_ms(d.keyset_p50_ms)} with keyset; at page "
            f"{d.page} keyset/OFFSET {d.ratio:.3g} (99% CI {d.ratio_ci[0]:.3g}.."
            f"{d.ratio_ci[1]:.3g}, {d.verdict})"
        )
        return f"{self.query}: {vm}; {lat}"


def _ms(v: float) -> str:
    return f"{v:.3g} ms"


def _growth_words(g: Growth) -> str:
    if g.kind == "linear":
        return f"linear, {g.slope:.3g} per row skipped"
    if g.kind == "flat":
        return f"flat, x{g.ratio:.3g}"
    return f"{g.kind or 'not fitted'}, x{g.ratio:.3g}" if g.first else (g.kind or "not fitted")


def fit_growth(x: Sequence[float], y: Sequence[float], min_slope: float = 0.0) -> Growth:
    """The straight line through (rows skipped, figure) and its class (`LINEAR_MAX_RESIDUAL`
    and the rules beside it); `min_slope`: the least rise per row skipped called linear."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    if xs.size < 2 or not np.all(np.isfinite(ys)) or float(ys.min()) <= 0:
        return Growth()
    slope, intercept = (float(v) for v in np.polyfit(xs, ys, 1))
    max_res = float(np.max(np.abs(ys - (intercept + slope * xs)) / ys))
    first, deepest = float(ys[0]), float(ys[-1])
    rise = slope * float(xs.max() - xs.min())
    if (
        slope > 0
        and slope >= min_slope
        and max_res <= LINEAR_MAX_RESIDUAL
        and rise >= LINEAR_MIN_RISE * first
    ):
        kind = "linear"
    elif float(ys.max()) <= FLAT_MAX_GROWTH * float(ys.min()):
        kind = "flat"
    else:
        kind = "grows"
    return Growth(kind, slope, intercept, max_res, first, deepest)


# ------------------------------------------------------------------------------ detection


def index_placeholders(sql: str) -> tuple[str, int]:
    """Every parameter written as ``:pK``, K its SQLite bind index (``?`` takes the next,
    ``?NNN`` its number, a name its first appearance's), and how many indexes there are;
    so a parameter tuple binds the same values to the rewritten statement."""
    toks = _DIALECT.tokenize(sql)
    out, pos, top = [], 0, 0
    names: dict[str, int] = {}
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        adjacent = nxt is not None and nxt.start == t.end + 1
        idx, end = None, t.end
        if t.token_type == TokenType.PLACEHOLDER and t.text == "?":
            if adjacent and nxt.token_type == TokenType.NUMBER:
                idx, end = int(nxt.text), nxt.end
                i += 1
            else:
                idx = top + 1
        elif t.token_type in (TokenType.COLON, TokenType.PARAMETER) and adjacent:
            key = t.text + nxt.text
            idx = names.setdefault(key, top + 1)
            end = nxt.end
            i += 1
        elif t.token_type == TokenType.VAR and t.text.startswith("$") and len(t.text) > 1:
            idx = names.setdefault(t.text, top + 1)
        if idx is not None:
            top = max(top, idx)
            out.append(sql[pos : t.start])
            out.append(f":p{idx}")
            pos = end + 1
        i += 1
    out.append(sql[pos:])
    return "".join(out), top


@dataclass(frozen=True)
class Paged:
    """A statement that pages: its parse tree (parameters as ``:pK``) and its clauses."""

    model: QueryModel
    nparams: int
    limit: exp.Expression
    offset: exp.Expression


def detect(sql: str) -> Paged | None:
    """The paged shape of `sql` (a LIMIT with an OFFSET), or None: not paged, or not a
    statement sqlglot parses (then nothing here touches it)."""
    text, n = index_placeholders(sql)
    try:
        model = parse_query(text)
    except PerflabError:
        return None
    tree = model.tree
    lim, off = tree.args.get("limit"), tree.args.get("offset")
    if lim is None or off is None:
        return None
    lim_e = lim.args.get("expression") if isinstance(lim, exp.Limit) else lim
    off_e = off.args.get("expression") if isinstance(off, exp.Offset) else off
    if lim_e is None or off_e is None:
        return None
    return Paged(model, n, lim_e, off_e)


# ------------------------------------------------------------------------------ the rewrite


@dataclass(frozen=True)
class _Key:
    """One ORDER BY term: its expression, direction, NULL placement and nullability."""

    expr: exp.Expression
    desc: bool
    nulls_first: bool
    nullable: bool


def _bare_column(e: exp.Expression, model: QueryModel, table: TableInfo) -> str | None:
    """The table column (lower-case) a term is, or "rowid"; None for an expression."""
    if not isinstance(e, exp.Column) or isinstance(e.this, exp.Star):
        return None
    if e.table and model.tables.get(e.table.lower(), "").lower() != table.name.lower():
        return None
    name = e.name.lower()
    if table.has_column(name):
        if table.rowid_alias and name == table.rowid_alias.lower():
            return "rowid"
        return name
    if name in _ROWID_NAMES and not table.without_rowid:
        return "rowid"
    return None


def _unique_sets(table: TableInfo, schema: SchemaInfo) -> list[tuple[str, ...]]:
    """Column sets that identify a row: NOT NULL ones only (UNIQUE allows many NULLs),
    from the PRIMARY KEY, UNIQUE constraints and non-partial unique indexes."""
    sets: list[tuple[str, ...]] = []
    if table.primary_key:
        sets.append(tuple(table.primary_key))
    sets += [tuple(u) for u in table.unique_constraints]
    for ix in schema.indexes_of(table.name):
        if ix.unique and not ix.partial and all(c.name for c in ix.key_columns):
            sets.append(tuple(str(c.name) for c in ix.key_columns))
    out = []
    for s in sets:
        cols = [c.lower() for c in s]
        if all(table.has_column(c) for c in cols) and all(_not_null(c, table) for c in cols):
            out.append(
                tuple("rowid" if c == (table.rowid_alias or "").lower() else c for c in cols)
            )
    return out


def _not_null(col: str | None, table: TableInfo) -> bool:
    if col is None:
        return False
    if col in ("rowid", (table.rowid_alias or "").lower()):
        return True
    c = table.column(col)
    return bool(c.notnull) or (table.without_rowid and c.pk > 0)


def _tie_breaker(table: TableInfo) -> list[str]:
    """The columns that make any order total: the rowid (its alias if it has one), or a
    WITHOUT ROWID table's primary key."""
    if table.without_rowid:
        return list(table.primary_key)
    if table.rowid_alias:
        return [table.rowid_alias]
    return next(([n] for n in _ROWID_NAMES if not table.has_column(n)), [])


def _after(k: _Key, ph: exp.Expression) -> exp.Expression:
    """Rows after a cursor value on this key alone, by the ORDER BY's direction and NULLs."""
    e = k.expr.copy()
    cmp: exp.Expression = (
        exp.LT(this=e, expression=ph.copy()) if k.desc else exp.GT(this=e, expression=ph.copy())
    )
    if not k.nullable:
        return cmp
    null = exp.Is(this=ph.copy(), expression=exp.Null())
    if k.nulls_first:  # NULLs come first: after a NULL cursor come all non-NULL values
        nn = exp.And(
            this=null, expression=exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null()))
        )
        return exp.Paren(this=exp.Or(this=exp.Paren(this=nn), expression=cmp))
    # NULLs come last: after any non-NULL cursor come the NULLs
    tail = exp.And(this=exp.Is(this=e.copy(), expression=exp.Null()), expression=exp.Not(this=null))
    return exp.Paren(this=exp.Or(this=cmp, expression=exp.Paren(this=tail)))


def _equal(k: _Key, ph: exp.Expression) -> exp.Expression:
    if k.nullable:
        return exp.Is(this=k.expr.copy(), expression=ph.copy())  # NULL IS NULL
    return exp.EQ(this=k.expr.copy(), expression=ph.copy())


def _and_all(terms: list[exp.Expression]) -> exp.Expression:
    out = terms[0]
    for t in terms[1:]:
        out = exp.And(this=out, expression=t)
    return out


def keyset_condition(keys: Sequence[_Key], first_param: int) -> tuple[exp.Expression, str]:
    """The WHERE term selecting the rows after a cursor (one ``:pK`` per key, from
    `first_param` on), and the form used."""
    phs = [exp.Placeholder(this=f"p{first_param + i}") for i in range(len(keys))]
    if all(k.desc == keys[0].desc for k in keys) and not any(k.nullable for k in keys):
        if len(keys) == 1:
            return _after(keys[0], phs[0]), "row-value"
        lhs = exp.Tuple(expressions=[k.expr.copy() for k in keys])
        rhs = exp.Tuple(expressions=phs)
        op = exp.LT if keys[0].desc else exp.GT
        return op(this=lhs, expression=rhs), "row-value"
    branches = []
    for i, k in enumerate(keys):
        eqs = [_equal(keys[j], phs[j]) for j in range(i)]
        branches.append(exp.Paren(this=_and_all([*eqs, _after(k, phs[i])])))
    out = branches[0]
    for b in branches[1:]:
        out = exp.Or(this=out, expression=b)
    form = "expanded OR, NULL-aware" if any(k.nullable for k in keys) else "expanded OR"
    first = keys[0]
    if not first.nullable:
        # every row after the cursor is on its side of the first key: a range an index on
        # that key can seek (the OR alone would be a scan)
        bound = exp.LTE if first.desc else exp.GTE
        rng = bound(this=first.expr.copy(), expression=phs[0].copy())
        return exp.And(
            this=rng, expression=exp.Paren(this=out)
        ), form + " with a range on the first key"
    return out, form


@dataclass(frozen=True)
class Rewrite:
    """The statements one analysis runs, positional, each with its parameter mapping from
    (original parameters + extra values) to its own tuple."""

    width: int  # columns of the original SELECT list (the rows compared)
    key_positions: tuple[int, ...]  # where each key's value is in a keyset row
    offset_sql: str  # the original ORDER BY, OFFSET a parameter (the user's statement)
    offset_fn: Any
    prefix_sql: str  # the total order, LIMIT a parameter, no OFFSET: the reference
    prefix_fn: Any
    first_sql: str  # keyset page 1
    first_fn: Any
    keyset_sql: str  # keyset page 2 on
    keyset_fn: Any
    form: str
    order_by: str
    tie_breaker: str


def _is_star(e: exp.Expression) -> bool:
    """``*`` or ``t.*`` in a SELECT list."""
    return isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))


def _select_positions(sel: exp.Select, keys: Sequence[_Key], table: TableInfo) -> list[int | None]:
    """Where each key already is in the SELECT list (None: absent)."""
    items: list[exp.Expression | None] = []
    for e in sel.expressions:
        if _is_star(e):
            items += [exp.column(c.name) for c in table.columns if c.hidden != 1]
        else:
            items.append(e.this if isinstance(e, exp.Alias) else e)
    texts = [None if i is None else i.sql(dialect="sqlite").lower() for i in items]

    def bare(s: str) -> str:
        return s.rsplit(".", 1)[-1]

    out: list[int | None] = []
    for k in keys:
        want = k.expr.sql(dialect="sqlite").lower()
        hit = next(
            (j for j, t in enumerate(texts) if t is not None and bare(t) == bare(want)), None
        )
        out.append(hit)
    return out


def rewrite(paged: Paged, schema: SchemaInfo) -> Rewrite | str:
    """The keyset rewrite of a paged query, or why there is none (a sentence)."""
    model, sel = paged.model, paged.model.select
    if sel is None:
        return "a compound SELECT (UNION, ...): keyset paging is derived for one SELECT"
    if not model.order_terms():
        return "no ORDER BY: OFFSET pages have no defined order, and keyset paging needs one"
    table_name = model.single_table()
    if table_name is None or len(set(model.tables.values())) != 1:
        return "a join or subquery: keyset paging is derived here for one-table SELECTs"
    if not schema.has_table(table_name):
        return f"{table_name!r} is not a table of this database (a view or virtual table)"
    if sel.args.get("group") or sel.args.get("distinct") or sel.find(exp.AggFunc):
        return "GROUP BY, DISTINCT or an aggregate: pages of groups are not analysed"
    table = schema.table(table_name)
    keys: list[_Key] = []
    cols: list[str | None] = []
    for o in model.order_terms():
        e = o.this
        if isinstance(e, exp.Literal):
            return "an ORDER BY by column position (ORDER BY 1): not analysed"
        col = _bare_column(e, model, table)
        cols.append(col)
        nf = bool(o.args.get("nulls_first"))
        keys.append(_Key(e.copy(), bool(o.args.get("desc")), nf, not _not_null(col, table)))
    named = {c for c in cols if c}
    unique = "rowid" in named or any(set(s) <= named for s in _unique_sets(table, schema))
    appended = ""
    if not unique:
        tb = _tie_breaker(table)
        if not tb:
            return (
                "the ORDER BY is not unique and the table has no rowid or primary key to "
                "append as a tie-breaker"
            )
        add = [
            c
            for c in tb
            if c.lower() not in named and not (c.lower() in _ROWID_NAMES and "rowid" in named)
        ]
        desc = keys[-1].desc
        for c in add:
            keys.append(_Key(exp.column(c), desc, not desc, False))
        appended = ", ".join(add)
    order_sql = ", ".join(
        k.expr.sql(dialect="sqlite")
        + (" DESC" if k.desc else "")
        + (
            ""
            if not k.nullable or k.nulls_first != k.desc
            else (" NULLS FIRST" if k.nulls_first else " NULLS LAST")
        )
        for k in keys
    )
    n = paged.nparams
    total = exp.Order(
        expressions=[
            exp.Ordered(this=k.expr.copy(), desc=k.desc, nulls_first=k.nulls_first) for k in keys
        ]
    )
    # the user's statement with its OFFSET as parameter n+1 (the depth)
    off_tree = sel.copy()
    off_tree.set("offset", exp.Offset(expression=exp.Placeholder(this=f"p{n + 1}")))
    # the reference: the whole ordered prefix, LIMIT parameter n+1
    prefix = sel.copy()
    prefix.set("order", total.copy())
    prefix.set("offset", None)
    prefix.set("limit", exp.Limit(expression=exp.Placeholder(this=f"p{n + 1}")))
    # keyset: the SELECT list grows by the keys it lacks; page 1 has no cursor
    width = sum(
        sum(1 for c in table.columns if c.hidden != 1) if _is_star(e) else 1
        for e in sel.expressions
    )
    base = sel.copy()
    base.set("order", total.copy())
    base.set("offset", None)
    positions = []
    for k, p in zip(keys, _select_positions(sel, keys, table), strict=True):
        if p is None:
            base.select(k.expr.copy(), copy=False)
            p = len(base.expressions) - len(sel.expressions) + width - 1
        positions.append(p)
    first = base.copy()
    cond, form = keyset_condition(keys, n + 1)
    ks = base.copy()
    where = ks.args.get("where")
    ks.set(
        "where",
        exp.Where(
            this=cond
            if where is None
            else exp.And(this=exp.Paren(this=where.this.copy()), expression=exp.Paren(this=cond))
        ),
    )
    ro, fo = _render(off_tree), _render(prefix)
    rf, rk = _render(first), _render(ks)
    return Rewrite(
        width,
        tuple(positions),
        ro[0],
        ro[1],
        fo[0],
        fo[1],
        rf[0],
        rf[1],
        rk[0],
        rk[1],
        form,
        order_sql,
        appended,
    )


def _render(tree: exp.Expression) -> tuple[str, Any]:
    from perflab.sqlite.querymodel import render

    return render(tree, {})


# ------------------------------------------------------------------------------ measuring


def keyset_pages(conn: sqlite3.Connection, rw: Rewrite, params: tuple):
    """The keyset pages in order, as the application would walk them: (page number, the
    cursor that asked for it (empty for page 1), its rows cut to the original SELECT
    list), until a page comes back short."""
    k, cursor = 1, ()
    while True:
        if k == 1:
            rows = conn.execute(rw.first_sql, rw.first_fn(params)).fetchall()
        else:
            rows = conn.execute(rw.keyset_sql, rw.keyset_fn((*params, *cursor))).fetchall()
        yield k, cursor, [tuple(r[: rw.width]) for r in rows]
        if not rows:
            return
        cursor = tuple(rows[-1][i] for i in rw.key_positions)
        k += 1


def _not(query: str, sql: str, reason: str, **kw: Any) -> PaginationResult:
    return PaginationResult(query, sql, "not_analysed", reason, **kw)


def _positive_int(e: exp.Expression, params: Sequence) -> int | None:
    ok, v = param_value(e, params)
    if not ok or isinstance(v, bool):
        return None
    try:
        n = int(v)
    except (TypeError, ValueError):
        return None
    return n if n > 0 and n == v else None


def choose_depths(rows: int, page: int) -> tuple[list[int], str]:
    """`DEPTHS` within the result's full pages, the last full page added when it is
    shallower than the deepest of `DEPTHS`; and the sentence saying which and why."""
    full = rows // page
    if full < 1:
        return [], ""
    deepest = min(full, DEPTHS[-1])
    depths = sorted({d for d in DEPTHS if d <= deepest} | {deepest})
    if full >= DEPTHS[-1]:
        note = f"pages {', '.join(map(str, depths))} of {page:,} rows ({full:,} full pages)"
    else:
        note = (
            f"pages {', '.join(map(str, depths))} of {page:,} rows: the result ends at page "
            f"{full:,} ({rows:,} rows)"
        )
    return depths, note


def _longest(
    conn: sqlite3.Connection, model: QueryModel, params: Sequence[tuple]
) -> tuple[tuple, int | None]:
    """Among the first distinct parameter tuples, the one matching the most rows."""
    seen: list[tuple] = []
    for p in params:
        if p not in seen:
            seen.append(p)
        if len(seen) >= PARAM_CANDIDATES:
            break
    best, best_n = (seen[0] if seen else ()), None
    for p in seen or [()]:
        n = matched_rows(conn, model, p)
        if n is not None and (best_n is None or n > best_n):
            best, best_n = p, n
    return best, best_n


def _work(conn: sqlite3.Connection, sql: str, p: tuple) -> tuple[int, int]:
    """VM steps and full-scan steps of one execution (-1, -1 without counters)."""
    w = counters.count_work(conn, sql, [p], max_executions=1)
    if w is None or not w.executions:
        return -1, -1
    return int(w.vm_steps[0]), int(w.fullscan_steps[0])


def _p50(ns: np.ndarray) -> tuple[float, tuple[float | None, float | None]]:
    est, lo, hi = quantile_ci(ns / 1e6, 0.5)
    return est, (lo, hi)


def analyse_query(
    conn: sqlite3.Connection,
    name: str,
    sql: str,
    params: Sequence[tuple] = ((),),
    *,
    schema: SchemaInfo | None = None,
    cap_seconds: float = CAP_SECONDS,
    min_effect: float = 0.05,
) -> PaginationResult | None:
    """One query's pagination analysis (module docstring); None when it does not page."""
    paged = detect(sql)
    if paged is None:
        return None
    t0 = time.perf_counter()
    try:
        return _analyse(conn, name, sql, paged, params, schema, cap_seconds, min_effect, t0)
    except (sqlite3.Error, PerflabError, ValueError, IndexError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _not(name, sql, f"the statement failed: {msg}", seconds=time.perf_counter() - t0)


def _analyse(
    conn: sqlite3.Connection,
    name: str,
    sql: str,
    paged: Paged,
    params: Sequence[tuple],
    schema: SchemaInfo | None,
    cap: float,
    min_effect: float,
    t0: float,
) -> PaginationResult:
    schema = schema or introspect(conn)
    rw = rewrite(paged, schema)
    if isinstance(rw, str):
        return _not(name, sql, rw, seconds=time.perf_counter() - t0)
    # a tuple binds the statement's own parameters only (the extra slots carry the depth)
    n = paged.nparams
    p, rows = _longest(conn, paged.model, [tuple(x)[:n] for x in params] or [()])
    if len(p) < n:
        return _not(
            name, sql, f"{n} parameters needed, {len(p)} given", seconds=time.perf_counter() - t0
        )
    page = _positive_int(paged.limit, p)
    common: dict[str, Any] = {
        "params": tuple(p),
        "order_by": rw.order_by,
        "tie_breaker": rw.tie_breaker,
        "keyset_form": rw.form,
        "keyset_sql": rw.keyset_sql,
        "first_page_sql": rw.first_sql,
        "cap_seconds": cap,
    }
    if page is None:
        return _not(name, sql, "the LIMIT is not a positive whole number", **common)
    if rows is None:
        return _not(name, sql, "its rows could not be counted", page_size=page, **common)
    common.update(page_size=page, result_rows=rows)
    if rows == 0:
        return _not(name, sql, "the result is empty on this database", **common)
    depths, note = choose_depths(rows, page)
    if len(depths) < 3:
        return _not(
            name,
            sql,
            f"the result has {rows:,} rows, {rows // page} full page(s) of {page:,}: a growth "
            "fit needs 3 depths",
            **common,
        )
    deadline = t0 + cap
    cut = False
    # the reference: the ordered prefix down to the deepest page, one statement
    ref = conn.execute(rw.prefix_sql, rw.prefix_fn((*p, depths[-1] * page))).fetchall()
    # walk the keyset pages, checking each against its slice of the reference
    walk: dict[int, tuple] = {}  # page -> the cursor that asks for it
    checked, equivalent, eq_note = 0, True, ""
    for k, cursor, got in keyset_pages(conn, rw, p):
        if k in depths:
            walk[k] = cursor
        want = ref[(k - 1) * page : k * page]
        checked = k
        if got != [tuple(r) for r in want]:
            return _not(
                name,
                sql,
                f"the keyset rewrite is not equivalent: page {k} differs from the OFFSET page",
                equivalent=False,
                pages_checked=k,
                **common,
            )
        if k >= depths[-1]:
            break
        if time.perf_counter() > t0 + cap * WALK_SHARE:
            # the walk stops here: the deepest page walked is the deepest measured
            depths = sorted({d for d in depths if d <= k} | {k})
            walk[k] = cursor
            cut = True
            break
    if len(depths) < 3:
        return _not(
            name,
            sql,
            f"the {cap:g} s cap let the equivalence walk reach page {checked} only: a growth "
            "fit needs 3 depths",
            cut=True,
            **common,
        )
    if equivalent and not rw.tie_breaker:
        # the OFFSET pages at the measured depths: the same slices of the ordered result
        # (with a tie-breaker appended, the user's OFFSET pages leave ties to chance)
        for d in depths:
            got = conn.execute(rw.offset_sql, rw.offset_fn((*p, (d - 1) * page))).fetchall()
            want = ref[(d - 1) * page : d * page]
            same = [tuple(r) for r in got] == [tuple(r) for r in want]
            if not same:
                equivalent = False
                eq_note = f"page {d}: the OFFSET page differs from its slice of the ordered result"
                break
    if equivalent:
        eq_note = (
            f"pages 1..{checked} walked with the keyset form return exactly the OFFSET pages, "
            "in order"
            + (
                f" (the ORDER BY is not unique: compared with the order made total by "
                f"{rw.tie_breaker}, which the OFFSET query leaves to chance among ties)"
                if rw.tie_breaker
                else ""
            )
        )
    reason = counters.unavailable_reason(conn)
    measures: list[PageMeasure] = []
    for i, d in enumerate(depths):
        off_p = rw.offset_fn((*p, (d - 1) * page))
        ks_sql, ks_p = (
            (rw.first_sql, rw.first_fn(p))
            if d == 1
            else (rw.keyset_sql, rw.keyset_fn((*p, *walk[d])))
        )
        ov, of = _work(conn, rw.offset_sql, off_p)
        kv, kf = _work(conn, ks_sql, ks_p)
        a = interleave.Side(conn, rw.offset_sql, [off_p])
        b = interleave.Side(conn, ks_sql, [ks_p])
        wa, wb = a.time(2), b.time(2)
        left = max(deadline - time.perf_counter(), 0.0) / (len(depths) - i)
        n = interleave.executions_within(
            left, float(np.median(wa) + np.median(wb)), ROUNDS, EXECUTIONS, MIN_EXECUTIONS
        )
        cut = cut or n < EXECUTIONS
        sa, sb = interleave.interleaved(
            lambda r, a=a, n=n: a.time(n), lambda r, b=b, n=n: b.time(n), ROUNDS
        )
        c = compare(sa, sb, min_effect=min_effect)
        (o50, oci), (k50, kci) = _p50(sa), _p50(sb)
        measures.append(
            PageMeasure(
                d,
                (d - 1) * page,
                len(ref[(d - 1) * page : d * page]),
                ov,
                kv,
                of,
                kf,
                o50,
                oci,
                k50,
                kci,
                float(c["ratio"]),
                (float(c["ci"][0]), float(c["ci"][1])),
                str(c["verdict"]),
                ROUNDS * n,
            )
        )
    x = [m.offset for m in measures]
    counted = reason is None and all(m.offset_vm_steps >= 0 for m in measures)
    return PaginationResult(
        name,
        sql,
        "analysed",
        depths_note=note + ("" if not cut else f"; the {cap:g} s cap cut the work"),
        pages=tuple(measures),
        equivalent=equivalent,
        pages_checked=checked,
        equivalence_note=eq_note,
        offset_vm=fit_growth(x, [m.offset_vm_steps for m in measures], LINEAR_MIN_SLOPE)
        if counted
        else Growth(),
        keyset_vm=fit_growth(x, [m.keyset_vm_steps for m in measures], LINEAR_MIN_SLOPE)
        if counted
        else Growth(),
        offset_latency=fit_growth(x, [m.offset_p50_ms for m in measures]),
        keyset_latency=fit_growth(x, [m.keyset_p50_ms for m in measures]),
        seconds=time.perf_counter() - t0,
        cut=cut,
        counters_reason=reason or "",
        **common,
    )


def analyse_workload(
    conn: sqlite3.Connection,
    queries: Sequence[Any],
    params: Mapping[str, Sequence[tuple]],
    *,
    cap_seconds: float = CAP_SECONDS,
    min_effect: float = 0.05,
) -> tuple[PaginationResult, ...]:
    """Every paged query of a workload (objects with `name` and `sql`), analysed or not
    analysed with the reason; queries that do not page are left out."""
    out = []
    schema: SchemaInfo | None = None
    for q in queries:
        if detect(q.sql) is None:
            continue
        schema = schema or introspect(conn)
        r = analyse_query(
            conn,
            q.name,
            q.sql,
            params.get(q.name) or [()],
            schema=schema,
            cap_seconds=cap_seconds,
            min_effect=min_effect,
        )
        if r is not None:
            out.append(r)
    return tuple(out)
