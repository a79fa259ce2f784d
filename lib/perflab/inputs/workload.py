"""Named queries and write operations, and parameters drawn from real rows.

A workload file (YAML) names the statements an application runs. Parameters
come from samplers evaluated against the built database so that lookups hit
existing rows with production-like frequencies, not invented keys.

Samplers (one key each): ``sample: SQL`` (rows of a query, drawn with replacement; a row
fills as many parameters as it has columns), ``values: [...]`` (one parameter), ``value``,
``format: 'x-{run}-{n}'``, ``now``; and, written by capture and replay:
``rows: [[...], ...]`` (whole captured tuples, typed YAML: BLOBs as !!binary),
``unique: {table, column, like}`` (a value no row holds: integers above the column's
maximum, text or BLOB with the run's token) and ``unused: SQL`` (rows drawn without
replacement, for keys that may be used once). A write's statement may carry ``repeat: n``
(the application ran it n times in one transaction) and the write ``begin:`` (its BEGIN
mode). ``column: {table, columns, prefix}`` draws the columns together from one row of the
table (production's distribution, e.g. ``namespace = ? AND key = ?``); ``prefix: n`` makes a
LIKE pattern of the value's first n characters. A captured query says which it uses with
``sampler: column`` (the default on a fitted database) or ``sampler: captured``, and may
carry ``accept_replay: true``: its replay's rows per execution may differ from the
application's and still decide targets (`perflab.inputs.fidelity`).

Pools are deterministic: rows of `sample:` and `unused:` are sorted before drawing and
`column:` reads rows in an order fixed by their rowid, so one seed draws the same
parameters whatever plan (index or none) produced the rows.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from perflab.errors import PerflabError
from perflab.fsio import parse_file
from perflab.yamlio import check_keys, parse_yaml, require_mapping

SAMPLER_KINDS = (
    "sample",
    "values",
    "value",
    "format",
    "now",
    "rows",
    "unique",
    "unused",
    "column",
)

#: How a captured query's parameters are drawn (`sampler:`): from the database's columns
#: (rows of the table, the default when the workload is fitted to a database) or from the
#: values seen during capture.
QUERY_SAMPLERS = ("column", "captured")

#: At most this many rows form a `column:` pool (spread over the table by rowid).
COLUMN_POOL = 10000

#: BEGIN modes a write operation may ask for (`begin:`); captured from the application.
BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter generator: `kind` is one of SAMPLER_KINDS."""

    kind: str
    arg: Any


@dataclass(frozen=True)
class QuerySpec:
    name: str
    sql: str
    params: tuple[ParamSpec, ...] = ()
    group: str = ""
    notes: str = ""
    captured: dict | None = field(default=None, compare=False)  # capture's statistics
    sampler: str = ""  # column | captured (captured queries); "" for hand-written ones
    # the user accepts a replay whose rows per execution differ from the application's
    # (`perflab.inputs.fidelity`): its figures decide targets again
    accept_replay: bool = False
    # the milestone that brings this query in (None: every milestone); a run at an earlier
    # one leaves it out (`Workload.at_milestone`)
    milestone: int | None = None

    @property
    def params_source(self) -> tuple[str, ...]:
        """Per parameter, where its values come from: ``column t.c`` (the database),
        ``captured`` (values seen during capture) or the sampler kind (``sample``, ...)."""
        return params_source(self.params)


def params_source(params: Sequence[ParamSpec]) -> tuple[str, ...]:
    out: list[str] = []
    for p in params:
        if p.kind == "column":
            table, cols, prefix = p.arg
            like = " (LIKE prefix)" if prefix else ""
            out.extend(f"column {table}.{c}{like}" for c in cols)
        elif p.kind == "rows":
            out.extend(["captured"] * len(p.arg[0]))
        else:
            out.append(p.kind)
    return tuple(out)


@dataclass(frozen=True)
class StatementSpec:
    sql: str
    params: tuple[ParamSpec, ...] = ()


@dataclass(frozen=True)
class VerifySpec:
    """How a check query's value must change per execution of a write."""

    sql: str
    per_op: float


