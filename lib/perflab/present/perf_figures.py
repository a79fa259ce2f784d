"""Plotly figures for throughput, concurrency, scale and drivers (notebooks 04, 05)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from perflab.inputs.targets import Targets
from perflab.measure.stats import GrowthFit
from perflab.present import charts, theme

_LAYOUT = theme.layout(margin={"l": 70})


def _vals(*cols: pd.Series | Sequence[float]) -> list[float]:
    return [float(v) for c in cols for v in c if v is not None and np.isfinite(float(v))]


def write_throughput(frame: pd.DataFrame, targets: Targets | None = None) -> go.Figure:
    """ops/s per write and batch size (95% bootstrap CI), log axis, with targets."""
    fig = go.Figure()
    ok = frame[frame["status"] == "ok"]
    charts.bars(
        fig,
        ok.groupby("batch_size"),
        "write",
        "ops_per_s",
        label=lambda bs, _g: f"{bs} op(s) / transaction",
        interval=("ops_per_s_lo", "ops_per_s_hi"),
    )
    drawn: list[float] = []
    if targets is not None:
        for t in targets.targets:
            if t.metric == "ops_per_s" and t.operation in set(ok["write"]) and t.current:
                drawn.append(t.threshold)
                fig.add_trace(
                    go.Scatter(
                        x=[t.operation],
                        y=[t.threshold],
                        mode="markers",
                        name=f"target {t.operation}",
                        showlegend=False,
                        marker={
                            "symbol": "line-ew-open",
                            "size": 40,
                            "color": theme.WORSE,
                            "line": {"width": 3},
                        },
                    )
                )
    fig.update_layout(
        title="Write throughput (log scale)" + ("; red line: target" if drawn else ""),
        yaxis={
            **theme.log_ticks(_vals(ok["ops_per_s"], ok["ops_per_s_hi"], drawn), "ops/s"),
            "title": "ops/s",
        },
        barmode="group",
        **_LAYOUT,
    )
    return fig


def pragma_sweep(frame: pd.DataFrame) -> go.Figure:
    """ops/s per (journal_mode, synchronous), one group per write."""
    fig = go.Figure()
    ok = frame[frame["status"] == "ok"].copy()
    ok["config"] = ok["journal_mode"] + " / " + ok["synchronous"].astype(str)
    by_write = ok.groupby("write", sort=False)
    charts.bars(fig, by_write, "config", "ops_per_s", interval=("ops_per_s_lo", "ops_per_s_hi"))
    fig.update_layout(
        title="What durability costs: ops/s by journal mode / synchronous (one transaction per op)",
        yaxis={**theme.log_ticks(_vals(ok["ops_per_s"]), "ops/s"), "title": "ops/s"},
        barmode="group",
        **_LAYOUT,
    )
    return fig


def reader_scaling(frame: pd.DataFrame) -> go.Figure:
    """Total reads/s and pooled p99 against reader count, per mode and writer."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("total reads/s", "p99 per read"))
    for (mode, writer), g in frame.groupby(["mode", "writer"]):
        name = f"{mode}s{' + writer' if writer else ''}"
        dash = "dash" if writer else "solid"
        fig.add_trace(
            go.Scatter(
                x=g["readers"],
                y=g["reads_per_s"],
                name=name,
                mode="lines+markers",
                line={"dash": dash},
                legendgroup=name,
                error_y=theme.error_bars(g, "reads_per_s", "reads_per_s_lo", "reads_per_s_hi"),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=g["readers"],
                y=g["p99_ms"],
                name=name,
                showlegend=False,
                mode="lines+markers",
                line={"dash": dash},
                legendgroup=name,
            ),
            row=1,
            col=2,
        )
    readers = sorted({int(r) for r in frame["readers"]})
    fig.update_xaxes(
        type="log", title="readers", tickvals=readers, ticktext=[str(r) for r in readers]
    )
    fig.update_yaxes(**theme.log_ticks(_vals(frame["reads_per_s"]), "ops/s"), row=1, col=1)
    fig.update_yaxes(**theme.log_ticks(_vals(frame["p99_ms"]), "ms"), row=1, col=2)
    fig.update_layout(title="Scaling from 1 to N readers (closed loop: service time)", **_LAYOUT)
    return fig


def wal_growth(records: Sequence[dict]) -> go.Figure:
    """WAL file size over time for the configurations with a writer."""
    fig = go.Figure()
    for r in records:
        if not r.get("writer") or not r["wal"]["series"]:
            continue
        s = r["wal"]["series"]
        fig.add_trace(
            go.Scatter(
                x=[p["t_s"] for p in s],
                y=[p["bytes"] / 1024 for p in s],
                mode="lines",
                name=f"{r['mode']} × {r['readers']}",
            )
        )
    fig.update_layout(
        title="WAL size while a writer runs beside the readers (KiB)",
        xaxis={"title": "seconds"},
        yaxis={"title": "KiB"},
        **_LAYOUT,
    )
    return fig


