"""Why not the index: each diagnosis decided by a rule, then confirmed by experiment.

Rules read the query with a real parser (sqlglot, dialect sqlite) and the schema
with `perflab.sqlite.schema`; they never look at names. Each diagnosis proposes a fix
and tests it on the database itself:

- a *rewrite* is explained (its plan must change as the rule predicts), executed
  over the sampled parameter sets and compared with the original (same multiset
  of rows; for ORDER BY queries the same ordered sequence, ties aside), and
  timed against the original interleaved in one process (ABAB rounds, so drift
  hits both alike), with a 99% bootstrap interval on the ratio of medians
  (after / before). It is recommended only when it is equivalent and the whole
  interval is past the minimum effect (`timing` "faster"); "not faster" when the
  whole interval falls short of it; otherwise "inconclusive". A rewrite that
  returns different rows is "not equivalent" and never recommended.
- an *index* fix is created in a hypothetical database (same schema and
  statistics, no rows, see `indexes.hypothetical`) and the query re-explained;
  its real gain and write cost are measured by the advisor on a copy.

Rules: like_collation, partial_not_implied, function_on_column,
affinity_mismatch, collation_mismatch, leading_column_unconstrained,
or_across_columns, order_by_not_served.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlglot import exp

from perflab.analysis.indexes import hypothetical
from perflab.errors import PerflabError
from perflab.measure import interleave
from perflab.results import frame_records
from perflab.sqlite.plans import PlanNode, explain
from perflab.sqlite.querymodel import QueryModel, flatten_and, flatten_or, param_value, parse_query
from perflab.sqlite.schema import IndexInfo, SchemaInfo, introspect, quote_ident

#: Columns of the frame `diagnose` returns.
DIAGNOSTIC_COLUMNS = {
    "query": "workload query",
    "diagnostic": "rule that fired (see RULES)",
    "table": "table concerned",
    "column": "column concerned",
    "index": "existing index concerned (None if none)",
    "reason": "why SQLite cannot use the index, in words",
    "fix_kind": "rewrite (of the query) | index (a new index, for the advisor) | none",
    "fix": "the rewritten SQL or the CREATE INDEX statement",
    "plan_before": "plan of the original (lines joined by ' | ')",
    "plan_after": "plan with the fix",
    "confirmed": "the experiment shows the predicted plan change",
    "equivalent": "rewrites: yes | yes (ties) | no | error; index fixes: n/a",
    "p50_before_ms": "median latency of the original over the sampled parameters",
    "p50_after_ms": "median latency of the rewrite (index fixes: measured by the advisor)",
    "speedup": "p50_before / p50_after",
    "ratio_ci": "rewrites: 99% bootstrap interval of p50_after / p50_before (interleaved)",
    "timing": "rewrites: faster | not faster | inconclusive, by the interval and min_effect",
    "executions": "rewrites: executions timed per side (over ROUNDS interleaved rounds)",
    "budget_cut": "rewrites: the comparison's time budget timed fewer executions than asked",
    "recommended": "rewrite confirmed, equivalent, and its whole interval past the minimum effect",
}

#: A rewrite must be at least this much faster (ratio <= 1 / (1 + MIN_EFFECT)) over its
#: whole interval to be recommended: a code change for less is not worth claiming.
MIN_EFFECT = 0.05
#: Interleaved rounds per rewrite (original, rewrite, rewrite, original, ...).
ROUNDS = 4

RULES = {
    "like_collation": "LIKE is case-insensitive (NOCASE) but the index is BINARY",
    "partial_not_implied": "the query's WHERE does not imply the partial index's WHERE by "
    "SQLite's shape rules",
    "function_on_column": "a function or expression wraps the indexed column",
    "affinity_mismatch": "the other side of the comparison has an affinity the column lacks",
    "collation_mismatch": "the comparison or ORDER BY uses a collation the index does not",
    "leading_column_unconstrained": "an index holds the column, but not first, and its "
    "leading column is unconstrained",
    "or_across_columns": "OR over different columns, not every branch indexed",
    "order_by_not_served": "ORDER BY needs a temp B-tree: no index delivers that order",
}

_CMP = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass
class _Ctx:
    conn: sqlite3.Connection
    schema: SchemaInfo
    name: str
    model: QueryModel
    params: list[tuple]
    nodes: list[PlanNode]
    executions: int
    hypo: sqlite3.Connection | None = None
    min_effect: float = MIN_EFFECT
    seconds: float | None = None  # time budget of each rewrite's comparison
    out: list[dict] = field(default_factory=list)
    seen: set = field(default_factory=set)

    @property
    def p0(self) -> tuple:
        return self.params[0] if self.params else ()

    def cols_of(self, table: str) -> set[str]:
        if not self.schema.has_table(table):
            return set()
        return {c.name.lower() for c in self.schema.table(table).columns}


def _plan_str(nodes: Sequence[PlanNode]) -> str:
    return " | ".join(n.detail for n in nodes)


def _access(ctx: _Ctx, nodes: Sequence[PlanNode], table: str) -> list[PlanNode]:
    out = []
    for n in nodes:
        if not n.table or n.kind in ("temp_btree", "bloom_filter"):
            continue
        t = ctx.model.tables.get(n.table.lower(), n.table)
        if t.lower() == table.lower():
            out.append(n)
    return out


def _constrains(nodes: Sequence[PlanNode], col: str) -> bool:
    """Does any access line use `col` in its index constraint?"""
    c = col.lower()
    for n in nodes:
        for part in (n.constraint or "").replace("(", " ").split(" AND "):
            if part.strip().lower().startswith(c) and part.strip()[len(c) :][:1] in "=<>":
                return True
    return False


def _bare(e: exp.Expression) -> exp.Column | None:
    while isinstance(e, exp.Paren):
        e = e.this
    return e if isinstance(e, exp.Column) and not isinstance(e.this, exp.Star) else None


def _cols_in(e: exp.Expression) -> list[exp.Column]:
    return [c for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)]


def _leading_indexes(ctx: _Ctx, table: str, col: str, eq_cols: set[str]) -> list[IndexInfo]:
    """Indexes on `table` where `col` is the first key term not constrained by `=`."""
    out = []
    for ix in ctx.schema.indexes_of(table):
        for c in ix.key_columns:
            if c.name is None:
                break
            if c.name.lower() == col.lower():
                out.append(ix)
                break
            if c.name.lower() not in eq_cols:
                break
    return out


def _eq_cols(ctx: _Ctx, table: str) -> set[str]:
    out = set()
    for t in ctx.model.where_terms():
        if isinstance(t, exp.EQ | exp.In):
            c = _bare(t.this)
            if c is not None and ctx.model.table_of(c, ctx.cols_of) == table:
                out.add(c.name.lower())
            c2 = _bare(t.expression) if isinstance(t, exp.EQ) else None
            if c2 is not None and ctx.model.table_of(c2, ctx.cols_of) == table:
                out.add(c2.name.lower())
    return out


# ---------------------------------------------------------------------------------------------
# experiments


def _rows(conn, sql, p) -> tuple[list, list[str]]:
    cur = conn.execute(sql, p)
    return cur.fetchall(), [d[0].lower() for d in cur.description or []]


def _equivalent(ctx: _Ctx, sql: str, fn, limit: int = 20) -> str:
    ordered = bool(ctx.model.order_terms())
    keys = []
    for o in ctx.model.order_terms():
        c = _bare(o.this)
        keys.append(c.name.lower() if c is not None else None)
    verdict = "yes"
    # a parameter set repeated gives the same rows again (a query without parameters has
    # one, repeated as often as the sample): each distinct set is compared once
    for p in dict.fromkeys(ctx.params[:limit]):
        try:
            a, names = _rows(ctx.conn, ctx.model.sql, p)
            b, _ = _rows(ctx.conn, sql, fn(p))
        except sqlite3.Error:
            return "error"
        if a == b:
            continue
        if not ordered and Counter(a) == Counter(b):
            continue
        if ordered and None not in keys and all(k in names for k in keys):
            ix = [names.index(k) for k in keys]
            ka = [tuple(r[i] for i in ix) for r in a]
            kb = [tuple(r[i] for i in ix) for r in b]
            if ka == kb and (Counter(a) == Counter(b) or ctx.model.has_limit()):
                verdict = "yes (ties)"
                continue
        return "no"
    return verdict


def timing_verdict(ratio_ci: Sequence[float], min_effect: float) -> str:
    """faster: the whole interval of after/before is at or below 1 / (1 + min_effect);
    not faster: the whole interval is above it; otherwise inconclusive."""
    lo, hi = ratio_ci
    bar = 1 / (1 + min_effect)
    if hi <= bar:
        return "faster"
    if lo > bar:
        return "not faster"
    return "inconclusive"


@dataclass(frozen=True)
class _Site:
    """What one proposed fix is about: the rule that fired, where, and why."""

    rule: str | None
    table: str | None
    column: str | None
    index: str | None
    reason: str

    def fix(self, how: str) -> _Site:
        """This site with the proposed fix appended to its reason."""
        return replace(self, reason=f"{self.reason}; {how}")


def _claim(ctx: _Ctx, site: _Site, kind: str, fix: str, key: object) -> dict | None:
    """The fix's row, or None when the same rule already proposed this fix for this query
    (two terms can lead to one rewrite or index)."""
    if (site.rule, key) in ctx.seen:
        return None
    ctx.seen.add((site.rule, key))
    return _row(ctx, site, kind, fix)


def _try_rewrite(ctx: _Ctx, site: _Site, tree: exp.Expression, extra: dict, expect) -> None:
    sql, fn = ctx.model.render(tree, extra)
    row = _claim(ctx, site, "rewrite", sql, sql)
    if row is None:
        return
    try:
        after = explain(ctx.conn, sql, fn(ctx.p0))
    except (PerflabError, IndexError) as exc:
        row.update(plan_after=f"error: {exc}", equivalent="error")
        ctx.out.append(row)
        return
    row["plan_after"] = _plan_str(after)
    row["confirmed"] = bool(expect(after))
    row["equivalent"] = _equivalent(ctx, sql, fn)
    n = max(ctx.executions // ROUNDS, 5)
    t = interleave.ab(
        interleave.Side(ctx.conn, ctx.model.sql, ctx.params),
        interleave.Side(ctx.conn, sql, [fn(p) for p in ctx.params]),
        rounds=ROUNDS,
        executions=n,
        min_effect=ctx.min_effect,
        seconds=ctx.seconds,
    )
    row.update(
        executions=t.n,
        budget_cut=t.cut,
        p50_before_ms=t.p50_before_ms,
        p50_after_ms=t.p50_after_ms,
        speedup=t.p50_before_ms / t.p50_after_ms if t.p50_after_ms > 0 else np.nan,
        ratio_ci=list(t.ratio_ci),
        timing=timing_verdict(t.ratio_ci, ctx.min_effect),
    )
    row["recommended"] = bool(
        row["confirmed"] and row["equivalent"].startswith("yes") and row["timing"] == "faster"
    )
    ctx.out.append(row)


def index_name(table: str, terms: Sequence[str]) -> str:
    h = hashlib.sha1((table + "|" + "|".join(terms)).encode()).hexdigest()[:8]
    return f"perflab_{table}_{h}"


def index_ddl(table: str, terms: Sequence[str], where: str | None = None) -> str:
    sql = (
        f"CREATE INDEX {quote_ident(index_name(table, terms))} ON {quote_ident(table)}"
        f"({', '.join(terms)})"
    )
    return sql + (f" WHERE {where}" if where else "")


def _try_index(ctx: _Ctx, site: _Site, ddls: Sequence[str], expect) -> None:
    row = _claim(ctx, site, "index", ";\n".join(ddls), tuple(ddls))
    if row is None:
        return
    if ctx.hypo is None:
        ctx.hypo = hypothetical(ctx.conn)
    hypo = ctx.hypo
    hypo.execute("SAVEPOINT w")
    try:
        for d in ddls:
            hypo.execute(d)
        after = explain(hypo, ctx.model.sql, ctx.p0)
        row["plan_after"] = _plan_str(after)
        row["confirmed"] = bool(expect(after))
    except (sqlite3.Error, PerflabError) as exc:
        row["plan_after"] = f"error: {exc}"
    finally:
        hypo.execute("ROLLBACK TO w")
        hypo.execute("RELEASE w")
    row["equivalent"] = "n/a"
    ctx.out.append(row)


def _row(ctx: _Ctx, site: _Site, kind: str, fix: str | None) -> dict:
    return {
        "query": ctx.name,
        "diagnostic": site.rule,
        "table": site.table,
        "column": site.column,
        "index": site.index,
        "reason": site.reason,
        "fix_kind": kind,
        "fix": fix,
        "plan_before": _plan_str(ctx.nodes),
        "plan_after": None,
        "confirmed": False,
        "equivalent": None,
        "p50_before_ms": np.nan,
        "p50_after_ms": np.nan,
        "speedup": np.nan,
        "ratio_ci": None,
        "timing": None,
        "executions": None,
        "budget_cut": None,
        "recommended": False,
    }


def _not_analysed(ctx: _Ctx, reason: str) -> dict:
    """A row saying what the diagnostics could not read, and why (no fix, no verdict)."""
    return {
        **_row(ctx, _Site("not_analysed", None, None, None, reason), "none", None),
        "equivalent": "n/a",
    }


def _with_where(
    model: QueryModel,
    replace: exp.Expression | None = None,
    by: exp.Expression | None = None,
    add: Sequence[exp.Expression] = (),
):
    """A copy of the query with one WHERE term replaced and/or terms AND-ed on."""
    tree = model.tree.copy()
    terms = list(flatten_and(tree.args["where"].this))
    if replace is not None:
        k = next(i for i, t in enumerate(terms) if t == replace)
        terms[k] = by
    terms += [a.copy() for a in add]
    tree.set("where", exp.Where(this=exp.and_(*terms, copy=False)))
    return tree


def _searches(col: str) -> Callable[[Sequence[PlanNode]], bool]:
    """A fix's check: the plan after it searches (not scans) by `col`."""
    return lambda after: _uses(after, col=col)