@dataclass(frozen=True)
class WriteSpec:
    name: str
    statements: tuple[StatementSpec, ...]
    description: str = ""
    verify: VerifySpec | None = None
    begin: str = "IMMEDIATE"  # how each transaction starts (the application's mode)
    captured: dict | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NotReplayed:
    """A captured statement a run could not replay on this database, and why."""

    name: str
    kind: str  # query | write
    sql: str
    reason: str


@dataclass(frozen=True)
class ConcurrencySpec:
    name: str
    query: str
    readers: int
    reads_per_reader: int = 1
    description: str = ""


@dataclass(frozen=True)
class Workload:
    name: str
    queries: tuple[QuerySpec, ...]
    writes: tuple[WriteSpec, ...] = ()
    concurrency: tuple[ConcurrencySpec, ...] = ()
    description: str = ""
    source: Path | None = field(default=None, compare=False)
    origin: str = ""  # "capture" for a captured workload
    not_replayed: tuple[NotReplayed, ...] = ()
    captured: dict | None = field(default=None, compare=False)  # statements, total_ms

    def at_milestone(self, milestone: int) -> tuple[Workload, tuple[str, ...]]:
        """The workload a run at ``milestone`` measures, and the queries that wait for a
        later one (named in the run's notes, so none disappears silently)."""
        later = tuple(q.name for q in self.queries if q.milestone and q.milestone > milestone)
        if not later:
            return self, ()
        kept = tuple(q for q in self.queries if q.name not in later)
        return replace(self, queries=kept), later

    def query(self, name: str) -> QuerySpec:
        for q in self.queries:
            if q.name == name:
                return q
        raise PerflabError(f"{self.source}: no query named {name!r}")

    def write(self, name: str) -> WriteSpec:
        for w in self.writes:
            if w.name == name:
                return w
        raise PerflabError(f"{self.source}: no write operation named {name!r}")


def _params(raw: Any, where: str) -> tuple[ParamSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PerflabError(f"{where}: 'params' must be a list")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}.params[{i}]"
        item = require_mapping(item, w)
        if len(item) != 1 or next(iter(item)) not in SAMPLER_KINDS:
            raise PerflabError(f"{w}: expected exactly one of {', '.join(SAMPLER_KINDS)}")
        kind, arg = next(iter(item.items()))
        if kind == "values" and (not isinstance(arg, list) or not arg):
            raise PerflabError(f"{w}: 'values' must be a non-empty list")
        if kind in ("sample", "format", "unused") and not isinstance(arg, str):
            raise PerflabError(f"{w}: {kind!r} must be a string")
        if kind == "rows":
            if (
                not isinstance(arg, list)
                or not arg
                or not all(isinstance(r, list) for r in arg)
                or len({len(r) for r in arg}) != 1
            ):
                raise PerflabError(f"{w}: 'rows' must be a non-empty list of equal-length lists")
            arg = tuple(tuple(r) for r in arg)
        if kind == "unique":
            arg = require_mapping(arg, w + ".unique")
            check_keys(arg, {"table", "column", "like"}, w + ".unique")
            if not isinstance(arg.get("table"), str) or not isinstance(arg.get("column"), str):
                raise PerflabError(f"{w}: 'unique' needs 'table' and 'column'")
            arg = (arg["table"], arg["column"], arg.get("like"))
        if kind == "column":
            arg = require_mapping(arg, w + ".column")
            check_keys(arg, {"table", "columns", "prefix"}, w + ".column")
            cols, prefix = arg.get("columns"), arg.get("prefix")
            if not isinstance(arg.get("table"), str) or not (
                isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)
            ):
                raise PerflabError(f"{w}: 'column' needs 'table' and a list of 'columns'")
            if prefix is not None and (not isinstance(prefix, int) or prefix < 0):
                raise PerflabError(f"{w}: 'column.prefix' must be a whole number")
            arg = (arg["table"], tuple(cols), prefix)
        out.append(ParamSpec(kind, tuple(arg) if kind == "values" else arg))
    return tuple(out)


def parse_params(raw: Any, where: str) -> tuple[ParamSpec, ...]:
    """A workload entry's ``params:`` list as parameter specs (errors name `where`)."""
    return _params(raw, where)


