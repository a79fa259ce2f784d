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

Work counters settle what timings cannot. SQLite's own per-execution counts (VM steps,
full-scan steps, sorts, automatic-index rows; see perflab.sqlite.counters) do not move between
runs or machines for the same data, plan and parameters, so they are compared exactly,
execution by execution over the parameter tuples both runs counted: work beyond
`work_tolerance` (10%), or any full-scan, sort or automatic-index work where there was
none, is a regression whatever the clock says; identical counters and an identical plan
mean the work did not change, however the timings moved: a query's timing change is then
`inconclusive` (between-run noise cannot be told from a slower query without interleaving)
and is not gated. A base without counters (an
older summary) makes them "not comparable", never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from perflab.errors import PerflabError
from perflab.judge.evidence import (
    COUNTERS,
    CounterEvidence,
    Evidence,
    PlanShape,
    QueryEvidence,
    WriteCounterEvidence,
    WriteEvidence,
)
from perflab.results import frame_records

DEFAULT_MIN_EFFECT = 0.25

#: Work per execution may grow by this much before it is a regression (any new full-scan,
#: sort or automatic-index work is one at once).
DEFAULT_WORK_TOLERANCE = 0.10

#: Counters compared for work (rows returned is shown beside, not gated).
WORK_COUNTERS = {
    "vm_steps": "VM steps",
    "fullscan_steps": "full-scan steps",
    "sorts": "sorts",
    "autoindex": "automatic-index rows",
}

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
    "work": "work per execution from SQLite's own counters (machine-independent), over the "
    "executions both runs counted: any counter above 1 + work_tolerance times the base, "
    "or full-scan, sort or automatic-index work where the base had none",
    "write work": "work per write from SQLite's own counters (VM steps, pages written, rows "
    "changed; an untimed pass on its own copy), over the writes both runs counted: any "
    "counter above 1 + work_tolerance times the base",
    "noise": "a timing change no larger than the base run's own A/A spread (two halves of "
    "its samples) is inconclusive, and so is any timing change of a query or write whose "
    "work counters (and plan) are identical: neither gates",
}

COUNTERS_NOTE = (
    "Work counters are SQLite's own counts per execution (VM steps, full-scan steps, sorts, "
    "automatic-index rows): they do not depend on the machine or its load, so the same data, "
    "plan and parameters give the same numbers anywhere, and they are compared exactly; "
    "timings are compared with intervals and a minimum effect."
)


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


def change_verdict(
    base, head, base_ci, head_ci, lower_is_better: bool, min_effect: float, spread=None
):
    """regression | improvement | inconclusive | unchanged | not comparable, by the rule
    above; `spread` is the base run's own A/A spread of the figure (ratio >= 1): a change
    no larger than what two halves of one run already differ by is inconclusive."""
    if not base or base <= 0 or head is None:
        return None, "not comparable"
    ratio = head / base
    worse = ratio >= 1 + min_effect if lower_is_better else ratio <= 1 / (1 + min_effect)
    better = ratio <= 1 / (1 + min_effect) if lower_is_better else ratio >= 1 + min_effect
    if not (worse or better):
        return ratio, "unchanged"
    if spread is not None and ratio > 0 and max(ratio, 1 / ratio) <= spread:
        return ratio, "inconclusive"  # within the base run's own A/A spread
    b_lo, b_hi = base_ci if base_ci else (None, None)
    h_lo, h_hi = head_ci if head_ci else (None, None)
    head_above = h_lo is not None and b_hi is not None and h_lo > b_hi
    head_below = h_hi is not None and b_lo is not None and h_hi < b_lo
    if worse and (head_above if lower_is_better else head_below):
        return ratio, "regression"
    if better and (head_below if lower_is_better else head_above):
        return ratio, "improvement"
    return ratio, "inconclusive"


#: A metric row; `aa_spread` is the base run's own A/A spread of the figure (ratio >= 1).
METRIC_COLUMNS = ["metric", "subject", "base", "head", "ratio", "verdict", "aa_spread"]


def _row(
    metric: str, subject: str, base=None, head=None, ratio=None, verdict=None, spread=None
) -> dict:
    return dict(
        zip(METRIC_COLUMNS, (metric, subject, base, head, ratio, verdict, spread), strict=True)
    )


def latency_figure(q: QueryEvidence, key: str) -> tuple[float | None, tuple | None]:
    f = q.latency.get(key)
    return (None, None) if f is None else (f.value, (f.lo, f.hi))


