"""sweep.html: a sweep's cells side by side, in one self-contained page.

The manager reads the top: the axes and cells with each cell's decision, then one sentence
per query or write whose plan or work differs between cells, naming the axis that made
the difference, and the timing changes that are settled. The engineer reads the tables
below: per query, each cell's p50/p99 with intervals, its work counters, plan kinds and
targets, the cells that differ highlighted. Timing ratios appear only beside cells of the
same machine. `judge.matrix` computes all of it; this module only formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perflab.fsio import atomic_write_text
from perflab.judge.compare import WORK_COUNTERS, WRITE_WORK_LABELS
from perflab.judge.evidence import Figure, PlanShape
from perflab.judge.matrix import MatrixResult, SubjectMatrix, TimingRatio, plan_words
from perflab.present import pages, theme

__all__ = ["render_sweep_page", "write_sweep_page"]

_FLAG_KINDS = ("scan_table", "temp_btree", "search_automatic_index")
_TARGET_CSS = {"pass": "ok", "fail": "bad", "inconclusive": "warn", "not_measured": ""}
_VERDICT_CSS = {"regression": "bad", "improvement": "ok", "inconclusive": "warn"}
_METRIC = {"latency_p50_ms": "p50", "latency_p99_ms": "p99", "ops_per_s": "ops/s"}


def _fig(f: Figure | None, unit: str) -> str:
    return theme.MISSING if f is None else theme.fmt_interval(f.value, f.lo, f.hi, unit)


def _timing_text(t: TimingRatio, labels: dict[str, str]) -> str:
    if t.ratio is None:
        return f"{_METRIC[t.metric]}: not comparable"
    base = labels.get(t.base_cell, t.base_cell)
    return f"{_METRIC[t.metric]} {theme.fmt(t.ratio, 'ratio')} vs {base}"


def _subject_rows(s: SubjectMatrix, labels: dict[str, str], counters: dict[str, str]) -> list[dict]:
    timings: dict[str, list[TimingRatio]] = {}
    for t in s.timings:
        timings.setdefault(t.head_cell, []).append(t)
    rows = []
    for c in s.cells:
        rows.append(
            {
                "label": labels.get(c.cell, c.cell),
                "present": c.present,
                "absent": c.absent_reason,
                "group": c.group,
                "flag": s.difference is not None and c.present,
                "p50": _fig(c.p50_ms, "ms"),
                "p99": _fig(c.p99_ms, "ms"),
                "ops": _fig(c.ops_per_s, "ops/s"),
                "counters": [
                    theme.fmt(c.counters.get(k), "count") if k in c.counters else theme.MISSING
                    for k in counters
                ],
                "counted": c.counted,
                "counters_note": c.counters_note,
                "kinds": [{"kind": k, "bad": k in _FLAG_KINDS} for k in c.kinds],
                "targets": [
                    {
                        "text": f"{t.metric.replace('latency_', '').replace('_ms', '')} "
                        f"{t.comparator} {theme.fmt(t.threshold)}: {t.status.replace('_', ' ')}",
                        "css": _TARGET_CSS.get(t.status, ""),
                        "why": t.reason,
                    }
                    for t in c.targets
                ],
                "timings": [
                    {
                        "text": _timing_text(t, labels),
                        "verdict": t.verdict,
                        "css": _VERDICT_CSS.get(t.verdict, ""),
                        "note": t.note,
                    }
                    for t in timings.get(c.cell, [])
                ],
                "base": any(t.base_cell == c.cell for t in s.timings),
            }
        )
    return rows


def _plans(s: SubjectMatrix, labels: dict[str, str]) -> list[dict]:
    """One entry per group: its cells, its plan in words and its lines."""
    seen: dict[str, dict] = {}
    for c in s.cells:
        if not c.present or not c.group:
            continue
        g = seen.setdefault(
            c.group,
            {
                "group": c.group,
                "cells": [],
                "words": plan_words(PlanShape(details=c.plan)),
                "lines": list(c.plan),
            },
        )
        g["cells"].append(labels.get(c.cell, c.cell))
    return list(seen.values())


def _settled(result: MatrixResult, labels: dict[str, str]) -> list[str]:
    """The timing changes that pass compare's rule, as sentences."""
    out = []
    for s in (*result.queries, *result.writes):
        for t in s.timings:
            if t.verdict in ("regression", "improvement"):
                word = "slower" if t.verdict == "regression" else "faster"
                if t.metric == "ops_per_s":
                    word = "lower throughput" if t.verdict == "regression" else "higher throughput"
                out.append(
                    f"`{s.name}`: {_METRIC[t.metric]} {theme.fmt(t.ratio, 'ratio')} in "
                    f"{labels.get(t.head_cell)} against {labels.get(t.base_cell)} ({word}; "
                    "intervals apart, same machine)"
                )
    return out