def _uses(after: Sequence[PlanNode], index: str | None = None, col: str | None = None) -> bool:
    for n in after:
        if (
            n.kind
            in ("search_index", "search_covering_index", "search_primary_key", "search_rowid")
            and (index is None or (n.index or "") == index)
            and (col is None or _constrains([n], col))
        ):
            return True
    return False


def _no_sort(after: Sequence[PlanNode]) -> bool:
    return not any(n.kind == "temp_btree" and "ORDER BY" in (n.purpose or "") for n in after)


# ---------------------------------------------------------------------------------------------
# rules


def _like(ctx: _Ctx) -> None:
    for term in ctx.model.where_terms():
        if not isinstance(term, exp.Like) or term.args.get("escape"):
            continue
        col = _bare(term.this)
        if col is None:
            continue
        table = ctx.model.table_of(col, ctx.cols_of)
        ok, pat = param_value(term.expression, ctx.p0)
        if table is None or not ok or not isinstance(pat, str):
            continue
        prefix = ""
        for ch in pat:
            if ch in "%_":
                break
            prefix += ch
        access = _access(ctx, ctx.nodes, table)
        if not prefix or _constrains(access, col.name):
            continue
        cands = [
            ix
            for ix in _leading_indexes(ctx, table, col.name, _eq_cols(ctx, table))
            if next(
                c for c in ix.key_columns if c.name and c.name.lower() == col.name.lower()
            ).collation.upper()
            != "NOCASE"
        ]
        if not cands:
            continue
        used = {n.index for n in access}
        cands.sort(key=lambda i: (i.name not in used, i.automatic))
        ix = cands[0]
        reason = (
            f"`{col.name} LIKE '{pat}'` is case-insensitive, so SQLite can use only a "
            f"NOCASE index for it; {ix.name} orders `{col.name}` with BINARY"
        )
        if not all(ord(ch) < 128 for ch in prefix):
            reason += " (and the prefix is not ASCII)"
        site = _Site("like_collation", table, col.name, ix.name, reason)
        # rewrite 1: add the BINARY range, keep the LIKE
        c = exp.column(col.name, table=col.table or None)
        lo, hi = exp.Placeholder(this="x_lo"), exp.Placeholder(this="x_hi")
        rng = [exp.GTE(this=c.copy(), expression=lo), exp.LT(this=c.copy(), expression=hi)]
        src = term.expression

        def pref(p, src=src):
            v = param_value(src, p)[1]
            out = ""
            for ch in v:
                if ch in "%_":
                    break
                out += ch
            return out

        extra = {
            "x_lo": pref,
            "x_hi": lambda p, pref=pref: pref(p)[:-1] + chr(ord(pref(p)[-1]) + 1),
        }
        tree = _with_where(ctx.model, add=rng)
        _try_rewrite(
            ctx,
            site.fix(
                "rewrite: add the equivalent BINARY range (only equivalent if "
                "the data has no case variants of the prefix)"
            ),
            tree,
            extra,
            _searches(col.name),
        )
        # rewrite 2: GLOB (case-sensitive, uses BINARY indexes)

        def glob(p, src=src):
            v = param_value(src, p)[1]
            return "".join(
                {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch) for ch in v
            )

        g = exp.Glob(this=c.copy(), expression=exp.Placeholder(this="x_glob"))
        tree = _with_where(ctx.model, replace=term, by=g)
        _try_rewrite(
            ctx,
            site.fix("rewrite: GLOB (case-sensitive)"),
            tree,
            {"x_glob": glob},
            _searches(col.name),
        )
        rest = [term_sql(k) for k in ix.key_columns][1:]
        ddl = index_ddl(table, [f"{quote_ident(col.name)} COLLATE NOCASE"] + rest, ix.where_sql)
        _try_index(
            ctx,
            site.fix("fix: an index with NOCASE collation"),
            [ddl],
            _searches(col.name),
        )


