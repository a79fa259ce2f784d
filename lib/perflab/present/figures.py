"""Plotly figures for the notebooks and reports; functions return Figures."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from perflab.inputs.targets import Targets
from perflab.measure.timing import Samples

_LAYOUT = {"template": "plotly_white", "margin": {"l": 170, "r": 30, "t": 60, "b": 50}}


def latency_distribution(samples: Mapping[str, Samples], max_points: int = 2000) -> go.Figure:
    """One horizontal box per query on a log axis (tails matter more than means)."""
    fig = go.Figure()
    for name, s in samples.items():
        ms = np.asarray(s.ns, dtype=float) / 1e6
        if ms.size > max_points:  # keep pages small; the percentiles come from all samples
            ms = np.quantile(ms, np.linspace(0, 1, max_points))
        fig.add_trace(go.Box(x=ms, name=name, boxpoints="outliers", orientation="h"))
    fig.update_layout(
        title="Latency distribution per query (ms, log scale)",
        xaxis={"type": "log", "title": "latency (ms)"},
        showlegend=False,
        height=120 + 40 * len(samples),
        **_LAYOUT,
    )
    return fig


def percentiles_vs_target(frame: pd.DataFrame, targets: Targets | None = None) -> go.Figure:
    """p50 / p95 / p99 per query beside its p99 target, log axis."""
    fig = go.Figure()
    names = list(frame["query"])
    for col in ("p50", "p95", "p99"):
        fig.add_trace(go.Bar(y=names, x=frame[col], name=col, orientation="h"))
    if targets is not None:
        xs, ys, texts = [], [], []
        for n in names:
            t = targets.for_query(n)
            if t is not None:
                xs.append(t.threshold)
                ys.append(n)
                texts.append(f"target p99 {t.comparator} {t.threshold:g} ms")
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
                        "color": "crimson",
                        "line": {"width": 3},
                    },
                    text=texts,
                    hoverinfo="text",
                )
            )
    fig.update_layout(
        title="Latency percentiles against target (ms, log scale)",
        barmode="group",
        xaxis={"type": "log", "title": "latency (ms)"},
        height=160 + 60 * len(names),
        **_LAYOUT,
    )
    return fig


def plan_kinds(plans: Mapping[str, list]) -> go.Figure:
    """Heat map: which kinds of plan step each query uses."""
    kinds = sorted({n.kind for nodes in plans.values() for n in nodes})
    names = list(plans)
    z = [[sum(n.kind == k for n in plans[q]) for k in kinds] for q in names]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=kinds,
            y=names,
            colorscale="Blues",
            showscale=False,
            text=z,
            texttemplate="%{text}",
        )
    )
    fig.update_layout(
        title="Plan steps per query, by kind", height=160 + 35 * len(names), **_LAYOUT
    )
    return fig
