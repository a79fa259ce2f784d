"""Make a captured workload replayable on a given database, and list what is not.

A captured write replays the application's values, which the database already holds:
an INSERT collides with its own row (``UNIQUE constraint failed``), an UPDATE or a
DELETE aims at a row that may be gone. Before a ``--db`` run, :func:`fit_workload` reads
the snapshot's schema and rewrites each captured write's parameters:

- INSERT: an ``INTEGER PRIMARY KEY`` is left to SQLite (``value: null``); every PRIMARY
  KEY / UNIQUE constraint (composite ones and unique indexes too) gets one column of
  fresh values (``unique:``: integers above the column's maximum, text or BLOB carrying
  the run's token), chosen among the constraint's columns that are not foreign keys;
  a FOREIGN KEY column draws its parent's existing keys (``sample:``), and a key made only
  of foreign keys (a join table) draws parent combinations no row holds yet, each once
  (``unused:``). Upserts (``OR
  REPLACE``, ``ON CONFLICT``) keep their values: colliding is what they are for.
- UPDATE / DELETE: the WHERE parameters compared with the table's columns draw those
  columns together from existing rows (one ``sample:`` query); a SET of a UNIQUE column
  gets fresh values.

A captured query's parameters must also return what the application's returned: each
candidate (the column draws above, the captured tuples as they are, and for a range bound
on a time-like column, i.e. epoch numbers or ISO text, the captured tuples shifted
together along that column) is executed on the working copy and its rows per execution
compared with the capture's (`perflab.inputs.fidelity`); the first that matches is kept,
in that order, so a "which jobs are due" poll keeps its "now" instead of a value drawn
from the column, and a lookup keeps hits. When none matches, the closest is kept and the
run labels the query (``replay differs``).

Then every statement is tried on a working copy (a few executions inside a transaction
that is rolled back; queries executed once). What still fails is removed from the
workload and listed with SQLite's reason (``not replayed: UNIQUE(trial_id, param_name)``);
the run goes on with the rest. Hand-written workloads are not rewritten.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.inputs.fidelity import captured_rows_per_exec, differs, distance
from perflab.inputs.workload import (
    NotReplayed,
    ParamSampler,
    column_pool_sql,
    dump_typed,
    load_workload,
    parse_params,
)
from perflab.sqlite import engine
from perflab.sqlite.normalize import normalize
from perflab.sqlite.schema import TableInfo, introspect, quote_ident
from perflab.yamlio import load_yaml

__all__ = ["FitResult", "fit_workload", "reason_of"]

TRIAL_OPS = 3


@dataclass(frozen=True)
class FitResult:
    text: str  # the fitted workload's YAML
    not_replayed: tuple[NotReplayed, ...]
    rewritten: tuple[str, ...]  # write names whose parameters were fitted


def reason_of(exc: Exception) -> str:
    """SQLite's message, constraint failures shortened to ``UNIQUE(a, b)``."""
    msg = str(exc)
    m = re.match(r"(UNIQUE|NOT NULL|CHECK|FOREIGN KEY|PRIMARY KEY) constraint failed: ?(.*)", msg)
    if m and m.group(2):
        cols = [c.split(".", 1)[-1] for c in m.group(2).split(", ")]
        return f"{m.group(1)}({', '.join(cols)})"
    return msg.splitlines()[0].strip() if msg else type(exc).__name__


def _keys(t: TableInfo, conn: sqlite3.Connection) -> list[tuple[str, ...]]:
    """Column sets that must stay unique: PRIMARY KEY (not a rowid alias), UNIQUE
    constraints and full (non-partial) unique indexes on plain columns."""
    out: list[tuple[str, ...]] = []
    if t.primary_key and not t.rowid_alias:
        out.append(tuple(t.primary_key))
    out.extend(tuple(c) for c in t.unique_constraints)
    q = quote_ident(t.name)
    for row in conn.execute(f"PRAGMA index_list({q})").fetchall():
        if row[2] and not row[4] and row[3] == "c":
            cols = [r[2] for r in conn.execute(f"PRAGMA index_info({quote_ident(row[1])})")]
            if all(cols):
                out.append(tuple(cols))
    seen, uniq = set(), []
    for k in out:
        key = tuple(c.lower() for c in k)
        if key not in seen:
            seen.add(key)
            uniq.append(k)
    return uniq


