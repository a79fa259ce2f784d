"""Every index weighed: inventory, usage by the workload, health, size, write cost.

All of it is decided by rules over what SQLite reports (PRAGMA index_list /
index_xinfo via `perflab.sqlite.schema`, `dbstat`, EXPLAIN QUERY PLAN), never by names.
Anything that writes works on a copy made with the backup API; the user's
database is only ever read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from perflab.errors import PerflabError
from perflab.results import frame_records
from perflab.sqlite import engine
from perflab.sqlite.plans import PlanNode
from perflab.sqlite.schema import (
    IndexColumn,
    IndexInfo,
    SchemaInfo,
    TableInfo,
    introspect,
    quote_ident,
)

#: Columns of `inventory`.
INVENTORY_COLUMNS = {
    "index": "index name (automatic ones are sqlite_autoindex_*)",
    "table": "table it belongs to",
    "columns": "key terms in order, with DESC and a non-BINARY collation",
    "unique": "UNIQUE index",
    "partial_where": "WHERE clause of a partial index, else None",
    "origin": "c: CREATE INDEX, u: UNIQUE constraint, pk: PRIMARY KEY",
    "automatic": "made by SQLite for a constraint (cannot be dropped)",
    "expression": "has an expression term",
    "pages": "pages in dbstat (NaN if dbstat is unavailable)",
    "size_bytes": "bytes in dbstat",
    "used_by": "workload queries whose plans use it (comma-separated)",
    "uses": "number of such queries",
}

#: Columns of `health`.
HEALTH_COLUMNS = {
    "index": "index name",
    "table": "its table",
    "issue": "unused | duplicate | duplicate_of_constraint | rowid_alias | left_prefix | "
    "not_analysed",
    "droppable": "True when dropping it changes no constraint (explicit, and not the only "
    "UNIQUE guarantee)",
    "covered_by": "the index (or rowid) that serves its purpose",
    "reason": "the rule, in words",
}


class HypotheticalConnection(sqlite3.Connection):
    """The in-memory what-if database; `skipped` lists each schema object it could not
    create ({type, name, reason}), so plans read from it say what they lack."""

    skipped: list[dict]


def hypothetical(conn: sqlite3.Connection) -> HypotheticalConnection:
    """An in-memory database with the same schema and planner statistics but no rows:
    without sqlite_stat4 (absent from this build) SQLite plans from the schema and
    sqlite_stat1 only, so plans match the real database, and what-if indexes cost
    nothing to create. Virtual tables are left out, and every object that could not be
    created is in `.skipped` with the reason: never dropped silently."""
    mem = sqlite3.connect(":memory:", isolation_level=None, factory=HypotheticalConnection)
    mem.skipped = []
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid"
    ).fetchall()
    for typ, name, sql in rows:
        if typ == "table" and sql.upper().lstrip().startswith("CREATE VIRTUAL"):
            mem.skipped.append({"type": typ, "name": name, "reason": "virtual table: not created"})
            continue
        if typ in ("table", "index", "view"):
            try:
                mem.execute(sql)
            except sqlite3.Error as exc:
                mem.skipped.append(
                    {"type": typ, "name": name, "reason": f"could not be created: {exc}"}
                )
    has_stat = conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone()
    if has_stat:
        mem.execute("ANALYZE")  # creates sqlite_stat1 (empty)
        mem.execute("DELETE FROM sqlite_stat1")
        mem.executemany(
            "INSERT INTO sqlite_stat1 VALUES (?, ?, ?)",
            conn.execute("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall(),
        )
        mem.execute("ANALYZE sqlite_schema")  # reload the statistics
    return mem


# ---------------------------------------------------------------------------------------------
# inventory and usage


def term_text(c: IndexColumn) -> str:
    s = c.expression if c.name is None else c.name
    s = s or "<expression>"
    if c.collation and c.collation.upper() != "BINARY":
        s += f" COLLATE {c.collation}"
    return s + (" DESC" if c.desc else "")


def index_sizes(conn: sqlite3.Connection) -> dict[str, tuple[int, int]] | None:
    """name -> (pages, bytes) from dbstat; None when this SQLite lacks dbstat."""
    try:
        rows = conn.execute(
            "SELECT name, count(*), sum(pgsize) FROM dbstat GROUP BY name"
        ).fetchall()
    except sqlite3.Error:
        return None
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def usage(plans: Mapping[str, Sequence[PlanNode]]) -> dict[str, list[str]]:
    """index name (lower-case) -> queries whose plan names it."""
    out: dict[str, list[str]] = {}
    for q, nodes in plans.items():
        for n in nodes:
            if n.index and q not in out.setdefault(n.index.lower(), []):
                out[n.index.lower()].append(q)
    return out


def inventory(
    conn: sqlite3.Connection,
    plans: Mapping[str, Sequence[PlanNode]] | None = None,
    schema: SchemaInfo | None = None,
) -> pd.DataFrame:
    """Every index, automatic ones included (columns: INVENTORY_COLUMNS)."""
    schema = schema or introspect(conn)
    sizes = index_sizes(conn)
    used = usage(plans or {})
    rows = []
    for ix in schema.indexes:
        pg, by = (
            (sizes or {}).get(ix.name, (np.nan, np.nan)) if sizes is not None else (np.nan, np.nan)
        )
        q = used.get(ix.name.lower(), [])
        rows.append(
            {
                "index": ix.name,
                "table": ix.table,
                "columns": ", ".join(term_text(c) for c in ix.key_columns),
                "unique": ix.unique,
                "partial_where": ix.where_sql,
                "origin": ix.origin,
                "automatic": ix.automatic,
                "expression": any(c.name is None for c in ix.key_columns),
                "pages": pg,
                "size_bytes": by,
                "used_by": ", ".join(q),
                "uses": len(q),
            }
        )
    return pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))


def usage_matrix(
    conn: sqlite3.Connection,
    plans: Mapping[str, Sequence[PlanNode]],
    schema: SchemaInfo | None = None,
) -> pd.DataFrame:
    """Index x query, 1 where the query's plan uses the index (all indexes, all queries)."""
    schema = schema or introspect(conn)
    used = usage(plans)
    names = [ix.name for ix in schema.indexes]
    return pd.DataFrame(
        [[int(q in used.get(n.lower(), [])) for q in plans] for n in names],
        index=names,
        columns=list(plans),
    )


