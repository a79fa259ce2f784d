"""Plan findings: what each query's plan costs, by rule, with evidence.

Every finding is decided by a rule over the classified plan (`perflab.sqlite.plans`) plus
facts measured on the database (row counts, rows a query matches, latency); no
rule looks at a table or index name. Severity grows with the rows involved, so a
scan of 10 rows and of 1M rows are told apart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

import pandas as pd

from perflab import humanize
from perflab.errors import PerflabError
from perflab.results import frame_records
from perflab.sqlite.plans import PlanNode
from perflab.sqlite.querymodel import QueryModel, columns_used, matched_rows, parse_query
from perflab.sqlite.schema import SchemaInfo, introspect, quote_ident

#: Columns of the frame `plan_findings` returns.
FINDING_COLUMNS = {
    "query": "workload query name",
    "rule": "which rule fired (see RULES)",
    "severity": "info < low < medium < high, from `rows` (see SEVERITY_THRESHOLDS)",
    "rows": "rows involved: scanned (scans, automatic index), sorted (temp B-tree), "
    "looked up (non-covering search), outer rows (correlated subquery); None if unknown",
    "plan_line": "the EXPLAIN QUERY PLAN line the finding is about",
    "table": "table the line reads (aliases resolved); None if not a table",
    "index": "index the line uses, if any",
    "evidence": "the facts that decided it, in words (plan line, row counts, latency)",
    "detail": "what it means and what would change it",
    "latency_ms": "measured median latency of the query (NaN when not measured)",
}

RULES = {
    "full_table_scan": "SCAN of a table without an index: every row is read",
    "full_index_scan": "SCAN of a whole index (every entry is visited)",
    "temp_btree_order_by": "rows sorted in a temporary B-tree for ORDER BY",
    "temp_btree_group_by": "rows sorted in a temporary B-tree for GROUP BY",
    "temp_btree_distinct": "rows de-duplicated in a temporary B-tree for DISTINCT",
    "automatic_index": "an index built from the whole table on every execution",
    "correlated_subquery": "a subquery re-run once per outer row",
    "covering_one_column_away": "index search + table lookup where one more index column "
    "would make the index covering",
    "virtual_table": "virtual table access: perflab cannot weigh it",
    "unknown_plan_line": "a plan line perflab does not recognise (reported, not analysed)",
    "unparsed_query": "query perflab's SQL parser cannot read: plan rules that need it skipped",
}

SEVERITIES = ("info", "low", "medium", "high")
#: rows below 1k: info; below 10k: low; below 100k: medium; from 100k: high.
SEVERITY_THRESHOLDS = (1_000, 10_000, 100_000)


def severity(rows: int | None) -> str:
    """Severity from the rows involved; unknown rows count as 'info'."""
    if rows is None:
        return "info"
    for level, limit in zip(SEVERITIES, SEVERITY_THRESHOLDS, strict=False):
        if rows < limit:
            return level
    return "high"


def table_row_counts(conn: sqlite3.Connection, schema: SchemaInfo) -> dict[str, int]:
    """Exact rows per ordinary table (lower-case names)."""
    return {
        t.name.lower(): conn.execute(f"SELECT count(*) FROM {quote_ident(t.name)}").fetchone()[0]
        for t in schema.tables
    }


def _columns_of(schema: SchemaInfo):
    cache: dict[str, set[str]] = {}

    def f(table: str) -> set[str]:
        if table not in cache:
            cache[table] = (
                {c.name.lower() for c in schema.table(table).columns}
                if schema.has_table(table)
                else set()
            )
        return cache[table]

    return f


def _index_entries(conn, schema: SchemaInfo, index: str, rows: dict[str, int]) -> int | None:
    ix = next((i for i in schema.indexes if i.name.lower() == index.lower()), None)
    if ix is None:
        return None
    if ix.partial and ix.where_sql:
        try:
            return conn.execute(
                f"SELECT count(*) FROM {quote_ident(ix.table)} WHERE {ix.where_sql}"
            ).fetchone()[0]
        except sqlite3.Error:
            return None
    return rows.get(ix.table.lower())


def query_findings(
    conn: sqlite3.Connection,
    name: str,
    sql: str,
    nodes: Sequence[PlanNode],
    params: Sequence = (),
    *,
    schema: SchemaInfo | None = None,
    rows: Mapping[str, int] | None = None,
    latency_ms: float | None = None,
) -> list[dict]:
    """Findings of one query's plan (list of dicts with FINDING_COLUMNS keys)."""
    schema = schema or introspect(conn)
    rows = dict(rows) if rows is not None else table_row_counts(conn, schema)
    cols_of = _columns_of(schema)
    out: list[dict] = []
    lat = float("nan") if latency_ms is None else float(latency_ms)
    lat_txt = "" if latency_ms is None else f"; measured p50 {humanize.number(latency_ms, 3)} ms"
    model: QueryModel | None
    try:
        model = parse_query(sql, name)
    except PerflabError as exc:
        model = None
        out.append(
            _f(
                name,
                "unparsed_query",
                None,
                "",
                None,
                None,
                str(exc),
                "covering-index rule skipped for this query",
                lat,
            )
        )
    matched_cache: dict[str, int | None] = {}

    def matched() -> int | None:
        if "m" not in matched_cache:
            matched_cache["m"] = matched_rows(conn, model, params) if model else None
        return matched_cache["m"]

    def resolve(alias: str | None, index: str | None) -> str | None:
        if index:
            ix = next((i for i in schema.indexes if i.name.lower() == index.lower()), None)
            if ix is not None:
                return ix.table
        if alias and model:
            alias = model.tables.get(alias.lower(), alias)
        return alias if alias and schema.has_table(alias) else None

    for n in nodes:
        table = resolve(n.table, n.index)
        trows = rows.get(table.lower()) if table else None
        ev_table = f"{table} has {trows:,} rows" if trows is not None else "row count unknown"
        if n.kind == "scan_table":
            out.append(
                _f(
                    name,
                    "full_table_scan",
                    trows,
                    n.detail,
                    table,
                    None,
                    f"plan: `{n.detail}`; {ev_table}{lat_txt}",
                    "every row is read per execution; cost grows linearly with the table",
                    lat,
                )
            )
        elif n.kind in ("scan_index", "scan_covering_index"):
            ent = _index_entries(conn, schema, n.index or "", rows)
            ev = f"plan: `{n.detail}`; index {n.index} has {ent if ent is not None else '?'} "
            ev += f"entries; {ev_table}{lat_txt}"
            what = (
                "every index entry is visited (used for its order or as a smaller table), "
                "no key constrains it"
            )
            if n.kind == "scan_index":
                what += "; each entry also costs a table lookup"
            out.append(_f(name, "full_index_scan", ent, n.detail, table, n.index, ev, what, lat))
        elif n.kind == "temp_btree":
            purpose = n.purpose or ""
            rule = (
                "temp_btree_group_by"
                if "GROUP BY" in purpose
                else "temp_btree_distinct"
                if "DISTINCT" in purpose
                else "temp_btree_order_by"
            )
            m = matched()
            partial = "RIGHT PART" in purpose or "LAST" in purpose
            ev = (
                f"plan: `{n.detail}`; {m if m is not None else '?'} rows reach the sort "
                f"(counted with ORDER BY/LIMIT removed){lat_txt}"
            )
            what = (
                "rows are sorted per execution before the first one is returned"
                + ("; only the trailing ORDER BY terms are sorted" if partial else "")
                + "; an index whose order matches would avoid it"
            )
            out.append(_f(name, rule, m, n.detail, None, None, ev, what, lat))
        elif n.kind == "search_automatic_index":
            out.append(
                _f(
                    name,
                    "automatic_index",
                    trows,
                    n.detail,
                    table,
                    None,
                    f"plan: `{n.detail}`; {ev_table}: the automatic index is built "
                    f"from them on every execution{lat_txt}",
                    "SQLite found no usable index and builds one per execution; "
                    "a permanent index on the constrained columns avoids it",
                    lat,
                )
            )
        elif n.kind == "correlated_subquery":
            m = matched()
            out.append(
                _f(
                    name,
                    "correlated_subquery",
                    m,
                    n.detail,
                    None,
                    None,
                    f"plan: `{n.detail}`; outer query matches "
                    f"{m if m is not None else '?'} rows{lat_txt}",
                    "the subquery runs once per outer row; a join or an index on the "
                    "correlated column keeps each run cheap",
                    lat,
                )
            )
        elif n.kind == "search_index" and model is not None and table:
            f = _covering_rule(conn, schema, model, n, table, cols_of, matched, lat, lat_txt, name)
            if f:
                out.append(f)
        elif n.kind == "scan_virtual_table":
            out.append(
                _f(
                    name,
                    "virtual_table",
                    trows,
                    n.detail,
                    n.table,
                    None,
                    f"plan: `{n.detail}`",
                    "virtual-table access is decided by the module's xBestIndex; "
                    "perflab does not analyse it",
                    lat,
                )
            )
        elif n.kind == "unknown":
            out.append(
                _f(
                    name,
                    "unknown_plan_line",
                    None,
                    n.detail,
                    None,
                    None,
                    f"plan: `{n.detail}`",
                    "perflab has no rule for this line; read it by hand",
                    lat,
                )
            )
    return out


