"""The pagination curve (notebook 02): latency by page depth, OFFSET against keyset, with
the work per page beside it (`perflab.analysis.pagination`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from perflab import humanize
from perflab.analysis.pagination import PaginationResult
from perflab.present import theme

_DASH = ("solid", "dash", "dot", "dashdot")


def frame(results: Sequence[PaginationResult]) -> pd.DataFrame:
    """One row per analysed query and page depth: both forms' p50 (ms) with 95% intervals,
    VM steps per page, and the interleaved ratio keyset / OFFSET with its 99% interval."""
    rows = []
    for r in results:
        for m in r.pages if r.status == "analysed" else ():
            rows.append(
                {
                    "query": r.query,
                    "page": m.page,
                    "rows_skipped": m.offset,
                    "offset_p50_ms": m.offset_p50_ms,
                    "offset_p50_lo": m.offset_p50_ci[0],
                    "offset_p50_hi": m.offset_p50_ci[1],
                    "keyset_p50_ms": m.keyset_p50_ms,
                    "keyset_p50_lo": m.keyset_p50_ci[0],
                    "keyset_p50_hi": m.keyset_p50_ci[1],
                    "offset_vm_steps": m.offset_vm_steps,
                    "keyset_vm_steps": m.keyset_vm_steps,
                    "keyset_over_offset": m.ratio,
                    "ratio_lo": m.ratio_ci[0],
                    "ratio_hi": m.ratio_ci[1],
                    "verdict": m.verdict,
                    "executions": m.executions,
                }
            )
    return pd.DataFrame(rows)


def summary_markdown(results: Sequence[PaginationResult]) -> str:
    """What the analysis found, one paragraph per paged query, in words a reader can act
    on: the growth, the measured fix and its rewritten query, or why it was not analysed."""
    if not results:
        return (
            "No query of this workload pages with OFFSET (a LIMIT with an OFFSET): nothing "
            "to analyse here."
        )
    out = []
    for r in results:
        if r.status != "analysed":
            out.append(f"- **{r.query}**: not analysed: {r.reason}.")
            continue
        d, f = r.pages[-1], r.pages[0]
        head = (
            f"**missed pagination**: OFFSET work grows linearly with depth; keyset does "
            f"{d.offset_vm_steps / max(d.keyset_vm_steps, 1):.3g}x less work at page {d.page}"
            + (
                f" and is measured {1 / d.ratio:.3g}x faster"
                if r.faster and d.ratio
                else " (the timing difference is inconclusive at this size)"
            )
            if r.missed
            else f"OFFSET work is {r.offset_vm.kind or 'not fitted'} with depth"
        )
        slope = (
            f" ({r.offset_vm.slope:.3g} VM steps per row skipped)"
            if r.offset_vm.kind == "linear"
            else ""
        )
        tie = (
            f" The ORDER BY was not unique: `{r.tie_breaker}` is appended." if r.tie_breaker else ""
        )
        out.append(
            f"- **{r.query}**: {head}. Measured at {r.depths_note}. With OFFSET a page costs "
            f"{f.offset_vm_steps:,} VM steps at page {f.page} and {d.offset_vm_steps:,} at page "
            f"{d.page}{slope}, p50 {humanize.duration_ms(f.offset_p50_ms)} -> "
            f"{humanize.duration_ms(d.offset_p50_ms)}; with keyset {f.keyset_vm_steps:,} -> "
            f"{d.keyset_vm_steps:,} VM steps ({r.keyset_vm.kind or 'not fitted'}), p50 "
            f"{humanize.duration_ms(f.keyset_p50_ms)} -> {humanize.duration_ms(d.keyset_p50_ms)}"
            f". At page {d.page} keyset / OFFSET = {d.ratio:.3g} (99% interval "
            f"{d.ratio_ci[0]:.3g}..{d.ratio_ci[1]:.3g}, interleaved: {d.verdict}). "
            f"Equivalence: {r.equivalence_note}.{tie}\n\n"
            f"  Keyset form ({r.keyset_form}), page 2 on: `{r.keyset_sql}`"
        )
    cap = results[0].cap_seconds
    out.append(
        f"\nEach paged query's analysis is capped at {cap:g} s (depths and timed executions)."
    )
    return "\n".join(out)


def curves(results: Sequence[PaginationResult]) -> go.Figure | None:
    """p50 by page depth, OFFSET in red and keyset in green, one line style per
    query, 95% intervals as whiskers; hover shows rows skipped and VM steps. None when no
    query was analysed."""
    f = frame(results)
    if f.empty:
        return None
    fig = go.Figure()
    for i, (q, g) in enumerate(f.groupby("query", sort=False)):
        dash = _DASH[i % len(_DASH)]
        for form, color in (("offset", theme.WORSE), ("keyset", theme.BETTER)):
            fig.add_trace(
                go.Scatter(
                    x=g["page"],
                    y=g[f"{form}_p50_ms"],
                    mode="lines+markers",
                    name=f"{q}: {'OFFSET' if form == 'offset' else 'keyset'}",
                    legendgroup=q,
                    line={"color": color, "dash": dash},
                    error_y=theme.error_bars(
                        g, f"{form}_p50_ms", f"{form}_p50_lo", f"{form}_p50_hi"
                    ),
                    customdata=g[["rows_skipped", f"{form}_vm_steps"]].to_numpy(),
                    hovertemplate="page %{x} (%{customdata[0]:,} rows skipped): p50 %{y:.4g} ms, "
                    "%{customdata[1]:,} VM steps<extra></extra>",
                )
            )
    # linear axes: linear growth with depth reads as a straight line rising from page 1
    fig.update_layout(
        title="Latency by page depth: OFFSET (red) against keyset (green); p50, 95% intervals",
        xaxis={"title": "page (of LIMIT rows)", "rangemode": "tozero"},
        yaxis={"title": "p50 per page", "rangemode": "tozero", "ticksuffix": " ms"},
        **theme.layout(),
    )
    return fig