def _fk_of(t: TableInfo) -> dict[str, tuple[str, str]]:
    out = {}
    for fk in t.foreign_keys:
        if len(fk.columns) == 1 and fk.parent_columns and fk.parent_columns[0]:
            out[fk.columns[0].lower()] = (fk.parent, fk.parent_columns[0])
        elif len(fk.columns) == 1:
            out[fk.columns[0].lower()] = (fk.parent, "rowid")
    return out


def _columns_of(params: list[dict], n: int) -> list[list[Any]]:
    """Per position, the captured values (from a rows: sampler or values: lists)."""
    if len(params) == 1 and "rows" in params[0]:
        rows = params[0]["rows"]
        return [[r[i] for r in rows] for i in range(n)]
    cols = []
    for p in params:
        if "values" in p:
            cols.append(list(p["values"]))
        elif "value" in p:
            cols.append([p["value"]])
        else:
            return []
    return cols if len(cols) == n else []


def _fit_statement(st: dict, schema, conn: sqlite3.Connection) -> bool:
    """Rewrite one statement's params in place for this schema; True if changed."""
    n = normalize(st["sql"])
    params = st.get("params") or []
    nparams = len(n.slots)
    if n.kind != "write" or not nparams or not schema.has_table(n.table):
        return False
    text = st["sql"].upper()
    if n.verb == "insert" and re.search(r"\bOR\s+(REPLACE|IGNORE)\b|ON\s+CONFLICT|^REPLACE", text):
        return False
    t = schema.table(n.table)
    captured = _columns_of(params, nparams)
    if not captured:
        return False
    cols = [c.lower() if c and t.has_column(c) else None for c in n.param_columns]
    specs: list[dict | None] = [None] * nparams
    fks = _fk_of(t)
    if n.verb == "insert":
        for i, c in enumerate(cols):
            if c is None:
                continue
            if t.rowid_alias and c == t.rowid_alias.lower():
                specs[i] = {"value": None}
            elif c in fks:
                parent, pcol = fks[c]
                specs[i] = {"column": {"table": parent, "columns": [pcol]}}
        for key in _keys(t, conn):
            kl = [k.lower() for k in key]
            pos = [i for i, c in enumerate(cols) if c in kl]
            if any(specs[i] == {"value": None} or "unique" in (specs[i] or {}) for i in pos):
                continue
            free = [i for i in pos if specs[i] is None]
            if not free and len(pos) == len(kl) > 1 and pos == list(range(pos[0], pos[-1] + 1)):
                # a key made only of foreign keys (a join table): parent combinations no
                # row holds yet, each drawn once
                specs[pos[0]] = {"unused": _unused_pairs(t, [cols[i] for i in pos], fks)}
                for i in pos[1:]:
                    specs[i] = {"covered": True}
                continue
            if not free:
                continue  # no column of the key is set: SQLite's defaults
            i = free[0]
            specs[i] = {"unique": {"table": t.name, "column": cols[i], "like": captured[i][0]}}
    else:
        where_pos = [i for i, c in enumerate(cols) if c is not None and not _is_set(n, i)]
        set_pos = [i for i in range(nparams) if _is_set(n, i)]
        uniq = {k[0].lower() for k in _keys(t, conn) if len(k) == 1}
        for i in set_pos:
            if cols[i] in uniq:
                specs[i] = {"unique": {"table": t.name, "column": cols[i], "like": captured[i][0]}}
        if where_pos and where_pos == list(range(where_pos[0], nparams)):
            specs[where_pos[0]] = {
                "column": {"table": t.name, "columns": [cols[i] for i in where_pos]}
            }
            for i in where_pos[1:]:
                specs[i] = {"covered": True}
    if all(s is None for s in specs):
        return False
    out = []
    for i, s in enumerate(specs):
        if s is None:
            out.append({"values": captured[i]})
        elif not s.get("covered"):
            out.append(s)
    st["params"] = out
    return True