class Flow(list):
    """A list dumped in YAML flow style ([a, b, c])."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # A YAML loader folds NEL, LS, PS and CR inside single-quoted or plain scalars into
    # line breaks; double quotes escape them (\N, \L, \P, \r), so the text reads back.
    if any(c in value for c in "\x85\u2028\u2029\r"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _str)


def dump_typed(doc: Any) -> str:
    """A workload document as YAML whose values read back as the same SQLite values:
    bytes as !!binary, floats with .inf/.nan/-0.0, integers of any size, any text."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def param_count(params: Sequence[ParamSpec]) -> int | None:
    """How many values one draw gives (None when a `sample:` query decides)."""
    n = 0
    for p in params:
        if p.kind in ("sample", "unused"):
            return None
        n += len(p.arg[0]) if p.kind == "rows" else len(p.arg[1]) if p.kind == "column" else 1
    return n


def _name(raw: dict, where: str, seen: set[str]) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise PerflabError(f"{where}: missing 'name'")
    if name in seen:
        raise PerflabError(f"{where}: duplicate name {name!r}")
    seen.add(name)
    return name


def _sql(raw: dict, where: str) -> str:
    sql = raw.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise PerflabError(f"{where}: missing 'sql'")
    return " ".join(sql.split())


def _milestone(raw: dict, where: str) -> int | None:
    m = raw.get("milestone")
    if m is None:
        return None
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise PerflabError(f"{where}: 'milestone' must be a whole number >= 1, got {m!r}")
    return m


def load_workload(path: Path) -> Workload:
    """Load and validate a workload file; every error names the file and entry. Parsed once
    per process for the same content (`perflab.fsio.parse_file`)."""
    return parse_file(path, "file", _parse_workload)


def _parse_workload(path: Path, text: str) -> Workload:
    doc = require_mapping(parse_yaml(text, path), str(path))
    check_keys(
        doc,
        {
            "name",
            "description",
            "queries",
            "writes",
            "concurrency",
            "origin",
            "not_replayed",
            "captured",
            "sampler",
        },
        str(path),
    )
    default_sampler = _sampler(doc, str(path))
    seen: set[str] = set()
    queries = []
    for i, raw in enumerate(doc.get("queries") or []):
        where = f"{path}: queries[{i}]"
        raw = require_mapping(raw, where)
        check_keys(
            raw,
            {
                "name",
                "sql",
                "params",
                "group",
                "notes",
                "captured",
                "sampler",
                "accept_replay",
                "milestone",
            },
            where,
        )
        name = _name(raw, where, seen)
        where = f"{path}: query {name!r}"
        accept = raw.get("accept_replay", False)
        if not isinstance(accept, bool):
            raise PerflabError(f"{where}: 'accept_replay' must be true or false")
        queries.append(
            QuerySpec(
                name,
                _sql(raw, where),
                _params(raw.get("params"), where),
                str(raw.get("group") or ""),
                str(raw.get("notes") or ""),
                _captured(raw, where),
                _sampler(raw, where) or default_sampler,
                accept,
                _milestone(raw, where),
            )
        )
    if not queries:
        raise PerflabError(f"{path}: no queries")
    writes = []
    for i, raw in enumerate(doc.get("writes") or []):
        where = f"{path}: writes[{i}]"
        raw = require_mapping(raw, where)
        check_keys(raw, {"name", "description", "statements", "verify", "begin", "captured"}, where)
        name = _name(raw, where, seen)
        where = f"{path}: write {name!r}"
        stmts = []
        for j, st in enumerate(raw.get("statements") or []):
            sw = f"{where}.statements[{j}]"
            st = require_mapping(st, sw)
            check_keys(st, {"sql", "params", "repeat"}, sw)
            repeat = st.get("repeat", 1)
            if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 10000:
                raise PerflabError(f"{sw}: 'repeat' must be a whole number from 1 to 10000")
            stmts.extend([StatementSpec(_sql(st, sw), _params(st.get("params"), sw))] * repeat)
        if not stmts:
            raise PerflabError(f"{where}: no statements")
        verify = None
        if raw.get("verify") is not None:
            v = require_mapping(raw["verify"], f"{where}.verify")
            check_keys(v, {"sql", "per_op"}, f"{where}.verify")
            verify = VerifySpec(_sql(v, f"{where}.verify"), float(v.get("per_op", 0)))
        begin = str(raw.get("begin") or "IMMEDIATE").upper()
        if begin not in BEGIN_MODES:
            raise PerflabError(f"{where}: 'begin' must be one of {', '.join(BEGIN_MODES)}")
        writes.append(
            WriteSpec(
                name,
                tuple(stmts),
                str(raw.get("description") or ""),
                verify,
                begin,
                _captured(raw, where),
            )
        )
    conc = []
    names = {q.name for q in queries}
    for i, raw in enumerate(doc.get("concurrency") or []):
        where = f"{path}: concurrency[{i}]"
        raw = require_mapping(raw, where)
        check_keys(raw, {"name", "description", "query", "readers", "reads_per_reader"}, where)
        name = _name(raw, where, seen)
        if raw.get("query") not in names:
            raise PerflabError(f"{path}: concurrency {name!r}: unknown query {raw.get('query')!r}")
        conc.append(
            ConcurrencySpec(
                name,
                raw["query"],
                int(raw.get("readers", 1)),
                int(raw.get("reads_per_reader", 1)),
                str(raw.get("description") or ""),
            )
        )
    skipped = []
    for i, raw in enumerate(doc.get("not_replayed") or []):
        where = f"{path}: not_replayed[{i}]"
        raw = require_mapping(raw, where)
        check_keys(raw, {"name", "kind", "sql", "reason"}, where)
        skipped.append(
            NotReplayed(*(str(raw.get(k) or "") for k in ("name", "kind", "sql", "reason")))
        )
    return Workload(
        str(doc.get("name") or path.stem),
        tuple(queries),
        tuple(writes),
        tuple(conc),
        str(doc.get("description") or ""),
        path,
        str(doc.get("origin") or ""),
        tuple(skipped),
        _captured(doc, str(path)),
    )