def term_sql(c) -> str:
    s = quote_ident(c.name) if c.name is not None else f"({c.expression})"
    if c.collation and c.collation.upper() != "BINARY":
        s += f" COLLATE {c.collation}"
    return s + (" DESC" if c.desc else "")


def _subst(e: exp.Expression, params: tuple) -> str:
    """Normalised SQL of a term with parameters replaced by their values."""
    from perflab.sqlite.querymodel import literal

    e = e.copy()
    for ph in list(e.find_all(exp.Placeholder)):
        ok, v = param_value(ph, params)
        if ok:
            ph.replace(literal(v))
    if isinstance(e, exp.Placeholder):
        ok, v = param_value(e, params)
        e = literal(v) if ok else e
    return e.sql(dialect="sqlite", normalize=True)


def _shape_implied(iterm: exp.Expression, qterms: Sequence[exp.Expression], p) -> bool:
    """SQLite's rule: some query AND-term matches the index term in shape (operands may
    be swapped; a bound parameter matches an equal literal); `x IS NOT NULL` is
    satisfied by any comparison on x except IS."""
    target = _subst(iterm, p)
    for q in qterms:
        if _subst(q, p) == target:
            return True
        if (
            isinstance(q, exp.EQ)
            and _subst(exp.EQ(this=q.expression, expression=q.this), p) == target
        ):
            return True
    if (
        isinstance(iterm, exp.Not)
        and isinstance(iterm.this, exp.Is)
        and isinstance(iterm.this.expression, exp.Null)
    ):
        col = _bare(iterm.this.this)
        for q in qterms:
            if isinstance(q, (*_CMP, exp.In, exp.Between, exp.Like)):
                c = _bare(q.this)
                if c is not None and col is not None and c.name.lower() == col.name.lower():
                    return True
    return False


