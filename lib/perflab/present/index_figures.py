"""Plotly figures for index usage, size, write cost, findings and before/after."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from perflab.present import charts, theme

_LAYOUT = theme.layout(margin={"l": 260, "b": 120})


def usage_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Index x query: which plans use which index (unused indexes show as empty rows)."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix.values,
            x=list(matrix.columns),
            y=list(matrix.index),
            colorscale=[[0, "#f4f4f4"], [1, theme.ACCENT]],
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        title="Which workload query uses which index", height=160 + 18 * len(matrix), **_LAYOUT
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def index_sizes(inv: pd.DataFrame) -> go.Figure:
    """Index size (KiB from dbstat), coloured by whether the workload uses it."""
    f = inv.sort_values("size_bytes")
    colors = [theme.ACCENT if u else theme.WORSE for u in f["uses"]]
    unused = int(sum(not u for u in f["uses"]))
    fig = go.Figure(
        go.Bar(
            x=f["size_bytes"] / 1024,
            y=f["index"],
            orientation="h",
            marker_color=colors,
            text=f["used_by"],
            hoverinfo="x+y+text",
        )
    )
    fig.update_layout(
        title="Index size (KiB)" + (f"; red: unused by the workload ({unused})" if unused else ""),
        xaxis_title="KiB",
        height=160 + 18 * len(f),
        **_LAYOUT,
    )
    return fig


def write_costs(wc: pd.DataFrame) -> go.Figure:
    """µs each index adds per INSERT / UPDATE, with 95% CIs."""
    f = wc[wc["index"].notna()]
    fig = go.Figure()
    ops = ((op, f[f["op"] == op]) for op in ("insert", "update"))
    charts.bars(fig, ops, "index", "cost_us", interval=("cost_lo", "cost_hi"), horizontal=True)
    fig.update_layout(
        title="Write cost per index (µs per write, measured on a copy)",
        barmode="group",
        xaxis_title="µs",
        height=160 + 30 * f["index"].nunique(),
        **_LAYOUT,
    )
    return fig


def findings_chart(findings: pd.DataFrame) -> go.Figure:
    """Findings per query, stacked by severity."""
    order = ["info", "low", "medium", "high"]
    colors = theme.SEVERITY
    fig = go.Figure()
    counts = findings.groupby(["severity", "query"]).size().rename("findings").reset_index()
    by_severity = ((s, counts[counts["severity"] == s]) for s in order)
    charts.bars(fig, by_severity, "query", "findings", horizontal=True, colors=colors)
    fig.update_layout(
        title="Plan findings per query, by severity",
        barmode="stack",
        xaxis=theme.count_axis(
            findings.groupby("query").size().max() if len(findings) else 1, "findings (count)"
        ),
        height=200 + 30 * max(findings["query"].nunique(), 1),
        **_LAYOUT,
    )
    return fig


def before_after(ba: pd.DataFrame) -> go.Figure:
    """Ratio of medians after/before per query with its 99% CI (left of 1: faster)."""
    colors = theme.VERDICT
    fig = go.Figure(
        go.Scatter(
            x=ba["ratio"],
            y=ba["query"],
            mode="markers",
            marker={"size": 10, "color": [colors.get(v, "#000") for v in ba["verdict"]]},
            error_x=theme.error_bars(ba, "ratio", "ci_lo", "ci_hi"),
            text=ba["verdict"],
            hoverinfo="x+y+text",
        )
    )
    fig.add_vline(x=1, line_dash="dash", line_color=theme.NEUTRAL)
    xs = [*ba["ci_lo"].dropna(), *ba["ci_hi"].dropna(), *ba["ratio"].dropna(), 1.0]
    fig.update_layout(
        title="Advised vs original schema: p50 after ÷ before with its 99% interval "
        "(left of 1: faster)",
        xaxis={**theme.log_ticks(xs, "ratio"), "title": "after ÷ before (×)"},
        height=160 + 35 * len(ba),
        **_LAYOUT,
    )
    return fig