def aa_spread_of(q: QueryEvidence, key: str) -> float | None:
    f = q.latency.get(key)
    return None if f is None else f.aa_spread


def _write_key(w: WriteEvidence) -> tuple:
    return (w.write, w.batch_size, json.dumps(w.pragmas, sort_keys=True))


def compare_metrics(
    base: Evidence, head: Evidence, min_effect: float = DEFAULT_MIN_EFFECT
) -> pd.DataFrame:
    """Columns: metric, subject, base, head, ratio (head/base), verdict."""
    rows = []
    bq = {q.name: q for q in base.queries}
    for q in head.queries:
        b = bq.get(q.name)
        if b is None:
            rows.append(_row("query", q.name, verdict="added"))
            continue
        for key in ("p50", "p99"):
            (bv, bci), (hv, hci) = latency_figure(b, key), latency_figure(q, key)
            spread = aa_spread_of(b, key)
            ratio, v = change_verdict(bv, hv, bci, hci, True, min_effect, spread)
            rows.append(_row(f"latency_{key}_ms", q.name, bv, hv, ratio, v, spread))
    for name in bq.keys() - {q.name for q in head.queries}:
        rows.append(_row("query", name, verdict="removed"))
    no_writes: tuple[WriteEvidence, ...] = ()
    bw = {_write_key(w): w for w in (base.throughput.writes if base.throughput else no_writes)}
    for w in head.throughput.writes if head.throughput else no_writes:
        b = bw.get(_write_key(w))
        if b is None or w.ops_per_s is None:
            continue
        spread = b.ops_per_s_aa_spread
        ratio, v = change_verdict(
            b.ops_per_s, w.ops_per_s, b.ops_per_s_ci, w.ops_per_s_ci, False, min_effect, spread
        )
        subject = write_subject(w)
        rows.append(_row("ops_per_s", subject, b.ops_per_s, w.ops_per_s, ratio, v, spread))
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def write_subject(w: WriteEvidence) -> str:
    return f"{w.write} (batch {w.batch_size})"


def fmt_work(x: float) -> str:
    r = round(x)
    return f"{r:,}" if abs(x - r) < 0.05 else f"{x:,.1f}"


def _older(what: str, base_missing: bool) -> str:
    side = "base" if base_missing else "head"
    return f"the {side} run has no {what}: a summary from before they existed"


def work_verdict(b: CounterEvidence | None, h: CounterEvidence | None, tolerance: float) -> dict:
    """One query's work verdict: same | within tolerance | regression | improvement |
    not comparable, with the means compared and why."""
    out: dict = {"verdict": "not comparable", "executions": 0, "why": ""}
    if b is None or h is None:
        out["why"] = _older("work counters", b is None)
        return out
    for side, rec in (("base", b), ("head", h)):
        if rec.source is None or not rec.means:
            out["why"] = f"{side}: {rec.reason or 'counters unavailable'}"
            return out
    n = min(b.executions, h.executions)
    if n == 0:
        out["why"] = "no execution was counted"
        return out
    bm, hm = b.means_over(n), h.means_over(n)
    out["executions"] = n
    for k in COUNTERS:
        out[f"base_{k}"], out[f"head_{k}"] = bm[k], hm[k]
    notes = []
    if not (b.values and h.values) and b.executions != h.executions:
        notes.append(f"means over {b.executions} and {h.executions} executions")
    if bm["rows"] != hm["rows"]:
        notes.append(
            f"rows returned differ ({fmt_work(bm['rows'])} -> {fmt_work(hm['rows'])} per "
            "execution): the data or parameters differ"
        )
    if all(bm[k] == hm[k] for k in COUNTERS):
        out["verdict"], out["why"] = "same", "; ".join(notes)
        return out
    worse, better = [], []
    for k, label in WORK_COUNTERS.items():
        bv, hv = bm[k], hm[k]
        if bv == 0 and hv > 0:
            worse.append(f"new {label}: {fmt_work(hv)} per execution")
        elif bv > 0 and hv > bv * (1 + tolerance):
            worse.append(f"{label} x{hv / bv:.2f} ({fmt_work(bv)} -> {fmt_work(hv)})")
        elif bv > 0 and hv == 0 and k != "vm_steps":
            better.append(f"no more {label} (was {fmt_work(bv)})")
        elif bv > 0 and hv < bv / (1 + tolerance):
            better.append(f"{label} x{hv / bv:.2f} ({fmt_work(bv)} -> {fmt_work(hv)})")
    if worse:
        out["verdict"], reasons = "regression", worse
    elif better:
        out["verdict"], reasons = "improvement", better
    else:
        out["verdict"], reasons = "within tolerance", []
    out["why"] = "; ".join(reasons + notes)
    return out