def _unused_pairs(t: TableInfo, cols: list[str], fks: dict[str, tuple[str, str]]) -> str:
    """SELECT parent keys (one sample of at most 300 per parent, so a join of large parents
    stays small) whose combination `t` does not hold yet."""
    froms, conds, sel = [], [], []
    for k, c in enumerate(cols):
        parent, pcol = fks[c]
        q = quote_ident(pcol)
        froms.append(
            f"(SELECT {q} AS k FROM {quote_ident(parent)} WHERE {q} IS NOT NULL "
            f"ORDER BY {q} LIMIT 300) AS p{k}"
        )
        sel.append(f"p{k}.k")
        conds.append(f"x.{quote_ident(c)} = p{k}.k")
    return (
        f"SELECT {', '.join(sel)} FROM {', '.join(froms)} WHERE NOT EXISTS "
        f"(SELECT 1 FROM {quote_ident(t.name)} AS x WHERE {' AND '.join(conds)}) LIMIT 20000"
    )


def _fit_query(q: dict, schema, default: str) -> list[str]:
    """Rewrite a captured query's params in place to draw from the database: parameters
    compared for equality with columns of one table, side by side, are drawn together from
    one row (``column:``); range bounds and IN-list members each from their column; a
    LIKE whose captured patterns are prefixes (``abc%``) from the column's prefixes of
    that length. BETWEEN bounds, LIMIT and parameters not compared with a column keep
    their captured values.
    Returns the columns used (empty: unchanged)."""
    from perflab.sqlite.querymodel import param_columns, parse_query

    if (q.get("sampler") or default or "column") != "column" or not q.get("params"):
        return []
    try:
        model = parse_query(q["sql"], str(q.get("name")))
    except PerflabError:
        return []
    captured = _columns_of(q["params"], model.nparams)
    if not captured:
        return []

    def columns_of(table: str) -> set[str]:
        if not schema.has_table(table):
            return set()
        return {c.name.lower() for c in schema.table(table).columns}

    pcs = param_columns(model, columns_of)
    out: list[dict] = []
    used: list[str] = []
    i = 0
    while i < len(pcs):
        pc = pcs[i]
        prefix = _like_prefix(captured[i]) if pc is not None and pc.op == "like" else None
        if pc is None or pc.op == "between" or (pc.op == "like" and prefix is None):
            out.append({"rows": [[v] for v in captured[i]]})  # captured values
            i += 1
            continue
        group = [pc.column]
        j = i + 1
        # equalities on one table's columns side by side come from one row; a range bound
        # drawn from the same row would exclude (or just include) that row, so ranges,
        # inequalities and IN members are drawn from their column alone
        while pc.op == "eq" and j < len(pcs):
            nxt = pcs[j]
            if nxt is None or nxt.table != pc.table or nxt.op != "eq":
                break
            if nxt.column.lower() in (c.lower() for c in group):
                break
            group.append(nxt.column)
            j += 1
        spec: dict[str, Any] = {"table": pc.table, "columns": group}
        if prefix:
            spec["prefix"] = prefix
        out.append({"column": spec})
        used.extend(f"{pc.table}.{c}" for c in group)
        i = j
    if not used:
        return []
    q["params"] = out
    q["sampler"] = "column"
    return used