def _logically_implied(iterm: exp.Expression, qterms, p) -> bool:
    """A few sound implications SQLite does not make (value in an IN list, ...)."""

    def vals(e):
        out = []
        for x in e.expressions:
            ok, v = param_value(x, p)
            if not ok:
                return None
            out.append(v)
        return out

    if isinstance(iterm, exp.In) and _bare(iterm.this) is not None:
        col = _bare(iterm.this).name.lower()
        allowed = vals(iterm)
        if allowed is None:
            return False
        for q in qterms:
            c = _bare(q.this) if isinstance(q, exp.EQ | exp.In) else None
            if c is None or c.name.lower() != col:
                continue
            if isinstance(q, exp.EQ):
                ok, v = param_value(q.expression, p)
                if ok and v in allowed:
                    return True
            else:
                got = vals(q)
                if got is not None and set(got) <= set(allowed):
                    return True
    if isinstance(iterm, exp.EQ) and _bare(iterm.this) is not None:
        col = _bare(iterm.this).name.lower()
        ok, want = param_value(iterm.expression, p)
        for q in qterms:
            if (
                isinstance(q, exp.In)
                and _bare(q.this) is not None
                and _bare(q.this).name.lower() == col
            ):
                got = vals(q)
                if ok and got is not None and set(got) == {want}:
                    return True
    return False