def workload_record(workload: Workload, path: Path | str | None = None) -> dict:
    """The workload as summary.json carries it: name, path, the captured statements that
    could not be replayed, and (captured workloads) the application's database time."""
    out: dict[str, Any] = {
        "name": workload.name,
        "path": str(path if path is not None else workload.source or ""),
        "not_replayed": [vars(s) for s in workload.not_replayed],
    }
    if workload.captured:
        out["captured"] = {**workload.captured, "writes": captured_writes(workload)}
    return out


def captured_writes(workload: Workload) -> list[dict]:
    """Per captured write operation: its transactions and its statements' calls and
    in-application time during capture (shapes summed), for the application's view."""
    out = []
    for w in workload.writes:
        shapes = (w.captured or {}).get("shapes") or []
        if not shapes:
            continue
        out.append(
            {
                "name": w.name,
                "sql": w.statements[0].sql,
                "transactions": int((w.captured or {}).get("transactions") or 0),
                "calls": int(sum(s.get("calls") or 0 for s in shapes)),
                "total_ms": float(sum(s.get("total_ms") or 0.0 for s in shapes)),
            }
        )
    return out


def _sampler(raw: dict, where: str) -> str:
    value = raw.get("sampler")
    if value is None:
        return ""
    if value not in QUERY_SAMPLERS:
        raise PerflabError(f"{where}: 'sampler' must be one of {', '.join(QUERY_SAMPLERS)}")
    return str(value)


def _captured(raw: dict, where: str) -> dict | None:
    if raw.get("captured") is None:
        return None
    return dict(require_mapping(raw["captured"], f"{where}.captured"))