def _like_prefix(values: list[Any]) -> int | None:
    """The median prefix length of captured LIKE patterns that are all ``prefix%``."""
    lengths = []
    for v in values:
        if not isinstance(v, str):
            return None
        if "%" not in v and "_" not in v:
            return 0  # exact values: compare with the column's values as they are
        head = v[:-1]
        if not v.endswith("%") or "%" in head or "_" in head:
            return None
        lengths.append(len(head))
    return sorted(lengths)[len(lengths) // 2] if lengths else None


def _is_set(n, i: int) -> bool:
    """Is parameter i of an UPDATE in its SET clause (before WHERE)?"""
    if n.verb != "update":
        return False
    head = n.sql.upper().split(" WHERE ", 1)[0]
    return i < head.count("?")


def _try_write(conn: sqlite3.Connection, w, seed: int) -> str | None:
    """Run the write a few times in a transaction, roll back; the reason it fails, if so."""
    try:
        samplers = [
            ParamSampler(conn, st.params, seed=seed + j, run_token="trial")
            for j, st in enumerate(w.statements)
        ]
        conn.execute(f"BEGIN {w.begin}")
        try:
            for _ in range(TRIAL_OPS):
                for st, s in zip(w.statements, samplers, strict=True):
                    conn.execute(st.sql, s.draw())
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    except (sqlite3.Error, PerflabError, ValueError, OverflowError) as exc:
        return reason_of(exc)
    return None


def _try_query(conn: sqlite3.Connection, q, seed: int) -> str | None:
    try:
        params = ParamSampler(conn, q.params, seed=seed).draw()
        conn.execute(q.sql, params).fetchone()
    except (sqlite3.Error, PerflabError, ValueError, OverflowError) as exc:
        return reason_of(exc)
    return None


def fit_workload(db_path: Path, workload_path: Path, *, seed: int = 0) -> FitResult:
    """The captured workload fitted to the database at `db_path` (a snapshot; the trials
    run on a working copy of it), with the statements that still fail listed."""
    doc = load_yaml(workload_path)
    with engine.working_copy(Path(db_path)) as copy:
        conn = engine.connect(copy, readonly=False)  # the application's pragmas (FKs on)
        try:
            schema = introspect(conn)
            rewritten = []
            for w in doc.get("writes") or []:
                changed = [_fit_statement(st, schema, conn) for st in w.get("statements") or []]
                if any(changed):
                    rewritten.append(str(w.get("name")))
            kept = {}  # query name -> (captured params, sampler) while column samplers are tried
            for q in doc.get("queries") or []:
                before = deepcopy(q.get("params"))
                if _fit_query(q, schema, str(doc.get("sampler") or "")):
                    kept[q.get("name")] = before
            tmp = Path(copy).with_suffix(".fitted.yaml")
            tmp.write_text(dump_typed(doc), encoding="utf-8")
            wl = load_workload(tmp)
            fallback = {}
            for i, q in enumerate(wl.queries):
                why = _try_query(conn, q, seed + i) if q.name in kept else None
                if why:  # the column pool failed (an empty table): the captured values it is
                    fallback[q.name] = why
            if fallback:
                for q in doc["queries"]:
                    if q.get("name") in fallback:
                        q["params"] = kept[q["name"]]
                        q["sampler"] = "captured"
                        q["notes"] = (
                            f"{q.get('notes') or ''}; captured values: the column sampler "
                            f"failed ({fallback[q['name']]})"
                        ).lstrip("; ")
                tmp.write_text(dump_typed(doc), encoding="utf-8")
                wl = load_workload(tmp)
            if _fit_rows(conn, doc, schema, kept, seed):
                tmp.write_text(dump_typed(doc), encoding="utf-8")
                wl = load_workload(tmp)
            skipped: list[NotReplayed] = list(wl.not_replayed)
            bad_q = set()
            for i, q in enumerate(wl.queries):
                why = _try_query(conn, q, seed + i)
                if why:
                    skipped.append(NotReplayed(q.name, "query", q.sql, why))
                    bad_q.add(q.name)
            bad_w = set()
            for i, w in enumerate(wl.writes):
                why = _try_write(conn, w, seed + i)
                if why:
                    skipped.append(NotReplayed(w.name, "write", w.statements[0].sql, why))
                    bad_w.add(w.name)
        finally:
            conn.close()
    doc["queries"] = [q for q in doc.get("queries") or [] if q.get("name") not in bad_q]
    if not doc["queries"]:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in skipped if s.kind == "query")
        raise PerflabError(f"{workload_path}: no captured query runs on this database ({reasons})")
    doc["writes"] = [w for w in doc.get("writes") or [] if w.get("name") not in bad_w]
    names = {q["name"] for q in doc["queries"]}
    conc = [c for c in doc.get("concurrency") or [] if c.get("query") in names]
    if not conc and doc.get("concurrency"):
        c = dict(doc["concurrency"][0])
        c["query"] = doc["queries"][0]["name"]
        conc = [c]
    doc["concurrency"] = conc
    doc["origin"] = "capture-fitted"
    doc["not_replayed"] = [
        {"name": s.name, "kind": s.kind, "sql": s.sql, "reason": s.reason} for s in skipped
    ]
    return FitResult(dump_typed(doc), tuple(skipped), tuple(rewritten))