def _partial(ctx: _Ctx) -> None:
    qterms = ctx.model.where_terms()
    for table in sorted(set(ctx.model.tables.values())):
        if not ctx.schema.has_table(table):
            continue
        qcols = {
            c.name.lower()
            for t in qterms
            for c in _cols_in(t)
            if ctx.model.table_of(c, ctx.cols_of) == table
        }
        ocols = {c.name.lower() for o in ctx.model.order_terms() for c in _cols_in(o)}
        used = {n.index for n in _access(ctx, ctx.nodes, table) if n.index}
        for ix in ctx.schema.indexes_of(table):
            if not ix.partial or not ix.where_sql or ix.name in used:
                continue
            lead = ix.key_columns[0].name
            if lead is None or lead.lower() not in qcols | ocols:
                continue
            try:
                iterms = list(
                    flatten_and(
                        parse_query(f"SELECT 1 WHERE {ix.where_sql}").tree.args["where"].this
                    )
                )
            except PerflabError:
                continue
            missing = [t for t in iterms if not _shape_implied(t, qterms, ctx.p0)]
            if not missing:
                continue
            if not all(_logically_implied(t, qterms, ctx.p0) for t in missing):
                continue  # the query really selects rows outside the index
            miss = " AND ".join(t.sql(dialect="sqlite") for t in missing)
            reason = (
                f"{ix.name} is partial (WHERE {ix.where_sql}); SQLite matches the "
                f"query's terms against it by shape only and finds no term matching "
                f"`{miss}`, although the query's rows all satisfy it"
            )
            tree = _with_where(ctx.model, add=missing)
            _try_rewrite(
                ctx,
                _Site("partial_not_implied", table, lead, ix.name, reason).fix(
                    "rewrite: repeat the index's terms in the query"
                ),
                tree,
                {},
                lambda a, name=ix.name: any(n.index == name for n in a),
            )


def _functions(ctx: _Ctx) -> None:
    for term in ctx.model.where_terms():
        if not isinstance(term, (*_CMP, exp.In)):
            continue
        sides = [term.this] + ([term.expression] if not isinstance(term, exp.In) else [])
        for k, side in enumerate(sides):
            if _bare(side) is not None:
                continue
            cols = _cols_in(side)
            if len({c.name.lower() for c in cols}) != 1:
                continue
            col = cols[0]
            table = ctx.model.table_of(col, ctx.cols_of)
            other = sides[1 - k] if len(sides) == 2 else None
            if table is None or (other is not None and _cols_in(other)):
                continue
            if isinstance(side, exp.Collate):
                continue  # collation_mismatch's case
            if isinstance(side, exp.Cast) and _bare(side.this) is not None:
                pass
            cands = _leading_indexes(ctx, table, col.name, _eq_cols(ctx, table))
            if not cands or _constrains(_access(ctx, ctx.nodes, table), col.name):
                continue
            expr_sql = side.sql(dialect="sqlite")
            reason = (
                f"`{expr_sql}` wraps `{col.name}`: SQLite uses an index only for the "
                f"bare column (indexes: {', '.join(i.name for i in cands)}), or for an "
                "index on exactly this expression"
            )
            site = _Site("function_on_column", table, col.name, cands[0].name, reason)
            # rewrite for `col + k` / `col - k` compared with something
            if (
                isinstance(side, exp.Add | exp.Sub)
                and _bare(side.this) is not None
                and isinstance(side.expression, exp.Literal)
                and other is not None
            ):
                inv = exp.Sub if isinstance(side, exp.Add) else exp.Add
                new_other = inv(
                    this=exp.Paren(this=other.copy()), expression=side.expression.copy()
                )
                new = (
                    term.__class__(this=side.this.copy(), expression=new_other)
                    if k == 0
                    else term.__class__(this=new_other, expression=side.this.copy())
                )
                _try_rewrite(
                    ctx,
                    site.fix("rewrite: move the arithmetic to the other side"),
                    _with_where(ctx.model, replace=term, by=new),
                    {},
                    _searches(col.name),
                )
            # rewrite date(col) = X as a range
            if (
                isinstance(side, exp.Date | exp.Anonymous)
                and side.sql().upper().startswith("DATE(")
                and isinstance(term, exp.EQ)
                and other is not None
                and len(list(side.iter_expressions())) == 1
            ):
                c = side.this.copy() if side.this is not None else col.copy()
                rng = [
                    exp.GTE(
                        this=c.copy(),
                        expression=exp.Anonymous(this="date", expressions=[other.copy()]),
                    ),
                    exp.LT(
                        this=c.copy(),
                        expression=exp.Anonymous(
                            this="date", expressions=[other.copy(), exp.Literal.string("+1 day")]
                        ),
                    ),
                ]
                tree = _with_where(ctx.model, replace=term, by=exp.and_(*rng))
                _try_rewrite(
                    ctx,
                    site.fix("rewrite: a half-open range on the bare column"),
                    tree,
                    {},
                    _searches(col.name),
                )
            ddl = index_ddl(table, [f"({expr_sql})"])
            _try_index(
                ctx,
                site.fix("fix: an index on the expression"),
                [ddl],
                lambda a: any(n.constraint and "<expr>" in n.constraint for n in a),
            )


