"""Introspection of any SQLite schema: tables, columns, constraints and indexes.

Everything here is derived by rules from what SQLite reports (PRAGMA table_xinfo,
foreign_key_list, index_list, index_xinfo) plus the CREATE text kept in
sqlite_schema, never from table or column names, so the analyses built on it work
for any schema a user brings.

CHECK constraints are read from the CREATE TABLE text: with sqlglot when it parses
the statement, otherwise with a small tokenizer that understands SQLite's quoting
("a b", [x], `y`, 'str') and comments. Only the shapes the data generator needs are
recognised: ``col IN (literals...)``, ``json_valid(col)`` and ``col <op> number``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsio import parse_once, read_text

__all__ = [
    "ColumnInfo",
    "FkInfo",
    "IndexColumn",
    "IndexInfo",
    "SchemaInfo",
    "TableInfo",
    "affinity",
    "apply_ddl",
    "introspect",
    "introspect_ddl",
    "load_ddl",
    "quote_ident",
    "split_statements",
]


def quote_ident(name: str) -> str:
    """Quote an identifier for SQLite (double quotes, inner quotes doubled) so any name is safe."""
    return '"' + str(name).replace('"', '""') + '"'


def affinity(declared_type: str | None) -> str:
    """SQLite's column affinity for a declared type (datatype3.html section 3.1 rules, in order)."""
    t = (declared_type or "").upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


# ---------------------------------------------------------------------------------------------
# data classes


def _find(items, name: str):
    """The item called ``name``, compared case-insensitively as SQLite compares names; None."""
    low = name.lower()
    return next((i for i in items if i.name.lower() == low), None)


def _named(items, name: str, missing: str):
    """`_find`, or PerflabError(``missing``) when there is no such item."""
    found = _find(items, name)
    if found is None:
        raise PerflabError(missing)
    return found


@dataclass(frozen=True)
class ColumnInfo:
    """One column as SQLite sees it, plus the constraint facts a data generator must respect."""

    name: str
    declared_type: str
    affinity: str
    notnull: bool
    default: str | None  # SQL text of the DEFAULT expression
    pk: int  # 1-based position in the primary key, 0 if not part of it
    hidden: int = 0  # table_xinfo: 0 normal, 1 hidden (virtual), 2/3 generated
    collation: str | None = None
    check_in_values: tuple[Any, ...] | None = None
    json: bool = False
    check_min: float | None = None
    check_min_inclusive: bool = True
    check_max: float | None = None
    check_max_inclusive: bool = True

    @property
    def generated(self) -> bool:
        """True for generated (or hidden) columns, which cannot be inserted."""
        return self.hidden != 0


