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
from perflab.judge.matrix import (
    IDENTICAL_WORK,
    CellTarget,
    MatrixResult,
    SubjectMatrix,
    TimingRatio,
    plan_words,
)
from perflab.present import pages, theme

__all__ = ["render_sweep_page", "write_sweep_page"]

_FLAG_KINDS = ("scan_table", "temp_btree", "search_automatic_index")
_TARGET_CSS = {"pass": "ok", "fail": "bad", "inconclusive": "warn", "not_measured": ""}
_VERDICT_CSS = {"regression": "bad", "improvement": "ok", "inconclusive": "warn"}
_METRIC = {"latency_p50_ms": "p50", "latency_p99_ms": "p99", "ops_per_s": "ops/s"}


def _group_css(letter: str) -> str:
    """A colour class per group letter (six, then they repeat)."""
    return f"g{(ord(letter[0]) - ord('A')) % 6}" if letter else ""


def _fig(f: Figure | None, unit: str) -> dict[str, str]:
    """A figure and its interval on two lines (the interval in the value's magnitude)."""
    if f is None:
        return {"value": theme.MISSING, "ci": ""}
    full = theme.fmt_interval(f.value, f.lo, f.hi, unit)
    head, _, ci = full.partition(" [")
    return {"value": head, "ci": f"[{ci}" if ci else ""}


def _target_text(t: CellTarget) -> str:
    """ "p99 < 50 ms: pass"."""
    name = _METRIC.get(t.metric, t.metric.replace("latency_", "").replace("_ms", ""))
    unit = "ms" if t.metric.endswith("_ms") else None
    bound = theme.fmt_with_unit(t.threshold, unit) if unit else theme.fmt(t.threshold)
    return f"{name} {t.comparator} {bound}: {t.status.replace('_', ' ')}"


_ORDER = ("regression", "improvement", "inconclusive", "unchanged", "not comparable")
_MARK = {"regression": " worse", "improvement": " better", "inconclusive": " ?"}


def _pair_tags(ts: list[TimingRatio], axes_of: dict[str, dict[str, str]]) -> list[dict]:
    """One tag per cell this cell is timed against: "vs pragmas wal: p50 x1.29 ?"."""
    by_pair: dict[tuple[str, str], list[TimingRatio]] = {}
    for t in ts:
        by_pair.setdefault((t.axis, t.base_cell), []).append(t)
    out = []
    for (axis, base), group in by_pair.items():
        worst = min(group, key=lambda t: _ORDER.index(t.verdict)).verdict
        figures = [
            f"{_METRIC[t.metric]} {theme.fmt(t.ratio, 'ratio') if t.ratio else theme.MISSING}"
            + _MARK.get(t.verdict, "")
            for t in group
        ]
        out.append(
            {
                "text": f"vs {axis} {axes_of.get(base, {}).get(axis, base)}: " + ", ".join(figures),
                "css": _VERDICT_CSS.get(worst, ""),
                "verdicts": "; ".join(f"{_METRIC[t.metric]} {t.verdict}" for t in group),
                "note": "; ".join(dict.fromkeys(t.note for t in group if t.note)),
                "same_work": any(IDENTICAL_WORK in t.note for t in group),
            }
        )
    return out


def _subject_rows(
    s: SubjectMatrix, axes_of: dict[str, dict[str, str]], labels: dict[str, str], counters: dict
) -> list[dict]:
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
                "group": c.group if s.difference is not None else "",
                "gcss": _group_css(c.group) if s.difference is not None and c.group else "",
                "flag": s.difference is not None and c.present,
                "p50": _fig(c.p50_ms, "ms"),
                "p99": _fig(c.p99_ms, "ms"),
                "ops": _fig(c.ops_per_s, "ops/s"),
                "counters": [
                    theme.fmt(c.counters[k]) if k in c.counters else theme.MISSING for k in counters
                ],
                "counted": c.counted,
                "counters_note": c.counters_note,
                "kinds": [{"kind": k, "bad": k in _FLAG_KINDS} for k in c.kinds],
                "targets": [
                    {
                        "text": _target_text(t),
                        "css": _TARGET_CSS.get(t.status, ""),
                        "why": t.reason,
                    }
                    for t in c.targets
                ],
                "timings": _pair_tags(timings.get(c.cell, []), axes_of),
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


def _change_words(t: TimingRatio) -> str:
    """A ratio as a reader says it: "2.1x slower", "35x lower throughput"."""
    r = t.ratio or 0.0
    if r <= 0:
        return "not comparable"
    up = r >= 1
    x = f"{(r if up else 1 / r):.3g}x"
    if t.metric == "ops_per_s":
        return f"{x} {'higher' if up else 'lower'} throughput"
    return f"{x} {'slower' if up else 'faster'}"


def _pair_words(t: TimingRatio, result: MatrixResult) -> str:
    """ "with pragmas delete instead of wal (engine apsw 3.54.1)": the one axis that changed,
    and where the others stood."""
    b, h = result.cell(t.base_cell), result.cell(t.head_cell)
    if b is None or h is None:
        return ""
    rest = ", ".join(f"{a} {v}" for a, v in h.axes.items() if a != t.axis and a in result.varying)
    return f"with {t.axis} {h.axes.get(t.axis)} instead of {b.axes.get(t.axis)}" + (
        f" ({rest})" if rest else ""
    )


