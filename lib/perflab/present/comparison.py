"""The comparison as the reader sees it: judge.compare computes, this renders: the
terminal table `perflab compare` prints (text_report) and the page (comparison.html).

The ratio chart draws each metric as a bar from 1 (no change) to head ÷ base on a log axis,
so a 2x change and a 0.5x change are drawn the same length, and colours it by direction:
green where head is better (faster, more ops/s), red where it is worse; faint where the
change is within the minimum effect or not settled (inconclusive, identical work).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from perflab import humanize
from perflab.judge.compare import COUNTERS_NOTE, machine_line, work_lines, write_work_lines
from perflab.present import pages, theme

__all__ = ["html_report", "ratio_chart", "text_report"]


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


def _value(v: float | None, metric: str) -> str:
    """A metric's value in its unit, as a reader reads it: 7.4 µs, 13.3k ops/s."""
    if v is None:
        return ""
    if metric.endswith("_ms"):
        return humanize.duration_ms(v)
    if metric.endswith("_per_s"):
        return f"{humanize.count(v)} ops/s"
    return humanize.count(v)


def text_report(cmp: dict) -> str:
    """The comparison as the terminal shows it."""
    m = pd.DataFrame(cmp["metrics"])
    p = pd.DataFrame(cmp["plans"])
    lines = [
        f"perflab compare: {cmp['base_run']} -> {cmp['head_run']} "
        f"(min effect {cmp['min_effect']:.0%})",
        machine_line(cmp),
        "",
    ]
    if not m.empty:
        show = m.copy()
        show["ratio"] = show["ratio"].map(lambda r: "" if r is None else f"{r:.3f}")
        for c in ("base", "head"):
            show[c] = [_value(v, metric) for v, metric in zip(show[c], show["metric"], strict=True)]
        lines.append(show.to_string(index=False))
    lines += ["", *work_lines(cmp), *write_work_lines(cmp)]
    changed = p[p["change"] != "same"] if not p.empty else p
    lines += ["", f"plans: {len(changed)} of {len(p)} changed"]
    for r in changed.to_dict("records") if not changed.empty else []:
        lines.append(f"  {r['query']}: {r['change']} {('(' + r['why'] + ')') if r['why'] else ''}")
        lines.append(f"    before: {r['base_plan']}")
        lines.append(f"    after:  {r['head_plan']}")
    ix = cmp["indexes"]
    lines += [
        "",
        f"indexes ({ix['basis']}): added {ix['added'] or 'none'}, "
        f"removed {ix['removed'] or 'none'}",
        f"regressions (p50, ops/s): {cmp['regressions']}, plan regressions: "
        f"{cmp['plan_regressions']}, work regressions: {cmp.get('work_regressions', 0)}, "
        f"write work regressions: {cmp.get('write_work_regressions', 0)}, "
        f"improvements: {cmp['improvements']}, "
        f"p99 regressions (not gated): {cmp['tail_regressions']}",
        cmp.get("counters_note", COUNTERS_NOTE),
    ]
    if cmp["machine"]["warning"]:
        lines.append(f"warning: {cmp['machine']['warning']}")
    return "\n".join(lines)