def _pairs(base: Evidence, head: Evidence) -> list[tuple[QueryEvidence, QueryEvidence]]:
    """(base, head) for each query in both runs, in head's order."""
    bq = {q.name: q for q in base.queries}
    return [(bq[q.name], q) for q in head.queries if q.name in bq]


def compare_work(
    base: Evidence, head: Evidence, tolerance: float = DEFAULT_WORK_TOLERANCE
) -> pd.DataFrame:
    """Per query in both runs: the work verdict from the counters, exact up to `tolerance`.

    Columns: query, verdict, executions (compared), base_/head_ means of vm_steps,
    fullscan_steps, sorts, autoindex, rows, why.
    """
    cols = ["query", "verdict", "executions"]
    cols += [f"{s}_{k}" for k in COUNTERS for s in ("base", "head")] + ["why"]
    rows = [
        {"query": h.name, **work_verdict(b.counters, h.counters, tolerance)}
        for b, h in _pairs(base, head)
    ]
    return pd.DataFrame(rows, columns=cols)


WRITE_WORK_LABELS = {
    "vm_steps": "VM steps",
    "pages_written": "pages written",
    "rows_changed": "rows changed",
}


def write_work_verdict(
    b: WriteCounterEvidence | None, h: WriteCounterEvidence | None, tolerance: float
) -> dict:
    """One write's work verdict (same | within tolerance | regression | improvement |
    not comparable) over the writes both runs counted, with why."""
    out: dict = {"verdict": "not comparable", "writes": 0, "why": ""}
    if b is None or h is None:
        out["why"] = _older("write counters", b is None)
        return out
    for side, rec in (("base", b), ("head", h)):
        if rec.reason or rec.ops == 0:
            out["why"] = f"{side}: {rec.reason or 'no write was counted'}"
            return out
    n = min(b.ops, h.ops)
    bm, hm = b.means_over(n), h.means_over(n)
    out["writes"] = n
    worse, better, compared = [], [], []
    for k, label in WRITE_WORK_LABELS.items():
        out[f"base_{k}"], out[f"head_{k}"] = bv, hv = bm[k], hm[k]
        if bv is None or hv is None:
            continue
        compared.append(bv == hv)
        if bv == 0 and hv > 0:
            worse.append(f"new {label}: {fmt_work(hv)} per write")
        elif bv > 0 and hv > bv * (1 + tolerance):
            worse.append(f"{label} x{hv / bv:.2f} ({fmt_work(bv)} -> {fmt_work(hv)} per write)")
        elif bv > 0 and hv < bv / (1 + tolerance):
            better.append(f"{label} x{hv / bv:.2f} ({fmt_work(bv)} -> {fmt_work(hv)} per write)")
    if all(compared):
        out["verdict"] = "same"
    elif worse:
        out["verdict"], out["why"] = "regression", "; ".join(worse)
    elif better:
        out["verdict"], out["why"] = "improvement", "; ".join(better)
    else:
        out["verdict"] = "within tolerance"
    return out


def compare_write_work(
    base: Evidence, head: Evidence, tolerance: float = DEFAULT_WORK_TOLERANCE
) -> pd.DataFrame:
    """Per write in both runs: its work verdict from SQLite's counters per executed write.

    Columns: write, verdict, writes (compared), base_/head_ means of vm_steps,
    pages_written, rows_changed, why."""
    cols = ["write", "verdict", "writes"]
    cols += [f"{s}_{k}" for k in WRITE_WORK_LABELS for s in ("base", "head")] + ["why"]

    def by_name(ev: Evidence) -> dict[str, WriteEvidence]:
        out: dict[str, WriteEvidence] = {}
        for w in ev.throughput.writes if ev.throughput else ():
            out.setdefault(str(w.write), w)
        return out

    bw, hw = by_name(base), by_name(head)
    rows = [
        {"write": name, **write_work_verdict(bw[name].counters, w.counters, tolerance)}
        for name, w in hw.items()
        if name in bw
    ]
    return pd.DataFrame(rows, columns=cols)


