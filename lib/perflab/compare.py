"""Compare two runs: metric changes with their significance, plan and index changes.

A change is called only when it is both large and certain, after asv's rule
for summaries without raw samples: the ratio must pass `min_effect` AND the
two runs' confidence intervals must not overlap. Large but overlapping is
`inconclusive`; small is `unchanged`.

Between-run noise (another machine, another hour, a busy neighbour) is
invisible to any within-run interval. Two back-to-back quick runs of the same
code on this project's shared 2-core machines (an A/A test) differed by up to
1.6x in point-lookup p50 and 2.4x in p99, with the machine's own speed proxy
(`SELECT 1` through the harness) moving by 2x between them. Hence: the gate
counts only medians and throughput (p99 is shown, not gated), the default
min_effect is 25%, each comparison reports the machine-speed ratio and warns
when it moved, and an A/B that matters should be measured interleaved in one
process (as the advisor's before/after does) or with min_effect calibrated
from A/A history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from perflab.errors import PerflabError

DEFAULT_MIN_EFFECT = 0.25

#: Metrics whose regression fails `--fail-on regression`; the rest are informational.
GATED_METRICS = ("latency_p50_ms", "ops_per_s")

#: Machine-speed ratio (head/base SELECT 1 through the harness) beyond which runs
#: are not comparable without a warning.
MACHINE_DRIFT = (0.8, 1.25)

#: Documented regression thresholds (used by `--fail-on regression`).
THRESHOLDS = {
    "latency": "p50 per query: ratio >= 1 + min_effect with non-overlapping 95% CIs "
    "(p99 is compared the same way but only reported: tails are too noisy across runs)",
    "throughput": "ops/s per write: ratio <= 1 / (1 + min_effect) with non-overlapping CIs",
    "plan": "a query's plan gains a full scan or temp B-tree, or stops using an index",
}


def load_summary(path: str | Path) -> dict:
    """A run folder or a summary.json file; one clear error otherwise."""
    p = Path(path)
    if p.is_dir():
        p = p / "summary.json"
    if not p.is_file():
        raise PerflabError(f"{path}: no summary.json (expected a run folder or a summary file)")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PerflabError(f"{p}: not a readable summary: {exc}") from None
    if not isinstance(data, dict) or "queries" not in data:
        raise PerflabError(f"{p}: not a perflab summary (no 'queries')")
    return data


def _verdict(base, head, base_ci, head_ci, lower_is_better: bool, min_effect: float):
    if not base or base <= 0 or head is None:
        return None, "not comparable"
    ratio = head / base
    worse = ratio >= 1 + min_effect if lower_is_better else ratio <= 1 / (1 + min_effect)
    better = ratio <= 1 / (1 + min_effect) if lower_is_better else ratio >= 1 + min_effect
    if not (worse or better):
        return ratio, "unchanged"
    b_lo, b_hi = base_ci if base_ci else (None, None)
    h_lo, h_hi = head_ci if head_ci else (None, None)
    head_above = h_lo is not None and b_hi is not None and h_lo > b_hi
    head_below = h_hi is not None and b_lo is not None and h_hi < b_lo
    if worse and (head_above if lower_is_better else head_below):
        return ratio, "regression"
    if better and (head_below if lower_is_better else head_above):
        return ratio, "improvement"
    return ratio, "inconclusive"


def compare_metrics(base: dict, head: dict, min_effect: float = DEFAULT_MIN_EFFECT) -> pd.DataFrame:
    """Columns: metric, subject, base, head, ratio (head/base), verdict."""
    rows = []
    bq = {q["name"]: q for q in base.get("queries", [])}
    for q in head.get("queries", []):
        b = bq.get(q["name"])
        if b is None:
            rows.append(
                {
                    "metric": "query",
                    "subject": q["name"],
                    "base": None,
                    "head": None,
                    "ratio": None,
                    "verdict": "added",
                }
            )
            continue
        for key in ("p50", "p99"):
            ratio, v = _verdict(
                b["latency_ms"][key],
                q["latency_ms"][key],
                (b.get("latency_ci_ms") or {}).get(key),
                (q.get("latency_ci_ms") or {}).get(key),
                True,
                min_effect,
            )
            rows.append(
                {
                    "metric": f"latency_{key}_ms",
                    "subject": q["name"],
                    "base": b["latency_ms"][key],
                    "head": q["latency_ms"][key],
                    "ratio": ratio,
                    "verdict": v,
                }
            )
    for name in bq.keys() - {q["name"] for q in head.get("queries", [])}:
        rows.append(
            {
                "metric": "query",
                "subject": name,
                "base": None,
                "head": None,
                "ratio": None,
                "verdict": "removed",
            }
        )
    bw = {
        (w.get("write"), w.get("batch_size"), json.dumps(w.get("pragmas"), sort_keys=True)): w
        for w in (base.get("throughput") or {}).get("writes") or []
    }
    for w in (head.get("throughput") or {}).get("writes") or []:
        key = (w.get("write"), w.get("batch_size"), json.dumps(w.get("pragmas"), sort_keys=True))
        b = bw.get(key)
        if b is None or w.get("ops_per_s") is None:
            continue
        ratio, v = _verdict(
            b.get("ops_per_s"),
            w["ops_per_s"],
            b.get("ops_per_s_ci"),
            w.get("ops_per_s_ci"),
            False,
            min_effect,
        )
        rows.append(
            {
                "metric": "ops_per_s",
                "subject": f"{w['write']} (batch {w['batch_size']})",
                "base": b.get("ops_per_s"),
                "head": w["ops_per_s"],
                "ratio": ratio,
                "verdict": v,
            }
        )
    return pd.DataFrame(rows, columns=["metric", "subject", "base", "head", "ratio", "verdict"])


def _plan_score(q: dict) -> tuple[int, int, bool]:
    pc = q.get("plan_classification") or {}
    return int(pc.get("full_scans", 0)), int(pc.get("temp_btrees", 0)), bool(pc.get("uses_index"))


def compare_plans(base: dict, head: dict) -> pd.DataFrame:
    """Columns: query, change (same | worse | better | changed), base_plan, head_plan, why."""
    bq = {q["name"]: q for q in base.get("queries", [])}
    rows = []
    for q in head.get("queries", []):
        b = bq.get(q["name"])
        if b is None:
            continue
        bd = [n["detail"] for n in b.get("plan", [])]
        hd = [n["detail"] for n in q.get("plan", [])]
        if bd == hd:
            change, why = "same", ""
        else:
            (bs, bt, bi), (hs, ht, hi) = _plan_score(b), _plan_score(q)
            worse = [
                w
                for w, c in (
                    ("gains a full table scan", hs > bs),
                    ("gains a temp B-tree", ht > bt),
                    ("stops using an index", bi and not hi),
                )
                if c
            ]
            better = [
                w
                for w, c in (
                    ("loses a full table scan", hs < bs),
                    ("loses a temp B-tree", ht < bt),
                    ("starts using an index", hi and not bi),
                )
                if c
            ]
            change = "worse" if worse else "better" if better else "changed"
            why = "; ".join(worse or better)
        rows.append(
            {
                "query": q["name"],
                "change": change,
                "base_plan": " | ".join(bd),
                "head_plan": " | ".join(hd),
                "why": why,
            }
        )
    return pd.DataFrame(rows, columns=["query", "change", "base_plan", "head_plan", "why"])


def _index_names(s: dict) -> set[str] | None:
    inv = (s.get("indexes") or {}).get("inventory")
    return {i["index"] for i in inv} if inv else None


def compare_indexes(base: dict, head: dict) -> dict:
    b, h = _index_names(base), _index_names(head)
    if b is None or h is None:

        def used(s: dict) -> set[str]:
            return {
                i
                for q in s.get("queries", [])
                for i in (q.get("plan_classification") or {}).get("indexes", [])
            }

        b, h = used(base), used(head)
        basis = "indexes used by the workload's plans"
    else:
        basis = "index inventory"
    return {"basis": basis, "added": sorted(h - b), "removed": sorted(b - h)}


def machine_check(base: dict, head: dict) -> dict:
    """How fast each run's machine was, by the harness's own SELECT 1."""
    b = (base.get("harness_overhead_ms") or {}).get("select_1")
    h = (head.get("harness_overhead_ms") or {}).get("select_1")
    if not b or not h:
        return {"select_1_ratio": None, "warning": ""}
    ratio = h / b
    lo, hi = MACHINE_DRIFT
    warning = (
        ""
        if lo <= ratio <= hi
        else f"the machine ran at a different speed (SELECT 1 took {ratio:.2f}x as long): "
        "latency changes between these runs are not reliable"
    )
    return {"select_1_ratio": ratio, "warning": warning}


def compare(base: dict, head: dict, min_effect: float = DEFAULT_MIN_EFFECT) -> dict:
    """The comparison as summary.json (`comparison`) and the HTML page carry it."""
    m = compare_metrics(base, head, min_effect)
    p = compare_plans(base, head)
    gated = m["metric"].isin(GATED_METRICS)
    return {
        "base_run": base.get("run_id"),
        "head_run": head.get("run_id"),
        "min_effect": min_effect,
        "rule": THRESHOLDS,
        "metrics": m.astype(object).where(m.notna(), None).to_dict("records"),
        "plans": p.to_dict("records"),
        "indexes": compare_indexes(base, head),
        "regressions": int(((m["verdict"] == "regression") & gated).sum()),
        "improvements": int(((m["verdict"] == "improvement") & gated).sum()),
        "tail_regressions": int(((m["verdict"] == "regression") & ~gated).sum()),
        "machine": machine_check(base, head),
        "plan_regressions": int((p["change"] == "worse").sum()),
        "decision_change": [
            (base.get("decision") or {}).get("decision"),
            (head.get("decision") or {}).get("decision"),
        ],
    }


def text_report(cmp: dict) -> str:
    """The comparison as the terminal shows it."""
    m = pd.DataFrame(cmp["metrics"])
    p = pd.DataFrame(cmp["plans"])
    lines = [
        f"perflab compare: {cmp['base_run']} -> {cmp['head_run']} "
        f"(min effect {cmp['min_effect']:.0%})",
        "",
    ]
    if not m.empty:
        show = m.copy()
        show["ratio"] = show["ratio"].map(lambda r: "" if r is None else f"{r:.3f}")
        for c in ("base", "head"):
            show[c] = show[c].map(lambda v: "" if v is None else f"{v:.4g}")
        lines.append(show.to_string(index=False))
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
        f"{cmp['plan_regressions']}, improvements: {cmp['improvements']}, "
        f"p99 regressions (not gated): {cmp['tail_regressions']}",
    ]
    if cmp["machine"]["warning"]:
        lines.append(f"warning: {cmp['machine']['warning']}")
    return "\n".join(lines)


def html_report(cmp: dict) -> str:
    """A self-contained page: ratio chart (plotly.js embedded) and the tables."""
    import html

    import plotly.graph_objects as go
    import plotly.io as pio

    m = pd.DataFrame(cmp["metrics"])
    m = m[m["ratio"].notna()] if not m.empty else m
    colours = {
        "regression": "crimson",
        "improvement": "seagreen",
        "inconclusive": "darkorange",
        "unchanged": "grey",
    }
    fig = go.Figure(
        go.Bar(
            x=list(m["ratio"]) if not m.empty else [],
            y=[f"{s} · {k}" for s, k in zip(m["subject"], m["metric"], strict=True)]
            if not m.empty
            else [],
            orientation="h",
            marker={"color": [colours.get(v, "grey") for v in m["verdict"]] if not m.empty else []},
        )
    )
    fig.add_vline(x=1.0, line_dash="dash")
    fig.update_layout(
        title="head / base (log scale; >1 slower for latency, faster for ops/s)",
        xaxis={"type": "log"},
        height=200 + 22 * len(m),
        template="plotly_white",
        margin={"l": 300},
    )
    chart = pio.to_html(
        fig, full_html=False, include_plotlyjs=True, include_mathjax=False, validate=False
    )
    tables = "".join(
        f"<h2>{html.escape(title)}</h2>"
        + pd.DataFrame(rows).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")
        for title, rows in (("Metrics", cmp["metrics"]), ("Plans", cmp["plans"]))
    )
    ix = cmp["indexes"]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>perflab compare</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}</style></head><body>"
        f"<h1>perflab compare: {html.escape(str(cmp['base_run']))} &rarr; "
        f"{html.escape(str(cmp['head_run']))}</h1>"
        f"<p>Regressions: {cmp['regressions']}; plan regressions: {cmp['plan_regressions']}; "
        f"improvements: {cmp['improvements']}; min effect {cmp['min_effect']:.0%}.</p>"
        f"<p>Indexes ({html.escape(ix['basis'])}): added {html.escape(str(ix['added']))}, "
        f"removed {html.escape(str(ix['removed']))}</p>"
        f"{chart}{tables}</body></html>"
    )
