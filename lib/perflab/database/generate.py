"""Rows from a dataset spec, column-wise and deterministic (the format: `perflab.database.spec`).

Every column draws from its own numpy Generator seeded from (seed, table, column), so the
same spec + DDL + scale + seed gives identical rows; foreign keys point at kept parent keys.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perflab.database.spec import ColumnSpec, DatasetSpec, fk_for, table_deps, validate_spec
from perflab.errors import PerflabError
from perflab.sqlite.schema import (
    ColumnInfo,
    FkInfo,
    SchemaInfo,
    TableInfo,
    introspect_ddl,
)

GENERATOR_VERSION = "1"
CHUNK_ROWS = 50_000

_WORDS = (
    "agent",
    "memory",
    "task",
    "session",
    "plan",
    "result",
    "context",
    "user",
    "project",
    "config",
    "value",
    "state",
    "query",
    "index",
    "search",
    "update",
    "write",
    "read",
    "model",
    "tool",
    "call",
    "step",
    "retry",
    "error",
    "status",
    "cache",
    "batch",
    "vector",
    "embed",
    "chunk",
    "document",
    "summary",
    "report",
    "metric",
    "event",
    "queue",
    "worker",
    "schedule",
    "sync",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "review",
    "merge",
    "deploy",
    "build",
    "test",
    "check",
    "verify",
    "analyze",
    "compute",
    "fetch",
    "store",
    "load",
    "parse",
    "render",
    "route",
    "token",
    "prompt",
    "reply",
    "goal",
    "budget",
    "limit",
    "window",
)


@dataclass(frozen=True)
class GeneratedTable:
    """A chunk of rows for one table (big tables come in several chunks, same table name)."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple]


# ---------------------------------------------------------------------------------------------
# column representation and vectorised helpers


@dataclass
class _Col:
    """Column values for all rows: numpy array (object/int64/float64, or epoch seconds when
    ts_fmt is set), a NULL mask, and for FK columns the chosen parent row indices."""

    values: np.ndarray
    nulls: np.ndarray | None = None
    ts_fmt: str | None = None
    rows: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> _Col:
        return _Col(
            self.values[idx],
            None if self.nulls is None else self.nulls[idx],
            self.ts_fmt,
            None if self.rows is None else self.rows[idx],
        )

    def with_nulls(self, mask: np.ndarray | None) -> _Col:
        if mask is None or not mask.any():
            return self
        nulls = mask if self.nulls is None else (self.nulls | mask)
        return _Col(self.values, nulls, self.ts_fmt, self.rows)

    def to_list(self, a: int, b: int) -> list[Any]:
        v = self.values[a:b]
        out = _fmt_ts(v, self.ts_fmt) if self.ts_fmt else v.tolist()
        if self.nulls is not None:
            for i in np.flatnonzero(self.nulls[a:b]).tolist():
                out[i] = None
        return out

    def python_values(self) -> np.ndarray:
        """Values as an object array (timestamps formatted, NULLs as None)."""
        if self.ts_fmt:
            arr = np.array(_fmt_ts(self.values, self.ts_fmt), dtype=object)
        else:
            arr = self.values.astype(object)
        if self.nulls is not None:
            arr[self.nulls] = None
        return arr