def counters_status(work: pd.DataFrame, base: Evidence, head: Evidence) -> str:
    """One line on whether the counters could be compared at all."""
    if work.empty:
        return "counters: no query in both runs"
    nc = work[work["verdict"] == "not comparable"]
    if len(nc) == len(work):
        return f"counters: not comparable ({nc['why'].iloc[0]})"
    line = f"counters: compared for {len(work) - len(nc)} of {len(work)} queries"
    bv, hv = base.sqlite_version, head.sqlite_version
    if bv and hv and bv != hv:
        line += f"; SQLite {bv} vs {hv}: VM steps may differ by engine version"
    return line


def plan_change(b: PlanShape, h: PlanShape) -> tuple[str, str]:
    """same | worse | better | changed, and why (the scans, sorts and index use that moved)."""
    if b.details == h.details:
        return "same", ""
    worse = [
        w
        for w, c in (
            ("gains a full table scan", h.full_scans > b.full_scans),
            ("gains a temp B-tree", h.temp_btrees > b.temp_btrees),
            ("stops using an index", b.uses_index and not h.uses_index),
        )
        if c
    ]
    better = [
        w
        for w, c in (
            ("loses a full table scan", h.full_scans < b.full_scans),
            ("loses a temp B-tree", h.temp_btrees < b.temp_btrees),
            ("starts using an index", h.uses_index and not b.uses_index),
        )
        if c
    ]
    return ("worse" if worse else "better" if better else "changed"), "; ".join(worse or better)


def compare_plans(base: Evidence, head: Evidence) -> pd.DataFrame:
    """Columns: query, change (same | worse | better | changed), base_plan, head_plan, why."""
    rows = []
    for b, h in _pairs(base, head):
        change, why = plan_change(b.plan, h.plan)
        rows.append(
            {
                "query": h.name,
                "change": change,
                "base_plan": " | ".join(b.plan.details),
                "head_plan": " | ".join(h.plan.details),
                "why": why,
            }
        )
    return pd.DataFrame(rows, columns=["query", "change", "base_plan", "head_plan", "why"])


def compare_indexes(base: Evidence, head: Evidence) -> dict:
    """Indexes added and removed: from the inventories, else from what the plans used."""
    b = base.indexes.names if base.indexes else None
    h = head.indexes.names if head.indexes else None
    if b is None or h is None:
        b, h = ({i for q in ev.queries for i in q.plan.indexes} for ev in (base, head))
        basis = "indexes used by the workload's plans"
    else:
        basis = "index inventory"
    return {"basis": basis, "added": sorted(h - b), "removed": sorted(b - h)}


def machine_check(base: Evidence, head: Evidence) -> dict:
    """How fast each run's machine was, by the harness's own SELECT 1."""
    b, h = base.select_1_ms, head.select_1_ms
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