class ParamSampler:
    """Draws parameter tuples for one statement, deterministically from a seed.

    Sampler queries run once; their rows are cached and drawn with replacement,
    so frequent values in the data are frequent in the workload too.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        params: Sequence[ParamSpec],
        *,
        seed: int = 0,
        where: str = "",
        run_token: str | None = None,
    ) -> None:
        self._specs = tuple(params)
        import numpy as np  # here: `perflab capture` starts without it

        self._rng = np.random.default_rng(seed)
        self._n = 0
        self._run = run_token or uuid.uuid4().hex[:8]
        self._salt = uuid.uuid4().hex[:6]  # fresh keys never repeat across runs on one copy
        self._where = where
        self._pools: list[list[tuple] | None] = []
        self._unique: list[Any] = []
        for i, spec in enumerate(self._specs):
            self._unique.append(self._unique_base(conn, spec, where, i))
            if spec.kind == "rows":
                self._pools.append(list(spec.arg))
            elif spec.kind in ("sample", "unused", "column"):
                sql = column_pool_sql(conn, *spec.arg) if spec.kind == "column" else spec.arg
                rows = _pool(conn, sql, spec.kind != "column", f"{where} params[{i}]")
                if not rows:
                    what = f"table {spec.arg[0]!r} has no rows" if spec.kind == "column" else ""
                    raise PerflabError(
                        f"{where} params[{i}]: sampler returned no rows"
                        + (f" ({what})" * bool(what))
                    )
                if spec.kind == "unused":  # drawn without replacement: shuffled, popped
                    rows = [rows[j] for j in self._rng.permutation(len(rows))]
                self._pools.append(rows)
            else:
                self._pools.append(None)

    def draw(self) -> tuple:
        self._n += 1
        out: list[Any] = []
        for spec, pool, base in zip(self._specs, self._pools, self._unique, strict=True):
            if spec.kind == "unused":
                if not pool:
                    raise PerflabError(f"{self._where}: no unused key left for {spec.arg!r}")
                out.extend(pool.pop())
            elif pool is not None:
                out.extend(pool[int(self._rng.integers(len(pool)))])
            elif spec.kind == "values":
                out.append(spec.arg[int(self._rng.integers(len(spec.arg)))])
            elif spec.kind == "value":
                out.append(spec.arg)
            elif spec.kind == "format":
                out.append(spec.arg.format(n=self._n, run=self._run))
            elif spec.kind == "now":
                out.append(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
            elif spec.kind == "unique":
                out.append(self._fresh(spec, base))
        return tuple(out)

    @staticmethod
    def _unique_base(conn: sqlite3.Connection, spec: ParamSpec, where: str, i: int) -> Any:
        """For `unique:`: the column's largest integer now, so fresh keys start above it."""
        if spec.kind != "unique":
            return None
        table, column, _like = spec.arg
        q = '"' + table.replace('"', '""') + '"'
        c = '"' + column.replace('"', '""') + '"'
        try:
            row = conn.execute(
                f"SELECT max({c}) FROM {q} WHERE typeof({c}) IN ('integer', 'real')"
            ).fetchone()
        except sqlite3.Error as exc:
            raise PerflabError(f"{where} params[{i}]: unique key sampler: {exc}") from None
        return int(row[0]) if row and row[0] is not None else 0

    def _fresh(self, spec: ParamSpec, base: int) -> Any:
        """A value of the captured value's type that no row holds yet: integers above the
        column's maximum, text and BLOBs carrying this run's token and a counter."""
        like = spec.arg[2]
        if isinstance(like, int) or like is None:  # bool is an int
            return base + self._n
        if isinstance(like, float):
            return float(base + self._n)
        tag = f"{self._run}-{self._salt}-{self._n}"
        if isinstance(like, bytes):
            return like[:16] + b"-" + tag.encode()
        return f"{str(like)[:40]}-{tag}"

    def draw_many(self, n: int) -> list[tuple]:
        return [self.draw() for _ in range(n)]


_RANK = {type(None): 0, int: 1, float: 1, bool: 1, str: 2, bytes: 3}


#: Sampler results by (database file state, SQL): every stage of a run draws parameters
#: from the same read-only database, in one kernel (run/kernel.py), and a sampler reads
#: whole tables (13 s per `sample_params` at the full profile, in 01, 02, 03, 04 and 05).
#: A pool is a list only read after it is made (an `unused` pool is copied, then popped).
#: Kept: the most recently used, up to _ROWS_KEPT rows in all (~0.5 GB of tuples).
_POOLS: OrderedDict[tuple, list[tuple]] = OrderedDict()
_ROWS_KEPT = 5_000_000


