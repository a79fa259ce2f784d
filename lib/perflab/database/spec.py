"""The dataset spec: parse and validate the YAML that says what the data should look like.

Generation (`perflab.database.generate`) and building (`perflab.database.build`) read the
`DatasetSpec` this module returns; the format and its guarantees are documented here, once.

The DDL decides what must hold (NOT NULL, CHECK ... IN lists, json_valid, foreign keys,
PRIMARY KEY / UNIQUE); the spec only says what the data should look like. Columns the
spec does not mention get defaults derived from the DDL by rules, so any schema gets a
valid database with no spec beyond the row counts.

Spec format (YAML)::

    name: agent_orchestrator
    schema: ../schemas/agent_orchestrator.sql   # relative to this YAML file
    seed: 20261126                              # default seed (overridable per build)
    time_range: {start: "2026-01-01", end: "2026-10-01"}   # default for timestamp columns
    scales:                                     # rows per table; every table must be listed
      tiny:  {sessions: 100, memory_entries: 1000, ...}
      quick: {...}
      full:  {...}
    tables:
      sessions:
        columns:
          id: {kind: sequence, format: "sess-{i:08d}"}
          user_id: {kind: zipf, format: "user_{k:05d}", n_per_row: 0.05, s: 1.1}
          status: {kind: choice, weights: {terminated: 0.45, archived: 0.3, active: 0.12}}
          terminated_at: {kind: timestamp, after: created_at, days: [0, 30],
                          null_unless: {column: status, in: [terminated, archived]}}

Generator kinds and their options (any column also takes ``null_fraction: 0.3`` and
``null_unless: {column: c, in: [v, ...]}``, which make the value NULL):

==============  ===========================================================================
sequence        ``format`` with ``{i}`` (1-based, ``start``); without format: integers
choice          ``values: [...]`` (uniform) or ``weights: {value: weight}``
zipf            ``format`` with ``{k}``, ``n`` or ``n_per_row`` (scales with the table),
                exponent ``s`` (default 1.1): value k has probability ~ 1/k^s
int             ``min``, ``max``, optional ``s`` (Zipf skew toward min)
real            ``min``, ``max``, optional ``digits`` (rounding, default 3)
bool            ``p_true`` (stored as 0/1)
text            ``words: [min, max]`` from a fixed word list
timestamp       ``start``/``end`` ISO dates (uniform), or ``after: <column>`` with ``days`` or
                ``seconds: [min, max]``; ``format: datetime|date``; text 'YYYY-MM-DD HH:MM:SS'
json            ``shape: object|array``, ``items: [min, max]``; always valid JSON
template        ``format: "{a}:{b}"`` with ``parts: {a: <generator>, b: <generator>}``
counter         ``per: [columns]``: 1-based occurrence number within the group (versions)
parent          ``via: <fk column>``, ``column: <parent column>``: copy from the referenced row
fk              options for an FK column: ``distribution: uniform|zipf``, ``s``
constant        ``value``
blob            ``bytes: [min, max]``
one_of          ``options: [{weight: w, gen: <generator>}, ...]``: per row, one sub-generator
==============  ===========================================================================

Defaults for unmentioned columns: CHECK IN list -> uniform choice; json_valid -> small JSON
object; FK -> an existing parent key (20% NULL when nullable); INTEGER PRIMARY KEY -> 1..n;
single-column PK/UNIQUE -> sequence; declared TIMESTAMP/DATE/DATETIME -> timestamp over
``time_range``; otherwise by affinity. Generated columns are omitted.

Guarantees: foreign keys point at existing parent rows (parents' keys are kept in memory,
tables are generated in dependency order; a self-reference points at an earlier row);
NOT NULL and CHECK IN lists hold; rows duplicating a PRIMARY KEY / UNIQUE constraint are
dropped and counted. Same spec + DDL + scale + seed -> identical database: every column
draws from its own numpy Generator seeded from (seed, table, column).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from perflab.errors import PerflabError
from perflab.fsio import parse_file
from perflab.sqlite.schema import (
    ColumnInfo,
    FkInfo,
    SchemaInfo,
    TableInfo,
    introspect_ddl,
    load_ddl,
)
from perflab.yamlio import parse_yaml

DEFAULT_TIME_RANGE = ("2026-01-01", "2026-10-01")

_COMMON = {"kind", "null_fraction", "null_unless"}
KINDS: dict[str, set[str]] = {
    "sequence": {"format", "start"},
    "choice": {"values", "weights"},
    "zipf": {"format", "n", "n_per_row", "s"},
    "int": {"min", "max", "s"},
    "real": {"min", "max", "digits"},
    "bool": {"p_true"},
    "text": {"words", "max_chars"},
    "timestamp": {"start", "end", "after", "days", "seconds", "format"},
    "json": {"shape", "items"},
    "template": {"format", "parts"},
    "counter": {"per", "start"},
    "parent": {"via", "column"},
    "fk": {"distribution", "s"},
    "constant": {"value"},
    "blob": {"bytes"},
    "one_of": {"options"},
}


# ---------------------------------------------------------------------------------------------
# spec data classes


@dataclass(frozen=True)
class ColumnSpec:
    """One generator config: its kind, options (nested ColumnSpecs for template/one_of) and
    the NULL rules that apply to any kind."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)
    null_fraction: float | None = None
    null_unless: tuple[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: Mapping[str, ColumnSpec]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    schema_path: Path
    seed: int
    scales: Mapping[str, Mapping[str, int]]
    tables: Mapping[str, TableSpec]
    source: Path
    time_range: tuple[str, str] = DEFAULT_TIME_RANGE

    def deployment_rows(self) -> dict[str, int]:
        """Rows per table at the largest named scale: the size the application must reach,
        the horizon against which scale predictions are judged."""
        largest = max(self.scales.values(), key=lambda rows: sum(rows.values()))
        return dict(largest)


# ---------------------------------------------------------------------------------------------
# spec loading


class _Locator:
    """Line numbers of YAML keys, so errors can say file:line."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = prefix + (str(k.value),)
                self.lines[key] = k.start_mark.line + 1
                self._walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                key = prefix + (str(i),)
                self.lines[key] = v.start_mark.line + 1
                self._walk(v, key)

    def error(self, keypath: tuple[str, ...], msg: str) -> PerflabError:
        line = None
        for n in range(len(keypath), 0, -1):
            line = self.lines.get(tuple(str(k) for k in keypath[:n]))
            if line is not None:
                break
        where = f"{self.path}:{line}" if line else str(self.path)
        key = ".".join(str(k) for k in keypath)
        return PerflabError(f"{where}: {key}: {msg}" if key else f"{where}: {msg}")


def load_spec(path: Path, *, schema: Path | None = None) -> DatasetSpec:
    """Parse and validate a dataset spec (against its schema); errors name file, line and key.

    ``schema`` overrides the spec's ``schema`` key (``perflab run --schema x.sql --dataset
    y.yaml``). A path that may be a database instead: `perflab.database.source`.
    """
    spec, loc = parse_file(path, "dataset spec", _parse_spec, schema)
    validate_spec(spec, introspect_ddl(load_ddl(spec.schema_path), str(spec.schema_path)), loc)
    return spec


def _parse_spec(path: Path, text: str, schema: Path | None) -> tuple[DatasetSpec, _Locator]:
    """The YAML as a DatasetSpec, checked on its own (kept per content by `parse_file`);
    `load_spec` checks it against the DDL, which may have changed since, every time."""
    data = parse_yaml(text, path)
    loc = _Locator(path, text)
    if not isinstance(data, dict):
        raise loc.error((), "a dataset spec must be a mapping")
    unknown = set(data) - {"name", "schema", "seed", "scales", "tables", "time_range"}
    if unknown:
        k = sorted(map(str, unknown))[0]
        raise loc.error((k,), "unknown key")
    for req in ("name", "scales") if schema is not None else ("name", "schema", "scales"):
        if req not in data:
            raise loc.error((), f"missing required key {req!r}")
    if schema is not None:
        schema_path = Path(schema).expanduser().resolve()
    else:
        schema_path = (path.parent / str(data["schema"])).resolve()
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise loc.error(("seed",), "seed must be a non-negative integer")
    tr = data.get("time_range") or {}
    if not isinstance(tr, dict) or set(tr) - {"start", "end"}:
        raise loc.error(("time_range",), "expected {start: date, end: date}")
    time_range = (
        _iso(tr.get("start", DEFAULT_TIME_RANGE[0]), loc, ("time_range", "start")),
        _iso(tr.get("end", DEFAULT_TIME_RANGE[1]), loc, ("time_range", "end")),
    )
    scales_raw = data["scales"]
    if not isinstance(scales_raw, dict) or not scales_raw:
        raise loc.error(("scales",), "expected a mapping of scale name -> {table: rows}")
    scales: dict[str, dict[str, int]] = {}
    for sname, rows in scales_raw.items():
        if not isinstance(rows, dict):
            raise loc.error(("scales", sname), "expected a mapping {table: rows}")
        for t, n in rows.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise loc.error(("scales", sname, t), "row count must be a non-negative integer")
        scales[str(sname)] = {str(t): int(n) for t, n in rows.items()}
    tables: dict[str, TableSpec] = {}
    for tname, tdata in (data.get("tables") or {}).items():
        kp = ("tables", str(tname))
        if not isinstance(tdata, dict) or set(tdata) - {"columns"}:
            raise loc.error(kp, "expected {columns: {column: generator}}")
        cols: dict[str, ColumnSpec] = {}
        for cname, cdata in (tdata.get("columns") or {}).items():
            cols[str(cname)] = _parse_column(cdata, loc, kp + ("columns", str(cname)))
        tables[str(tname)] = TableSpec(str(tname), cols)
    spec = DatasetSpec(
        name=str(data["name"]),
        schema_path=schema_path,
        seed=seed,
        scales=scales,
        tables=tables,
        source=path,
        time_range=time_range,
    )
    return spec, loc


def _iso(v: Any, loc: _Locator, kp: tuple[str, ...]) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    try:
        np.datetime64(str(v).replace(" ", "T"), "s")
    except ValueError:
        raise loc.error(kp, f"not an ISO date/time: {v!r}") from None
    return str(v)


def _range2(v: Any, loc: _Locator, kp: tuple[str, ...], what: str) -> tuple[float, float]:
    if (
        not isinstance(v, list | tuple)
        or len(v) != 2
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        or v[0] > v[1]
    ):
        raise loc.error(kp, f"{what} must be [min, max] numbers with min <= max")
    return (v[0], v[1])


def _parse_column(raw: Any, loc: _Locator, kp: tuple[str, ...]) -> ColumnSpec:
    if not isinstance(raw, dict):
        raise loc.error(kp, "a generator must be a mapping with a 'kind'")
    kind = raw.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise loc.error(kp + ("kind",), f"unknown kind {kind!r} (known: {known})")
    for k in raw:
        if k not in _COMMON and k not in KINDS[kind]:
            raise loc.error(kp + (str(k),), f"unknown option {k!r} for kind {kind!r}")
    opts: dict[str, Any] = {k: v for k, v in raw.items() if k not in _COMMON}
    nf = raw.get("null_fraction")
    if nf is not None and (not isinstance(nf, int | float) or not 0 <= nf <= 1):
        raise loc.error(kp + ("null_fraction",), "must be a number in [0, 1]")
    nu = raw.get("null_unless")
    null_unless = None
    if nu is not None:
        if (
            not isinstance(nu, dict)
            or set(nu) != {"column", "in"}
            or not isinstance(nu["in"], list)
        ):
            raise loc.error(kp + ("null_unless",), "expected {column: name, in: [values]}")
        null_unless = (str(nu["column"]), tuple(nu["in"]))
    # per-kind checks
    if kind == "choice":
        if ("values" in opts) == ("weights" in opts):
            raise loc.error(kp, "choice needs exactly one of 'values' or 'weights'")
        if "values" in opts and (not isinstance(opts["values"], list) or not opts["values"]):
            raise loc.error(kp + ("values",), "must be a non-empty list")
        if "weights" in opts:
            w = opts["weights"]
            if (
                not isinstance(w, dict)
                or not w
                or not all(isinstance(x, int | float) and x >= 0 for x in w.values())
                or sum(w.values()) <= 0
            ):
                raise loc.error(kp + ("weights",), "must map values to non-negative weights")
    elif kind == "zipf":
        if ("n" in opts) == ("n_per_row" in opts):
            raise loc.error(kp, "zipf needs exactly one of 'n' or 'n_per_row'")
    elif kind in ("int", "real"):
        for k in ("min", "max"):
            if k not in opts or not isinstance(opts[k], int | float):
                raise loc.error(kp + (k,), f"{kind} needs a numeric {k!r}")
        if opts["min"] > opts["max"]:
            raise loc.error(kp, "min > max")
    elif kind in ("text", "blob", "json"):
        key = {"text": "words", "blob": "bytes", "json": "items"}[kind]
        if key in opts:
            _range2(opts[key], loc, kp + (key,), key)
        mc = opts.get("max_chars")
        if mc is not None and (not isinstance(mc, int) or isinstance(mc, bool) or mc < 0):
            raise loc.error(kp + ("max_chars",), "max_chars must be a whole number >= 0")
        if kind == "json" and opts.get("shape", "object") not in ("object", "array"):
            raise loc.error(kp + ("shape",), "shape must be object or array")
    elif kind == "timestamp":
        if "after" in opts:
            if ("days" in opts) == ("seconds" in opts):
                raise loc.error(kp, "timestamp with 'after' needs one of 'days' or 'seconds'")
            rk = "days" if "days" in opts else "seconds"
            _range2(opts[rk], loc, kp + (rk,), rk)
        for k in ("start", "end"):
            if k in opts:
                opts[k] = _iso(opts[k], loc, kp + (k,))
        if opts.get("format", "datetime") not in ("datetime", "date"):
            raise loc.error(kp + ("format",), "format must be datetime or date")
    elif kind == "template":
        if not isinstance(opts.get("format"), str) or not isinstance(opts.get("parts"), dict):
            raise loc.error(kp, "template needs 'format' and 'parts'")
        opts["parts"] = {
            str(p): _parse_column(g, loc, kp + ("parts", str(p))) for p, g in opts["parts"].items()
        }
    elif kind == "counter":
        per = opts.get("per", [])
        if not isinstance(per, list):
            raise loc.error(kp + ("per",), "must be a list of columns")
        opts["per"] = tuple(str(c) for c in per)
    elif kind == "parent":
        if "via" not in opts or "column" not in opts:
            raise loc.error(kp, "parent needs 'via' (an FK column) and 'column'")
    elif kind == "fk":
        if opts.get("distribution", "uniform") not in ("uniform", "zipf"):
            raise loc.error(kp + ("distribution",), "must be uniform or zipf")
    elif kind == "constant":
        if "value" not in opts:
            raise loc.error(kp, "constant needs 'value'")
    elif kind == "one_of":
        items = opts.get("options")
        if not isinstance(items, list) or not items:
            raise loc.error(kp + ("options",), "must be a non-empty list of {weight, gen}")
        parsed = []
        for i, it in enumerate(items):
            if not isinstance(it, dict) or set(it) != {"weight", "gen"}:
                raise loc.error(kp + ("options", str(i)), "expected {weight: w, gen: generator}")
            parsed.append(
                (
                    float(it["weight"]),
                    _parse_column(it["gen"], loc, kp + ("options", str(i), "gen")),
                )
            )
        opts["options"] = tuple(parsed)
    return ColumnSpec(kind=kind, options=opts, null_fraction=nf, null_unless=null_unless)


def validate_spec(spec: DatasetSpec, schema: SchemaInfo, loc: _Locator | None = None) -> None:
    """Check the spec against the schema: tables, columns, scales, CHECK lists, NOT NULL."""
    loc = loc or _Locator(spec.source, "")
    names = {t.name for t in schema.tables}
    for sname, rows in spec.scales.items():
        for t in rows:
            if t not in names:
                raise loc.error(("scales", sname, t), f"no table {t!r} in {spec.schema_path.name}")
        missing = [t for t in names if t not in rows]
        if missing:
            raise loc.error(
                ("scales", sname), f"missing row counts for tables: {', '.join(sorted(missing))}"
            )
    for tname, ts in spec.tables.items():
        if tname not in names:
            raise loc.error(("tables", tname), f"no table {tname!r} in {spec.schema_path.name}")
        table = schema.table(tname)
        for cname, cs in ts.columns.items():
            kp = ("tables", tname, "columns", cname)
            if not table.has_column(cname):
                raise loc.error(kp, f"table {tname!r} has no column {cname!r}")
            col = table.column(cname)
            if col.generated:
                raise loc.error(kp, f"column {tname}.{cname} is generated; it cannot be set")
            _validate_gen(cs, col, table, schema, loc, kp, top=True)


def _validate_gen(
    cs: ColumnSpec,
    col: ColumnInfo,
    table: TableInfo,
    schema: SchemaInfo,
    loc: _Locator,
    kp: tuple[str, ...],
    top: bool,
) -> None:
    where = f"{table.name}.{col.name}"
    if top and col.notnull and (cs.null_fraction or cs.null_unless):
        raise loc.error(kp, f"column {where} is NOT NULL; it cannot be made NULL")
    for dep in table_deps(cs):
        if not table.has_column(dep):
            raise loc.error(kp, f"refers to column {dep!r}, which {table.name!r} does not have")
    if top and col.check_in_values is not None:
        allowed = set(col.check_in_values)
        vals: list[Any] = []
        if cs.kind == "choice":
            vals = list(cs.options.get("values") or cs.options.get("weights") or [])
        elif cs.kind == "constant":
            vals = [cs.options["value"]]
        bad = [v for v in vals if v not in allowed]
        if bad:
            raise loc.error(
                kp,
                f"value {bad[0]!r} is outside the CHECK IN list of {where} "
                f"({', '.join(map(repr, col.check_in_values))})",
            )
    if top and cs.kind in ("int", "real"):
        lo, hi = cs.options["min"], cs.options["max"]
        if col.check_min is not None and (
            lo < col.check_min or (lo == col.check_min and not col.check_min_inclusive)
        ):
            raise loc.error(kp, f"min {lo} violates the CHECK lower bound of {where}")
        if col.check_max is not None and (
            hi > col.check_max or (hi == col.check_max and not col.check_max_inclusive)
        ):
            raise loc.error(kp, f"max {hi} violates the CHECK upper bound of {where}")
    if cs.kind == "fk" and fk_for(table, col.name) is None:
        raise loc.error(kp, f"kind fk on {where}, which is not a foreign key column")
    if cs.kind == "parent":
        fk = fk_for(table, str(cs.options["via"]))
        if fk is None or len(fk.columns) != 1:
            raise loc.error(kp, f"'via' {cs.options['via']!r} is not a single-column foreign key")
        if fk.parent == table.name:
            raise loc.error(kp, "'via' must reference another table")
        if not schema.table(fk.parent).has_column(str(cs.options["column"])):
            raise loc.error(kp, f"table {fk.parent!r} has no column {cs.options['column']!r}")
    if cs.kind == "template":
        for p, g in cs.options["parts"].items():
            _validate_gen(g, col, table, schema, loc, kp + ("parts", p), top=False)
    if cs.kind == "one_of":
        for i, (_w, g) in enumerate(cs.options["options"]):
            _validate_gen(g, col, table, schema, loc, kp + ("options", str(i)), top=False)


def table_deps(cs: ColumnSpec) -> list[str]:
    """Other columns of the same row this generator reads."""
    out: list[str] = []
    if cs.null_unless:
        out.append(cs.null_unless[0])
    o = cs.options
    if cs.kind == "timestamp" and "after" in o:
        out.append(str(o["after"]))
    elif cs.kind == "counter":
        out.extend(o["per"])
    elif cs.kind == "parent":
        out.append(str(o["via"]))
    elif cs.kind == "template":
        for g in o["parts"].values():
            out.extend(table_deps(g))
    elif cs.kind == "one_of":
        for _w, g in o["options"]:
            out.extend(table_deps(g))
    return out


def fk_for(table: TableInfo, column: str) -> FkInfo | None:
    for fk in table.foreign_keys:
        if column in fk.columns:
            return fk
    return None