_AFF = {
    "INTEGER": "INTEGER",
    "INT": "INTEGER",
    "TEXT": "TEXT",
    "REAL": "REAL",
    "NUMERIC": "NUMERIC",
    "BLOB": "BLOB",
}


def _affinity_collation(ctx: _Ctx) -> None:
    from perflab.sqlite.schema import affinity

    for term in ctx.model.where_terms():
        if not isinstance(term, _CMP):
            continue
        for k, (side, other) in enumerate(
            ((term.this, term.expression), (term.expression, term.this))
        ):
            col = _bare(side)
            if col is None:
                continue
            table = ctx.model.table_of(col, ctx.cols_of)
            if table is None:
                continue
            cands = _leading_indexes(ctx, table, col.name, _eq_cols(ctx, table))
            if not cands or _constrains(_access(ctx, ctx.nodes, table), col.name):
                continue
            caff = ctx.schema.table(table).column(col.name).affinity
            o = other
            while isinstance(o, exp.Paren):
                o = o.this
            new_other = None
            rule = reason = None
            if isinstance(o, exp.Cast):
                to = affinity(o.to.sql(dialect="sqlite"))
                if to != caff and caff in ("TEXT", "INTEGER", "REAL", "NUMERIC"):
                    rule = "affinity_mismatch"
                    reason = (
                        f"`{o.sql(dialect='sqlite')}` has {to} affinity but "
                        f"`{col.name}` has {caff}: the comparison converts the column, "
                        "so its index cannot be used"
                    )
                    new_other = exp.Cast(
                        this=o.this.copy(),
                        to=exp.DataType.build(
                            {"INTEGER": "INT", "TEXT": "TEXT", "REAL": "REAL"}.get(caff, caff)
                        ),
                    )
            elif _bare(o) is not None and ctx.model.table_of(_bare(o), ctx.cols_of) not in (
                None,
                table,
            ):
                t2 = ctx.model.table_of(_bare(o), ctx.cols_of)
                oaff = ctx.schema.table(t2).column(_bare(o).name).affinity
                if (caff == "TEXT") != (oaff == "TEXT") and k == 1:
                    rule = "affinity_mismatch"
                    reason = (
                        f"`{col.name}` ({caff}) is compared with "
                        f"`{_bare(o).name}` ({oaff}): the numeric affinity wins, so "
                        f"`{col.name}`'s index cannot be used for the join"
                    )
                    new_other = exp.Cast(
                        this=o.copy(), to=exp.DataType.build("TEXT" if caff == "TEXT" else "INT")
                    )
            elif isinstance(o, exp.Collate):
                coll = o.expression.name.upper()
                icoll = next(
                    c for c in cands[0].key_columns if c.name and c.name.lower() == col.name.lower()
                ).collation.upper()
                if coll != icoll:
                    rule = "collation_mismatch"
                    reason = (
                        f"the comparison uses COLLATE {coll}, {cands[0].name} orders "
                        f"`{col.name}` with {icoll}"
                    )
                    new_other = o.this.copy()
                    ddl = index_ddl(table, [f"{quote_ident(col.name)} COLLATE {coll}"])
                    _try_index(
                        ctx,
                        _Site(rule, table, col.name, cands[0].name, reason).fix(
                            f"fix: an index with COLLATE {coll}"
                        ),
                        [ddl],
                        _searches(col.name),
                    )
            if rule is None:
                continue
            new = term.__class__(this=side.copy(), expression=new_other)
            _try_rewrite(
                ctx,
                _Site(rule, table, col.name, cands[0].name, reason).fix(
                    "rewrite: compare with the column's own "
                    + ("affinity" if rule == "affinity_mismatch" else "collation")
                ),
                _with_where(ctx.model, replace=term, by=new),
                {},
                _searches(col.name),
            )