def _file_state(conn: sqlite3.Connection) -> tuple | None:
    """The main database file and its WAL, as (path, size, mtime) pairs: any committed
    write changes one of them. None when it cannot be told (an in-memory or temporary
    database, or a transaction open on this connection, whose writes are not on disk)."""
    if conn.in_transaction:
        return None
    try:
        path = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
    except sqlite3.Error:
        return None
    if not path:
        return None
    out = []
    for p in (path, path + "-wal"):
        try:
            st = os.stat(p)
        except OSError:
            continue
        out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(out) or None


def _pool(conn: sqlite3.Connection, sql: str, sort: bool, where: str) -> list[tuple]:
    """The sampler's rows (sorted unless the plan's order is the point), read once per
    database state and SQL."""
    state = _file_state(conn)
    key = (state, sql, sort)
    if state is not None and key in _POOLS:
        _POOLS.move_to_end(key)
        return _POOLS[key]
    try:
        rows = conn.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise PerflabError(f"{where}: sampler failed: {exc}") from None
    if sort:  # the plan decides the order rows come in
        rows.sort(key=_row_key)
    if state is not None and 0 < len(rows) <= _ROWS_KEPT:
        _POOLS[key] = rows
        while sum(len(r) for r in _POOLS.values()) > _ROWS_KEPT:
            _POOLS.popitem(last=False)
    return rows


def _row_key(row: tuple) -> tuple:
    """A total order over rows of SQLite values (NULL < numbers < text < BLOB, as SQLite
    sorts them), so a pool's order does not depend on the plan that produced it."""
    return tuple(
        (_RANK.get(type(v), 4), v if type(v) in _RANK and v is not None else 0) for v in row
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_pool_sql(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], prefix: int | None = None
) -> str:
    """The rows a `column:` sampler draws from: the columns of up to COLUMN_POOL rows
    (NULLs left out: `col = NULL` matches nothing), spread over the table by a hash of the
    rowid and ordered by it, so the pool is the same rows in the same order whatever
    indexes exist (a WITHOUT ROWID table orders by the columns themselves)."""
    t = _q(table)
    cols = [_q(c) for c in columns]
    sel = [f"substr({c}, 1, {int(prefix)}) || '%'" for c in cols] if prefix else cols
    try:
        conn.execute(f"SELECT rowid FROM {t} LIMIT 0").fetchall()
        order = "(rowid * 40503) % 65521, rowid"
    except sqlite3.Error:  # WITHOUT ROWID, or a view
        order = ", ".join(cols)
    return (
        f"SELECT {', '.join(sel)} FROM {t} WHERE "
        + " AND ".join(f"{c} IS NOT NULL" for c in cols)
        + f" ORDER BY {order} LIMIT {COLUMN_POOL}"
    )


def check_statement(conn: sqlite3.Connection, sql: str, nparams: int, where: str) -> None:
    """Prepare a statement without running it; SQL errors and parameter-count mismatches
    become one line naming the query."""
    try:
        conn.execute("EXPLAIN " + sql, (None,) * nparams).fetchall()
    except sqlite3.ProgrammingError as exc:
        raise PerflabError(f"{where}: parameter mismatch: {exc}") from None
    except sqlite3.Error as exc:
        raise PerflabError(f"{where}: SQL error: {exc}") from None


def sample_params(
    conn: sqlite3.Connection, workload: Workload, count: int, seed: int
) -> dict[str, list[tuple]]:
    """`count` parameter tuples per query, checked against the statement first: the run's
    front door (`perflab.inputs.context.prepare`) draws one per query to fail before any
    notebook, and the stages draw the tuples they time."""
    out = {}
    for i, q in enumerate(workload.queries):
        sampler = ParamSampler(conn, q.params, seed=seed + i, where=f"query {q.name!r}")
        params = sampler.draw_many(count)
        check_statement(conn, q.sql, len(params[0]), f"query {q.name!r}")
        out[q.name] = params
    return out
