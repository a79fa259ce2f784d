"""Statement normalization like pg_stat_statements: every constant in a value position
becomes a ``?`` parameter, and statements that differ only in those constants share a
*shape*.

``normalize("SELECT * FROM users WHERE email = 'a@b.c' AND id IN (1, 2, 3) LIMIT 10")``
gives the statement ``SELECT * FROM users WHERE email = ? AND id IN (?, ?, ?) LIMIT ?``
whose shape folds the IN list (``... id IN ( ? ) ...``), and whose parameter slots hold
the literal values ``('a@b.c', 1, 2, 3, 10)``. The application's own placeholders (``?``,
``?NNN``, ``:name``, ``@name``) become ``?`` slots that take their value from the call's
parameters (:meth:`Normalized.bind`), so the DB-API text and SQLite's expanded trace
text of one statement normalize to the same shape.

Constants: numbers (``-5``, ``2.5e3``, hex ``0x1F``), strings, BLOBs ``x'..'``, ``NULL``
and ``TRUE``/``FALSE`` outside ``IS [NOT]``. Value positions: operands of comparisons,
IN lists, BETWEEN, LIKE/GLOB, VALUES rows, SET assignments, LIMIT and OFFSET. Constants
that shape the statement stay: function arguments (``json_extract(data, '$.a')``, which
an expression index may match), arithmetic, ``ORDER BY 1``, ``1 = 1``.

How, and why it is cheap: the statement is tokenized (sqlglot, dialect sqlite); every
candidate token is replaced by a named placeholder ``:__pN`` (N its token index) and the
result parsed once *per token shape* (the token sequence with constants blanked), which
says which candidates sit in value positions. Statements that differ only in constants
reuse that analysis; statements with the same text reuse everything (:func:`normalize` is
cached). The ``?`` are spliced into the *original* text, so quoted identifiers, JSON
operators and SQLite-only syntax are kept byte for byte.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["Normalized", "normalize"]

QUERY, WRITE, OTHER, UNPARSED = "query", "write", "other", "unparsed"

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Normalized:
    """One statement text, normalized."""

    sql: str  # the original text with every parameter written as ?
    shape: str  # grouping key: tokens with parameters as ?, IN lists folded to one ?
    kind: str  # query | write | other | unparsed
    slots: tuple[tuple[str, Any], ...] = ()  # per ?: ("lit", value) | ("arg", i) | ("name", n)
    verb: str = ""  # select / insert / update / delete / ... (lower case)
    table: str = ""  # the first table the statement names
    param_columns: tuple[str | None, ...] = ()  # per ?: the column it is compared with / fills
    insert_columns: tuple[str, ...] = ()  # INSERT INTO t (a, b): ('a', 'b')
    in_lists: tuple[int, ...] = ()  # length of each folded IN list, in text order
    error: str = ""  # why it could not be parsed
    begin_mode: str = ""  # BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] for transaction control
    values: tuple = field(init=False)  # the constants' values, in parameter order
    unbound: int = field(init=False)  # the application's own placeholders (from the call)
    _direct: bool = field(init=False, repr=False)  # the call's tuple is the parameters

    def __post_init__(self) -> None:
        # computed once: bind() runs for every recorded call
        set_ = object.__setattr__
        set_(self, "values", tuple(v for k, v in self.slots if k == "lit"))
        set_(self, "unbound", sum(1 for k, _ in self.slots if k != "lit"))
        set_(self, "_direct", self.slots == tuple(("arg", i) for i in range(len(self.slots))))

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.param_columns if c)

    def bind(self, params: Any) -> tuple:
        """The statement's parameter values for one call's ``params`` (tuple or mapping)."""
        if not self.unbound:
            return self.values
        if self._direct and type(params) in (tuple, list) and len(params) == len(self.slots):
            return tuple(params)
        out = []
        for k, v in self.slots:
            if k == "lit":
                out.append(v)
            elif k == "arg":
                out.append(params[v])
            else:
                out.append(params[v])
        return tuple(out)


@dataclass
class _Analysis:
    """What one parse says about a token shape (token indices of the parameters)."""

    kind: str
    verb: str = ""
    table: str = ""
    params: dict[int, str | None] = field(default_factory=dict)  # token index -> column
    negated: set[int] = field(default_factory=set)  # token indices preceded by a minus
    in_groups: list[tuple[int, int]] = field(default_factory=list)  # first/last token index
    insert_columns: tuple[str, ...] = ()
    begin_mode: str = ""
    error: str = ""


def _sqlglot():
    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    return sqlglot, exp


@lru_cache(maxsize=1)
def _tokenizer():
    from sqlglot.dialects.sqlite import SQLite
    from sqlglot.tokens import TokenType as T

    literal = {T.NUMBER, T.STRING, T.HEX_STRING, T.NULL, T.TRUE, T.FALSE}
    return SQLite(), T, literal


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


def _param_position(node, exp) -> bool:
    """Is this literal placeholder (or negated one) in a value position?"""
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
        while isinstance(other, exp.Paren | exp.Neg):
            other = other.this
        return not (isinstance(other, exp.Placeholder) and str(other.this).startswith("__l"))
    if isinstance(parent, exp.In | exp.Between):
        return node is not parent.this
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        return True
    return isinstance(parent, exp.Limit | exp.Offset)


def _column_for(node, exp, insert_columns: tuple[str, ...]) -> str | None:
    parent = node.parent
    while isinstance(parent, exp.Paren | exp.Neg):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        i = next((k for k, e in enumerate(parent.expressions) if e is node), -1)
        return insert_columns[i] if 0 <= i < len(insert_columns) else None
    if isinstance(parent, exp.Binary | exp.In | exp.Between):
        other = parent.this if parent.this is not node else getattr(parent, "expression", None)
        if isinstance(other, exp.Column):
            return other.name
    return None


def _first_word_kind(text: str) -> tuple[str, str]:
    word = text.split(None, 1)[0].lower() if text.split() else ""
    if word in ("select", "with", "values"):
        return QUERY, "select"
    if word in ("insert", "update", "delete", "replace"):
        return WRITE, "insert" if word == "replace" else word
    if word in ("begin", "commit", "end", "rollback", "savepoint", "release", "pragma"):
        return OTHER, {"end": "commit"}.get(word, word)
    return UNPARSED, ""


def _analyse(parse_text: str, T) -> _Analysis:
    """Parse the placeholder text once: kind, table, which placeholders are parameters."""
    sqlglot, exp = _sqlglot()
    try:
        trees = [t for t in sqlglot.parse(parse_text, read="sqlite") if t is not None]
    except Exception as exc:  # sqlglot raises ParseError / TokenError and friends
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _Analysis(UNPARSED, error=msg)
    if len(trees) != 1:
        return _Analysis(UNPARSED, error=f"{len(trees)} statements")
    tree = trees[0]
    if isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        kind, verb = QUERY, "select"
    elif isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        kind, verb = WRITE, type(tree).__name__.lower()
    elif isinstance(tree, _statement_types(exp)):
        kind, verb = OTHER, type(tree).__name__.lower()
    else:  # e.g. "selec x" parses as an alias: not a statement
        return _Analysis(UNPARSED, error="not a SQL statement")
    a = _Analysis(kind, verb)
    if kind == OTHER:
        if verb == "transaction":
            words = parse_text.upper().split()
            a.begin_mode = next(
                (w for w in words[1:3] if w in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")), "DEFERRED"
            )
        return a
    a.table = next((t.name for t in tree.find_all(exp.Table)), "")
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        a.insert_columns = tuple(
            c.name for c in tree.this.expressions if isinstance(c, exp.Identifier | exp.Column)
        )
    for ph in tree.find_all(exp.Placeholder):
        name = str(ph.this or "")
        if not name.startswith(("__l", "__a")):
            continue
        idx = int(name[3:])
        node = ph.parent if isinstance(ph.parent, exp.Neg) else ph
        if name.startswith("__l") and not _param_position(node, exp):
            continue
        if node is not ph:
            if name.startswith("__a"):
                continue  # -? : the minus stays in the text
            a.negated.add(idx)
        a.params[idx] = _column_for(node, exp, a.insert_columns)
    for in_ in tree.find_all(exp.In):
        members = in_.expressions
        idxs = []
        for m in members:
            m = m.this if isinstance(m, exp.Neg) else m
            name = str(m.this or "") if isinstance(m, exp.Placeholder) else ""
            if not name.startswith(("__l", "__a")) or int(name[3:]) not in a.params:
                idxs = []
                break
            idxs.append(int(name[3:]))
        if idxs:
            a.in_groups.append((min(idxs), max(idxs)))
    return a


def _literal_value(text: str, tok, T, negated: bool) -> Any:
    tt = tok.token_type
    if tt == T.NULL:
        return None
    if tt in (T.TRUE, T.FALSE):
        return int(tt == T.TRUE)
    if tt == T.STRING:
        return tok.text
    if tt == T.HEX_STRING:
        raw = text[tok.start : tok.end + 1]
        if raw[:1] in "xX" and raw[1:2] == "'":
            return bytes.fromhex(tok.text)
        v = int(tok.text, 16)  # SQLite: a 64-bit two's complement pattern
        v = v - 2**64 if v > _I64_MAX else v
        return -v if negated else v
    s = tok.text
    try:
        v: Any = int(s)
        v = -v if negated else v
        if not _I64_MIN <= v <= _I64_MAX:
            v = float(v)  # SQLite reads an integer literal out of range as REAL
        return v
    except ValueError:
        v = float(s)
        return -v if negated else v


def _template(text: str, tokens, T, literal) -> tuple[str, list[tuple[int, int, str]]]:
    """The text with each candidate replaced by ``:__lN`` (a constant) or ``:__aN`` (the
    application's placeholder); the candidates as (first token, last token, kind)."""
    cands: list[tuple[int, int, str]] = []
    n = len(tokens)
    i = 0
    positional = 0
    while i < n:
        t = tokens[i]
        tt = t.token_type
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1].token_type if i else None
        if tt == T.PLACEHOLDER:
            if nxt is not None and nxt.token_type == T.NUMBER and nxt.start == t.end + 1:
                cands.append((i, i + 1, f"arg:{int(nxt.text) - 1}"))
                i += 2
                continue
            cands.append((i, i, f"arg:{positional}"))
            positional += 1
        elif (
            tt in (T.COLON, T.PARAMETER)
            and nxt is not None
            and nxt.token_type == T.VAR
            and nxt.start == t.end + 1
        ):
            cands.append((i, i + 1, f"name:{nxt.text}"))
            i += 2
            continue
        elif tt in literal and not (tt in (T.NULL, T.TRUE, T.FALSE) and prev in (T.IS, T.NOT)):
            cands.append((i, i, "lit"))
        i += 1
    out, pos = [], 0
    for first, last, what in cands:
        out.append(text[pos : tokens[first].start])
        out.append(f" :__{'l' if what == 'lit' else 'a'}{first} ")
        pos = tokens[last].end + 1
    out.append(text[pos:])
    return "".join(out), cands


