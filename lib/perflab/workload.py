"""Named queries and write operations, and parameters drawn from real rows.

A workload file (YAML) names the statements an application runs. Parameters
come from samplers evaluated against the built database so that lookups hit
existing rows with production-like frequencies, not invented keys.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perflab.errors import PerflabError
from perflab.yamlio import check_keys, load_yaml, require_mapping

SAMPLER_KINDS = ("sample", "values", "value", "format", "now")


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
        if kind in ("sample", "format") and not isinstance(arg, str):
            raise PerflabError(f"{w}: {kind!r} must be a string")
        out.append(ParamSpec(kind, tuple(arg) if kind == "values" else arg))
    return tuple(out)


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


def load_workload(path: Path) -> Workload:
    """Load and validate a workload file; every error names the file and entry."""
    path = Path(path)
    doc = require_mapping(load_yaml(path), str(path))
    check_keys(doc, {"name", "description", "queries", "writes", "concurrency"}, str(path))
    seen: set[str] = set()
    queries = []
    for i, raw in enumerate(doc.get("queries") or []):
        where = f"{path}: queries[{i}]"
        raw = require_mapping(raw, where)
        check_keys(raw, {"name", "sql", "params", "group", "notes"}, where)
        name = _name(raw, where, seen)
        where = f"{path}: query {name!r}"
        queries.append(
            QuerySpec(
                name,
                _sql(raw, where),
                _params(raw.get("params"), where),
                str(raw.get("group") or ""),
                str(raw.get("notes") or ""),
            )
        )
    if not queries:
        raise PerflabError(f"{path}: no queries")
    writes = []
    for i, raw in enumerate(doc.get("writes") or []):
        where = f"{path}: writes[{i}]"
        raw = require_mapping(raw, where)
        check_keys(raw, {"name", "description", "statements", "verify"}, where)
        name = _name(raw, where, seen)
        where = f"{path}: write {name!r}"
        stmts = []
        for j, st in enumerate(raw.get("statements") or []):
            sw = f"{where}.statements[{j}]"
            st = require_mapping(st, sw)
            check_keys(st, {"sql", "params"}, sw)
            stmts.append(StatementSpec(_sql(st, sw), _params(st.get("params"), sw)))
        if not stmts:
            raise PerflabError(f"{where}: no statements")
        verify = None
        if raw.get("verify") is not None:
            v = require_mapping(raw["verify"], f"{where}.verify")
            check_keys(v, {"sql", "per_op"}, f"{where}.verify")
            verify = VerifySpec(_sql(v, f"{where}.verify"), float(v.get("per_op", 0)))
        writes.append(WriteSpec(name, tuple(stmts), str(raw.get("description") or ""), verify))
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
    return Workload(
        str(doc.get("name") or path.stem),
        tuple(queries),
        tuple(writes),
        tuple(conc),
        str(doc.get("description") or ""),
        path,
    )


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
        self._rng = np.random.default_rng(seed)
        self._n = 0
        self._run = run_token or uuid.uuid4().hex[:8]
        self._pools: list[list[tuple] | None] = []
        for i, spec in enumerate(self._specs):
            if spec.kind == "sample":
                try:
                    rows = conn.execute(spec.arg).fetchall()
                except sqlite3.Error as exc:
                    raise PerflabError(f"{where} params[{i}]: sampler failed: {exc}") from None
                if not rows:
                    raise PerflabError(f"{where} params[{i}]: sampler returned no rows")
                self._pools.append(rows)
            else:
                self._pools.append(None)

    def draw(self) -> tuple:
        self._n += 1
        out: list[Any] = []
        for spec, pool in zip(self._specs, self._pools, strict=True):
            if pool is not None:
                out.extend(pool[int(self._rng.integers(len(pool)))])
            elif spec.kind == "values":
                out.append(spec.arg[int(self._rng.integers(len(spec.arg)))])
            elif spec.kind == "value":
                out.append(spec.arg)
            elif spec.kind == "format":
                out.append(spec.arg.format(n=self._n, run=self._run))
            elif spec.kind == "now":
                out.append(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
        return tuple(out)

    def draw_many(self, n: int) -> list[tuple]:
        return [self.draw() for _ in range(n)]


def check_statement(conn: sqlite3.Connection, sql: str, nparams: int, where: str) -> None:
    """Prepare a statement without running it; SQL errors and parameter-count mismatches
    become one line naming the query."""
    try:
        conn.execute("EXPLAIN " + sql, (None,) * nparams).fetchall()
    except sqlite3.ProgrammingError as exc:
        raise PerflabError(f"{where}: parameter mismatch: {exc}") from None
    except sqlite3.Error as exc:
        raise PerflabError(f"{where}: SQL error: {exc}") from None