# ---------------------------------------------------------------------------------------------
# health


def _norm_where(sql: str | None) -> str | None:
    if sql is None:
        return None
    try:
        import sqlglot

        return sqlglot.parse_one(sql, read="sqlite").sql(dialect="sqlite", normalize=True)
    except Exception:
        return " ".join(sql.lower().split())


def _key(c: IndexColumn) -> tuple:
    term = c.name.lower() if c.name is not None else " ".join((c.expression or "?").split())
    return term, (c.collation or "BINARY").upper()


def _same_dirs(a: Sequence[IndexColumn], b: Sequence[IndexColumn]) -> bool:
    flips = {x.desc != y.desc for x, y in zip(a, b, strict=False)}
    return len(flips) <= 1  # all equal or all reversed


def _unique_elsewhere(ix: IndexInfo, table: TableInfo, others: Sequence[IndexInfo]) -> bool:
    """True if another index enforces the same (or a stronger) uniqueness."""
    keys = [_key(c) for c in ix.key_columns]
    for o in others:
        if o is ix or not o.unique or o.partial:
            continue
        ok = [_key(c) for c in o.key_columns]
        if len(ok) <= len(keys) and keys[: len(ok)] == ok and not ix.partial:
            return True
    return bool(table.rowid_alias and keys and keys[0][0] == table.rowid_alias.lower())


