"""Views of a run's summary for the summary notebook, the landing page and compare.

Every figure here is read from the summary (the run's own measurements) or
labelled as a reference claim from its source.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from perflab import humanize
from perflab.inputs.targets import CLAIMS
from perflab.present import theme

_LAYOUT = theme.layout(margin={"l": 200})


def metric_unit(metric: str) -> str | None:
    """The unit a target's metric is in, from its name (``latency_p99_ms``, ``ops_per_s``)."""
    if metric.endswith("_ms"):
        return "ms"
    if metric.endswith("_per_s"):
        return "ops/s"
    if metric.endswith("_bytes"):
        return "bytes"
    return None


def executive_summary(summary: dict) -> str:
    """One screen of Markdown: the decision, why, the headline figures, the top issues."""
    dec = summary.get("decision") or {}
    v = summary.get("verdict") or {}
    db = summary.get("database") or {}
    rows = sum((db.get("tables") or {}).values())
    lines = [
        f"## Decision: **{dec.get('decision', 'not assessed')}**",
        "",
        *[f"- {r}" for r in dec.get("reasons", [])],
        "",
        f"Workload `{(summary.get('workload') or {}).get('name', '?')}` on "
        f"{theme.fmt(rows, 'rows')} rows (scale `{db.get('scale', '?')}`), SQLite "
        f"{summary.get('sqlite_version', '?')}, profile `{summary.get('profile', '?')}`.",
        f"Targets: {v.get('targets_passed', 0)} pass, {v.get('targets_failed', 0)} fail, "
        f"{v.get('targets_inconclusive', 0)} inconclusive, "
        f"{v.get('targets_not_measured', 0)} not measured. Issues by severity: "
        + ", ".join(f"{k} {c}" for k, c in (v.get("issues_by_severity") or {}).items() if c)
        + ".",
    ]
    top = [
        i for i in summary.get("issues") or [] if i["severity"] in ("critical", "high", "medium")
    ][:6]
    if top:
        lines += ["", "Top issues:"]
        lines += [f"- **{i['severity']}** {i['id']}: {i['title']}" for i in top]
    if dec.get("conditions"):
        lines += ["", f"{len(dec['conditions'])} condition(s); see *Issues* below."]
    return "\n".join(lines)


def quick_reference(summary: dict) -> pd.DataFrame:
    """Targets at a glance, as text in each metric's own unit (one column holds ms and ops/s,
    so the unit travels with each value). Columns: metric, subject, milestone, measured (with
    its interval: "7.4 µs [7.2, 8.9]"), target, status, original's claim (a claim from its
    source, not a measurement of this run)."""
    rows = []
    for t in summary.get("targets") or []:
        lo, hi = t.get("ci") or (None, None)
        unit = metric_unit(t["metric"])
        rows.append(
            {
                "metric": t["metric"],
                "subject": t["subject"],
                "milestone": theme.fmt_milestone(t),
                "measured": theme.fmt_interval(t.get("value"), lo, hi, unit),
                "target": f"{t['comparator']} {theme.fmt_with_unit(t['threshold'], unit)}",
                "status": t["status"].replace("_", " "),
                "original's claim": theme.fmt_with_unit(t.get("reference"), unit),
            }
        )
    return pd.DataFrame(rows)


def benchmarks(summary: dict) -> pd.DataFrame:
    """Per query: percentiles (ms), ops/s, rows, plan; with the original's claim beside."""
    rows = []
    for q in summary.get("queries") or []:
        lat = q["latency_ms"]
        pc = q.get("plan_classification") or {}
        rows.append(
            {
                "query": q["name"],
                "p50": lat["p50"],
                "p95": lat["p95"],
                "p99": lat["p99"],
                "p999": lat["p999"],
                "max": lat["max"],
                "ops_per_s": q["ops_per_s"],
                "rows": (q.get("rows") or {}).get("mean"),
                "target p99": q.get("target_ms"),
                "claimed p99 (reference)": q.get("reference_ms"),
                "plan": ", ".join(pc.get("kinds") or []),
            }
        )
    return pd.DataFrame(rows)


