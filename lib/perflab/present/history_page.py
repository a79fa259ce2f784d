"""history.html: the trend page of `perflab history`, one self-contained file.

The manager's view first: a sentence per change point and per step, in run order ("`q`
got 31% slower at run 6 (commit abc1234)"; "`q`'s plan changed at run 4: uses idx →
scans"), or one line saying nothing changed. Then the engineer's: per query (and write) a
chart of p50 and p99 with their intervals over the runs, change points drawn as solid
lines and exact steps (work, plan) as dotted ones; the table of steps with the first run
showing each; the timing candidates that were not called and why; the runs. plotly.js is
inlined once in the head, each chart carries only its data: nothing is loaded from
anywhere. `write_history` publishes history.html and history.json as a folder perflab
owns (`perflab.ownership`), so it never replaces anything of the user's.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from perflab.fsio import atomic_write_text, share_mode
from perflab.judge.history import History, Series, validate_history
from perflab.ownership import check_run_folder, publish_run_folder
from perflab.present import pages, tables, theme

__all__ = ["history_figure", "render_history", "write_history"]

_UNIT = {"p50": "ms", "p99": "ms", "ops_per_s": "ops/s"}
_COLOUR = {"p50": theme.ACCENT, "p99": theme.WARN, "ops_per_s": theme.ACCENT}


def _tick(h: History, index: int) -> str:
    r = h.run(index)
    return f"{index}" + (f"·{r.commit[:7]}" if r.commit else "")


def history_figure(h: History, s: Series) -> Any:
    """One query's p50 and p99 (a write's ops/s) over the runs, with their intervals;
    change points solid (red worse, green better), work and plan steps dotted."""
    import plotly.graph_objects as go

    fig = go.Figure()
    values: list[float] = []
    for metric, pts in s.timings.items():
        if not pts:
            continue
        frame = pd.DataFrame([{"run": p.run, "v": p.value, "lo": p.lo, "hi": p.hi} for p in pts])
        values += [v for v in frame[["v", "lo", "hi"]].to_numpy().ravel().tolist() if v == v]
        unit = _UNIT[metric]
        fig.add_trace(
            go.Scatter(
                x=frame["run"],
                y=frame["v"],
                mode="lines+markers",
                name=metric.replace("_", " ").replace("ops per s", "ops/s"),
                line={"color": _COLOUR[metric]},
                error_y=theme.error_bars(frame, "v", "lo", "hi"),
                customdata=[
                    [theme.fmt_interval(v, lo, hi, unit), _tick(h, int(r))]
                    for r, v, lo, hi in frame[["run", "v", "lo", "hi"]].itertuples(index=False)
                ],
                hovertemplate=f"run %{{customdata[1]}}: {metric} %{{customdata[0]}}<extra></extra>",
            )
        )
    mine = [c for c in h.change_points if c.subject == s.subject and c.kind == s.kind]
    for run in sorted({c.run for c in mine}):
        here = [c for c in mine if c.run == run]
        fig.add_vline(
            x=run - 0.5,
            line={"color": theme.WORSE if any(c.worse for c in here) else theme.BETTER, "width": 2},
            annotation_text=" · ".join(f"{c.metric} {_size(c)}" for c in here),
            annotation_position="top left",
        )
    name = s.subject.split(" (batch")[0]  # a write's steps are per write, not per batch size
    steps = [st for st in h.steps if st.subject == name and st.kind == s.kind]
    for run in sorted({st.run for st in steps}):
        here = [st for st in steps if st.run == run]
        fig.add_vline(
            x=run - 0.5,
            line={
                "color": theme.WORSE
                if any(st.verdict in ("regression", "worse") for st in here)
                else theme.NEUTRAL,
                "dash": "dot",
            },
            annotation_text=" · ".join(f"{st.what} {st.verdict}" for st in here),
            annotation_position="bottom right",
        )
    unit = "ops/s" if s.kind == "write" else "ms"
    fig.update_layout(
        title=f"{s.subject}: {'throughput' if s.kind == 'write' else 'p50 and p99'} by run "
        "(95% intervals)",
        xaxis={
            "title": "run · commit",
            "tickvals": [r.index for r in h.runs],
            "ticktext": [_tick(h, r.index) for r in h.runs],
            "range": [0.5, len(h.runs) + 0.5],
        },
        yaxis={**theme.log_ticks(values, unit), "title": "ops/s" if unit == "ops/s" else "time"},
        height=340,
        **theme.layout(margin={"t": 70}),
    )
    return fig


def _text_table(rows: list[dict[str, Any]], numeric: tuple[str, ...] = ()) -> Any:
    """A table of cells already formatted here: not through `tables.show`, whose text
    humanizer reads a commit such as 6e00de0 as a number in exponent form."""
    if not rows:
        return None
    frame = pd.DataFrame(rows).fillna("").astype(str)
    return tables.Table(frame, tuple(c in numeric for c in frame.columns))


def _size(c: Any) -> str:
    """A change as a reader says it: "31% worse", "7.6x worse"."""
    return f"{c.size} {'worse' if c.worse else 'better'}"


def _steps_table(h: History) -> Any:
    rows = [
        {
            "subject": s.subject,
            "what": s.what,
            "first run": h.run(s.run).label,
            "verdict": s.verdict,
            "before": s.before,
            "after": s.after,
            "why": s.why,
        }
        for s in h.steps
    ]
    return _text_table(rows)


def _changes_table(h: History, called: bool) -> Any:
    rows = [
        {
            "subject": c.subject,
            "metric": c.metric,
            "first run after": h.run(c.run).label,
            "before (median)": theme.fmt_interval(c.before, *c.before_interval, _UNIT[c.metric]),
            "after (median)": theme.fmt_interval(c.after, *c.after_interval, _UNIT[c.metric]),
            "change": _size(c),
            "runs before / after": f"{c.runs_before} / {c.runs_after}",
            "why not a change point" if not called else "note": c.reason,
        }
        for c in h.timing_changes
        if c.called == called
    ]
    return _text_table(rows, ("before (median)", "after (median)", "change"))


def _minute(iso: str | None) -> str:
    """ "2026-12-07T11:02:01+00:00" as "2026-12-07 11:02 +00:00" (unparsable: as given)."""
    import datetime as dt

    try:
        t = dt.datetime.fromisoformat(iso or "")
    except ValueError:
        return iso or ""
    return t.strftime("%Y-%m-%d %H:%M") + (t.strftime(" %z") if t.tzinfo else "")


def _runs_table(h: History) -> Any:
    rows = [
        {
            "run": str(r.index),
            "run id": r.run_id,
            "commit": (r.commit or "")[:12],
            "committed": _minute(r.committed_at),
            "ran": _minute(r.created_at),
            "SQLite": r.sqlite_version or "",
            "SELECT 1 (harness)": theme.fmt(r.select_1_ms, "ms"),
            "machine": r.machine or "",
        }
        for r in h.runs
    ]
    return _text_table(rows, ("run", "SELECT 1 (harness)"))


def _counter_table(h: History, s: Series) -> Any:
    """The series' work counters by run (the runs the subject is in)."""
    present = [p.run for p in next(iter(s.timings.values()), ())]
    n = max((len(v) for v in s.counters.values()), default=0)
    runs = present if len(present) == n else list(range(1, n + 1))
    rows = []
    for i, run in enumerate(runs):
        row: dict[str, Any] = {"run": _tick(h, run)}
        for k, vals in s.counters.items():
            row[k.replace("_", " ")] = theme.fmt(vals[i]) if i < len(vals) else ""
        if s.plans:
            row["plan"] = s.plans[i] if i < len(s.plans) else ""
        rows.append(row)
    return _text_table(rows, tuple(k.replace("_", " ") for k in s.counters))