def compare(
    base: dict,
    head: dict,
    min_effect: float = DEFAULT_MIN_EFFECT,
    work_tolerance: float = DEFAULT_WORK_TOLERANCE,
) -> dict:
    """The comparison as summary.json (`comparison`) and the HTML page carry it.

    `base` and `head` are summaries as read from their files, of either format version:
    they become typed evidence once, here, and nothing below reads them by key."""
    base, head = Evidence.from_summary(base), Evidence.from_summary(head)
    m = compare_metrics(base, head, min_effect)
    p = compare_plans(base, head)
    w = compare_work(base, head, work_tolerance)
    ww = compare_write_work(base, head, work_tolerance)
    gated = m["metric"].isin(GATED_METRICS)
    same_plan = set(p.loc[p["change"] == "same", "query"]) if not p.empty else set()
    same_work = set(w.loc[w["verdict"] == "same", "query"]) if not w.empty else set()
    unchanged = same_plan & same_work
    same_writes = set(ww.loc[ww["verdict"] == "same", "write"]) if not ww.empty else set()
    same_subjects = {
        write_subject(x)
        for x in (head.throughput.writes if head.throughput else ())
        if x.write in same_writes
    }
    # A timing that moved while SQLite did exactly the same work with the same plan is not
    # evidence of a regression between two runs: the A/A test moved medians 1.6x (and a
    # write's throughput 0.54x) with identical work. It is shown as inconclusive, and not
    # gated; interleave to settle it.
    same = [
        (metric.startswith("latency_") and subject in unchanged)
        or (metric == "ops_per_s" and subject in same_subjects)
        for metric, subject in zip(m["metric"], m["subject"], strict=True)
    ]
    m["work"] = ["identical" if s else "" for s in same]
    moved = m["verdict"].isin(["regression", "improvement"]) & pd.Series(same, index=m.index)
    m.loc[moved, "verdict"] = "inconclusive"
    return {
        "base_run": base.run_id,
        "head_run": head.run_id,
        "min_effect": min_effect,
        "work_tolerance": work_tolerance,
        "rule": THRESHOLDS,
        "counters_note": COUNTERS_NOTE,
        "counters_status": counters_status(w, base, head),
        "work": frame_records(w),
        "work_regressions": int((w["verdict"] == "regression").sum()),
        "work_improvements": int((w["verdict"] == "improvement").sum()),
        "write_work": frame_records(ww),
        "write_work_regressions": int((ww["verdict"] == "regression").sum()),
        "unchanged_work_and_plan": sorted(unchanged),
        "metrics": frame_records(m),
        "plans": p.to_dict("records"),
        "indexes": compare_indexes(base, head),
        "regressions": int(((m["verdict"] == "regression") & gated).sum()),
        "improvements": int(((m["verdict"] == "improvement") & gated).sum()),
        "tail_regressions": int(((m["verdict"] == "regression") & ~gated).sum()),
        "machine": machine_check(base, head),
        "plan_regressions": int((p["change"] == "worse").sum()),
        "decision_change": [base.decision, head.decision],
    }


def machine_line(cmp: dict) -> str:
    """The machine-speed ratio in words (timings only: counters do not depend on it)."""
    r = (cmp.get("machine") or {}).get("select_1_ratio")
    if r is None:
        return "machine speed: not comparable (a run has no SELECT 1 figure)"
    return (
        f"machine speed: SELECT 1 through the harness took {r:.2f}x as long in head as in base "
        "(this bears on timings only; work counters do not depend on the machine)"
    )


def work_lines(cmp: dict) -> list[str]:
    """The counter verdict per query, as the terminal shows it."""
    lines = [
        f"work per execution (SQLite's counters, tolerance +{cmp.get('work_tolerance', 0):.0%}): "
        + cmp.get("counters_status", "counters: not comparable (no counters in this comparison)")
    ]
    same = set(cmp.get("unchanged_work_and_plan") or [])
    work = cmp.get("work") or []
    if all(w["verdict"] == "not comparable" for w in work):
        return lines  # the status line already says why, once
    for w in work:
        if w["verdict"] == "not comparable":
            lines.append(f"  {w['query']}: counters not comparable ({w['why']})")
            continue
        if w["verdict"] == "same":
            detail = (
                f"{fmt_work(w['head_vm_steps'])} VM steps, {fmt_work(w['head_fullscan_steps'])} "
                f"full-scan steps per execution over {w['executions']} executions"
            )
        else:
            detail = (
                f"VM steps {fmt_work(w['base_vm_steps'])} -> {fmt_work(w['head_vm_steps'])}, "
                f"full-scan steps {fmt_work(w['base_fullscan_steps'])} -> "
                f"{fmt_work(w['head_fullscan_steps'])}"
            )
        if w["verdict"] in ("regression", "improvement"):
            detail = w["why"]  # names every counter that moved, with its numbers
        elif w["why"]:
            detail = f"{w['why']}; {detail}"
        if w["query"] in same:
            detail += "; plan identical too: no plan or work change"
        lines.append(f"  {w['query']}: {w['verdict']} ({detail})")
    return lines


def write_work_lines(cmp: dict) -> list[str]:
    """The counter verdict per write, as the terminal shows it."""
    rows = cmp.get("write_work") or []
    if not rows:
        return []
    lines = ["", "work per write (SQLite's counters, an untimed pass on its own copy):"]
    for w in rows:
        if w["verdict"] in ("regression", "improvement", "not comparable"):
            detail = w["why"]
        else:
            detail = (
                ", ".join(
                    f"{fmt_work(w[f'head_{k}'])} {label}"
                    for k, label in WRITE_WORK_LABELS.items()
                    if w.get(f"head_{k}") is not None
                )
                + f" per write over {w['writes']} writes"
            )
        lines.append(f"  {w['write']}: {w['verdict']} ({detail})")
    return lines