def health(
    conn: sqlite3.Connection,
    plans: Mapping[str, Sequence[PlanNode]] | None = None,
    schema: SchemaInfo | None = None,
) -> pd.DataFrame:
    """Unused and redundant indexes, each with its reason (columns: HEALTH_COLUMNS).

    Redundancy rules: exact duplicate (same terms, collations, directions up to a
    full reversal, uniqueness and partial WHERE); duplicate of a PRIMARY KEY /
    UNIQUE automatic index; an index on the INTEGER PRIMARY KEY (the rowid
    already is that index); a left prefix of another index with the same partial
    WHERE (or the longer index not partial), unless the prefix is UNIQUE (it then
    enforces a constraint the longer index does not).
    """
    schema = schema or introspect(conn)
    used = usage(plans) if plans is not None else None
    out = []
    for t in schema.tables:
        idx = list(schema.indexes_of(t.name))
        redundant: set[str] = set()
        for a in idx:
            if a.automatic:
                continue
            keys = [_key(c) for c in a.key_columns]
            where = _norm_where(a.where_sql)
            # rowid alias
            if t.rowid_alias and len(keys) == 1 and keys[0] == (t.rowid_alias.lower(), "BINARY"):
                out.append(
                    _h(
                        a,
                        "rowid_alias",
                        True,
                        "rowid",
                        f"`{t.rowid_alias}` is the INTEGER PRIMARY KEY, i.e. the rowid: the "
                        "table B-tree is already this index (and already unique)",
                    )
                )
                redundant.add(a.name)
                continue
            for b in idx:
                if b is a:
                    continue
                bkeys = [_key(c) for c in b.key_columns]
                bwhere = _norm_where(b.where_sql)
                if bkeys == keys and where == bwhere and _same_dirs(a.key_columns, b.key_columns):
                    if b.automatic and (b.unique or not a.unique):
                        out.append(
                            _h(
                                a,
                                "duplicate_of_constraint",
                                True,
                                b.name,
                                f"same terms as {b.name}, which SQLite made for the table's "
                                f"{'PRIMARY KEY' if b.origin == 'pk' else 'UNIQUE'} "
                                "constraint and which cannot be dropped",
                            )
                        )
                        redundant.add(a.name)
                        break
                    if b.automatic:
                        continue
                    # both explicit: keep the unique one, else the first created
                    if (b.unique and not a.unique) or (
                        b.unique == a.unique
                        and idx.index(b) < idx.index(a)
                        and b.name not in redundant
                    ):
                        out.append(
                            _h(
                                a,
                                "duplicate",
                                True,
                                b.name,
                                f"exact duplicate of {b.name} (same terms, order, "
                                "uniqueness and WHERE)",
                            )
                        )
                        redundant.add(a.name)
                        break
                elif (
                    len(keys) < len(bkeys)
                    and bkeys[: len(keys)] == keys
                    and (bwhere is None or bwhere == where)
                    and _same_dirs(a.key_columns, b.key_columns[: len(keys)])
                ):
                    if a.unique and not _unique_elsewhere(a, t, idx):
                        continue  # a UNIQUE prefix enforces a constraint: not redundant
                    out.append(
                        _h(
                            a,
                            "left_prefix",
                            not a.unique or _unique_elsewhere(a, t, idx),
                            b.name,
                            f"its terms ({', '.join(term_text(c) for c in a.key_columns)}) are "
                            f"a left prefix of {b.name}, which serves the same lookups "
                            "and orderings"
                            + ("" if bwhere is None and where is None else " over the same rows"),
                        )
                    )
                    redundant.add(a.name)
                    break
        for a in idx:
            if any(c.name is None and not c.expression for c in a.key_columns):
                out.append(
                    _h(
                        a,
                        "not_analysed",
                        False,
                        None,
                        "expression term whose text perflab could not read: redundancy "
                        "not analysed",
                    )
                )
            if used is None or a.name in redundant or used.get(a.name.lower()):
                continue
            if a.automatic:
                out.append(
                    _h(
                        a,
                        "unused",
                        False,
                        None,
                        "not used by any workload query, but it enforces a "
                        f"{'PRIMARY KEY' if a.origin == 'pk' else 'UNIQUE'} constraint "
                        "and cannot be dropped",
                    )
                )
            elif a.unique and not _unique_elsewhere(a, t, idx):
                out.append(
                    _h(
                        a,
                        "unused",
                        False,
                        None,
                        "not used by any workload query, but it is the only guarantee "
                        "of its uniqueness: dropping it changes the schema's constraints",
                    )
                )
            else:
                lead = a.key_columns[0].name if a.key_columns else None
                fk = next(
                    (
                        f
                        for f in t.foreign_keys
                        if lead and f.columns and f.columns[0].lower() == lead.lower()
                    ),
                    None,
                )
                if fk is not None:
                    out.append(
                        _h(
                            a,
                            "unused",
                            False,
                            None,
                            "no workload query's plan uses it, but it is led by the "
                            f"foreign key column `{lead}` -> {fk.parent}: deleting or "
                            "re-keying a parent row would scan the table without it",
                        )
                    )
                else:
                    out.append(
                        _h(
                            a,
                            "unused",
                            True,
                            None,
                            "no workload query's plan uses it; it costs space and write "
                            "time (other applications' queries may still need it)",
                        )
                    )
    for v in schema.virtual_tables:
        out.append(
            {
                "index": None,
                "table": v,
                "issue": "not_analysed",
                "droppable": False,
                "covered_by": None,
                "reason": "virtual table: its indexing is internal to its module",
            }
        )
    return pd.DataFrame(out, columns=list(HEALTH_COLUMNS))