def _timing_changes(result: MatrixResult) -> tuple[list[str], list[str], list[str]]:
    """(changes that pass compare's rule, changes past the minimum effect with intervals
    apart that the rule leaves inconclusive because the work was identical, the notes the
    settled ones point to as [1], [2] ...), as sentences."""
    settled, identical, notes = [], [], []
    for s in (*result.queries, *result.writes):
        for t in s.timings:
            line = f"`{s.name}` {_METRIC[t.metric]}: {_change_words(t)} {_pair_words(t, result)}"
            if t.verdict in ("regression", "improvement"):
                marks = []
                for n in t.note.split("; ") if t.note else ():
                    if n not in notes:
                        notes.append(n)
                    marks.append(f"[{notes.index(n) + 1}]")
                settled.append(line + (" " + "".join(marks) if marks else ""))
            elif t.verdict == "inconclusive" and IDENTICAL_WORK in t.note:
                identical.append(line)
    return settled, identical, notes


def _collapsed(result: MatrixResult) -> list[dict]:
    """The differences for the top of the page: one item each, except that differences of
    the same kind in work only, explained by the same axis, become one item with a line
    per query or write (a version's bytecode changes VM steps everywhere at once)."""
    out: list[dict] = []
    runs: dict[tuple, dict] = {}
    for d in result.differences:
        if d.what != "work" or d.axis is None or len(d.groups) != len(d.values):
            out.append({"sentence": d.sentence, "lines": []})
            continue
        key = (d.kind, d.axis, tuple(d.values.values()))
        if key not in runs:
            runs[key] = {"sentence": "", "lines": [], "diffs": []}
            out.append(runs[key])
        runs[key]["diffs"].append(d)
    for (kind, axis, values), item in runs.items():
        diffs = item.pop("diffs")
        if len(diffs) == 1:
            item["sentence"] = diffs[0].sentence
            continue
        item["sentence"] = (
            f"Work differs by {axis} for {len(diffs)} {kind}s (same plans), "
            f"on {' vs '.join(values)}:"
        )
        item["lines"] = [
            f"`{d.subject}`: " + " vs ".join(d.work.get(g, "") for g in d.groups) for d in diffs
        ]
    return out


def _overview(result: MatrixResult) -> list[dict]:
    """One row per query and write, one column per cell: its group letter and its p50
    (ops/s for a write), so the cells that differ stand out at a glance."""
    rows = []
    for s in (*result.queries, *result.writes):
        cols = []
        for c in s.cells:
            if not c.present:
                cols.append(
                    {
                        "group": "",
                        "value": "failed" if "failed" in c.absent_reason else theme.MISSING,
                        "css": "",
                    }
                )
                continue
            f = c.p50_ms if s.kind == "query" else c.ops_per_s
            unit = "ms" if s.kind == "query" else "ops/s"
            cols.append(
                {
                    "group": c.group if s.difference else "",
                    "value": theme.MISSING if f is None else theme.fmt_with_unit(f.value, unit),
                    "css": _group_css(c.group) if s.difference else "",
                }
            )
        anchor = f"{s.kind}-{(result.queries if s.kind == 'query' else result.writes).index(s)}"
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "anchor": anchor,
                "flag": s.difference is not None,
                "what": s.difference.what if s.difference else "",
                "cols": cols,
            }
        )
    return rows


def context(result: MatrixResult) -> dict[str, Any]:
    """What the template shows, every number already formatted."""
    labels = {c.key: c.label for c in result.cells}
    axes_of = {c.key: dict(c.axes) for c in result.cells}
    changes = _timing_changes(result)
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
            "css": pages.decision_css(c.decision)
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
                "rows": _subject_rows(s, axes_of, labels, counters),
                "plans": _plans(s, labels),
            }
            for i, s in enumerate(items)
        ]

    return {
        "title": f"perflab sweep: {len(result.cells)} cells over "
        + (" × ".join(result.varying) or "no axis"),
        "facts": [
            ("cells finished", f"{len(finished)} of {len(result.cells)}"),
            ("failed", str(len(failed))),
            ("machines", str(len(result.machines))),
            ("plans differ", str(sum("plan" in d.what for d in result.differences))),
            ("work differs", str(sum("work" in d.what for d in result.differences))),
        ],
        "axes": [{"name": a, "vals": ", ".join(v)} for a, v in result.axes.items()],
        "axis_names": axes,
        "cells": cells,
        "differences": _collapsed(result),
        "settled": changes[0],
        "identical_moved": changes[1],
        "settled_notes": changes[2],
        "inconclusive": inconclusive,
        "timing_note": result.timing_note,
        "warnings": list(result.warnings),
        "failed": [{"label": c.label, "reason": c.reason} for c in failed],
        "min_effect": theme.fmt(result.min_effect * 100, "%"),
        "query_counters": list(qcounters.values()),
        "write_counters": list(WRITE_WORK_LABELS.values()),
        "queries": subjects(result.queries, qcounters),
        "writes": subjects(result.writes, dict(WRITE_WORK_LABELS)),
        "has_timings": any(s.timings for s in (*result.queries, *result.writes)),
        "overview": _overview(result),
        "cell_labels": [c.label for c in result.cells],
    }


def render_sweep_page(result: MatrixResult) -> str:
    """sweep.html's text."""
    return pages.render("sweep.html.j2", **context(result))


def write_sweep_page(result: MatrixResult, path: Path) -> Path:
    """Write the page to `path` atomically; returns the path."""
    return atomic_write_text(Path(path), render_sweep_page(result))