def _leading(ctx: _Ctx) -> None:
    for term in ctx.model.where_terms():
        if not isinstance(term, (*_CMP, exp.In)):
            continue
        col = _bare(term.this)
        if col is None or (not isinstance(term, exp.In) and _cols_in(term.expression)):
            continue
        table = ctx.model.table_of(col, ctx.cols_of)
        if table is None:
            continue
        access = _access(ctx, ctx.nodes, table)
        if not any(n.kind in ("scan_table", "scan_index", "scan_covering_index") for n in access):
            continue  # the table is searched by some index already
        eq = _eq_cols(ctx, table)
        if _leading_indexes(ctx, table, col.name, eq):
            continue  # usable index exists; other rules explain why it is not used
        for ix in ctx.schema.indexes_of(table):
            names = [c.name.lower() if c.name else None for c in ix.key_columns]
            if col.name.lower() in names[1:]:
                lead = ix.key_columns[0].name
                reason = (
                    f"{ix.name} holds `{col.name}` at position "
                    f"{names.index(col.name.lower()) + 1}, but its leading column "
                    f"`{lead}` is unconstrained (a skip-scan needs ANALYZE statistics "
                    "and few distinct leading values)"
                )
                terms = [quote_ident(col.name)] + [
                    term_sql(c)
                    for c in ix.key_columns
                    if c.name and c.name.lower() != col.name.lower()
                ]
                _try_index(
                    ctx,
                    _Site("leading_column_unconstrained", table, col.name, ix.name, reason).fix(
                        "fix: an index led by the constrained column"
                    ),
                    [index_ddl(table, terms)],
                    _searches(col.name),
                )
                break


def _or(ctx: _Ctx) -> None:
    for term in ctx.model.where_terms():
        if not isinstance(term, exp.Or):
            continue
        branches = list(flatten_or(term))
        cols = []
        for b in branches:
            bt = list(flatten_and(b))
            c = _bare(bt[0].this) if isinstance(bt[0], (*_CMP, exp.In)) else None
            cols.append(c)
        if any(c is None for c in cols):
            continue
        tables = {ctx.model.table_of(c, ctx.cols_of) for c in cols}
        names = {c.name.lower() for c in cols}
        if len(tables) != 1 or None in tables or len(names) < 2:
            continue
        table = tables.pop()
        if any(n.kind == "multi_index_or" for n in ctx.nodes):
            continue
        missing = [n for n in sorted(names) if not _leading_indexes(ctx, table, n, set())]
        reason = (
            f"OR over different columns ({', '.join(sorted(names))}): SQLite can use "
            "indexes only if every branch has one (MULTI-INDEX OR)"
        )
        if not missing:
            continue
        reason += f"; no index is led by {', '.join(missing)}"
        _try_index(
            ctx,
            _Site("or_across_columns", table, ", ".join(missing), None, reason).fix(
                "fix: index the missing branch column(s)"
            ),
            [index_ddl(table, [quote_ident(m)]) for m in missing],
            lambda a: any(n.kind == "multi_index_or" for n in a),
        )


def _order_by(ctx: _Ctx) -> None:
    sorts = [n for n in ctx.nodes if n.kind == "temp_btree" and "ORDER BY" in (n.purpose or "")]
    table = ctx.model.single_table()
    order = ctx.model.order_terms()
    if not sorts or table is None or not order or not ctx.schema.has_table(table):
        return
    ocols = []
    for o in order:
        inner = o.this
        coll = None
        if isinstance(inner, exp.Collate):
            coll = inner.expression.name.upper()
            inner = inner.this
        c = _bare(inner)
        if c is None:
            return
        ocols.append((c.name, bool(o.args.get("desc")), coll))
    eq = _eq_cols(ctx, table)
    eq_in_order = [
        c
        for t in ctx.model.where_terms()
        if isinstance(t, exp.EQ)
        for c in [_bare(t.this)]
        if c is not None and c.name.lower() in eq and not _cols_in(t.expression)
    ]
    eqnames = list(dict.fromkeys(c.name for c in eq_in_order))
    reasons = []
    for ix in ctx.schema.indexes_of(table):
        keys = [c for c in ix.key_columns if c.name]
        rest = [c for c in keys if c.name.lower() not in {e.lower() for e in eqnames}]
        if len(rest) < len(ocols) or [c.name.lower() for c in rest[: len(ocols)]] != [
            o[0].lower() for o in ocols
        ]:
            continue
        flips = {c.desc != o[1] for c, o in zip(rest, ocols, strict=False)}
        colls = [
            (c.collation or "BINARY").upper() != (o[2] or c.collation or "BINARY").upper()
            for c, o in zip(rest, ocols, strict=False)
        ]
        if len(flips) > 1:
            reasons.append(
                f"{ix.name} has the columns but mixed directions (ORDER BY "
                "directions must all match the index or all be reversed)"
            )
        elif any(colls):
            reasons.append(f"{ix.name} has the columns but another collation")
        elif ix.partial:
            reasons.append(
                f"{ix.name} delivers the order but is partial and the query does "
                "not imply its WHERE"
            )
        else:
            reasons.append(
                f"{ix.name} delivers the order but the planner preferred another "
                "access path (e.g. a range or IN on an earlier column)"
            )
    if not reasons:
        reasons.append(
            "no index has the equality-constrained columns followed by the ORDER BY columns"
        )
    terms = [quote_ident(e) for e in eqnames] + [
        quote_ident(c) + (f" COLLATE {coll}" if coll else "") + (" DESC" if d else "")
        for c, d, coll in ocols
    ]
    _try_index(
        ctx,
        _Site(
            "order_by_not_served", table, ", ".join(o[0] for o in ocols), None, "; ".join(reasons)
        ).fix("fix: an index on (equality columns, ORDER BY columns)"),
        [index_ddl(table, terms)],
        _no_sort,
    )


