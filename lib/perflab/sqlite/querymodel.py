"""A workload query as a parse tree (sqlglot, dialect sqlite) and rewrites of it.

Shared by the plan findings, the "why not the index" diagnostics and the advisor.
Positional ``?`` parameters are numbered by their position in the text (``:p1``,
``:p2`` ...) before parsing, so a rewrite can move, repeat or add parameters and
still be executed with a plain tuple: :func:`render` turns the tree back into
positional SQL plus a function mapping the original parameter tuple to the new one.

Known limit: sqlglot drops a unary ``+`` (``+col = 1`` parses as ``col = 1``), so
the "unary plus disables the index" trick is invisible to these rules.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import TokenType

from perflab.errors import PerflabError

_DIALECT = SQLite()
log = logging.getLogger("sqlglot")


def number_placeholders(sql: str) -> tuple[str, int]:
    """Replace each bare ``?`` (outside strings and identifiers) by ``:p1``, ``:p2`` ..."""
    toks = _DIALECT.tokenize(sql)
    out, pos, n = [], 0, 0
    for t in toks:
        if t.token_type == TokenType.PLACEHOLDER and t.text == "?":
            n += 1
            out.append(sql[pos : t.start])
            out.append(f":p{n}")
            pos = t.end + 1
    out.append(sql[pos:])
    return "".join(out), n


def _to_positional(sql: str) -> tuple[str, list[str]]:
    """``:name`` placeholders back to ``?``, with the names in textual order."""
    toks = _DIALECT.tokenize(sql)
    out, pos, names = [], 0, []
    for a, b in zip(toks, toks[1:], strict=False):
        if a.token_type == TokenType.COLON and b.end + 1 <= len(sql) and a.end + 1 == b.start:
            names.append(b.text)
            out.append(sql[pos : a.start])
            out.append("?")
            pos = b.end + 1
    out.append(sql[pos:])
    return "".join(out), names


ParamFn = Callable[[tuple], tuple]


@dataclass
class QueryModel:
    """One SELECT statement parsed; aliases resolved to table names (lower-case keys)."""

    sql: str
    tree: exp.Expression
    nparams: int
    tables: dict[str, str] = field(default_factory=dict)  # alias or name -> table

    @property
    def select(self) -> exp.Select | None:
        return self.tree if isinstance(self.tree, exp.Select) else None

    def where_terms(self) -> list[exp.Expression]:
        """Top-level AND terms of the outer WHERE."""
        s = self.select
        if s is None or s.args.get("where") is None:
            return []
        return list(flatten_and(s.args["where"].this))

    def order_terms(self) -> list[exp.Ordered]:
        s = self.select
        if s is None or s.args.get("order") is None:
            return []
        return list(s.args["order"].expressions)

    def has_limit(self) -> bool:
        s = self.select
        return s is not None and s.args.get("limit") is not None

    def single_table(self) -> str | None:
        """The only table of a one-table SELECT (no joins, no subqueries in FROM)."""
        s = self.select
        if s is None or s.args.get("joins"):
            return None
        frm = s.args.get("from_") or s.args.get("from")
        if frm is None or not isinstance(frm.this, exp.Table):
            return None
        return frm.this.name

    def table_of(self, col: exp.Column, columns_of: Callable[[str], set[str]]) -> str | None:
        """Table a column belongs to: by qualifier, else the unique table having it."""
        if col.table:
            return self.tables.get(col.table.lower())
        owners = {t for t in set(self.tables.values()) if col.name.lower() in columns_of(t)}
        return owners.pop() if len(owners) == 1 else None

    def render(
        self,
        tree: exp.Expression | None = None,
        extra: dict[str, Callable[[tuple], Any]] | None = None,
    ) -> tuple[str, ParamFn]:
        """Positional SQL for `tree` (default: this query) and the parameter mapping."""
        return render(tree if tree is not None else self.tree, extra or {})


def _flatten(e: exp.Expression, op: type[exp.Connector]):
    """The operands of a chain of `op` (AND or OR), parentheses removed, left to right."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, op):
        yield from _flatten(e.this, op)
        yield from _flatten(e.expression, op)
    else:
        yield e


def flatten_and(e: exp.Expression):
    """The terms of an AND chain (``a AND (b AND c)`` -> a, b, c)."""
    return _flatten(e, exp.And)


def flatten_or(e: exp.Expression):
    """The branches of an OR chain (``a OR (b OR c)`` -> a, b, c)."""
    return _flatten(e, exp.Or)