def _covering_rule(conn, schema, model, n, table, cols_of, matched, lat, lat_txt, name):
    ix = next((i for i in schema.indexes if i.name.lower() == (n.index or "").lower()), None)
    if ix is None or any(c.name is None for c in ix.key_columns):
        return None
    used = columns_used(model, table, cols_of)
    if used is None:  # SELECT *: every column, never one away unless the table is tiny
        used = cols_of(table)
    t = schema.table(table)
    have = {c.name.lower() for c in ix.key_columns if c.name}
    have |= {c.lower() for c in t.primary_key} if not t.without_rowid else set()
    if t.rowid_alias:
        have.add(t.rowid_alias.lower())
    missing = sorted(used - have - {"rowid", "_rowid_", "oid"})
    if len(missing) != 1:
        return None
    m = matched()
    cols = ", ".join([c.name for c in ix.key_columns if c.name] + missing)
    return _f(
        name,
        "covering_one_column_away",
        m,
        n.detail,
        table,
        ix.name,
        f"plan: `{n.detail}`; the query reads {len(used)} column(s) of {table}, the "
        f"index has all but `{missing[0]}`; {m if m is not None else '?'} rows looked up"
        f"{lat_txt}",
        f"an index on ({cols}) would be covering: no table lookup per row",
        lat,
    )


