"""Statement normalization: literals become ``?`` parameters, found by a real SQL parser.

``normalize("SELECT * FROM users WHERE email = 'a@b.c' LIMIT 10")`` returns the
statement ``SELECT * FROM users WHERE email = ? LIMIT ?`` with values
``('a@b.c', 10)``, its kind (query / write / other) and a *shape* key that groups
statements differing only in those values, in whitespace or in keyword case.

sqlglot (dialect ``sqlite``) parses the statement; the ``?`` are spliced into the
*original* text at the literals' source positions, so everything else (quoted
identifiers, JSON operators, SQLite-only syntax) is kept byte for byte rather than
regenerated. Only literals in *value* positions become parameters: operands of
comparisons, IN lists, BETWEEN, LIKE/GLOB, VALUES rows, SET assignments, LIMIT
and OFFSET. Literals that shape the statement stay: function arguments
(``json_extract(data, '$.a')``, which an expression index may match),
arithmetic, ``ORDER BY 1``, ``1 = 1``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

__all__ = ["Normalized", "normalize"]

QUERY, WRITE, OTHER, UNPARSED = "query", "write", "other", "unparsed"


@dataclass(frozen=True)
class Normalized:
    """One statement, normalized."""

    sql: str  # the original text with each parameterized literal replaced by ?
    shape: str  # grouping key: canonical text of the normalized statement
    kind: str  # query | write | other | unparsed
    values: tuple[Any, ...]  # the literals' values, in parameter order
    verb: str = ""  # select / insert / update / delete / ... (lower case)
    table: str = ""  # the first table the statement names
    columns: tuple[str, ...] = ()  # columns compared with parameters, in order
    unbound: int = 0  # '?' or ':name' placeholders already in the text (values unknown)
    insert_columns: tuple[str, ...] = ()  # INSERT INTO t (a, b): ('a', 'b')
    error: str = ""  # why it could not be parsed


def _sqlglot():
    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    return sqlglot, exp


def _statement_types(exp) -> tuple:
    names = (
        "Transaction",
        "Commit",
        "Rollback",
        "Pragma",
        "Create",
        "Drop",
        "Command",
        "Alter",
        "Analyze",
        "Attach",
        "Detach",
        "Set",
        "Use",
        "Describe",
        "Merge",
    )
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


def _value(lit) -> Any:
    if lit.is_string:
        return lit.this
    text = str(lit.this)
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _param_position(node, exp) -> bool:
    """Is this literal (or negated literal) in a value position?"""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if parent is None:
        return False
    comparisons = (
        exp.EQ,
        exp.NEQ,
        exp.GT,
        exp.GTE,
        exp.LT,
        exp.LTE,
        exp.Like,
        exp.ILike,
        exp.Glob,
        exp.NullSafeEQ,
        exp.NullSafeNEQ,
    )
    if isinstance(parent, comparisons):
        other = parent.expression if parent.this is node else parent.this
        return not isinstance(other, exp.Literal | exp.Neg | exp.Paren)
    if isinstance(parent, exp.In):
        return node is not parent.this
    if isinstance(parent, exp.Between):
        return node is not parent.this
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        return True
    return isinstance(parent, exp.Limit | exp.Offset)


def _column_for(node, exp) -> str | None:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Binary | exp.In | exp.Between):
        other = parent.this if parent.this is not node else getattr(parent, "expression", None)
        if isinstance(other, exp.Column):
            return other.name
    return None


def normalize(sql: str) -> Normalized:
    """Normalize one statement (see the module docstring). Never raises on bad SQL: the
    result's kind is 'unparsed' and ``error`` says why."""
    sqlglot, exp = _sqlglot()
    text = sql.strip().rstrip(";").strip()
    try:
        trees = [t for t in sqlglot.parse(text, read="sqlite") if t is not None]
    except Exception as exc:  # sqlglot raises ParseError / TokenError and friends
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Normalized(text, " ".join(text.split()), UNPARSED, (), error=msg)
    if len(trees) != 1:
        return Normalized(
            text, " ".join(text.split()), UNPARSED, (), error=f"{len(trees)} statements"
        )
    tree = trees[0]
    if isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        kind, verb = QUERY, "select"
    elif isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        kind, verb = WRITE, type(tree).__name__.lower()
    elif isinstance(tree, _statement_types(exp)):
        kind, verb = OTHER, type(tree).__name__.lower()
    else:  # e.g. "selec x" parses as an alias: not a statement
        return Normalized(text, " ".join(text.split()), UNPARSED, (), error="not a SQL statement")
    spans: list[tuple[int, int, Any, str | None]] = []
    if kind != OTHER:
        for lit in tree.find_all(exp.Literal):
            node = lit.parent if isinstance(lit.parent, exp.Neg) else lit
            meta = lit.meta or {}
            if "start" not in meta or not _param_position(node, exp):
                continue
            start, end = int(meta["start"]), int(meta["end"]) + 1
            value = _value(lit)
            if node is not lit:  # -5: take the minus sign too
                k = start - 1
                while k >= 0 and text[k].isspace():
                    k -= 1
                if k < 0 or text[k] != "-" or isinstance(value, str):
                    continue
                start, value = k, -value
            spans.append((start, end, value, _column_for(node, exp)))
    spans.sort()
    out, pos = [], 0
    for start, end, _v, _c in spans:
        if start < pos:  # overlapping (should not happen): keep the statement as is
            return Normalized(text, " ".join(text.split()), kind, (), verb, error="overlap")
        out.append(text[pos:start])
        out.append("?")
        pos = end
    out.append(text[pos:])
    norm = "".join(out)
    unbound = sum(1 for _ in tree.find_all(exp.Placeholder))
    try:
        shape = sqlglot.parse_one(norm, read="sqlite").sql(dialect="sqlite")
    except Exception:
        shape = " ".join(norm.split())
    table = next((t.name for t in tree.find_all(exp.Table)), "")
    insert_columns: tuple[str, ...] = ()
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        insert_columns = tuple(
            c.name for c in tree.this.expressions if isinstance(c, exp.Identifier | exp.Column)
        )
    return Normalized(
        sql=norm,
        shape=shape,
        kind=kind,
        values=tuple(s[2] for s in spans),
        verb=verb,
        table=table,
        columns=tuple(c for *_x, c in spans if c),
        unbound=unbound,
        insert_columns=insert_columns,
    )
