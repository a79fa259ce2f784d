"""A query plan drawn as a tree of boxes, the way pev2 draws Postgres plans.

SQLite reports no per-node row counts (this build has no scan-status counters), so a
node carries what is known for certain: its kind, the size of the table or index it
reads, and, where the statement's own work counters (`sqlite.counters`) can be tied to
one node, that work: the full-scan steps to the only full scan, the sort to the only
temporary B-tree. The node that costs the most by those facts is highlighted; when
nothing ties work to a node, none is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from perflab.humanize import count
from perflab.present import theme
from perflab.sqlite.plans import KINDS, PlanNode

#: kind -> badge tone: "bad" reads every row, "warn" does extra work, "good" searches.
TONES = {
    "scan_table": "bad",
    "scan_index": "warn",
    "scan_covering_index": "warn",
    "search_automatic_index": "bad",
    "temp_btree": "warn",
    "correlated_subquery": "warn",
    "unknown": "warn",
    "search_index": "good",
    "search_covering_index": "good",
    "search_rowid": "good",
    "search_primary_key": "good",
    "multi_index_or": "good",
    "or_branch": "good",
}

STYLE = f"""
<style>
.pl-tree ul{{list-style:none;margin:0;padding-left:1.4em;border-left:1px solid #c8ccd2}}
.pl-tree>ul{{border-left:none;padding-left:0}}
.pl-tree li{{margin:.35em 0;position:relative}}
.pl-node{{display:inline-block;border:1px solid #c8ccd2;border-radius:6px;padding:.3em .6em;
 background:#fff;font:13px/1.4 system-ui,sans-serif;max-width:60em}}
.pl-node.pl-hot{{border:2px solid {theme.WORSE};background:#fdf1ef}}
.pl-node code{{font:12px ui-monospace,monospace;color:#222}}
.pl-badge{{display:inline-block;border-radius:3px;padding:0 .4em;margin-right:.5em;
 font:11px/1.6 system-ui,sans-serif;color:#fff;background:{theme.NEUTRAL}}}
.pl-bad{{background:{theme.WORSE}}}.pl-warn{{background:{theme.WARN}}}.pl-good{{background:{theme.BETTER}}}
.pl-facts{{color:#555;font-size:12px;margin-top:.15em}}
</style>
"""


@dataclass(frozen=True)
class NodeFacts:
    """What is known for certain about one plan node's work."""

    size: str | None = None  # "tasks: 40,000 rows" — what the node reads, if it names it
    work: str | None = None  # "visits 40,000 rows per execution (full-scan steps)"
    weight: float = 0.0  # for choosing the node to highlight; 0 = nothing ties work here


def node_facts(
    nodes: Sequence[PlanNode],
    table_rows: Mapping[str, int] | None = None,
    counters: Mapping | None = None,
) -> dict[int, NodeFacts]:
    """Facts per node id from table sizes and the statement's per-execution counters."""
    rows = {k.lower(): v for k, v in (table_rows or {}).items()}
    per = (counters or {}).get("per_execution") or {}

    def mean(key: str) -> float:
        return float((per.get(key) or {}).get("mean") or 0.0)

    scans = [n for n in nodes if n.kind == "scan_table"]
    sorts = [n for n in nodes if n.kind == "temp_btree"]
    autos = [n for n in nodes if n.kind == "search_automatic_index"]
    out: dict[int, NodeFacts] = {}
    for n in nodes:
        size = None
        if n.table and n.table.lower() in rows:
            size = f"{n.table}: {count(rows[n.table.lower()])} rows"
        work, weight = None, 0.0
        if n.kind == "scan_table" and len(scans) == 1 and mean("fullscan_steps") > 0:
            weight = mean("fullscan_steps")
            work = f"visits {count(weight)} rows per execution (SQLite's full-scan steps)"
        elif n.kind == "temp_btree" and len(sorts) == 1 and mean("sorts") > 0:
            weight = mean("rows") or 1.0
            work = f"sorts {count(mean('rows'))} result rows per execution"
        elif n.kind == "search_automatic_index" and len(autos) == 1 and mean("autoindex") > 0:
            weight = mean("autoindex")
            work = f"builds an automatic index of {count(weight)} rows per execution"
        out[n.id] = NodeFacts(size, work, weight)
    return out


def plan_tree_html(
    nodes: Sequence[PlanNode],
    table_rows: Mapping[str, int] | None = None,
    counters: Mapping | None = None,
) -> str:
    """The plan as nested boxes: kind badge, plan line, table size, work; the costliest
    node (by the statement's counters) outlined in red."""
    facts = node_facts(nodes, table_rows, counters)
    hot = max(facts, key=lambda i: facts[i].weight, default=None)
    if hot is not None and facts[hot].weight <= 0:
        hot = None
    children: dict[int, list[PlanNode]] = {}
    for n in nodes:
        children.setdefault(n.parent, []).append(n)

    def box(n: PlanNode) -> str:
        f = facts[n.id]
        tone = TONES.get(n.kind, "")
        lines = [x for x in (f.size, f.work) if x]
        kids = "".join(box(k) for k in children.get(n.id, []))
        return (
            f'<li><div class="pl-node{" pl-hot" if n.id == hot else ""}"'
            f' title="{html.escape(KINDS.get(n.kind, n.kind))}">'
            f'<span class="pl-badge pl-{tone}">{html.escape(n.kind.replace("_", " "))}</span>'
            f"<code>{html.escape(n.detail)}</code>"
            + (f'<div class="pl-facts">{html.escape(" · ".join(lines))}</div>' if lines else "")
            + "</div>"
            + (f"<ul>{kids}</ul>" if kids else "")
            + "</li>"
        )

    body = "".join(box(n) for n in children.get(0, []))
    return f'{STYLE}<div class="pl-tree"><ul>{body}</ul></div>'


def query_card(
    name: str,
    sql: str,
    params: Sequence,
    nodes: Sequence[PlanNode],
    table_rows: Mapping[str, int] | None = None,
    counters: Mapping | None = None,
) -> str:
    """One query as the plans notebook shows it: name, SQL, the parameters it was explained
    with, its work in a sentence, and the plan tree."""
    sentence = (counters or {}).get("sentence")
    return (
        f'<div style="margin:1.2em 0"><h3 style="margin:.2em 0">{html.escape(name)}</h3>'
        f'<pre style="white-space:pre-wrap;margin:.3em 0"><code>{html.escape(sql)}</code></pre>'
        f'<p style="margin:.2em 0;font:13px system-ui,sans-serif">parameters: '
        f"<code>{html.escape(repr(tuple(params)))}</code>"
        + (f" · {html.escape(sentence)}" if sentence else "")
        + f"</p>{plan_tree_html(nodes, table_rows, counters)}</div>"
    )
