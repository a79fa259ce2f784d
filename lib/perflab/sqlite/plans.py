"""EXPLAIN QUERY PLAN as a tree of classified nodes.

Each detail line is classified by its wording, which is stable across SQLite
3.40-3.54 for the forms listed in the planner notes; a line no rule knows is
classified `unknown` and reported, never dropped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from perflab.errors import PerflabError

# kind -> what a reader should think of it
KINDS = {
    "search_index": "search by index, then look up the table row",
    "search_covering_index": "search by covering index (no table lookup)",
    "search_rowid": "search by rowid / INTEGER PRIMARY KEY",
    "search_primary_key": "search by PRIMARY KEY of a WITHOUT ROWID table",
    "search_automatic_index": "search by an automatic index built for this statement",
    "search_table": "search without a named index",
    "scan_table": "full table scan",
    "scan_index": "full index scan (every entry, then the table row)",
    "scan_covering_index": "full scan of a covering index",
    "scan_subquery": "scan of a subquery or view result",
    "scan_virtual_table": "virtual table scan",
    "scan_constant": "constant row(s)",
    "temp_btree": "temporary B-tree (sort or de-duplication)",
    "multi_index_or": "OR handled by several index searches",
    "or_branch": "one branch of a multi-index OR",
    "subquery": "subquery",
    "correlated_subquery": "correlated subquery (re-run per outer row)",
    "coroutine": "co-routine",
    "materialize": "materialized subquery",
    "compound": "compound query part",
    "bloom_filter": "Bloom filter",
    "recursive": "recursive CTE step",
    "in_operator": "IN operator lookup",
    "unknown": "plan line perflab does not recognise",
}

_ACCESS = re.compile(
    r"^(?P<op>SCAN|SEARCH) (?P<table>.+?)"
    r"(?: USING (?P<using>COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY|"
    r"AUTOMATIC PARTIAL COVERING INDEX|AUTOMATIC COVERING INDEX|AUTOMATIC INDEX|"
    r"ROWID SEARCH ON TABLE)(?: (?P<index>[^ (]+))?)?"
    r"(?: \((?P<constraint>.*)\))?(?P<rest>(?: LEFT-JOIN| RIGHT-JOIN.*| FOR IN-OPERATOR)?)$"
)
_TEMP = re.compile(r"^USE TEMP B-TREE FOR (?P<purpose>.+)$")


@dataclass(frozen=True)
class PlanNode:
    """One EXPLAIN QUERY PLAN row with what perflab reads from it."""

    id: int
    parent: int
    detail: str
    kind: str
    table: str | None = None
    index: str | None = None
    constraint: str | None = None
    purpose: str | None = None  # temp B-tree: ORDER BY, GROUP BY, DISTINCT, ...


# (SCAN | SEARCH, the USING clause) -> kind: one row per plan shape perflab names.
_ACCESS_KINDS = {
    ("SCAN", "COVERING INDEX"): "scan_covering_index",
    ("SCAN", "INDEX"): "scan_index",
    ("SCAN", None): "scan_table",
    ("SEARCH", "COVERING INDEX"): "search_covering_index",
    ("SEARCH", "INDEX"): "search_index",
    ("SEARCH", "INTEGER PRIMARY KEY"): "search_rowid",
    ("SEARCH", "PRIMARY KEY"): "search_primary_key",
    ("SEARCH", None): "search_table",
}


def classify(detail: str) -> dict:
    """Kind and parsed parts of one plan detail line."""
    d = detail.strip()
    m = _TEMP.match(d)
    if m:
        return {"kind": "temp_btree", "purpose": m.group("purpose")}
    if d.startswith(("SCAN CONSTANT ROW", "SCAN ")) and (
        "CONSTANT ROW" in d or "VALUES CLAUSE" in d
    ):
        return {"kind": "scan_constant"}
    if re.match(r"^(SCAN|SEARCH) .+ VIRTUAL TABLE INDEX", d):
        table = d.split()[1]
        return {"kind": "scan_virtual_table", "table": table}
    if re.match(r"^SCAN \(subquery-\d+\)|^SCAN \S+$", d) and "(subquery" in d:
        return {"kind": "scan_subquery"}
    m = _ACCESS.match(d)
    if m:
        op, using = m.group("op"), m.group("using")
        table = m.group("table")
        parts = {
            "table": table,
            "index": m.group("index"),
            "constraint": m.group("constraint"),
        }
        if using == "ROWID SEARCH ON TABLE" or "FOR IN-OPERATOR" in (m.group("rest") or ""):
            return {"kind": "in_operator", **parts}
        if using and using.startswith("AUTOMATIC"):
            return {"kind": "search_automatic_index", **parts}
        kind = _ACCESS_KINDS.get((op, using))
        if kind is not None:
            return {"kind": kind, **parts}
    if d == "MULTI-INDEX OR":
        return {"kind": "multi_index_or"}
    if re.match(r"^INDEX \d+$", d):
        return {"kind": "or_branch"}
    if re.match(r"^CORRELATED (SCALAR|LIST) SUBQUERY", d):
        return {"kind": "correlated_subquery"}
    if re.match(r"^(SCALAR|LIST) SUBQUERY", d):
        return {"kind": "subquery"}
    if d.startswith("CO-ROUTINE"):
        return {"kind": "coroutine"}
    if d.startswith("MATERIALIZE"):
        return {"kind": "materialize"}
    if d.startswith(
        ("COMPOUND QUERY", "LEFT-MOST SUBQUERY", "UNION", "EXCEPT", "INTERSECT", "MERGE (")
    ):
        return {"kind": "compound"}
    if d.startswith("BLOOM FILTER ON"):
        return {"kind": "bloom_filter", "table": d.split()[3]}
    if d in ("SETUP", "RECURSIVE STEP"):
        return {"kind": "recursive"}
    return {"kind": "unknown"}


def explain(conn: sqlite3.Connection, sql: str, params: Sequence = ()) -> list[PlanNode]:
    """The statement's plan with real parameter values (LIKE and partial-index
    choices depend on them, since SQLite re-prepares per value)."""
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, tuple(params)).fetchall()
    except sqlite3.Error as exc:
        raise PerflabError(f"cannot explain {sql[:60]!r}: {exc}") from None
    return [PlanNode(int(r[0]), int(r[1]), str(r[3]), **classify(str(r[3]))) for r in rows]


def plan_text(nodes: Sequence[PlanNode]) -> str:
    """The plan drawn as the sqlite3 shell's .eqp draws it."""
    children: dict[int, list[PlanNode]] = {}
    for n in nodes:
        children.setdefault(n.parent, []).append(n)
    lines = ["QUERY PLAN"]

    def walk(parent: int, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, n in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(f"{prefix}{'`--' if last else '|--'}{n.detail}")
            walk(n.id, prefix + ("   " if last else "|  "))

    walk(0, "")
    return "\n".join(lines)


def plan_summary(nodes: Sequence[PlanNode]) -> dict:
    """The plan's classification as summary.json carries it."""
    kinds = sorted({n.kind for n in nodes})
    uses_index = any(
        n.kind.startswith("search_") and n.kind != "search_table" for n in nodes
    ) or any(n.kind in ("scan_covering_index", "scan_index") for n in nodes)
    return {
        "kinds": kinds,
        "uses_index": bool(uses_index),
        "full_scans": sum(n.kind == "scan_table" for n in nodes),
        "temp_btrees": sum(n.kind == "temp_btree" for n in nodes),
        "indexes": sorted({n.index for n in nodes if n.index}),
        "unknown_lines": [n.detail for n in nodes if n.kind == "unknown"],
    }


def plan_frame(nodes: Sequence[PlanNode]) -> pd.DataFrame:
    """Columns: id, parent, detail, kind, table, index, constraint, purpose."""
    return pd.DataFrame([asdict(n) for n in nodes])


def workload_plans(
    conn: sqlite3.Connection, workload, params: dict[str, list[tuple]]
) -> dict[str, list[PlanNode]]:
    """Each query's plan, explained with its first sampled parameter tuple."""
    return {
        q.name: explain(conn, q.sql, params[q.name][0] if params.get(q.name) else ())
        for q in workload.queries
    }


def plan_records(workload, plans: dict[str, list[PlanNode]]) -> list[dict]:
    """Per-query plan entries as summary.json carries them."""
    return [
        {
            "name": q.name,
            "sql": q.sql,
            "plan": [
                {"id": n.id, "parent": n.parent, "detail": n.detail, "kind": n.kind}
                for n in plans[q.name]
            ],
            "plan_text": plan_text(plans[q.name]),
            "plan_classification": plan_summary(plans[q.name]),
        }
        for q in workload.queries
    ]


def plans_overview(workload, plans: dict[str, list[PlanNode]]) -> pd.DataFrame:
    """One row per query. Columns: query, uses_index, full_scans, temp_btrees,
    indexes (comma-separated), kinds (comma-separated), unknown_lines."""
    rows = []
    for q in workload.queries:
        s = plan_summary(plans[q.name])
        rows.append(
            {
                "query": q.name,
                "uses_index": s["uses_index"],
                "full_scans": s["full_scans"],
                "temp_btrees": s["temp_btrees"],
                "indexes": ", ".join(s["indexes"]),
                "kinds": ", ".join(s["kinds"]),
                "unknown_lines": len(s["unknown_lines"]),
            }
        )
    return pd.DataFrame(rows)