def _f(query, rule, rows, line, table, index, evidence, detail, lat) -> dict:
    return {
        "query": query,
        "rule": rule,
        "severity": severity(rows)
        if rule not in ("unknown_plan_line", "virtual_table", "unparsed_query")
        else "info",
        "rows": rows,
        "plan_line": line,
        "table": table,
        "index": index,
        "evidence": evidence,
        "detail": detail,
        "latency_ms": lat,
    }


def plan_findings(
    conn: sqlite3.Connection,
    workload,
    plans: Mapping[str, Sequence[PlanNode]],
    params: Mapping[str, Sequence[tuple]],
    *,
    latency_ms: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Findings for every workload query (columns: FINDING_COLUMNS), most severe first.

    `plans` and `params` as `perflab.sqlite.plans.workload_plans` / `latency.sample_params`
    give them; `latency_ms` maps query name -> measured median (optional).
    """
    schema = introspect(conn)
    rows = table_row_counts(conn, schema)
    out: list[dict] = []
    for q in workload.queries:
        p = params.get(q.name) or [()]
        lat = (latency_ms or {}).get(q.name)
        out.extend(
            query_findings(
                conn, q.name, q.sql, plans[q.name], p[0], schema=schema, rows=rows, latency_ms=lat
            )
        )
    frame = pd.DataFrame(out, columns=list(FINDING_COLUMNS))
    if not frame.empty:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        frame["_r"] = frame["severity"].map(rank)
        frame = frame.sort_values(["_r", "rows"], ascending=[False, False], kind="stable")
        frame = frame.drop(columns="_r").reset_index(drop=True)
    frame["rows"] = frame["rows"].astype("Int64")
    return frame


def findings_records(frame: pd.DataFrame) -> list[dict]:
    """The findings as summary.json carries them."""
    recs = frame_records(frame)
    return [
        {k: (int(v) if k == "rows" and v is not None else v) for k, v in r.items()} for r in recs
    ]