RULE_FUNCS = (_like, _partial, _functions, _affinity_collation, _leading, _or, _order_by)


def diagnose_query(
    conn: sqlite3.Connection,
    name: str,
    sql: str,
    params: Sequence[tuple],
    *,
    schema: SchemaInfo | None = None,
    executions: int = 50,
    hypo: sqlite3.Connection | None = None,
    min_effect: float = MIN_EFFECT,
    seconds: float | None = None,
) -> list[dict]:
    """Diagnostics of one query (dicts with DIAGNOSTIC_COLUMNS keys); `seconds`: the time
    budget of each rewrite's comparison (`measure.interleave.ab`), None for none."""
    schema = schema or introspect(conn)
    params = list(params) or [()]
    model = parse_query(sql, name)
    nodes = explain(conn, sql, params[0])
    ctx = _Ctx(conn, schema, name, model, params, nodes, executions, hypo, min_effect, seconds)
    if model.select is None:
        return [
            _not_analysed(ctx, "not a plain SELECT: the diagnostics read SELECT statements only")
        ]
    for rule in RULE_FUNCS:
        try:
            rule(ctx)
        except (sqlite3.Error, KeyError, AttributeError, ValueError, IndexError, TypeError) as exc:
            ctx.out.append(
                _not_analysed(
                    ctx,
                    f"rule {rule.__name__.strip('_')} could not analyse this "
                    f"query: {type(exc).__name__}: {exc}",
                )
            )
    if ctx.hypo is not None and hypo is None:
        ctx.out.extend(skipped_rows(ctx.hypo, name))
        ctx.hypo.close()
    return ctx.out


def skipped_rows(hypo: sqlite3.Connection, query: str) -> list[dict]:
    """A not_analysed row per schema object the hypothetical database lacks: its what-if
    plans were read without it, and the report must say so."""
    return [
        {
            **{k: None for k in DIAGNOSTIC_COLUMNS},
            "query": query,
            "diagnostic": "not_analysed",
            "table": s["name"] if s["type"] == "table" else None,
            "index": s["name"] if s["type"] == "index" else None,
            "reason": f"hypothetical database: {s['type']} {s['name']} {s['reason']}; "
            "what-if plans were read without it",
            "fix_kind": "none",
            "plan_before": "",
            "confirmed": False,
            "equivalent": "n/a",
            "p50_before_ms": np.nan,
            "p50_after_ms": np.nan,
            "speedup": np.nan,
            "recommended": False,
        }
        for s in getattr(hypo, "skipped", [])
    ]


def diagnose(
    conn: sqlite3.Connection,
    workload,
    params: Mapping[str, Sequence[tuple]],
    *,
    executions: int = 50,
    min_effect: float = MIN_EFFECT,
    seconds: float | None = None,
) -> pd.DataFrame:
    """Every workload query diagnosed (columns: DIAGNOSTIC_COLUMNS); schema objects the
    hypothetical database could not hold come first, as not_analysed rows."""
    schema = introspect(conn)
    hypo = hypothetical(conn)
    out: list[dict] = skipped_rows(hypo, "(all queries)")
    try:
        for q in workload.queries:
            out.extend(
                diagnose_query(
                    conn,
                    q.name,
                    q.sql,
                    params.get(q.name) or [()],
                    schema=schema,
                    executions=executions,
                    hypo=hypo,
                    min_effect=min_effect,
                    seconds=seconds,
                )
            )
    finally:
        hypo.close()
    return _typed(pd.DataFrame(out, columns=list(DIAGNOSTIC_COLUMNS)))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts stay whole numbers beside the rows without them (not 40.0 and NaN)."""
    frame["executions"] = frame["executions"].astype("Int64")
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame_records(frame)


def from_records(recs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """`diagnose`'s frame back from its saved records (`records`)."""
    return _typed(pd.DataFrame([dict(r) for r in recs], columns=list(DIAGNOSTIC_COLUMNS)))


def inputs_key(
    database: str,
    workload,
    params: Mapping[str, Sequence[tuple]],
    *,
    min_effect: float = MIN_EFFECT,
) -> str:
    """A hash of what `diagnose` concludes from: the database (its content key), each
    query's name and SQL, every parameter tuple it is given, and the minimum effect. The
    same key, the same diagnoses: the executions and time budget only set how precisely a
    rewrite is timed, so notebook 03 reuses notebook 01's diagnoses when the keys match."""
    what = (
        database,
        [(q.name, q.sql, [tuple(p) for p in params.get(q.name) or [()]]) for q in workload.queries],
        float(min_effect),
    )
    return hashlib.sha256(repr(what).encode()).hexdigest()