def index_validation(summary: dict, claims: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """The source's claims about indexes and plans (from the targets file) beside what this
    run measured. Columns: check, claimed (by the source), measured."""
    qs = summary.get("queries") or []
    inv = (summary.get("indexes") or {}).get("inventory") or []
    health = (summary.get("indexes") or {}).get("health") or []
    pcs = [q.get("plan_classification") or {} for q in qs]
    measured = {
        "indexes": len(inv) if inv else "not measured",
        "queries_using_index": f"{sum(bool(p.get('uses_index')) for p in pcs)} of {len(qs)}",
        "full_scans": sum(int(p.get("full_scans", 0)) for p in pcs),
        "temp_btrees": sum(int(p.get("temp_btrees", 0)) for p in pcs),
        "unused_or_redundant": len(health) if inv else "not measured",
    }
    said = dict(claims)
    labels = {**CLAIMS, "unused_or_redundant": "unused or redundant indexes"}
    return pd.DataFrame(
        [
            {"check": labels[k], "claimed": said.get(k, "—"), "measured": v}
            for k, v in measured.items()
        ]
    )


def bottlenecks(summary: dict, top: int = 5) -> pd.DataFrame:
    """Queries ranked by p99 against their target (or by p99 where none is set)."""
    df = benchmarks(summary)
    if df.empty:
        return df
    df["p99 / target"] = df["p99"] / df["target p99"]
    return df.sort_values(["p99 / target", "p99"], ascending=False, na_position="last").head(top)[
        ["query", "p99", "target p99", "p99 / target", "rows", "plan"]
    ]


def configuration(summary: dict) -> pd.DataFrame:
    """Integrity checks and the pragma audit. Columns: check, value, status,
    recommendation, why."""
    integ = summary.get("integrity") or {}
    rows = []
    if integ:
        rows.append(
            {
                "check": "integrity_check",
                "value": "ok"
                if integ["integrity_ok"]
                else "; ".join(integ["integrity_problems"][:3]),
                "status": "ok" if integ["integrity_ok"] else "risk",
                "recommendation": "",
                "why": "B-tree structure and page checks"
                + (f"; {integ['check_note']}" if integ.get("check_note") else ""),
            }
        )
        rows.append(
            {
                "check": "foreign_key_check",
                "value": f"{integ['foreign_key_violations']} violations",
                "status": "ok" if integ["foreign_keys_ok"] else "risk",
                "recommendation": "",
                "why": "every foreign key points at a row",
            }
        )
        for p in integ.get("pragma_audit") or []:
            rows.append(
                {
                    "check": p["pragma"],
                    "value": p["value"],
                    "status": p["status"],
                    "recommendation": p["recommendation"],
                    "why": p["why"],
                }
            )
    return pd.DataFrame(rows)


def _target_ratio(value: float, threshold: float, comparator: str) -> float:
    """How far a value sits from its target, >1 on the wrong side whatever the direction:
    measured/target for "<" (latency), target/measured for ">" (throughput)."""
    if comparator.startswith(">"):
        return threshold / value if value else float("inf")
    return value / threshold if threshold else float("inf")


def measured_vs_target(summary: dict) -> go.Figure:
    """Each target as one ratio anchored at 1 (the target): left of 1 is on the good side,
    right of it on the bad side, for ms and ops/s alike, so one axis has one unit. The
    measured value, its target and the original's claim are in the hover text and in
    :func:`quick_reference`."""
    ts = [t for t in summary.get("targets") or [] if t.get("value") is not None]
    labels = [
        f"{t['subject']} · {t['metric']}"
        + ("" if theme.target_is_current(t) else f" (milestone {t['milestone']})")
        for t in ts
    ]
    x = [_target_ratio(t["value"], t["threshold"], t["comparator"]) for t in ts]
    text = [
        f"measured {theme.fmt(t['value'], metric_unit(t['metric']))}, target "
        f"{t['comparator']} {theme.fmt(t['threshold'], metric_unit(t['metric']))}: "
        f"{t['status'].replace('_', ' ')}"
        for t in ts
    ]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=labels,
            mode="markers",
            name="measured ÷ target",
            marker={"size": 12, "color": [theme.STATUS[t["status"]] for t in ts]},
            text=text,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.add_vline(x=1.0, line_dash="dash", line_color=theme.NEUTRAL)
    fig.update_layout(
        title="How far each target is from being met (1 = at target; right of 1: missed)",
        xaxis={**theme.log_ticks([*x, 1.0], "ratio"), "title": "measured ÷ target (×)"},
        yaxis={"autorange": "reversed"},
        height=160 + 32 * len(ts),
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def percentile_profile(summary: dict) -> go.Figure:
    """p50 → p99.9 → max per query: how heavy each tail is (log axis)."""
    fig = go.Figure()
    keys = ["p50", "p95", "p99", "p999", "max"]
    ys: list[float] = []
    for q in summary.get("queries") or []:
        y = [q["latency_ms"][k] for k in keys]
        ys += y
        fig.add_trace(go.Scatter(x=keys, y=y, mode="lines+markers", name=q["name"]))
    fig.update_layout(
        title="Latency percentiles per query (log scale)",
        yaxis={**theme.log_ticks(ys, "ms"), "title": "latency"},
        height=480,
        **theme.layout(),
    )
    return fig


def index_coverage(summary: dict) -> go.Figure:
    """How many workload queries use each index (0: unused by this workload)."""
    inv = (summary.get("indexes") or {}).get("inventory") or []
    names = [i["index"] for i in inv]
    used = [int(i.get("uses") or 0) for i in inv]
    unused = sum(u == 0 for u in used)
    fig = go.Figure(
        go.Bar(
            x=used,
            y=names,
            orientation="h",
            marker={"color": [theme.WORSE if u == 0 else theme.ACCENT for u in used]},
        )
    )
    title = "Index coverage: workload queries using each index"
    if unused:
        title += f" (red: used by none, {unused} of {len(used)})"
    fig.update_layout(
        title=title,
        xaxis=theme.count_axis(max(used or [1]), "queries (count)"),
        height=160 + 18 * len(names),
        **_LAYOUT,
    )
    return fig


def scale_curves(summary: dict) -> go.Figure:
    """p99 per query against rows in its table, log-log, from the scale sweep."""
    pts = (summary.get("scale") or {}).get("points") or []
    fig = go.Figure()
    by_q: dict[str, list] = {}
    for p in pts:
        by_q.setdefault(p["query"], []).append(p)
    for q, ps in by_q.items():
        ps = sorted(ps, key=lambda p: p["n"])
        fig.add_trace(
            go.Scatter(
                x=[p["n"] for p in ps], y=[p["p99"] for p in ps], mode="lines+markers", name=q
            )
        )
    fig.update_layout(
        title="Scale: p99 against table rows (log-log)",
        xaxis={**theme.log_ticks([p["n"] for p in pts], "rows"), "title": "table rows"},
        yaxis={**theme.log_ticks([p["p99"] for p in pts], "ms"), "title": "p99 latency"},
        height=480,
        **theme.layout(),
    )
    return fig


#: The columns a reader sees, in order (a summary's rows carry more).
_INVENTORY_COLUMNS = "index table columns unique partial_where origin size_bytes pages uses used_by"
_FIT_COLUMNS = (
    "query table claim claim_text model n_min n_max p99_at_max_ms target_ms limit_rows limit_x"
)


def _frame(rows, columns: str | list[str] | None = None) -> pd.DataFrame:
    df = pd.DataFrame(rows or [])
    if isinstance(columns, str):
        columns = columns.split()
    if columns and not df.empty:
        df = df[[c for c in columns if c in df.columns]]
    return df


def inventory(summary: dict) -> pd.DataFrame:
    inv = (summary.get("indexes") or {}).get("inventory")
    return _frame(inv, _INVENTORY_COLUMNS)


def recommendations(summary: dict) -> pd.DataFrame:
    """The advisor's recommended changes and proven query rewrites, with measured gains."""
    adv = summary.get("advice") or {}
    rec = set(adv.get("recommended") or [])
    rows = [
        {
            "change": c["ddl"],
            "kind": c["action"],
            "why": c.get("why"),
            "gain_ms": c.get("gain_ms"),
            "insert_us": c.get("insert_us"),
            "size_bytes": c.get("size_bytes"),
        }
        for c in adv.get("candidates") or []
        if c.get("ddl") in rec
    ]
    rows += [
        {
            "change": f"{r['query']}: {r['fix']}",
            "kind": "query rewrite",
            "why": f"{r.get('diagnostic')}; same rows: {r.get('equivalent')}",
            "gain_ms": (r.get("p50_before_ms") or 0) - (r.get("p50_after_ms") or 0),
            "insert_us": None,
            "size_bytes": None,
        }
        for r in adv.get("query_rewrites") or []
    ]
    return _frame(rows)


def before_after(summary: dict) -> pd.DataFrame:
    ba = (summary.get("advice") or {}).get("before_after")
    return _frame(
        ba, ["query", "p50_before_ms", "p50_after_ms", "ratio", "ci_lo", "ci_hi", "verdict"]
    )


def scale_fits(summary: dict) -> pd.DataFrame:
    return _frame((summary.get("scale") or {}).get("fits"), _FIT_COLUMNS)


def throughput(summary: dict) -> pd.DataFrame:
    writes = (summary.get("throughput") or {}).get("writes")
    rows = [
        {
            "write": w.get("write"),
            "batch_size": w.get("batch_size"),
            "ops_per_s": w.get("ops_per_s"),
            "ci": w.get("ops_per_s_ci"),
            "p99_ms": (w.get("op_latency_ms") or {}).get("p99"),
            "status": w.get("status"),
        }
        for w in writes or []
    ]
    return _frame(rows)


def ignored_findings(summary: dict) -> pd.DataFrame:
    """Findings deliberately not raised as issues, each with the reason built from its
    numbers. Columns: query, rule, rows, why_ignored."""
    return _frame((summary.get("ignored_findings") or []), ["query", "rule", "rows", "why_ignored"])


def query_budget(summary: dict) -> tuple[str, pd.DataFrame]:
    """The slow-query budget as a sentence, and each query against it
    (`judge.slow_queries`): judged by its target or the budget, p99 with its interval, rows
    per execution, whether an index serves its WHERE with the plan line, and the issue."""
    b = summary.get("query_budget") or {}
    if not b:
        return "No slow-query budget in this summary (a run from before it).", pd.DataFrame()
    text = (
        f"Budget for a query with no latency target of its own: p99 above "
        f"{theme.fmt(b['p99_ms'], 'ms')}, or more than {b['rows_per_execution']:g} rows per "
        f"execution without LIMIT ({b['source']}). A query with a latency target is judged by "
        "that target; an interval straddling the budget is inconclusive, never an issue."
    )
    rows = [
        {
            "query": c["query"],
            "judged by": c["judged_by"],
            "p99": theme.fmt_interval(
                c.get("p99_ms"), *(c.get("p99_ci_ms") or [None, None])[:2], "ms"
            ),
            "against budget": c["latency"],
            "rows/exec": c.get("rows_per_execution"),
            "LIMIT": {True: "yes", False: "no"}.get(c.get("has_limit"), "?"),
            "WHERE served by": c["where_index"],
            "plan line": c["where_plan_line"],
            "issue": "yes" if c["issue"] else "",
        }
        for c in b.get("queries") or []
    ]
    return text, pd.DataFrame(rows)


def _interval(ci, value=None) -> str:
    """``[lo, hi]`` in the magnitude ``value`` is shown in (ms in, "[11, 13]" beside 12 µs),
    or "" when a bound is missing."""
    lo, hi = ci or (None, None)
    if lo is None or hi is None:
        return ""
    shown = theme.fmt_interval(value if value is not None else lo, lo, hi, "ms")
    return shown[shown.index("[") :] if "[" in shown else ""


def _sources(src: list[str] | None) -> str:
    """Per-parameter sources in one cell: ``column kv.namespace, kv.key; captured x1``."""
    if not src:
        return "none"
    cols = [s.split(" ", 1)[1] for s in src if s.startswith("column ")]
    rest = pd.Series([s for s in src if not s.startswith("column ")]).value_counts()
    parts = ([f"column {', '.join(cols)}"] if cols else []) + [f"{k} x{v}" for k, v in rest.items()]
    return "; ".join(parts)


def application_view(summary: dict) -> pd.DataFrame:
    """The captured application's statements ranked by their share of its database time
    (pg_stat_statements' top-N view), beside what this run measured at its scale.

    Columns: statement, kind, calls, app total ms, share %, app mean ms (from capture:
    in-application time, the call plus fetching its rows), app rows/exec (rows the
    application fetched per execution), replayed rows/exec (this run's), replay ("same",
    or the label: "replay differs: captured 0.3 rows/exec, replayed 2,320", whose figures
    decide no target until fixed or accepted), p50, p50 interval, p99, p99 interval (ms,
    measured), plan, parameters (where each parameter was drawn from).
    Shares are of the whole captured time (every statement seen, also those not
    replayed); an IN-list length replayed as its own query has its time in its shape's
    row (share blank). Empty when the workload was not captured."""
    wl = summary.get("workload") or {}
    cap = wl.get("captured") or {}
    rows = []
    for q in summary.get("queries") or []:
        c = q.get("captured")
        if not c:
            continue
        lat, ci = q.get("latency_ms") or {}, q.get("latency_ci_ms") or {}
        pc = q.get("plan_classification") or {}
        rp = q.get("replay") or {}
        rows.append(
            {
                "statement": q["name"],
                "kind": "query"
                if "variant_of" not in c
                else f"query (IN-list variant of {c['variant_of']})",
                "calls": c.get("calls"),
                "app total ms": c.get("total_ms"),
                "app mean ms": c.get("mean_ms"),
                "app rows/exec": rp.get("captured_rows_per_exec"),
                "replayed rows/exec": rp.get("replayed_rows_per_exec"),
                "replay": "same" if rp.get("status") == "same" else rp.get("note", ""),
                "p50": lat.get("p50"),
                "p50 interval": _interval(ci.get("p50"), lat.get("p50")),
                "p99": lat.get("p99"),
                "p99 interval": _interval(ci.get("p99"), lat.get("p99")),
                "plan": ", ".join(pc.get("kinds") or []),
                "parameters": _sources(q.get("params_source")),
            }
        )
    for w in cap.get("writes") or []:
        rows.append(
            {
                "statement": w["name"],
                "kind": "write",
                "calls": w.get("calls"),
                "app total ms": w.get("total_ms"),
                "app mean ms": w["total_ms"] / w["calls"] if w.get("calls") else None,
                "plan": "see 04 (writes)",
            }
        )
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    total = cap.get("total_ms") or df["app total ms"].sum()
    df.insert(4, "share %", df["app total ms"] / total * 100 if total else float("nan"))
    df = df.sort_values("app total ms", ascending=False, na_position="last", kind="stable")
    return df.reset_index(drop=True)


def not_analysed(summary: dict) -> pd.DataFrame:
    """What the run could not analyse (the verdict's list). Columns: stage, subject, reason."""
    return _frame(summary.get("not_analysed"), ["stage", "subject", "reason"])


def column_profiles(profiles) -> pd.DataFrame:
    """Each profiled column's selectivity (`perflab.analysis.column_profile`). Columns:
    table, column, named by, rows, distinct, NULL, rows per value, most common share,
    profile (the sentence)."""
    rows = [
        {
            "table": p["table"],
            "column": p["column"],
            "named by": p["named_by"],
            "rows": p["rows"],
            "distinct": p["distinct"],
            "NULL": p["nulls"],
            "rows per value": p["rows_per_value"],
            # the table shows a share as a percentage (tables' "(%)" columns)
            "most common share": None if p["top_share"] is None else 100 * p["top_share"],
            "profile": p["profile"],
        }
        for p in profiles or ()
    ]
    cols = ["table", "column", "named by", "rows", "distinct", "NULL", "rows per value"]
    return pd.DataFrame(rows, columns=[*cols, "most common share", "profile"])


def not_replayed(summary: dict) -> pd.DataFrame:
    """Captured statements this database could not run (listed; the run went on).
    Columns: name, kind, reason, sql."""
    return _frame(
        (summary.get("workload") or {}).get("not_replayed"), ["name", "kind", "reason", "sql"]
    )


def by_size(points: pd.DataFrame, value: str) -> pd.DataFrame:
    """One row per query, one column per size of the sweep (smallest first), headed by the
    size as a reader knows it: the rows of the largest table the workload reads there.
    Sizes are the sweep's databases, so every query has a value in every column."""
    size = points.groupby("scale")["n"].max().sort_values()
    wide = points.pivot_table(index="query", columns="scale", values=value, sort=False)
    wide = wide[list(size.index)]
    wide.columns = [f"{humanize.count(n)} rows" for n in size]
    return wide