def _fmt_ts(sec: np.ndarray, fmt: str) -> list[str]:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS' (or 'YYYY-MM-DD'), vectorised with integer math."""
    sec = np.asarray(sec, dtype=np.int64)
    n = len(sec)
    days = sec // 86400
    rem = sec - days * 86400
    z = days + 719468  # civil_from_days (H. Hinnant)
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = np.clip(y + (m <= 2), 0, 9999)
    width = 10 if fmt == "date" else 19
    out = np.empty((n, width), dtype=np.uint32)
    digits = [(0, y, 4), (5, m, 2), (8, d, 2)]  # (first column, value, digits)
    if width == 19:
        digits += [(11, rem // 3600, 2), (14, rem // 60 % 60, 2), (17, rem % 60, 2)]
    for col, v, k in digits:
        for i in range(col + k - 1, col, -1):
            v, out[:, i] = np.divmod(v, 10)
        out[:, col] = v
    out += ord("0")
    out[:, 4] = out[:, 7] = ord("-")
    if width == 19:
        out[:, 10] = ord(" ")
        out[:, 13] = out[:, 16] = ord(":")
    return out.view(f"<U{width}").ravel().tolist()


def _epoch(iso: str) -> int:
    return int(np.datetime64(str(iso).replace(" ", "T"), "s").astype(np.int64))


def _rng(seed: int, *names: str) -> np.random.Generator:
    words = [seed & 0xFFFFFFFF, seed >> 32] + [zlib.crc32(n.encode("utf-8")) for n in names]
    return np.random.default_rng(words)


def _zipf_ranks(rng: np.random.Generator, n_values: int, s: float, size: int) -> np.ndarray:
    """0-based ranks with P(rank r) ~ 1/(r+1)^s."""
    w = 1.0 / np.power(np.arange(1, n_values + 1, dtype=np.float64), s)
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    r = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(r, n_values - 1)


def _format_codes(fmt: str, name: str, ints: np.ndarray) -> np.ndarray:
    """Format integers through a str.format pattern, formatting each distinct value once."""
    uniq, inv = np.unique(ints, return_inverse=True)
    vocab = np.array([fmt.format(**{name: int(k)}) for k in uniq.tolist()], dtype=object)
    return vocab[inv]


def _obj(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _factorize(col: _Col, collation: str | None = None) -> np.ndarray:
    """Integer codes per distinct value (-1 for NULL), honouring NOCASE/RTRIM collations."""
    vals = col.values
    if col.ts_fmt is None and vals.dtype == object and collation:
        c = collation.upper()
        if c == "NOCASE":
            vals = _obj([v.lower() if isinstance(v, str) else v for v in vals.tolist()])
        elif c == "RTRIM":
            vals = _obj([v.rstrip(" ") if isinstance(v, str) else v for v in vals.tolist()])
    codes, _ = pd.factorize(vals, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    if col.nulls is not None:
        codes[col.nulls] = -1
    return codes


def _in_mask(col: _Col, values: tuple[Any, ...]) -> np.ndarray:
    vals = col.python_values() if col.ts_fmt else col.values
    mask = pd.Series(vals).isin(list(values)).to_numpy()
    if col.nulls is not None:
        mask = mask & ~col.nulls
    return mask


# ---------------------------------------------------------------------------------------------
# generation


@dataclass
class _Parent:
    n: int
    cols: dict[str, _Col]


class _TableGen:
    """Generates one table column-wise from its spec, its DDL and its parents' kept keys."""

    def __init__(
        self,
        spec: DatasetSpec,
        schema: SchemaInfo,
        table: TableInfo,
        n: int,
        seed: int,
        parents: dict[str, _Parent],
    ):
        self.spec = spec
        self.schema = schema
        self.table = table
        self.n = n
        self.seed = seed
        self.parents = parents
        tspec = spec.tables.get(table.name)
        self.explicit = dict(tspec.columns) if tspec else {}
        self.cols: dict[str, _Col] = {}
        self.t0, self.t1 = (_epoch(x) for x in spec.time_range)

    # -- helpers
    def rng(self, column: str, *extra: str) -> np.random.Generator:
        return _rng(self.seed, self.table.name, column, *extra)

    def spec_for(self, col: ColumnInfo) -> ColumnSpec:
        if col.name in self.explicit:
            return self.explicit[col.name]
        return self.default_spec(col)

    def default_spec(self, col: ColumnInfo) -> ColumnSpec:
        t = self.table
        fk = fk_for(t, col.name)
        if fk is not None:
            return ColumnSpec("fk", {}, 0.2 if not col.notnull else None)
        if t.rowid_alias == col.name:
            return ColumnSpec("sequence", {})
        single_unique = (col.name,) in t.unique_constraints
        if single_unique:
            if col.affinity in ("INTEGER", "REAL", "NUMERIC"):
                return ColumnSpec("sequence", {})
            return ColumnSpec("sequence", {"format": f"{t.name}-{{i:08d}}"})
        if col.check_in_values:
            return ColumnSpec("choice", {"values": list(col.check_in_values)})
        if col.json:
            return ColumnSpec("json", {"shape": "object", "items": [1, 4]})
        typ = col.declared_type.upper()
        dflt = (col.default or "").upper() if col.affinity not in ("INTEGER", "REAL") else ""
        if any(w in dflt for w in ("CURRENT_TIMESTAMP", "DATETIME(", "STRFTIME(")):
            return ColumnSpec("timestamp", {"format": "datetime"})
        if "CURRENT_DATE" in dflt or "DATE(" in dflt:
            return ColumnSpec("timestamp", {"format": "date"})
        if "TIME" in typ or "DATE" in typ:
            return ColumnSpec("timestamp", {"format": "date" if typ == "DATE" else "datetime"})
        if "BOOL" in typ:
            return ColumnSpec("bool", {"p_true": 0.5})
        # a one-sided CHECK (v < 0, v >= 10) bounds one end; the other is 1000 away
        if col.check_min is not None:
            lo = col.check_min
            hi = col.check_max if col.check_max is not None else lo + 1000
        else:
            hi = col.check_max if col.check_max is not None else 1000
            lo = hi - 1000 if col.check_max is not None else 0
        if col.affinity in ("INTEGER", "NUMERIC"):
            lo_i = int(np.floor(lo)) + (0 if col.check_min_inclusive or lo != int(lo) else 1)
            lo_i = max(lo_i, int(np.ceil(lo)))
            hi_i = int(np.floor(hi)) - (0 if col.check_max_inclusive or hi != int(hi) else 1)
            return ColumnSpec("int", {"min": lo_i, "max": max(lo_i, hi_i)})
        if col.affinity == "REAL":
            lo_eps = 0 if col.check_min_inclusive else 1e-3
            hi_eps = 0 if col.check_max_inclusive else 1e-3
            return ColumnSpec("real", {"min": lo + lo_eps, "max": hi - hi_eps})
        if col.affinity == "BLOB" and typ.strip():
            return ColumnSpec("blob", {"bytes": [16, 64]})
        most = _max_length(t.sql, col.name)
        if most is not None:
            return ColumnSpec("text", {"words": [1, 6], "max_chars": most})
        return ColumnSpec("text", {"words": [1, 6]})

    # -- driver
    def run(self) -> tuple[dict[str, _Col], int]:
        t = self.table
        insertable = [c for c in t.columns if not c.generated]
        specs = {c.name: self.spec_for(c) for c in insertable}
        self_fk_cols = {
            c for fk in t.foreign_keys if fk.parent == t.name for c in fk.columns if c in specs
        }
        order = self._column_order(specs, self_fk_cols)
        for name in order:
            if name in self.cols:
                continue  # filled together with its multi-column FK
            self.cols[name] = self.gen_top(t.column(name), specs[name])
        dropped = self._dedupe(self_fk_cols)
        for fk in t.foreign_keys:
            if fk.parent == t.name and fk.columns[0] in self_fk_cols:
                self._self_fk(fk, specs[fk.columns[0]])
        return {c.name: self.cols[c.name] for c in insertable}, dropped

    def _column_order(self, specs: dict[str, ColumnSpec], deferred: set[str]) -> list[str]:
        names = [n for n in specs if n not in deferred]
        deps = {n: [d for d in table_deps(specs[n]) if d in specs] for n in names}
        for n in names:
            for d in deps[n]:
                if d in deferred:
                    raise PerflabError(
                        f"{self.spec.source}: {self.table.name}.{n} depends on {d}, a "
                        "self-referencing foreign key column (generated last)"
                    )
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, stack: tuple[str, ...]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cyc = " -> ".join(stack + (n,))
                raise PerflabError(f"{self.spec.source}: {self.table.name}: column cycle {cyc}")
            state[n] = 1
            for d in deps[n]:
                visit(d, stack + (n,))
            state[n] = 2
            order.append(n)

        for n in names:
            visit(n, ())
        return order

    def gen_top(self, col: ColumnInfo, cs: ColumnSpec) -> _Col:
        if cs.kind == "fk":
            return self._fk(col, cs)
        out = self.gen(cs, col.name, (col.name,))
        out = self._apply_nulls(out, cs, col.name)
        if col.notnull and out.nulls is not None and out.nulls.any():
            raise PerflabError(
                f"{self.spec.source}: {self.table.name}.{col.name} is NOT NULL but its "
                f"generator ({cs.kind}) yields NULLs"
            )
        if col.affinity == "INTEGER" and out.values.dtype == np.float64:
            out = _Col(np.rint(out.values).astype(np.int64), out.nulls, out.ts_fmt, out.rows)
        return out

    def _apply_nulls(self, out: _Col, cs: ColumnSpec, name: str) -> _Col:
        mask = None
        if cs.null_fraction:
            mask = self.rng(name, "null").random(self.n) < cs.null_fraction
        if cs.null_unless:
            other, allowed = cs.null_unless
            m2 = ~_in_mask(self.cols[other], allowed)
            mask = m2 if mask is None else (mask | m2)
        return out.with_nulls(mask)

    def gen(self, cs: ColumnSpec, name: str, path: tuple[str, ...]) -> _Col:
        """One generator over all n rows (NULL rules of nested generators applied)."""
        n = self.n
        o = cs.options
        rng = self.rng(*path)
        k = cs.kind
        if k == "sequence":
            start = int(o.get("start", 1))
            ints = np.arange(start, start + n, dtype=np.int64)
            if "format" in o:
                fmt = str(o["format"]).format
                return _Col(_obj([fmt(i=i) for i in range(start, start + n)]))
            return _Col(ints)
        if k == "choice":
            if "values" in o:
                vocab, p = list(o["values"]), None
            else:
                vocab = list(o["weights"])
                w = np.array([float(x) for x in o["weights"].values()])
                p = w / w.sum()
            codes = rng.choice(len(vocab), size=n, p=p)
            return _Col(_obj(vocab)[codes])
        if k == "zipf":
            nv = int(o["n"]) if "n" in o else max(1, int(round(float(o["n_per_row"]) * n)))
            ks = _zipf_ranks(rng, nv, float(o.get("s", 1.1)), n) + 1
            if "format" in o:
                return _Col(_format_codes(str(o["format"]), "k", ks))
            return _Col(ks)
        if k == "int":
            lo, hi = int(o["min"]), int(o["max"])
            if "s" in o:
                return _Col(lo + _zipf_ranks(rng, hi - lo + 1, float(o["s"]), n))
            return _Col(rng.integers(lo, hi + 1, size=n, dtype=np.int64))
        if k == "real":
            vals = rng.uniform(float(o["min"]), float(o["max"]), size=n)
            return _Col(np.clip(np.round(vals, int(o.get("digits", 3))), o["min"], o["max"]))
        if k == "bool":
            return _Col((rng.random(n) < float(o.get("p_true", 0.5))).astype(np.int64))
        if k == "constant":
            return _Col(np.full(n, o["value"], dtype=object))
        if k == "text":
            lo, hi = (int(x) for x in o.get("words", [1, 6]))
            pool_n = max(1, min(n, 4096))
            counts = rng.integers(lo, hi + 1, size=pool_n)
            words = rng.integers(0, len(_WORDS), size=int(counts.sum()))
            pool, pos = [], 0
            for c in counts.tolist():
                pool.append(" ".join(_WORDS[w] for w in words[pos : pos + c].tolist()))
                pos += c
            if "max_chars" in o:  # CHECK (length(x) <= n)
                pool = [v[: int(o["max_chars"])] for v in pool]
            return _Col(_obj(pool)[rng.integers(0, pool_n, size=n)])
        if k == "blob":
            lo, hi = (int(x) for x in o.get("bytes", [16, 64]))
            pool_n = max(1, min(n, 1024))
            sizes = rng.integers(lo, hi + 1, size=pool_n).tolist()
            pool = [rng.bytes(s) for s in sizes]
            return _Col(_obj(pool)[rng.integers(0, pool_n, size=n)])
        if k == "json":
            pool = _obj(self._json_pool(rng, o))
            return _Col(pool[rng.integers(0, len(pool), n)])
        if k == "timestamp":
            fmt = str(o.get("format", "datetime"))
            if "after" in o:
                base = self.cols[str(o["after"])]
                if base.ts_fmt is None:
                    raise PerflabError(
                        f"{self.spec.source}: {self.table.name}.{name}: 'after' column "
                        f"{o['after']!r} is not a timestamp generator"
                    )
                unit = 86400 if "days" in o else 1
                a, b = (float(x) * unit for x in o.get("days", o.get("seconds")))
                off = rng.integers(int(a), int(b) + 1, size=n, dtype=np.int64)
                return _Col(base.values + off, base.nulls, fmt)
            a = _epoch(o["start"]) if "start" in o else self.t0
            b = _epoch(o["end"]) if "end" in o else self.t1
            return _Col(rng.integers(a, max(a, b - 1) + 1, size=n, dtype=np.int64), None, fmt)
        if k == "template":
            return self._template(cs, name, path)
        if k == "counter":
            return _Col(self._counter(list(o["per"]), int(o.get("start", 1))))
        if k == "parent":
            via = self.cols[str(o["via"])]
            fk = fk_for(self.table, str(o["via"]))
            assert fk is not None and via.rows is not None
            src = self.parents[fk.parent].cols[str(o["column"])]
            rows = np.where(via.rows < 0, 0, via.rows)
            out = src.take(rows) if len(src.values) else _Col(np.full(n, None, dtype=object))
            return _Col(out.values, out.nulls, out.ts_fmt).with_nulls(via.rows < 0)
        if k == "one_of":
            opts = o["options"]
            w = np.array([x[0] for x in opts], dtype=np.float64)
            pick = rng.choice(len(opts), size=n, p=w / w.sum())
            values = np.empty(n, dtype=object)
            nulls = np.zeros(n, dtype=bool)
            for i, (_w, g) in enumerate(opts):
                sub = self._apply_nulls(self.gen(g, name, path + (f"opt{i}",)), g, name)
                m = pick == i
                values[m] = sub.python_values()[m] if sub.ts_fmt else sub.values[m]
                if sub.nulls is not None:
                    nulls[m] = sub.nulls[m]
            return _Col(values, nulls if nulls.any() else None)
        if k == "fk":
            raise PerflabError(f"{self.spec.source}: {self.table.name}.{name}: fk inside {path}")
        raise PerflabError(f"{self.spec.source}: unknown generator kind {k!r}")  # pragma: no cover

    def _json_pool(self, rng: np.random.Generator, o: Mapping[str, Any]) -> list[str]:
        """A pool of distinct-ish JSON texts, built from vectorised draws (fast, always valid)."""
        lo, hi = (int(x) for x in o.get("items", [1, 4]))
        pool_n = max(1, min(self.n, 2048))
        counts = rng.integers(lo, hi + 1, size=pool_n)
        total = int(counts.sum())
        kinds = rng.integers(0, 4, size=total)
        nw = len(_WORDS)
        tokens = np.empty(total, dtype=object)
        m = kinds == 0
        tokens[m] = rng.integers(0, 10_000, size=total)[m].astype(str).astype(object)
        m = kinds == 1
        tokens[m] = _obj([f'"{w}"' for w in _WORDS])[rng.integers(0, nw, size=total)[m]]
        m = kinds == 2
        tokens[m] = np.where(rng.random(total)[m] < 0.5, "true", "false").astype(object)
        m = kinds == 3
        tokens[m] = np.round(rng.random(total)[m] * 100, 2).astype(str).astype(object)
        toks = tokens.tolist()
        bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
        if o.get("shape", "object") == "array":
            return [
                "[" + ",".join(toks[a:b]) + "]"
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        # object: k distinct keys = an arithmetic walk over the word list with a coprime step
        steps = [d for d in range(1, nw) if np.gcd(d, nw) == 1]
        offs = rng.integers(0, nw, size=pool_n).tolist()
        strides = np.array(steps)[rng.integers(0, len(steps), size=pool_n)].tolist()
        out = []
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            o0, st = offs[i], strides[i]
            out.append(
                "{"
                + ",".join(f'"{_WORDS[(o0 + j * st) % nw]}":{toks[a + j]}' for j in range(b - a))
                + "}"
            )
        return out

    def _template(self, cs: ColumnSpec, name: str, path: tuple[str, ...]) -> _Col:
        parts = cs.options["parts"]
        pnames = list(parts)
        codes_l, uniq_l, nulls = [], [], np.zeros(self.n, dtype=bool)
        for p in pnames:
            sub = self._apply_nulls(self.gen(parts[p], name, path + (p,)), parts[p], name)
            vals = sub.python_values() if sub.ts_fmt else sub.values
            codes, uniq = pd.factorize(vals, use_na_sentinel=True)
            if sub.nulls is not None:
                nulls |= sub.nulls
            nulls |= codes < 0
            codes_l.append(np.maximum(codes, 0).astype(np.int64))
            uniq_l.append(list(uniq) if not isinstance(uniq, np.ndarray) else uniq.tolist())
        if self.n == 0:
            return _Col(np.empty(0, dtype=object))
        dims = [max(1, len(u)) for u in uniq_l]
        if np.prod(np.array(dims, dtype=np.float64)) < 2**62:
            combo = np.ravel_multi_index(codes_l, dims)
            ucombo, inv = np.unique(combo, return_inverse=True)
            cols = np.unravel_index(ucombo, dims)
        else:  # pragma: no cover - astronomically many combinations
            inv = np.arange(self.n)
            cols = codes_l
        fmt = str(cs.options["format"])
        vocab = [
            fmt.format(
                **{p: uniq_l[j][c[i]] for j, (p, c) in enumerate(zip(pnames, cols, strict=True))}
            )
            for i in range(len(cols[0]))
        ]
        return _Col(_obj(vocab)[inv], nulls if nulls.any() else None)

    def _counter(self, per: list[str], start: int) -> np.ndarray:
        if not per:
            return np.arange(start, start + self.n, dtype=np.int64)
        df = pd.DataFrame({f"c{i}": _factorize(self.cols[c]) for i, c in enumerate(per)})
        return df.groupby(list(df.columns), sort=False).cumcount().to_numpy(np.int64) + start

    def _fk(self, col: ColumnInfo, cs: ColumnSpec) -> _Col:
        t = self.table
        fk = fk_for(t, col.name)
        assert fk is not None
        parent = self.parents[fk.parent]
        n = self.n
        pcols = [parent.cols[pc] for pc in fk.parent_columns]
        ok = np.ones(parent.n, dtype=bool)
        for pc in pcols:
            if pc.nulls is not None:
                ok &= ~pc.nulls
        cand = np.flatnonzero(ok)
        rng = self.rng(col.name, "fk")
        if len(cand) == 0:
            if any(t.column(c).notnull for c in fk.columns) and n:
                raise PerflabError(
                    f"{self.spec.source}: {t.name}.{col.name} is NOT NULL and references "
                    f"{fk.parent}, which has no rows at this scale"
                )
            rows = np.full(n, -1, dtype=np.int64)
        else:
            if cs.options.get("distribution") == "zipf":
                perm = rng.permutation(len(cand))
                pick = perm[_zipf_ranks(rng, len(cand), float(cs.options.get("s", 1.1)), n)]
            else:
                pick = rng.integers(0, len(cand), size=n)
            rows = cand[pick]
        # NULL rules apply to the whole (possibly multi-column) key
        nf = cs.null_fraction
        mask = rows < 0
        if nf:
            mask = mask | (self.rng(col.name, "null").random(n) < nf)
        if cs.null_unless:
            mask = mask | ~_in_mask(self.cols[cs.null_unless[0]], cs.null_unless[1])
        rows = np.where(mask, -1, rows)
        safe = np.where(rows < 0, 0, rows)
        first = None
        for c, pc in zip(fk.columns, pcols, strict=True):
            vals = pc.take(safe) if len(pc.values) else _Col(np.full(n, None, dtype=object))
            out = _Col(vals.values, None, vals.ts_fmt, rows).with_nulls(rows < 0)
            if c == col.name:
                first = out
            elif c not in self.cols:
                self.cols[c] = out
        assert first is not None
        return first

    def _self_fk(self, fk: FkInfo, cs: ColumnSpec) -> None:
        """Each row references a row generated earlier in the same table (or NULL)."""
        n = len(next(iter(self.cols.values())).values) if self.cols else 0
        rng = self.rng(fk.columns[0], "selffk")
        idx = np.arange(n)
        pick = np.floor(rng.random(n) * idx).astype(np.int64)  # in [0, i)
        notnull = any(self.table.column(c).notnull for c in fk.columns)
        nf = cs.null_fraction if cs.null_fraction is not None else (0.0 if notnull else 0.2)
        mask = idx == 0
        if nf:
            mask = mask | (self.rng(fk.columns[0], "null").random(n) < nf)
        if notnull:
            pick = np.where(mask, idx, pick)  # first row (or forced) references itself
            mask = np.zeros(n, dtype=bool)
        rows = np.where(mask, -1, pick)
        safe = np.where(rows < 0, 0, rows)
        for c, pc in zip(fk.columns, fk.parent_columns, strict=True):
            src = self.cols[pc]
            vals = src.take(safe) if n else src
            self.cols[c] = _Col(vals.values, vals.nulls, vals.ts_fmt, rows).with_nulls(rows < 0)

    def _dedupe(self, deferred: set[str]) -> int:
        """Drop rows that repeat any PRIMARY KEY / UNIQUE key; return how many were dropped."""
        if self.n == 0:
            return 0
        dup = np.zeros(self.n, dtype=bool)
        for key in self.table.unique_constraints:
            if any(c in deferred or c not in self.cols for c in key):
                continue
            codes = [_factorize(self.cols[c], self.table.column(c).collation) for c in key]
            anynull = np.zeros(self.n, dtype=bool)
            for c in codes:
                anynull |= c < 0
            if len(codes) == 1:
                d = pd.Series(codes[0]).duplicated().to_numpy()
            else:
                d = pd.DataFrame({f"c{i}": c for i, c in enumerate(codes)}).duplicated().to_numpy()
            dup |= d & ~anynull
        dropped = int(dup.sum())
        if dropped:
            keep = np.flatnonzero(~dup)
            self.cols = {k: v.take(keep) for k, v in self.cols.items()}
        return dropped


def _needed_columns(spec: DatasetSpec, schema: SchemaInfo) -> dict[str, set[str]]:
    """Columns of each table that later tables read (FK targets, `parent` copies)."""
    need: dict[str, set[str]] = {t.name: set() for t in schema.tables}
    for t in schema.tables:
        for fk in t.foreign_keys:
            if fk.parent in need:
                need[fk.parent].update(fk.parent_columns)
        ts = spec.tables.get(t.name)
        for cs in ts.columns.values() if ts else ():
            for sub in _walk_specs(cs):
                if sub.kind == "parent":
                    fk = fk_for(t, str(sub.options["via"]))
                    if fk is not None:
                        need[fk.parent].add(str(sub.options["column"]))
    return need


def _walk_specs(cs: ColumnSpec) -> Iterator[ColumnSpec]:
    yield cs
    if cs.kind == "template":
        for g in cs.options["parts"].values():
            yield from _walk_specs(g)
    elif cs.kind == "one_of":
        for _w, g in cs.options["options"]:
            yield from _walk_specs(g)


def check_scale(spec: DatasetSpec, scale: str) -> Mapping[str, int]:
    if scale not in spec.scales:
        known = ", ".join(spec.scales)
        raise PerflabError(f"{spec.source}: unknown scale {scale!r} (known scales: {known})")
    return spec.scales[scale]


def generate_tables(
    spec: DatasetSpec, schema: SchemaInfo, scale: str, seed: int, dropped: dict[str, int]
) -> Iterator[GeneratedTable]:
    rows_for = check_scale(spec, scale)
    need = _needed_columns(spec, schema)
    parents: dict[str, _Parent] = {}
    for tname in schema.dependency_order():
        table = schema.table(tname)
        gen = _TableGen(spec, schema, table, int(rows_for.get(tname, 0)), seed, parents)
        cols, ndrop = gen.run()
        dropped[tname] = ndrop
        n = len(next(iter(cols.values())).values) if cols else 0
        if need[tname]:
            parents[tname] = _Parent(n, {c: cols[c] for c in need[tname] if c in cols})
        names = tuple(cols)
        col_objs = [cols[c] for c in names]
        if n == 0:
            yield GeneratedTable(tname, names, [])
        for a in range(0, n, CHUNK_ROWS):
            b = min(n, a + CHUNK_ROWS)
            lists = [c.to_list(a, b) for c in col_objs]
            yield GeneratedTable(tname, names, list(zip(*lists, strict=True)))
        del gen, cols, col_objs


def generate(
    spec: DatasetSpec, ddl: str, scale: str, seed: int | None = None
) -> Iterator[GeneratedTable]:
    """Yield the rows of every table in dependency order, in chunks of at most CHUNK_ROWS.

    Each table yields at least one chunk (possibly empty). Deterministic in (spec, ddl,
    scale, seed); ``seed`` defaults to the spec's.
    """
    schema = introspect_ddl(ddl, str(spec.schema_path))
    validate_spec(spec, schema)
    check_scale(spec, scale)
    yield from generate_tables(spec, schema, scale, spec.seed if seed is None else seed, {})


def _max_length(table_sql: str | None, column: str) -> int | None:
    """n from a CHECK (length(column) <= n) or (< n+1) in the table's text, if any."""
    import re  # here: the module's imports are another change's

    if not table_sql:
        return None
    name = re.escape(column)
    m = re.search(
        rf"length\s*\(\s*[\"`\[]?{name}[\"`\]]?\s*\)\s*(<=|<)\s*(\d+)",
        table_sql,
        re.IGNORECASE,
    )
    if not m:
        return None
    return max(0, int(m.group(2)) - (1 if m.group(1) == "<" else 0))