@dataclass(frozen=True)
class FkInfo:
    """A foreign key: child columns -> parent table's columns (resolved to its PK when implicit)."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class IndexColumn:
    """One entry of PRAGMA index_xinfo: a column, an expression (name None) or the rowid."""

    name: str | None
    desc: bool
    collation: str | None
    is_key: bool
    expression: str | None = None


@dataclass(frozen=True)
class IndexInfo:
    """An index, explicit or automatic (origin 'u'/'pk'), with its partial WHERE text."""

    name: str
    table: str
    columns: tuple[IndexColumn, ...]
    unique: bool
    origin: str  # 'c' CREATE INDEX, 'u' UNIQUE constraint, 'pk' PRIMARY KEY
    partial: bool
    where_sql: str | None
    sql: str | None

    @property
    def key_columns(self) -> tuple[IndexColumn, ...]:
        """The indexed terms, without the trailing rowid/PK columns SQLite appends."""
        return tuple(c for c in self.columns if c.is_key)

    @property
    def automatic(self) -> bool:
        """True for indexes SQLite made itself for UNIQUE / PRIMARY KEY constraints."""
        return self.origin != "c"


@dataclass(frozen=True)
class TableInfo:
    """A table with its columns, keys and the flags that change how rows are stored."""

    name: str
    columns: tuple[ColumnInfo, ...]
    foreign_keys: tuple[FkInfo, ...]
    unique_constraints: tuple[tuple[str, ...], ...]
    primary_key: tuple[str, ...]
    rowid_alias: str | None  # the INTEGER PRIMARY KEY column, if any
    without_rowid: bool
    strict: bool
    autoincrement: bool
    sql: str | None

    def column(self, name: str) -> ColumnInfo:
        """Look a column up by name (case-insensitive, as SQLite does)."""
        return _named(self.columns, name, f"table {self.name!r} has no column {name!r}")

    def has_column(self, name: str) -> bool:
        return _find(self.columns, name) is not None

    @property
    def is_rowid_alias(self) -> str | None:
        """Alias of :attr:`rowid_alias` (the brief's name)."""
        return self.rowid_alias

    @property
    def insertable_columns(self) -> tuple[ColumnInfo, ...]:
        """Columns an INSERT can set (generated/hidden ones excluded)."""
        return tuple(c for c in self.columns if not c.generated)


@dataclass(frozen=True)
class SchemaInfo:
    """Everything introspected from one database's schema."""

    tables: tuple[TableInfo, ...]
    indexes: tuple[IndexInfo, ...]
    views: tuple[str, ...] = ()
    virtual_tables: tuple[str, ...] = ()
    triggers: tuple[str, ...] = field(default=())

    def table(self, name: str) -> TableInfo:
        """Look a table up by name (case-insensitive); PerflabError naming it if absent."""
        return _named(self.tables, name, f"no table {name!r} in the schema")

    def has_table(self, name: str) -> bool:
        return _find(self.tables, name) is not None

    def indexes_of(self, table: str) -> tuple[IndexInfo, ...]:
        return tuple(i for i in self.indexes if i.table.lower() == table.lower())

    def dependency_order(self) -> tuple[str, ...]:
        """Table names with FK parents before children (self-references ignored).

        Stable: among tables ready at the same time the schema's order is kept, so
        data generation is deterministic. A cycle raises PerflabError naming its tables.
        """
        names = [t.name for t in self.tables]
        lower = {n.lower(): n for n in names}
        deps: dict[str, set[str]] = {n: set() for n in names}
        for t in self.tables:
            for fk in t.foreign_keys:
                parent = lower.get(fk.parent.lower())
                if parent is not None and parent != t.name:
                    deps[t.name].add(parent)
        order: list[str] = []
        done: set[str] = set()
        remaining = list(names)
        while remaining:
            ready = [n for n in remaining if deps[n] <= done]
            if not ready:
                cyc = ", ".join(sorted(remaining))
                raise PerflabError(f"foreign keys form a cycle among tables: {cyc}")
            for n in ready:
                order.append(n)
                done.add(n)
            remaining = [n for n in remaining if n not in done]
        return tuple(order)


# ---------------------------------------------------------------------------------------------
# DDL loading


def load_ddl(path: Path) -> str:
    """Read a DDL file; PerflabError naming the file when missing or unreadable."""
    return read_text(path, "schema file")


def apply_ddl(conn: sqlite3.Connection, ddl: str, source: str) -> None:
    """Run DDL text; a SQLite error becomes a PerflabError naming the source and statement."""
    for stmt in split_statements(ddl):
        try:
            conn.execute(stmt)
        except sqlite3.Error as e:
            first = " ".join(stmt.split())[:80]
            raise PerflabError(f"{source}: SQLite error: {e} (in: {first})") from None


def split_statements(sql: str) -> list[str]:
    """Split SQL text into complete statements (sqlite3.complete_statement decides)."""
    out: list[str] = []
    buf = ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if _strip_comments(buf).strip(" \t\r\n;"):
                out.append(buf.strip())
            buf = ""
    rest = buf[:-1]  # the ';' appended to the last piece
    if _strip_comments(rest).strip():
        out.append(rest.strip())
    return out


def _strip_comments(sql: str) -> str:
    return "".join(t.text for t in tokenize_ddl(sql))


# ---------------------------------------------------------------------------------------------
# tokenizer (fallback parser and index text)


@dataclass(frozen=True)
class _Tok:
    kind: str  # 'str', 'ident', 'word', 'num', 'op'
    text: str  # original text
    value: str  # unquoted identifier / string content / upper-case keyword
    start: int
    end: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lc>--[^\n]*)
  | (?P<bc>/\*.*?(?:\*/|\Z))
  | (?P<str>'(?:[^']|'')*')
  | (?P<dq>"(?:[^"]|"")*")
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<br>\[[^\]]*\])
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)
  | (?P<word>[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)
  | (?P<op><=|>=|<>|!=|==|\|\||<<|>>|.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize_ddl(sql: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN_RE.finditer(sql):
        kind = m.lastgroup
        text = m.group()
        if kind in ("ws", "lc", "bc"):
            continue
        if kind == "str":
            toks.append(_Tok("str", text, text[1:-1].replace("''", "'"), m.start(), m.end()))
        elif kind == "dq":
            toks.append(_Tok("ident", text, text[1:-1].replace('""', '"'), m.start(), m.end()))
        elif kind == "bq":
            toks.append(_Tok("ident", text, text[1:-1].replace("``", "`"), m.start(), m.end()))
        elif kind == "br":
            toks.append(_Tok("ident", text, text[1:-1], m.start(), m.end()))
        elif kind == "num":
            toks.append(_Tok("num", text, text, m.start(), m.end()))
        elif kind == "word":
            toks.append(_Tok("word", text, text.upper(), m.start(), m.end()))
        else:
            toks.append(_Tok("op", text, text, m.start(), m.end()))
    return toks


def _match_paren(toks: Sequence[_Tok], i: int) -> int:
    """Index of the ')' matching the '(' at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind == "op" and toks[j].text == "(":
            depth += 1
        elif toks[j].kind == "op" and toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced parentheses")


def _split_top(toks: Sequence[_Tok], sep: str = ",") -> list[list[_Tok]]:
    parts: list[list[_Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "op" and t.text == "(":
            depth += 1
        elif t.kind == "op" and t.text == ")":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text == sep:
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _ident_value(t: _Tok) -> str:
    return t.value if t.kind in ("ident", "str") else t.text


def _literal(t: _Tok) -> Any:
    if t.kind == "str":
        return t.value
    if t.kind == "num":
        return _num(t.text)
    raise ValueError("not a literal")


def _num(text: str) -> int | float:
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return float(text)


_TABLE_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


def _table_body_parts(sql: str) -> tuple[list[_Tok], list[list[_Tok]]]:
    toks = tokenize_ddl(sql)
    i = next(k for k, t in enumerate(toks) if t.kind == "op" and t.text == "(")
    j = _match_paren(toks, i)
    return toks, _split_top(toks[i + 1 : j])


@dataclass
class _CheckFacts:
    in_values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    json: set[str] = field(default_factory=set)
    bounds: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    collations: dict[str, str] = field(default_factory=dict)


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _checks_tokenizer(sql: str) -> _CheckFacts:
    """Fallback: CHECK bodies and COLLATE clauses found by tokens."""
    facts = _CheckFacts()
    _, parts = _table_body_parts(sql)
    for part in parts:
        first = part[0]
        is_column = not (first.kind == "word" and first.value in _TABLE_CONSTRAINT_WORDS)
        if is_column:
            col = _ident_value(first)
            for k, t in enumerate(part[:-1]):
                if t.kind == "word" and t.value == "COLLATE":
                    facts.collations[col.lower()] = _ident_value(part[k + 1])
        k = 0
        while k < len(part):
            t = part[k]
            if (
                t.kind == "word"
                and t.value == "CHECK"
                and k + 1 < len(part)
                and part[k + 1].text == "("
            ):
                end = _match_paren(part, k + 1)
                for conj in _split_and(part[k + 2 : end]):
                    _analyse_tokens(conj, facts)
                k = end + 1
            else:
                k += 1
    return facts


def _split_and(toks: list[_Tok]) -> list[list[_Tok]]:
    # strip one level of wrapping parens
    while toks and toks[0].text == "(" and _match_paren(toks, 0) == len(toks) - 1:
        toks = toks[1:-1]
    out: list[list[_Tok]] = [[]]
    depth = 0
    between = False
    for t in toks:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        if depth == 0 and t.kind == "word" and t.value == "BETWEEN":
            between = True
        elif depth == 0 and t.kind == "word" and t.value == "AND":
            if between:
                between = False
            else:
                out.append([])
                continue
        out[-1].append(t)
    return [o for o in out if o]


def _analyse_tokens(toks: list[_Tok], facts: _CheckFacts) -> None:
    while toks and toks[0].text == "(" and _match_paren(toks, 0) == len(toks) - 1:
        toks = toks[1:-1]
    if not toks:
        return
    try:
        # col IN (lit, ...)
        if (
            len(toks) >= 4
            and toks[0].kind in ("ident", "word")
            and toks[1].kind == "word"
            and toks[1].value == "IN"
            and toks[2].text == "("
            and _match_paren(toks, 2) == len(toks) - 1
        ):
            items = _split_top(toks[3:-1])
            if all(len(it) == 1 or (len(it) == 2 and it[0].text == "-") for it in items):
                vals = []
                for it in items:
                    v = _literal(it[-1])
                    vals.append(-v if len(it) == 2 else v)
                facts.in_values[_ident_value(toks[0]).lower()] = tuple(vals)
            return
        # json_valid(col)
        if (
            len(toks) == 4
            and toks[0].kind == "word"
            and toks[0].value == "JSON_VALID"
            and toks[1].text == "("
            and toks[3].text == ")"
        ):
            facts.json.add(_ident_value(toks[2]).lower())
            return
        # col op number  |  number op col
        if len(toks) in (3, 4):
            if toks[1].text in _FLIP and toks[0].kind in ("ident", "word"):
                num = toks[2:]
                sign = -1 if len(num) == 2 and num[0].text == "-" else 1
                val = sign * _num(num[-1].text)
                facts.bounds.setdefault(_ident_value(toks[0]).lower(), []).append(
                    (toks[1].text, val)
                )
            elif toks[-2].text in _FLIP and toks[-1].kind in ("ident", "word"):
                num = toks[:-2]
                sign = -1 if len(num) == 2 and num[0].text == "-" else 1
                val = sign * _num(num[-1].text)
                facts.bounds.setdefault(_ident_value(toks[-1]).lower(), []).append(
                    (_FLIP[toks[-2].text], val)
                )
            return
        # col BETWEEN a AND b
        if len(toks) == 5 and toks[1].kind == "word" and toks[1].value == "BETWEEN":
            col = _ident_value(toks[0]).lower()
            facts.bounds.setdefault(col, []).extend(
                [(">=", _num(toks[2].text)), ("<=", _num(toks[4].text))]
            )
    except (ValueError, IndexError):
        return


def _checks_sqlglot(sql: str) -> _CheckFacts | None:
    """Primary path: CHECK facts from sqlglot's AST; None if it cannot parse the statement."""
    try:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel
    except ImportError:  # pragma: no cover
        return None
    log = logging.getLogger("sqlglot")
    old = log.level
    log.setLevel(logging.CRITICAL)
    try:
        tree = sqlglot.parse_one(sql, read="sqlite", error_level=ErrorLevel.RAISE)
    except Exception:
        return None
    finally:
        log.setLevel(old)
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        return None
    facts = _CheckFacts()

    def lit(e: Any) -> Any:
        if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
            return -_num(e.this.this)
        if isinstance(e, exp.Literal):
            return e.this if e.is_string else _num(e.this)
        raise ValueError

    def analyse(e: Any) -> None:
        while isinstance(e, exp.Paren):
            e = e.this
        if isinstance(e, exp.And):
            analyse(e.this)
            analyse(e.expression)
            return
        if isinstance(e, exp.In) and isinstance(e.this, exp.Column) and e.expressions:
            with contextlib.suppress(ValueError):
                facts.in_values[e.this.name.lower()] = tuple(lit(x) for x in e.expressions)
            return
        if isinstance(e, exp.Func):
            fname = (e.sql_name() if not isinstance(e, exp.Anonymous) else e.name).lower()
            args = list(e.expressions) or [e.this]
            if fname == "json_valid" and len(args) == 1 and isinstance(args[0], exp.Column):
                facts.json.add(args[0].name.lower())
            return
        ops = {exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
        for cls, op in ops.items():
            if isinstance(e, cls):
                try:
                    if isinstance(e.this, exp.Column):
                        facts.bounds.setdefault(e.this.name.lower(), []).append(
                            (op, lit(e.expression))
                        )
                    elif isinstance(e.expression, exp.Column):
                        facts.bounds.setdefault(e.expression.name.lower(), []).append(
                            (_FLIP[op], lit(e.this))
                        )
                except ValueError:
                    pass
                return
        if isinstance(e, exp.Between) and isinstance(e.this, exp.Column):
            try:
                col = e.this.name.lower()
                facts.bounds.setdefault(col, []).extend(
                    [(">=", lit(e.args["low"])), ("<=", lit(e.args["high"]))]
                )
            except (ValueError, KeyError):
                pass

    for chk in tree.find_all(exp.CheckColumnConstraint):
        analyse(chk.this)
    for cd in tree.this.expressions:
        if isinstance(cd, exp.ColumnDef):
            for cons in cd.constraints:
                if isinstance(cons.kind, exp.CollateColumnConstraint):
                    facts.collations[cd.name.lower()] = cons.kind.this.name
    return facts


def _check_facts(sql: str | None) -> _CheckFacts:
    if not sql:
        return _CheckFacts()
    facts = _checks_sqlglot(sql)
    if facts is None:
        try:
            facts = _checks_tokenizer(sql)
        except (ValueError, StopIteration, IndexError):
            facts = _CheckFacts()
    return facts


def _has_autoincrement(sql: str | None) -> bool:
    return bool(sql) and any(
        t.kind == "word" and t.value == "AUTOINCREMENT" for t in tokenize_ddl(sql)
    )


def _index_text(sql: str) -> tuple[list[str | None], str | None]:
    """From CREATE INDEX text: each term's expression text (None when a plain column) and WHERE."""
    toks = tokenize_ddl(sql)
    i = next(k for k, t in enumerate(toks) if t.text == "(")
    j = _match_paren(toks, i)
    terms: list[str | None] = []
    for part in _split_top(toks[i + 1 : j]):
        # drop trailing ASC/DESC and COLLATE name
        while part and part[-1].kind == "word" and part[-1].value in ("ASC", "DESC"):
            part = part[:-1]
        if len(part) >= 2 and part[-2].kind == "word" and part[-2].value == "COLLATE":
            part = part[:-2]
        if len(part) == 1 and part[0].kind in ("ident", "word", "str"):
            terms.append(None)
        else:
            terms.append(sql[part[0].start : part[-1].end] if part else None)
    where = None
    for k in range(j + 1, len(toks)):
        if toks[k].kind == "word" and toks[k].value == "WHERE" and k + 1 < len(toks):
            end = len(toks)
            while end > k + 1 and toks[end - 1].text == ";":
                end -= 1
            where = sql[toks[k + 1].start : toks[end - 1].end]
            break
    return terms, where


# ---------------------------------------------------------------------------------------------
# introspection


def introspect(conn: sqlite3.Connection) -> SchemaInfo:
    """Read the schema of ``conn`` (main database) into frozen dataclasses."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid"
    ).fetchall()
    table_sql: dict[str, str | None] = {}
    index_sql: dict[str, str | None] = {}
    views: list[str] = []
    virtual: list[str] = []
    triggers: list[str] = []
    for typ, name, _tbl, sql in rows:
        if typ == "table":
            if name.startswith("sqlite_"):
                continue
            if sql and re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql, re.IGNORECASE):
                virtual.append(name)
                continue
            table_sql[name] = sql
        elif typ == "index":
            index_sql[name] = sql
        elif typ == "view":
            views.append(name)
        elif typ == "trigger":
            triggers.append(name)

    flags: dict[str, tuple[str, bool, bool]] = {}
    try:
        for r in conn.execute("PRAGMA main.table_list"):
            # schema, name, type, ncol, wr, strict
            flags[r[1]] = (r[2], bool(r[4]), bool(r[5]))
    except sqlite3.Error:  # SQLite < 3.37
        pass
    table_names = [n for n in table_sql if flags.get(n, ("table",))[0] != "shadow"]

    raw: dict[str, dict[str, Any]] = {}
    indexes: list[IndexInfo] = []
    for tname in table_names:
        sql = table_sql[tname]
        facts = _check_facts(sql)
        q = quote_ident(tname)
        cols: list[ColumnInfo] = []
        for _cid, cname, ctype, notnull, dflt, pk, hidden in conn.execute(
            f"PRAGMA main.table_xinfo({q})"
        ):
            lo = hi = None
            lo_inc = hi_inc = True
            for op, val in facts.bounds.get(cname.lower(), []):
                if op in (">", ">=") and (lo is None or val >= lo):
                    lo, lo_inc = val, op == ">="
                elif op in ("<", "<=") and (hi is None or val <= hi):
                    hi, hi_inc = val, op == "<="
            cols.append(
                ColumnInfo(
                    name=cname,
                    declared_type=ctype or "",
                    affinity=affinity(ctype),
                    notnull=bool(notnull),
                    default=dflt,
                    pk=int(pk),
                    hidden=int(hidden),
                    collation=facts.collations.get(cname.lower()),
                    check_in_values=facts.in_values.get(cname.lower()),
                    json=cname.lower() in facts.json,
                    check_min=lo,
                    check_min_inclusive=lo_inc,
                    check_max=hi,
                    check_max_inclusive=hi_inc,
                )
            )
        pk_cols = tuple(c.name for c in sorted((c for c in cols if c.pk), key=lambda c: c.pk))
        kind_flags = flags.get(tname)
        if kind_flags is not None:
            without_rowid, strict = kind_flags[1], kind_flags[2]
        else:
            tail = (sql or "").rsplit(")", 1)[-1].upper()
            without_rowid, strict = "WITHOUT" in tail, "STRICT" in tail
        rowid_alias = None
        if len(pk_cols) == 1 and not without_rowid:
            c = next(c for c in cols if c.name == pk_cols[0])
            if c.declared_type.strip().upper() == "INTEGER":
                rowid_alias = c.name
        fk_rows = conn.execute(f"PRAGMA main.foreign_key_list({q})").fetchall()
        fks: dict[int, dict[str, Any]] = {}
        for fid, _seq, parent, frm, to, on_update, on_delete, _match in fk_rows:
            d = fks.setdefault(
                fid, {"parent": parent, "cols": [], "pcols": [], "od": on_delete, "ou": on_update}
            )
            d["cols"].append(frm)
            d["pcols"].append(to)
        tidx: list[IndexInfo] = []
        for _seq, iname, unique, origin, partial in conn.execute(f"PRAGMA main.index_list({q})"):
            isql = index_sql.get(iname)
            terms: list[str | None] = []
            where = None
            if isql:
                try:
                    terms, where = _index_text(isql)
                except (ValueError, StopIteration):
                    terms, where = [], None
            icols: list[IndexColumn] = []
            key_pos = 0
            for _sn, cid, cname, desc, coll, key in conn.execute(
                f"PRAGMA main.index_xinfo({quote_ident(iname)})"
            ):
                expr = None
                if key:
                    if cid == -2:
                        expr = terms[key_pos] if key_pos < len(terms) else None
                    key_pos += 1
                icols.append(
                    IndexColumn(
                        name=cname if cid != -2 else None,
                        desc=bool(desc),
                        collation=coll,
                        is_key=bool(key),
                        expression=expr,
                    )
                )
            tidx.append(
                IndexInfo(
                    name=iname,
                    table=tname,
                    columns=tuple(icols),
                    unique=bool(unique),
                    origin=origin,
                    partial=bool(partial),
                    where_sql=where if partial else None,
                    sql=isql,
                )
            )
        # index_list lists newest first; keep creation (rowid) order
        order = {n: k for k, n in enumerate(index_sql)}
        tidx.sort(key=lambda ix: order.get(ix.name, -1))
        indexes.extend(tidx)
        uniques: list[tuple[str, ...]] = []
        if pk_cols:
            uniques.append(pk_cols)
        for ix in tidx:
            if not ix.unique or ix.partial:
                continue
            kc = ix.key_columns
            if any(c.name is None for c in kc):
                continue
            cols_t = tuple(c.name for c in kc if c.name)
            if cols_t not in uniques:
                uniques.append(cols_t)
        raw[tname] = {
            "cols": tuple(cols),
            "fks": fks,
            "uniques": tuple(uniques),
            "pk": pk_cols,
            "alias": rowid_alias,
            "wr": without_rowid,
            "strict": strict,
            "auto": _has_autoincrement(sql),
            "sql": sql,
        }

    lower = {n.lower(): n for n in raw}
    tables: list[TableInfo] = []
    for tname, d in raw.items():
        fk_infos: list[FkInfo] = []
        for fid in sorted(d["fks"]):
            f = d["fks"][fid]
            pcols = f["pcols"]
            parent = lower.get(f["parent"].lower(), f["parent"])
            if any(p is None for p in pcols) and parent in raw:
                ppk = raw[parent]["pk"] or (raw[parent]["alias"],)
                pcols = list(ppk)
            fk_infos.append(
                FkInfo(
                    columns=tuple(f["cols"]),
                    parent=parent,
                    parent_columns=tuple(p or "" for p in pcols),
                    on_delete=f["od"],
                    on_update=f["ou"],
                )
            )
        tables.append(
            TableInfo(
                name=tname,
                columns=d["cols"],
                foreign_keys=tuple(fk_infos),
                unique_constraints=d["uniques"],
                primary_key=d["pk"],
                rowid_alias=d["alias"],
                without_rowid=d["wr"],
                strict=d["strict"],
                autoincrement=d["auto"],
                sql=d["sql"],
            )
        )
    return SchemaInfo(
        tables=tuple(tables),
        indexes=tuple(indexes),
        views=tuple(views),
        virtual_tables=tuple(virtual),
        triggers=tuple(triggers),
    )


def introspect_ddl(ddl: str, source: str = "<ddl>") -> SchemaInfo:
    """Apply DDL to an in-memory database and introspect it (validates the DDL on the way);
    once per process for the same text (`perflab.fsio.parse_once`)."""
    return parse_once(ddl, lambda: _introspect_ddl(ddl, source), "introspect_ddl", source)


def _introspect_ddl(ddl: str, source: str) -> SchemaInfo:
    conn = sqlite3.connect(":memory:")
    try:
        skipped: list[str] = []
        kept: list[str] = []
        for stmt in split_statements(ddl):
            words = [t.value for t in tokenize_ddl(stmt)[:4]]
            if words[:2] == ["CREATE", "VIRTUAL"]:
                # a module this SQLite lacks (vec0, ...): reported, not fatal
                try:
                    conn.execute(stmt)
                except sqlite3.Error:
                    name = words[-1] if words[2:3] == ["TABLE"] else stmt[:40]
                    skipped.append(str(tokenize_ddl(stmt)[3].value) if len(words) > 3 else name)
                continue
            kept.append(stmt if stmt.endswith(";") else stmt + ";")
        apply_ddl(conn, "\n".join(kept), source)
        info = introspect(conn)
        if skipped:
            from dataclasses import replace

            info = replace(info, virtual_tables=info.virtual_tables + tuple(skipped))
        return info
    finally:
        conn.close()


def unique_column_sets(table: TableInfo) -> Iterable[tuple[str, ...]]:
    """Column sets whose values must be unique (PK, UNIQUE constraints, unique indexes)."""
    return table.unique_constraints
