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

Then every statement is tried on a working copy (a few executions inside a transaction
that is rolled back; queries executed once). What still fails is removed from the
workload and listed with SQLite's reason (``not replayed: UNIQUE(trial_id, param_name)``);
the run goes on with the rest. Hand-written workloads are not rewritten.
"""

from __future__ import annotations

import re
import sqlite3
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.inputs.workload import NotReplayed, ParamSampler, dump_typed, load_workload
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