def context(result: MatrixResult) -> dict[str, Any]:
    """What the template shows, every number already formatted."""
    labels = {c.key: c.label for c in result.cells}
    finished = [c for c in result.cells if c.status == "finished"]
    failed = [c for c in result.cells if c.status != "finished"]
    axes = list(result.axes)
    inconclusive = sum(
        t.verdict == "inconclusive" for s in (*result.queries, *result.writes) for t in s.timings
    )
    cells = [
        {
            "label": c.label,
            "axes": [c.axes.get(a, "") for a in axes],
            "machine": c.machine,
            "select_1": theme.fmt(c.select_1_ms, "ms"),
            "status": c.status,
            "reason": c.reason,
            "decision": c.decision or ("failed" if c.status != "finished" else theme.MISSING),
            "css": pages._decision_css(c.decision)
            if c.decision
            else "bad"
            if c.status != "finished"
            else "",
            "targets": f"{c.targets_passed} pass, {c.targets_failed} fail, "
            f"{c.targets_inconclusive} inconclusive"
            + (f", {c.targets_not_measured} not measured" if c.targets_not_measured else ""),
            "sqlite": c.sqlite_version or theme.MISSING,
            "key": c.key,
            "run_dir": c.run_dir,
        }
        for c in result.cells
    ]
    qcounters = {**WORK_COUNTERS, "rows": "rows"}

    def subjects(items: tuple[SubjectMatrix, ...], counters: dict[str, str]) -> list[dict]:
        return [
            {
                "name": s.name,
                "anchor": f"{s.kind}-{i}",
                "difference": s.difference.sentence if s.difference else "",
                "rows": _subject_rows(s, labels, counters),
                "plans": _plans(s, labels),
            }
            for i, s in enumerate(items)
        ]

    return {
        "title": f"perflab sweep: {len(result.cells)} cells over {', '.join(axes) or 'no axis'}",
        "facts": [
            ("cells finished", f"{len(finished)} of {len(result.cells)}"),
            ("failed", str(len(failed))),
            ("machines", str(len(result.machines))),
            ("plan or work differences", str(len(result.differences))),
        ],
        "axes": [{"name": a, "values": ", ".join(v)} for a, v in result.axes.items()],
        "axis_names": axes,
        "cells": cells,
        "differences": [d.sentence for d in result.differences],
        "settled": _settled(result, labels),
        "inconclusive": inconclusive,
        "timing_note": result.timing_note,
        "warnings": list(result.warnings),
        "failed": [{"label": c.label, "reason": c.reason} for c in failed],
        "min_effect": theme.fmt(result.min_effect * 100, "%"),
        "query_counters": list(qcounters.values()),
        "write_counters": list(WRITE_WORK_LABELS.values()),
        "queries": subjects(result.queries, qcounters),
        "writes": subjects(result.writes, dict(WRITE_WORK_LABELS)),
        "one_machine": len(result.machines) == 1,
    }


def render_sweep_page(result: MatrixResult) -> str:
    """sweep.html's text."""
    return pages.render("sweep.html.j2", **context(result))


def write_sweep_page(result: MatrixResult, path: Path) -> Path:
    """Write the page to `path` atomically; returns the path."""
    return atomic_write_text(Path(path), render_sweep_page(result))
