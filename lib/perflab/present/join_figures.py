"""The join analysis drawn: rows each of SQLite's loops visits, per multi-table query."""

from __future__ import annotations

import plotly.graph_objects as go

from perflab.analysis.joins import JoinAnalysis
from perflab.present import theme


def rows_per_loop(analysis: JoinAnalysis) -> go.Figure:
    """Per query and loop (outermost first), the rows it visits and the rows it passes on,
    on a log axis: a join that reads far more than it keeps shows as a long red bar."""
    labels, visited, out = [], [], []
    for q in analysis.queries:
        if not q.rows_analysed:
            continue
        for lp in q.loops:
            labels.append(f"{q.query} · {lp.position} {lp.table} ({lp.access.replace('_', ' ')})")
            visited.append(lp.rows_visited)
            out.append(lp.rows_out)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(y=labels, x=visited, name="rows visited", orientation="h", marker_color="#c0392b")
    )
    fig.add_trace(go.Bar(y=labels, x=out, name="rows out", orientation="h", marker_color="#2e86c1"))
    vals = [v for v in visited + out if v]
    fig.update_layout(
        title="Rows per loop, per execution (SQLite's join order, outermost first; log scale)",
        barmode="group",
        xaxis={**theme.log_ticks(vals), "title": "rows"},
        yaxis={"autorange": "reversed"},
        height=140 + 48 * max(len(labels), 1),
        **theme.layout(margin={"l": 360}),
    )
    return fig