# ----------------------------------------------------------------------- rows per execution

#: The fit's measure of a candidate: this many executions, at most this long, at most this
#: many rows counted per execution (enough to tell 2,320 rows from 0.3).
FIT_DRAWS = 30
FIT_SECONDS = 0.3
FIT_ROW_CAP = 100_000


def _rows_per_exec(conn: sqlite3.Connection, sql: str, params: list, seed: int) -> float | None:
    """Mean rows per execution of `sql` with parameters drawn from `params` (a workload
    ``params:`` list), or None when they cannot run here."""
    try:
        sampler = ParamSampler(conn, parse_params(params, "fit"), seed=seed, run_token="fit")
        t0, total, n = time.perf_counter(), 0, 0
        for _ in range(FIT_DRAWS):
            cur = conn.execute(sql, sampler.draw())
            got = 0
            while got < FIT_ROW_CAP:
                chunk = cur.fetchmany(1000)
                if not chunk:
                    break
                got += len(chunk)
            cur.close()
            total, n = total + got, n + 1
            if time.perf_counter() - t0 > FIT_SECONDS:
                break
    except (sqlite3.Error, PerflabError, ValueError, OverflowError):
        return None
    return total / n if n else None


def _fit_rows(conn: sqlite3.Connection, doc: dict, schema, kept: dict, seed: int) -> bool:
    """Per captured query with rows per execution: keep the first candidate whose rows per
    execution match the capture's (module docstring); True if a query's params changed."""
    changed = False
    for i, q in enumerate(doc.get("queries") or []):
        cap, _why = captured_rows_per_exec(q.get("captured"))
        if cap is None or not q.get("params"):
            continue
        name = q.get("name")
        original = kept.get(name, q["params"])  # the captured tuples
        cands: list[tuple[str, list, str]] = []
        if name in kept:
            cands.append(("column draws", q["params"], "column"))
        cands.append(("captured values", original, "captured"))
        measured = []
        for label, params, sampler in cands:
            rows = _rows_per_exec(conn, q["sql"], params, seed + i)
            if rows is not None:
                measured.append((label, params, sampler, rows))
        if measured and not any(not differs(cap, m[3]) for m in measured):
            measured.extend(_shifted_candidates(conn, q, schema, original, cap, seed + i))
        if not measured:
            continue
        ok = [m for m in measured if not differs(cap, m[3])]
        label, params, sampler, rows = (
            ok[0] if ok else min(measured, key=lambda m: distance(cap, m[3]))
        )
        if params is q["params"]:
            continue
        q["params"], q["sampler"] = params, sampler
        first = measured[0]
        q["notes"] = (
            f"{q.get('notes') or ''}; {label}: the application's {cap:.3g} rows/exec "
            f"against {first[3]:.3g} with {first[0]}, {rows:.3g} with these"
        ).lstrip("; ")
        changed = True
    return changed


def _time_kind(values: list[Any]) -> str | None:
    """'number' (epoch seconds, ms or µs) or 'text' (ISO date-times) when every value is
    one, else None."""
    if not values:
        return None
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number" if all(1e8 <= abs(v) < 1e17 for v in values) else None
    if all(isinstance(v, str) for v in values):
        return "text" if all(_iso_seconds(v) is not None for v in values) else None
    return None


def _iso_seconds(v: Any) -> float | None:
    if not isinstance(v, str) or len(v) < 10 or v[4:5] != "-" or v[7:8] != "-":
        return None
    try:
        d = dt.datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith("Z") else v)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def _seconds(v: Any, kind: str) -> float | None:
    if kind == "number":
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return _iso_seconds(v)