def scale_curves(
    frame: pd.DataFrame, fits: pd.DataFrame | None = None, targets: Targets | None = None
) -> go.Figure:
    """p50 (markers) and p99 (open markers) per query against rows, log-log,
    with the fitted p50 model as a line and the p99 target dotted."""
    fig = go.Figure()
    fit_by = {} if fits is None else {r["query"]: r for r in fits.to_dict("records")}
    palette = charts.SERIES
    for i, (q, g) in enumerate(frame.groupby("query", sort=False)):
        c = palette[i % len(palette)]
        g = g.sort_values("n")
        fig.add_trace(
            go.Scatter(
                x=g["n"],
                y=g["p50"],
                mode="markers",
                name=q,
                legendgroup=q,
                marker={"color": c},
                text=g["regime"],
                hovertemplate="%{x} rows: %{y:.4f} ms (%{text})",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=g["n"],
                y=g["p99"],
                mode="markers",
                name=f"{q} p99",
                legendgroup=q,
                showlegend=False,
                marker={"color": c, "symbol": "circle-open"},
            )
        )
        f = fit_by.get(q)
        fit = f.get("_fit50") if f else None
        # A fit that did not converge reaches the frame as NaN, and an empty table's size is
        # 0 (no log axis holds it): the points are drawn, the line is not.
        if isinstance(fit, GrowthFit) and g["n"].min() > 0:
            xs = np.geomspace(g["n"].min(), g["n"].max(), 50)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=fit.predict(xs),
                    mode="lines",
                    name=f"{q}: fitted {f['model']} (claim: {f.get('claim', 'none')})",
                    legendgroup=q,
                    showlegend=False,
                    line={"color": c},
                )
            )
        t = targets.for_query(q) if targets is not None else None
        if t is not None:
            fig.add_trace(
                go.Scatter(
                    x=[g["n"].min(), g["n"].max()],
                    y=[t.threshold] * 2,
                    mode="lines",
                    legendgroup=q,
                    showlegend=False,
                    line={"color": c, "dash": "dot"},
                )
            )
    fig.update_layout(
        title="Latency against table size (log-log): p50 filled, p99 open, "
        "line = fitted model, dotted = p99 target",
        xaxis={**theme.log_ticks(_vals(frame["n"]), "rows"), "title": "rows in the query's table"},
        yaxis={
            **theme.log_ticks(
                _vals(
                    frame["p50"],
                    frame["p99"],
                    [
                        t.threshold
                        for t in (
                            targets.for_query(q) if targets else None for q in set(frame["query"])
                        )
                        if t is not None
                    ],
                ),
                "ms",
            ),
            "title": "latency",
        },
        height=600,
        **_LAYOUT,
    )
    return fig


def db_size_vs_cache(frame: pd.DataFrame) -> go.Figure:
    """Database size per sweep size against the page cache (regimes)."""
    d = frame.drop_duplicates("scale").sort_values("db_bytes")
    fig = go.Figure(
        go.Scatter(
            x=d["scale"],
            y=d["db_bytes"] / 2**20,
            mode="lines+markers",
            name="database",
            text=d["regime"],
            hovertemplate="%{x}: %{y:.1f} MiB (%{text})",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=d["scale"],
            y=d["cache_bytes"] / 2**20,
            mode="lines",
            name="page cache (cache_size)",
            line={"dash": "dot"},
        )
    )
    fig.update_layout(
        title="Database size against SQLite's page cache (log scale)",
        yaxis={
            **theme.log_ticks(_vals(d["db_bytes"] / 2**20, d["cache_bytes"] / 2**20)),
            "title": "MiB",
        },
        **_LAYOUT,
    )
    return fig


def driver_comparison(frame: pd.DataFrame) -> go.Figure:
    """p50 per query per driver (log axis)."""
    fig = go.Figure()
    charts.bars(
        fig,
        frame.groupby("driver", sort=False),
        "query",
        "p50",
        label=lambda d, g: f"{d} (SQLite {g['sqlite_version'].iloc[0]})",
        horizontal=True,
    )
    fig.update_layout(
        title="Median latency per query and driver (log scale)",
        xaxis={**theme.log_ticks(_vals(frame["p50"]), "ms"), "title": "p50 latency"},
        barmode="group",
        height=200 + 60 * frame["query"].nunique(),
        **theme.layout(margin={"l": 170}),
    )
    return fig