def _h(ix: IndexInfo, issue: str, droppable: bool, by: str | None, reason: str) -> dict:
    return {
        "index": ix.name,
        "table": ix.table,
        "issue": issue,
        "droppable": bool(droppable),
        "covered_by": by,
        "reason": reason,
    }


# ---------------------------------------------------------------------------------------------
# write cost


def index_write_statements(
    conn: sqlite3.Connection, t: TableInfo, schema: SchemaInfo, n: int, seed: int
) -> tuple[str, list[tuple], str | None, list[tuple]]:
    """INSERT copying existing rows with fresh keys, and an UPDATE moving indexed columns
    to another row's values. Derived from the schema alone."""
    cols = [c for c in t.insertable_columns]
    q = quote_ident(t.name)
    total = conn.execute(f"SELECT count(*) FROM {q}").fetchone()[0]
    if total == 0:
        raise PerflabError(f"table {t.name!r} is empty: no rows to copy for write cost")
    rng = np.random.default_rng(seed)
    picks = sorted(set(rng.integers(0, total, size=n).tolist()))
    key = "rowid" if not t.without_rowid else ", ".join(quote_ident(c) for c in t.primary_key)
    sel = ", ".join(quote_ident(c.name) for c in cols)
    base = _rows_at(conn, q, sel, key, picks)
    while len(base) < n:
        base = base + base
    base = base[:n]
    # columns that must be fresh: the rowid alias (NULL -> new rowid), and one column of
    # every unique set (the PRIMARY KEY included)
    fresh: set[str] = set()
    for uset in t.unique_constraints:
        if t.rowid_alias and tuple(uset) == (t.rowid_alias,):
            continue
        texty = [c for c in uset if t.column(c).affinity in ("TEXT", "BLOB", "NUMERIC")]
        fresh.add((texty or list(uset))[0].lower())
    for ix in schema.indexes_of(t.name):
        if ix.unique and not any(c.name is None for c in ix.key_columns):
            names = [c.name for c in ix.key_columns if c.name]
            if not any(nm.lower() in fresh for nm in names):
                texty = [c for c in names if t.column(c).affinity != "INTEGER"]
                fresh.add((texty or names)[0].lower())
    big = 10**12
    ins_rows = []
    for k, r in enumerate(base):
        vals = []
        for c, v in zip(cols, r, strict=False):
            if t.rowid_alias and c.name == t.rowid_alias:
                vals.append(None)
            elif c.name.lower() in fresh:
                vals.append(
                    big + k if isinstance(v, int) or c.affinity == "INTEGER" else f"{v}~perflab{k}"
                )
            else:
                vals.append(v)
        ins_rows.append(tuple(vals))
    ins = f"INSERT INTO {q} ({sel}) VALUES ({', '.join('?' * len(cols))})"
    # UPDATE: indexed, non-unique, non-key columns take another row's values
    uniq_cols = {c.lower() for u in t.unique_constraints for c in u}
    upd_cols = []
    for ix in schema.indexes_of(t.name):
        if ix.automatic or ix.unique:
            continue
        for c in ix.key_columns:
            if c.name and c.name.lower() not in uniq_cols and c.name not in upd_cols:
                upd_cols.append(c.name)
    if not upd_cols:
        return ins, ins_rows, None, []
    pos = {c.name: i for i, c in enumerate(cols)}
    nkey = 1 if not t.without_rowid else len(t.primary_key)
    upd_rows = []
    for k, r in enumerate(base):
        other = base[(k + n // 2 + 1) % n]
        upd_rows.append(tuple(other[pos[c]] for c in upd_cols) + tuple(r[-nkey:]))
    where = " AND ".join(
        f"{quote_ident(c) if t.without_rowid else 'rowid'} = ?"
        for c in (t.primary_key if t.without_rowid else ["rowid"])
    )
    upd = f"UPDATE {q} SET {', '.join(f'{quote_ident(c)} = ?' for c in upd_cols)} WHERE {where}"
    return ins, ins_rows, upd, upd_rows


def _rows_at(conn: sqlite3.Connection, q: str, sel: str, key: str, picks: Sequence[int]):
    """The rows (`sel`, then the key) at positions `picks` (sorted, distinct) in key order.

    Only the key is read for every row (a 2M-row table's every column, fetched to keep
    100 rows, cost seconds and a gigabyte); the picked rows are then read by key."""
    keys = conn.execute(f"SELECT {key} FROM {q} ORDER BY {key}").fetchall()
    want = [keys[i] for i in picks]
    out = []
    width = len(want[0]) if want else 1
    step = max(1, 900 // width)  # bound variables per statement
    for i in range(0, len(want), step):
        chunk = want[i : i + step]
        marks = ", ".join("(" + ", ".join("?" * width) + ")" for _ in chunk)
        out += conn.execute(
            f"SELECT {sel}, {key} FROM {q} WHERE ({key}) IN (VALUES {marks}) ORDER BY {key}",
            [v for k in chunk for v in k],
        ).fetchall()
    return out


def time_writes(conn: sqlite3.Connection, sql: str, rows: Sequence[tuple]) -> np.ndarray:
    clock = time.perf_counter_ns
    ex = conn.execute
    ns = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        t0 = clock()
        ex(sql, r)
        ns[i] = clock() - t0
    return ns


def write_cost(
    db: str | Path | sqlite3.Connection,
    *,
    tables: Sequence[str] | None = None,
    writes: int = 200,
    rounds: int = 3,
    seed: int = 0,
    in_place: bool = False,
) -> pd.DataFrame:
    """Per-index cost of INSERT and UPDATE, measured on a copy (`in_place`: `db` is a copy
    perflab made, measured as it is and left as it was, journal mode included).

    For each table: `writes` inserts (existing rows' values, fresh keys) and
    updates (indexed columns set to another row's values), each timed alone
    inside one transaction that is rolled back, first with every index, then with
    each explicit index dropped in turn (DROP INDEX inside the same rolled-back
    transaction, so the copy is unchanged between variants). Variants run
    interleaved for `rounds` rounds (one DROP per variant and round, the inserts rolled
    back to a savepoint before the updates). Commit time is excluded.

    Columns: table, index (None = the baseline with every index), op (insert /
    update), us_per_write (median µs), cost_us (baseline minus without-this-index),
    cost_pct (of the baseline), cost_lo / cost_hi (95% bootstrap CI of cost_us),
    note (e.g. automatic indexes that cannot be dropped).
    """
    with nullcontext(db) if in_place else engine.working_copy(db) as path:
        conn = sqlite3.connect(path, isolation_level=None)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            return _write_cost(conn, tables, writes, rounds, seed)
        finally:
            if in_place:  # every write was rolled back; the journal mode goes back too
                conn.execute(f"PRAGMA journal_mode={mode}")
            conn.close()


def _write_cost(conn, tables, writes, rounds, seed) -> pd.DataFrame:
    schema = introspect(conn)
    names = tables if tables is not None else [t.name for t in schema.tables]
    out = []
    rng = np.random.default_rng(seed)
    for tname in names:
        t = schema.table(tname)
        explicit = [ix for ix in schema.indexes_of(t.name) if not ix.automatic]
        auto = [ix.name for ix in schema.indexes_of(t.name) if ix.automatic]
        if not explicit:
            continue
        try:
            ins, ins_rows, upd, upd_rows = index_write_statements(conn, t, schema, writes, seed)
        except PerflabError as exc:
            out.append(
                {
                    "table": t.name,
                    "index": None,
                    "op": "insert",
                    "us_per_write": np.nan,
                    "cost_us": np.nan,
                    "cost_pct": np.nan,
                    "cost_lo": np.nan,
                    "cost_hi": np.nan,
                    "note": str(exc),
                }
            )
            continue
        variants: list[str | None] = [None] + [ix.name for ix in explicit]
        samples: dict[tuple[str | None, str], list[np.ndarray]] = {}
        ops = [
            (op, sql, rows)
            for op, sql, rows in (("insert", ins, ins_rows), ("update", upd, upd_rows))
            if sql
        ]
        for _ in range(rounds):
            for v in variants:
                # one DROP per variant and round (dropping a big index and rolling it back
                # cost more than the writes); each op's writes undone before the next
                conn.execute("BEGIN")
                try:
                    if v is not None:
                        conn.execute(f"DROP INDEX {quote_ident(v)}")
                    for op, sql, rows in ops:
                        conn.execute("SAVEPOINT op")
                        try:
                            samples.setdefault((v, op), []).append(time_writes(conn, sql, rows))
                        except sqlite3.Error as exc:
                            raise PerflabError(
                                f"write cost on {t.name!r}: {op} failed: {exc}"
                            ) from None
                        finally:
                            conn.execute("ROLLBACK TO op")
                            conn.execute("RELEASE op")
                finally:
                    conn.execute("ROLLBACK")
        note_auto = (
            f"automatic index(es) {', '.join(auto)} cannot be dropped: their cost is in "
            "every variant"
            if auto
            else ""
        )
        for op in ("insert", "update"):
            if (None, op) not in samples:
                continue
            base = np.concatenate(samples[(None, op)]) / 1e3
            mb = float(np.median(base))
            out.append(
                {
                    "table": t.name,
                    "index": None,
                    "op": op,
                    "us_per_write": mb,
                    "cost_us": np.nan,
                    "cost_pct": np.nan,
                    "cost_lo": np.nan,
                    "cost_hi": np.nan,
                    "note": note_auto,
                }
            )
            for v in variants[1:]:
                s = np.concatenate(samples[(v, op)]) / 1e3
                ms = float(np.median(s))
                b1 = np.median(base[rng.integers(0, base.size, (500, base.size))], axis=1)
                b2 = np.median(s[rng.integers(0, s.size, (500, s.size))], axis=1)
                lo, hi = np.quantile(b1 - b2, [0.025, 0.975])
                out.append(
                    {
                        "table": t.name,
                        "index": v,
                        "op": op,
                        "us_per_write": ms,
                        "cost_us": mb - ms,
                        "cost_pct": 100 * (mb - ms) / mb,
                        "cost_lo": float(lo),
                        "cost_hi": float(hi),
                        "note": "",
                    }
                )
    return pd.DataFrame(
        out,
        columns=[
            "table",
            "index",
            "op",
            "us_per_write",
            "cost_us",
            "cost_pct",
            "cost_lo",
            "cost_hi",
            "note",
        ],
    )


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as JSON-ready records (NaN -> None)."""
    return frame_records(frame)