def _shift(v: Any, kind: str, delta: float) -> Any:
    """`v` moved by `delta` (the column's units; seconds for text), in `v`'s own form."""
    if kind == "number":
        return round(v + delta) if isinstance(v, int) else v + delta
    zulu = v.endswith("Z")
    d = dt.datetime.fromisoformat(v[:-1] + "+00:00" if zulu else v)
    d = d + dt.timedelta(seconds=delta)
    if len(v) == 10:
        return d.date().isoformat()
    spec = "microseconds" if "." in v[19:] else "seconds" if len(v) > 16 else "minutes"
    out = d.isoformat(sep=v[10], timespec=spec)
    return out[:-6] + "Z" if zulu and out.endswith("+00:00") else out


def _shifted_candidates(
    conn: sqlite3.Connection, q: dict, schema, original: list, cap: float, seed: int
) -> list[tuple[str, list, str, float]]:
    """The captured tuples with their time-like range bounds moved together along the
    column (a "now" kept as "now" relative to the data): shifts that put the captured
    median at the column's quantiles, nearest first, then halved between the two that
    bracket the application's rows per execution."""
    from perflab.sqlite.querymodel import param_columns, parse_query

    if len(original) != 1 or "rows" not in original[0]:
        return []
    rows = [list(r) for r in original[0]["rows"]]
    try:
        model = parse_query(q["sql"], str(q.get("name")))
    except PerflabError:
        return []
    cols = {t.name.lower(): {c.name.lower() for c in t.columns} for t in schema.tables}
    pcs = param_columns(model, lambda t: cols.get(t.lower(), set()))
    pos, kind, where = [], None, None
    for i, pc in enumerate(pcs):
        if pc is None or pc.op not in ("range", "between") or i >= len(rows[0]):
            continue
        k = _time_kind([r[i] for r in rows])
        if k and (where is None or where == (pc.table, pc.column.lower())):
            pos.append(i)
            kind, where = k, (pc.table, pc.column.lower())
    if not pos or kind is None or where is None:
        return []
    try:
        pool = conn.execute(column_pool_sql(conn, where[0], [where[1]])).fetchall()
    except sqlite3.Error:
        return []
    xs = sorted(s for (v,) in pool if (s := _seconds(v, kind)) is not None)
    base = sorted(s for r in rows if (s := _seconds(r[pos[0]], kind)) is not None)
    if not xs or not base:
        return []
    mid = base[len(base) // 2]
    grid = {xs[min(len(xs) - 1, k * (len(xs) - 1) // 20)] for k in range(21)}
    grid |= {xs[0] - 1, xs[-1] + 1}

    def attempt(delta: float) -> tuple[str, list, str, float] | None:
        shifted = [
            [_shift(v, kind, delta) if j in pos else v for j, v in enumerate(r)] for r in rows
        ]
        params = [{"rows": shifted}]
        got = _rows_per_exec(conn, q["sql"], params, seed)
        if got is None:
            return None
        unit = "s" if kind == "text" else ""
        label = f"captured values shifted by {delta:+,.6g}{unit} along {where[1]}"
        return (label, params, "captured", got)

    tried: list[tuple[float, tuple[str, list, str, float]]] = []
    for delta in sorted({g - mid for g in grid}, key=abs):
        m = attempt(delta)
        if m is None:
            continue
        if not differs(cap, m[3]):
            return [m]
        tried.append((delta, m))
    # rows per execution against the shift: halve the bracket around the capture's
    tried.sort(key=lambda dm: dm[0])
    for (lo, m0), (hi, m1) in zip(tried, tried[1:], strict=False):
        if (m0[3] - cap) * (m1[3] - cap) >= 0:
            continue
        rlo = m0[3]
        for _ in range(16):
            m = attempt((lo + hi) / 2)
            if m is None:
                break
            if not differs(cap, m[3]):
                return [m]
            tried.append(((lo + hi) / 2, m))
            if (m[3] - cap) * (rlo - cap) > 0:
                lo, rlo = (lo + hi) / 2, m[3]
            else:
                hi = (lo + hi) / 2
        break
    return [m for _d, m in tried]