def render_history(h: History) -> str:
    """history.html's text."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    charts = []
    for s in h.series:
        fig = history_figure(h, s)
        html = pio.to_html(
            fig, full_html=False, include_plotlyjs=False, include_mathjax=False, validate=False
        )
        charts.append(
            {
                "subject": s.subject,
                "kind": s.kind,
                "chart": Markup(html),
                "counters": _counter_table(h, s),
            }
        )
    plan_steps = sum(s.what == "plan" for s in h.steps)
    work_steps = sum(s.what == "work" for s in h.steps)
    machines = {r.machine for r in h.runs if r.machine}
    return pages.render(
        "history.html.j2",
        title=f"perflab history: {len(h.runs)} runs",
        first=h.runs[0].label,
        last=h.runs[-1].label,
        facts=[
            ("runs", len(h.runs)),
            ("timing change points", len(h.change_points)),
            ("plan steps", plan_steps),
            ("work steps", work_steps),
            ("minimum effect", f"{h.min_effect:.0%}"),
            ("work tolerance", f"+{h.work_tolerance:.0%}"),
        ],
        sentences=list(h.sentences),
        machines=len(machines),
        method=h.method,
        notes=list(h.notes),
        steps=_steps_table(h),
        called=_changes_table(h, True),
        candidates=_changes_table(h, False),
        charts=charts,
        runs=_runs_table(h),
        plotlyjs=Markup(get_plotlyjs()),
    )


def write_history(h: History, out: str | Path) -> Path:
    """Publish `out`/history.html and history.json (validated) as a folder perflab owns:
    a new folder, or one an earlier `perflab history` wrote and nobody changed since."""
    out = Path(out).expanduser().resolve()
    check_run_folder(out)
    doc = h.to_dict()
    validate_history(doc)
    page = render_history(h)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    share_mode(staging, folder=True)
    try:
        atomic_write_text(staging / "history.json", json.dumps(doc, indent=2) + "\n")
        atomic_write_text(staging / "history.html", page)
        return publish_run_folder(staging, out, out.name)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