def parse_query(sql: str, name: str = "query") -> QueryModel:
    """Parse one statement; PerflabError naming the query if sqlglot cannot."""
    named, n = number_placeholders(sql)
    old = log.level
    log.setLevel(logging.CRITICAL)
    try:
        tree = sqlglot.parse_one(named, read="sqlite")
    except Exception as exc:  # sqlglot raises several error types
        raise PerflabError(
            f"query {name!r}: cannot parse SQL: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        log.setLevel(old)
    tables: dict[str, str] = {}
    for t in tree.find_all(exp.Table):
        if t.name:
            tables[t.name.lower()] = t.name
            if t.alias:
                tables[t.alias.lower()] = t.name
    return QueryModel(sql, tree, n, tables)


def render(tree: exp.Expression, extra: dict[str, Callable[[tuple], Any]]) -> tuple[str, ParamFn]:
    """SQL text with ``?`` parameters, and a function original tuple -> new tuple.

    Placeholders ``:pN`` take the N-th original parameter; any other name must be
    in `extra`, a function computing that value from the original tuple.
    """
    sql, names = _to_positional(tree.sql(dialect="sqlite"))

    def fn(p: tuple) -> tuple:
        out = []
        for nm in names:
            if nm in extra:
                out.append(extra[nm](p))
            elif nm.startswith("p") and nm[1:].isdigit():
                out.append(p[int(nm[1:]) - 1])
            else:
                raise PerflabError(f"rewrite uses unknown parameter :{nm}")
        return tuple(out)

    return sql, fn


def param_value(e: exp.Expression, params: Sequence) -> tuple[bool, Any]:
    """(known, value) of a literal or an original placeholder under `params`."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Placeholder) and str(e.this or "").startswith("p"):
        i = int(str(e.this)[1:]) - 1
        return (True, params[i]) if 0 <= i < len(params) else (False, None)
    if isinstance(e, exp.Literal):
        if e.is_string:
            return True, e.this
        try:
            return True, int(e.this)
        except ValueError:
            return True, float(e.this)
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
        ok, v = param_value(e.this, params)
        return ok, -v
    if isinstance(e, exp.Null):
        return True, None
    if isinstance(e, exp.Boolean):
        return True, int(bool(e.this))
    return False, None


def literal(value: Any) -> exp.Expression:
    """A sqlglot literal for a Python value."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, bytes):
        return exp.HexString(this=value.hex())
    return exp.Literal.string(str(value))


def inline_params(model: QueryModel, params: Sequence) -> str:
    """The statement with its parameters written as literals (for tools that take SQL text)."""
    tree = model.tree.copy()
    for ph in list(tree.find_all(exp.Placeholder)):
        ok, v = param_value(ph, params)
        ph.replace(literal(v) if ok else exp.Null())
    return tree.sql(dialect="sqlite")


def matched_rows(conn: sqlite3.Connection, model: QueryModel, params: Sequence) -> int | None:
    """Rows the outer SELECT produces before DISTINCT/GROUP BY/ORDER BY/LIMIT: the
    rows a temp B-tree sorts or a lookup fetches. None for shapes it can't count."""
    s = model.select
    if s is None:
        return None
    t = s.copy()
    for k in ("order", "limit", "offset", "group", "having", "distinct"):
        t.set(k, None)
    t.set("expressions", [exp.Literal.number(1)])
    sql, fn = render(exp.select("count(*)").from_(t.subquery("_q")), {})
    try:
        return int(conn.execute(sql, fn(tuple(params))).fetchone()[0])
    except (sqlite3.Error, IndexError):
        return None


def columns_used(
    model: QueryModel, table: str, columns_of: Callable[[str], set[str]]
) -> set[str] | None:
    """Lower-case columns of `table` the query reads anywhere; None for ``SELECT *``
    (or ``t.*``) on that table, meaning every column."""
    for star in model.tree.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Column) and parent.table:
            if model.tables.get(parent.table.lower()) == table:
                return None
        elif isinstance(parent, exp.Select):
            return None
    cols = set()
    for c in model.tree.find_all(exp.Column):
        if isinstance(c.this, exp.Star):
            continue
        if model.table_of(c, columns_of) == table:
            cols.add(c.name.lower())
    return cols


@dataclass(frozen=True)
class ParamColumn:
    """The column a ``?`` is compared with: `op` is eq, ne, range, like, in or between."""

    table: str
    column: str
    op: str


_OPS: dict[type, str] = {
    exp.EQ: "eq",
    exp.NullSafeEQ: "eq",
    exp.NEQ: "ne",
    exp.NullSafeNEQ: "ne",
    exp.GT: "range",
    exp.GTE: "range",
    exp.LT: "range",
    exp.LTE: "range",
    exp.Like: "like",
    exp.Glob: "like",
    exp.In: "in",
    exp.Between: "between",
}


def param_columns(
    model: QueryModel, columns_of: Callable[[str], set[str]]
) -> list[ParamColumn | None]:
    """Per ``?`` (in text order): the table column it is compared with (``col = ?``,
    ``? < col``, ``col IN (?, ?)``, ``col LIKE ?``, ``col BETWEEN ? AND ?``), or None
    (LIMIT, expressions, columns whose table is ambiguous)."""
    out: list[ParamColumn | None] = [None] * model.nparams
    for ph in model.tree.find_all(exp.Placeholder):
        name = str(ph.this or "")
        if not (name.startswith("p") and name[1:].isdigit()):
            continue
        node, parent = ph, ph.parent
        while isinstance(parent, exp.Paren):
            node, parent = parent, parent.parent
        op = _OPS.get(type(parent))
        if op is None:
            continue
        other = parent.this
        if op in ("in", "between"):
            if node is parent.this:
                continue  # ? IN (...): the parameter is not compared with one column
        elif other is node:
            other = parent.expression
        while isinstance(other, exp.Paren):
            other = other.this
        if not isinstance(other, exp.Column) or isinstance(other.this, exp.Star):
            continue
        table = model.table_of(other, columns_of)
        if table is not None and other.name.lower() in columns_of(table):
            out[int(name[1:]) - 1] = ParamColumn(table, other.name, op)
    return out
