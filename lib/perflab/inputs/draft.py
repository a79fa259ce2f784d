"""Draft a workload file from a schema: `perflab workload init --db app.db | --schema app.sql`.

Rules, not names: one lookup per distinct leading index term (expression and
partial indexes included, the partial index's WHERE is kept so the planner can
use it), one full-key lookup per composite unique index, one lookup per foreign
key, one primary-key lookup per table. Parameters come from samplers over the
same column (``sample: SELECT col FROM tbl WHERE col IS NOT NULL``), so lookups
hit rows that exist. Every entry carries ``notes: drafted``: edit the file to
the queries your application really runs (or record them with `perflab capture`).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

import yaml

from perflab.database.snapshot import snapshot
from perflab.errors import PerflabError
from perflab.ownership import check_file_target, write_owned_text
from perflab.sqlite.schema import SchemaInfo, introspect, introspect_ddl, load_ddl, quote_ident

__all__ = ["draft_entries", "draft_workload", "draft_writes", "save_draft"]


def _slug(text: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", text.lower()).strip("_")
    return s or "x"


def draft_entries(info: SchemaInfo, row_counts: dict[str, int] | None = None) -> list[dict]:
    """The drafted queries as workload entries (dicts), in schema order."""
    out: list[dict] = []
    seen_sql: set[str] = set()
    names: set[str] = set()

    def add(table: str, terms: list[str], labels: list[str], group: str, where: str | None):
        if row_counts is not None and not row_counts.get(table):
            return  # no rows to sample parameters from
        qt = quote_ident(table)
        cond = " AND ".join(f"{t} = ?" for t in terms)
        extra = f" AND ({where})" if where else ""
        sql = f"SELECT * FROM {qt} WHERE {cond}{extra}"
        if sql in seen_sql:
            return
        seen_sql.add(sql)
        not_null = " AND ".join(f"{t} IS NOT NULL" for t in terms)
        sampler = f"SELECT {', '.join(terms)} FROM {qt} WHERE {not_null}{extra}"
        base = f"{_slug(table)}_by_{'_'.join(_slug(x) for x in labels)}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.add(name)
        out.append(
            {
                "name": name,
                "group": group,
                "sql": sql,
                "params": [{"sample": sampler}],
                "notes": "drafted",
            }
        )

    for t in info.tables:
        if t.primary_key:
            add(t.name, [quote_ident(c) for c in t.primary_key], list(t.primary_key), "pk", None)
        elif not t.without_rowid:
            add(t.name, ["rowid"], ["rowid"], "pk", None)
        for ix in info.indexes_of(t.name):
            keys = ix.key_columns
            if not keys:
                continue
            lead = keys[0]
            if lead.name is None and not lead.expression:
                continue  # an expression SQLite did not give us the text of
            term = quote_ident(lead.name) if lead.name is not None else f"({lead.expression})"
            label = lead.name if lead.name is not None else f"expr_{ix.name}"
            add(t.name, [term], [label], "index", ix.where_sql if ix.partial else None)
            if ix.unique and len(keys) > 1 and all(c.name is not None for c in keys):
                add(
                    t.name,
                    [quote_ident(c.name) for c in keys if c.name],
                    [c.name for c in keys if c.name],
                    "index",
                    ix.where_sql if ix.partial else None,
                )
        for fk in t.foreign_keys:
            add(t.name, [quote_ident(c) for c in fk.columns], list(fk.columns), "foreign_key", None)
    return out


def draft_writes(info: SchemaInfo, row_counts: dict[str, int] | None = None) -> list[dict]:
    """One drafted write per table: rewrite a row in place (``SET c = c`` on its first
    plain column, found by its key), which costs a page write and every index update on
    that column without changing the data."""
    out = []
    for t in info.tables:
        if row_counts is not None and not row_counts.get(t.name):
            continue
        keys = list(t.primary_key) or ([] if t.without_rowid else ["rowid"])
        if not keys:
            continue
        plain = [
            c
            for c in t.columns
            if not c.generated and not c.pk and not any(c.name in u for u in t.unique_constraints)
        ]
        if not plain:
            continue
        qt = quote_ident(t.name)
        col = quote_ident(plain[0].name)
        kq = [quote_ident(k) if k != "rowid" else k for k in keys]
        out.append(
            {
                "name": f"touch_{_slug(t.name)}",
                "description": "drafted: rewrite one row in place",
                "statements": [
                    {
                        "sql": f"UPDATE {qt} SET {col} = {col} WHERE "
                        + " AND ".join(f"{k} = ?" for k in kq),
                        "params": [{"sample": f"SELECT {', '.join(kq)} FROM {qt}"}],
                    }
                ],
            }
        )
    return out


def _introspect_db(db: Path) -> tuple[SchemaInfo, dict[str, int], list[dict], list[str]]:
    """Schema, row counts and the drafted queries of the user's database, read from a
    snapshot (never the file). A query whose sampler finds no value (a foreign key that is
    NULL in every row) is left out and named, so the run never starts on a query it
    cannot replay."""
    tmp = Path(tempfile.mkdtemp(prefix="perflab-draft-"))
    try:
        rep = snapshot(db, tmp / "draft.sqlite", check=False)
        conn = sqlite3.connect(rep.path)
        try:
            info, counts = introspect(conn), dict(rep.row_counts)
            kept, dropped = [], []
            for e in draft_entries(info, counts):
                sampler = e["params"][0]["sample"]
                ok = conn.execute(f"SELECT 1 FROM ({sampler}) LIMIT 1").fetchone()
                (kept if ok else dropped).append(e if ok else e["name"])
            return info, counts, kept, dropped
        finally:
            conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def draft_workload(db: str | Path | None = None, schema: str | Path | None = None) -> str:
    """The text of a drafted workload file for a database or a DDL file."""
    if (db is None) == (schema is None):
        raise PerflabError("give exactly one of --db or --schema")
    dropped: list[str] = []
    if db is not None:
        source = Path(db)
        info, counts, entries, dropped = _introspect_db(source)
    else:
        source = Path(schema)
        info, counts = introspect_ddl(load_ddl(source), str(source)), None
        entries = draft_entries(info, counts)
    if not entries:
        if counts is not None and info.tables and not any(counts.values()):
            raise PerflabError(
                f"{source}: nothing to draft: all {len(info.tables)} tables are empty, so no "
                "query has parameters to replay (give --workload with your queries, or a "
                "database with rows)"
            )
        if dropped:
            raise PerflabError(
                f"{source}: nothing to draft: every drafted lookup's column is NULL in every "
                f"row ({', '.join(dropped)}); give --workload with your queries"
            )
        raise PerflabError(f"{source}: nothing to draft (no tables with rows, indexes or keys)")
    header = [
        f"# Drafted by `perflab workload init` from {source}.",
        "# One lookup per index's leading term, per foreign key and per primary key, with",
        "# parameters sampled from the same column. Edit it to the queries your application",
        "# runs (or record them: perflab capture --out app.yaml -- python app.py).",
    ]
    if info.views:
        header.append(f"# views (not drafted): {', '.join(info.views)}")
    if info.virtual_tables:
        header.append(
            f"# virtual tables (skipped: their storage is a module's): "
            f"{', '.join(info.virtual_tables)}"
        )
    skipped = [t.name for t in info.tables if counts is not None and not counts.get(t.name)]
    if skipped:
        header.append(f"# empty tables (nothing to sample): {', '.join(skipped)}")
    if dropped:
        header.append(
            f"# lookups left out (every value NULL, nothing to sample): {', '.join(dropped)}"
        )
    doc: dict = {
        "name": f"{source.stem}_drafted",
        "description": f"drafted from {source.name}",
        "queries": entries,
    }
    writes = draft_writes(info, counts)
    if writes:
        doc["writes"] = writes
    doc["concurrency"] = [
        {
            "name": f"readers_{entries[0]['name']}",
            "description": "drafted: the first lookup read concurrently",
            "query": entries[0]["name"],
            "readers": 4,
        }
    ]
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def save_draft(
    out: str | Path, *, db: str | Path | None = None, schema: str | Path | None = None
) -> Path:
    """Draft a workload (`draft_workload`) and write it to ``out``, a new file or one perflab
    wrote before; the target is checked before the schema is read."""
    out = Path(out)
    check_file_target(out, "the workload file")
    write_owned_text(out, draft_workload(db=db, schema=schema), "the workload file", "# ")
    return out