_ANALYSES: dict[tuple, _Analysis] = {}


def _analysis_for(key: tuple, parse_text: str, T) -> _Analysis:
    """One parse per token shape: texts that differ only in constants share it."""
    a = _ANALYSES.get(key)
    if a is None:
        if len(_ANALYSES) > 20000:
            _ANALYSES.clear()
        a = _ANALYSES[key] = _analyse(parse_text, T)
    return a


@lru_cache(maxsize=65536)
def normalize(sql: str) -> Normalized:
    """Normalize one statement text (see the module docstring). Never raises on bad SQL:
    the result's kind is 'unparsed' and ``error`` says why."""
    text = sql.strip().rstrip(";").strip()
    if text[:7].lower() == "replace" and text[7:8].isspace():
        # SQLite's REPLACE is its alias for INSERT OR REPLACE (sqlitedict writes with it);
        # sqlglot reads the bare form as an opaque command, which would drop every such write
        text = "INSERT OR REPLACE" + text[7:]
    dialect, T, literal = _tokenizer()
    try:
        tokens = dialect.tokenize(text)
    except Exception as exc:
        return Normalized(text, " ".join(text.split()), UNPARSED, error=str(exc).split("\n")[0])
    parse_text, cands = _template(text, tokens, T, literal)
    cand_at = {c[0]: c for c in cands}
    key = tuple(
        (t.token_type, "" if i in cand_at else t.text.lower()) for i, t in enumerate(tokens)
    )
    a = _analysis_for(key, parse_text, T)
    if a.kind == UNPARSED:
        kind, verb = _first_word_kind(text)
        if kind == UNPARSED:
            return Normalized(text, " ".join(text.split()), UNPARSED, error=a.error)
        # sqlglot cannot parse it but it is plainly a statement: the application's own
        # placeholders stay parameters, constants stay as written
        a = _Analysis(kind, verb, error=a.error)
        if kind != OTHER:
            a.params = {c[0]: None for c in cands if c[2] != "lit"}
    # splice ? into the original text, build the shape from tokens
    skip_dash = {i - 1 for i in a.negated}
    slots: list[tuple[str, Any]] = []
    cols: list[str | None] = []
    out, pos = [], 0
    in_first = {f: last for f, last in a.in_groups}
    in_lists: list[int] = []
    shape: list[str] = []

    def take(i: int) -> int:
        """Splice ? for the parameter starting at token i; the next token index."""
        nonlocal pos
        first, last, _what = cand_at[i]
        _slot(slots, cols, text, tokens, T, a, cand_at[i])
        start = tokens[i - 1].start if i in a.negated else tokens[first].start
        out.append(text[pos:start])
        out.append("?")
        pos = tokens[last].end + 1
        return last + 1

    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if i in in_first:
            last_tok = cand_at[in_first[i]][1]
            in_lists.append(sum(1 for c in cands if i <= c[0] <= in_first[i]))
            shape.append("?")
            while i <= last_tok:
                i = take(i) if i in cand_at and i in a.params else i + 1
            continue
        if i in skip_dash:
            i += 1
            continue
        if i in cand_at and i in a.params:
            shape.append("?")
            i = take(i)
            continue
        tt = tok.token_type
        if tt == T.STRING:
            shape.append("'" + tok.text.replace("'", "''") + "'")
        elif tt == T.HEX_STRING:
            shape.append(text[tok.start : tok.end + 1])
        else:
            shape.append(tok.text.lower() if tt != T.IDENTIFIER else f'"{tok.text}"')
        i += 1
    out.append(text[pos:])
    return Normalized(
        sql="".join(out),
        shape=" ".join(shape),
        kind=a.kind,
        slots=tuple(slots),
        verb=a.verb,
        table=a.table,
        param_columns=tuple(cols),
        insert_columns=a.insert_columns,
        in_lists=tuple(in_lists),
        error=a.error,
        begin_mode=a.begin_mode,
    )


def _slot(slots, cols, text, tokens, T, a: _Analysis, cand) -> None:
    first, _last, what = cand
    if what == "lit":
        slots.append(("lit", _literal_value(text, tokens[first], T, first in a.negated)))
    elif what.startswith("arg:"):
        slots.append(("arg", int(what[4:])))
    else:
        slots.append(("name", what[5:]))
    cols.append(a.params.get(first))
