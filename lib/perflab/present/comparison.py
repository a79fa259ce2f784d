"""The comparison page (comparison.html): judge.compare computes, this renders.

The ratio chart draws each metric as a bar from 1 (no change) to head ÷ base on a log axis,
so a 2x change and a 0.5x change are drawn the same length, and colours it by direction:
green where head is better (faster, more ops/s), red where it is worse; faint where the
change is within the minimum effect or not settled (inconclusive, identical work).
"""

from __future__ import annotations

from typing import Any

from perflab.present import pages, theme

__all__ = ["html_report", "ratio_chart"]


def _better(metric: str, ratio: float) -> bool:
    """Whether head ÷ base = ``ratio`` is an improvement for ``metric`` (ops/s: up; times: down)."""
    return ratio > 1 if metric.endswith("_per_s") else ratio < 1


def ratio_chart(cmp: dict) -> Any:
    """head ÷ base per metric, bars anchored at 1, better/worse colours (a plotly figure)."""
    import plotly.graph_objects as go

    ms = [m for m in cmp.get("metrics") or [] if m.get("ratio") is not None]
    labels = [f"{m['subject']} · {m['metric']}" for m in ms]
    ratios = [float(m["ratio"]) for m in ms]
    settled = [m.get("verdict") in ("regression", "improvement") for m in ms]
    colours = [
        theme.BETTER if _better(m["metric"], r) else theme.WORSE if r != 1 else theme.NEUTRAL
        for m, r in zip(ms, ratios, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=[r - 1 for r in ratios],
            base=[1.0] * len(ratios),
            y=labels,
            orientation="h",
            marker={"color": colours, "opacity": [1.0 if s else 0.35 for s in settled]},
            customdata=[
                [theme.fmt(r, "ratio"), m.get("verdict", "")]
                for m, r in zip(ms, ratios, strict=True)
            ],
            hovertemplate="%{y}: head ÷ base %{customdata[0]} (%{customdata[1]})<extra></extra>",
        )
    )
    fig.add_vline(x=1.0, line_color=theme.NEUTRAL)
    fig.update_layout(
        title="head ÷ base, from 1 (no change): green better, red worse; faint: within noise",
        xaxis={**theme.log_ticks([*ratios, 1.0], "ratio"), "title": "head ÷ base (×)"},
        yaxis={"autorange": "reversed"},
        height=200 + 24 * len(ms),
        **theme.layout(margin={"l": 300}),
    )
    return fig


def html_report(cmp: dict) -> str:
    """A self-contained page: counts, the SELECT 1 ratio, the ratio chart (plotly.js
    embedded once, no CDN) and the metrics, work and plan tables."""
    import plotly.io as pio

    chart = pio.to_html(
        ratio_chart(cmp),
        full_html=False,
        include_plotlyjs=True,
        include_mathjax=False,
        validate=False,
    )
    return pages.render("comparison.html.j2", **pages.comparison_context(cmp, chart))
