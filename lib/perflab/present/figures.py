"""Plotly figures for the notebooks and reports; functions return Figures."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from perflab.inputs.targets import Targets
from perflab.measure.timing import Samples
from perflab.present import charts, tables, theme

_LAYOUT = theme.layout(margin={"l": 170})


def latency_distribution(samples: Mapping[str, Samples], max_points: int = 2000) -> go.Figure:
    """One horizontal box per query on a log axis (tails matter more than means)."""
    fig = go.Figure()
    lo, hi = np.inf, 0.0
    for name, s in samples.items():
        ms = np.asarray(s.ns, dtype=float) / 1e6
        if ms.size > max_points:  # keep pages small; the percentiles come from all samples
            ms = np.quantile(ms, np.linspace(0, 1, max_points))
        if ms.size:
            lo, hi = min(lo, float(ms.min())), max(hi, float(ms.max()))
        fig.add_trace(go.Box(x=ms, name=name, boxpoints="outliers", orientation="h"))
    fig.update_layout(
        title="Latency distribution per query (log scale)",
        xaxis={**theme.log_ticks([lo, hi] if hi else [], "ms"), "title": "latency"},
        showlegend=False,
        height=120 + 40 * len(samples),
        **_LAYOUT,
    )
    return fig


def percentiles_vs_target(frame: pd.DataFrame, targets: Targets | None = None) -> go.Figure:
    """p50 / p95 / p99 per query beside its p99 target, log axis."""
    fig = go.Figure()
    names = list(frame["query"])
    values = [float(v) for c in ("p50", "p95", "p99") for v in frame[c]]
    long = frame.melt("query", ["p50", "p95", "p99"], var_name="percentile", value_name="ms")
    charts.bars(fig, long.groupby("percentile", sort=False), "query", "ms", horizontal=True)
    xs: list[float] = []
    if targets is not None:
        xs, ys, texts = [], [], []
        for n in names:
            t = targets.for_query(n)
            if t is not None:
                xs.append(t.threshold)
                ys.append(n)
                texts.append(f"target p99 {t.comparator} {theme.fmt(t.threshold, 'ms')}")
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="markers",
                    name="p99 target",
                    marker={
                        "symbol": "line-ns-open",
                        "size": 22,
                        "color": theme.WORSE,
                        "line": {"width": 3},
                    },
                    text=texts,
                    hoverinfo="text",
                )
            )
    fig.update_layout(
        title="Latency percentiles against target (log scale)"
        + ("; red line: the p99 target" if xs else ""),
        barmode="group",
        xaxis={**theme.log_ticks([*values, *xs], "ms"), "title": "latency"},
        height=160 + 60 * len(names),
        **_LAYOUT,
    )
    return fig


def plan_kinds(plans: Mapping[str, list]) -> tables.Table:
    """Each kind of plan step: how many steps and which queries use it.

    A table, not a heat map: a grid of 0s and 1s per query repeated the per-query plan
    table; the totals per kind are what it adds."""
    kinds = sorted({n.kind for nodes in plans.values() for n in nodes})
    rows = [
        {
            "plan step kind": k,
            "steps": sum(n.kind == k for nodes in plans.values() for n in nodes),
            "queries": ", ".join(
                q for q, nodes in plans.items() if any(n.kind == k for n in nodes)
            ),
        }
        for k in kinds
    ]
    return tables.show(pd.DataFrame(rows), units={"steps": "count"})
