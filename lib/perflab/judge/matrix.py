"""A sweep's cells side by side: which plans and work counters differ, and which axis did it.

Each cell of a sweep is one complete run. Per query and per write, the cells fall into
groups that did exactly the same work (the same plan lines and, over the executions both
counted, the same SQLite work counters, by `judge.compare`'s own exact comparison). When
there is more than one group, the difference is explained by the axis whose value alone
decides the group (every value of it falls in one group); if none does, or several axes
change together in these cells, the sentence says so rather than guess.

Timings are compared only between cells measured on the same machine (the worker's
identity string), with `perflab compare`'s rule: a ratio past the minimum effect with
non-overlapping intervals, and a cell whose work and plan are identical to the other's is
inconclusive however its clock moved (between-run noise). Across machines only counters
and plans are compared: they do not depend on the machine.

Nothing here is keyed on a table or index name: groups come from the plan lines and the
counters as a whole; names appear only in the sentences, quoted from the plans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from perflab.judge.compare import (
    DEFAULT_MIN_EFFECT,
    DEFAULT_WORK_TOLERANCE,
    MACHINE_DRIFT,
    THRESHOLDS,
    WORK_COUNTERS,
    WRITE_WORK_LABELS,
    aa_spread_of,
    change_verdict,
    fmt_work,
    latency_figure,
    load_summary,
    plan_change,
    work_verdict,
    write_subject,
    write_work_verdict,
)
from perflab.judge.evidence import (
    COUNTERS,
    CounterEvidence,
    Evidence,
    Figure,
    PlanShape,
    WriteCounterEvidence,
    WriteEvidence,
)
from perflab.judge.verdict import TargetResult
from perflab.results import to_jsonable
from perflab.sqlite.plans import classify

__all__ = [
    "CellInput",
    "CellSummary",
    "CellTarget",
    "Difference",
    "MatrixResult",
    "SubjectCell",
    "SubjectMatrix",
    "TimingRatio",
    "cell_from_run",
    "compare_cells",
    "targets_from_summary",
]

FORMAT_VERSION = 1

TIMING_RULE = (
    "Timings are compared between two cells that differ in one axis only, by perflab "
    "compare's rule: a change needs a ratio past the minimum effect and non-overlapping 95% "
    "intervals, and a change of a query or write whose plan and work are identical in the two "
    "cells is inconclusive (between-run noise)."
)
CROSS_MACHINE_NOTE = (
    "These cells ran on {n} machines: timings are compared only between cells of the same "
    "machine; across machines only work counters and plans are compared (they do not depend "
    "on the machine). " + TIMING_RULE
)
ONE_MACHINE_NOTE = "All cells ran on one machine ({machine}). " + TIMING_RULE
#: why a timing change past the rule is still inconclusive (judge.compare's A/A finding)
AGAINST_WORK = (
    "the timing moved against the work (SQLite's counters say {work}): between separate "
    "runs a timing is called only in the direction the work moved"
)
IDENTICAL_WORK = (
    "identical work and plan: between separate runs this is not told from noise "
    "(perflab compare's rule); measure interleaved to settle"
)


@dataclass(frozen=True)
class CellInput:
    """One cell of a sweep as the comparison reads it (the sweep builds these)."""

    key: str  # the cell's content-hash id
    axes: Mapping[str, str]  # axis name -> value label ("engine" -> "apsw 3.54.1")
    machine: str  # the worker's machine identity (hostname, CPU model and count, platform)
    select_1_ms: float | None  # the worker's SELECT 1 speed
    status: str  # "finished" | "failed"
    reason: str  # why it failed; "" when finished
    evidence: Evidence | None  # Evidence.from_summary(summary.json); None when failed
    targets: tuple[TargetResult, ...] = ()  # the run's target results (summary "targets")
    run_dir: str = ""  # where the cell's run folder is, as the sweep recorded it


def targets_from_summary(summary: Mapping[str, Any]) -> tuple[TargetResult, ...]:
    """summary.json's `targets` (each `asdict(TargetResult)`) back as TargetResults."""
    names = {f.name for f in fields(TargetResult)}
    out = []
    for t in summary.get("targets") or ():
        if not isinstance(t, dict) or not {"metric", "subject", "status"} <= t.keys():
            continue
        kw = {k: v for k, v in t.items() if k in names}
        kw.setdefault("comparator", "")
        kw.setdefault("threshold", 0.0)
        kw.setdefault("milestone", "")
        ci = kw.get("ci") or (None, None)
        kw["ci"] = (ci[0], ci[1] if len(ci) > 1 else None)
        out.append(TargetResult(**kw))
    return tuple(out)


def cell_from_run(
    key: str,
    axes: Mapping[str, str],
    machine: str,
    select_1_ms: float | None,
    run_dir: str | Path,
) -> CellInput:
    """A finished cell from its run folder; a folder without a readable summary gives a
    failed cell with the reason (never an exception: one bad cell does not break a page)."""
    try:
        summary = load_summary(run_dir)
    except Exception as exc:  # noqa: BLE001 - any unreadable summary is this cell's failure
        return CellInput(
            key, dict(axes), machine, select_1_ms, "failed", str(exc), None, (), str(run_dir)
        )
    ev = Evidence.from_summary(summary)
    s1 = select_1_ms if select_1_ms is not None else ev.select_1_ms
    return CellInput(
        key,
        dict(axes),
        machine,
        s1,
        "finished",
        "",
        ev,
        targets_from_summary(summary),
        str(run_dir),
    )


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class CellSummary:
    """A cell as the page's header shows it: its axes, machine, status and decision."""

    key: str
    label: str  # the axis values joined, how the page names the cell
    axes: Mapping[str, str]
    machine: str
    select_1_ms: float | None
    status: str
    reason: str
    run_dir: str
    decision: str | None = None
    sqlite_version: str | None = None
    targets_passed: int = 0
    targets_failed: int = 0
    targets_inconclusive: int = 0
    targets_not_measured: int = 0


@dataclass(frozen=True)
class CellTarget:
    metric: str
    status: str  # pass | fail | inconclusive | not_measured
    value: float | None
    threshold: float
    comparator: str
    reason: str = ""


@dataclass(frozen=True)
class SubjectCell:
    """One query (or write) in one cell: its timings, its work, its plan, its targets."""

    cell: str  # the cell's key
    present: bool  # False: the cell failed, or its workload has no such subject
    absent_reason: str = ""
    group: str = ""  # A, B, ...: cells in one group did the same work with the same plan
    p50_ms: Figure | None = None
    p99_ms: Figure | None = None
    ops_per_s: Figure | None = None  # writes: throughput with its interval
    counters: Mapping[str, float] = field(default_factory=dict)  # means per execution/write
    counted: int = 0  # executions (or writes) counted
    counters_note: str = ""  # why there are no counters
    plan: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    targets: tuple[CellTarget, ...] = ()


@dataclass(frozen=True)
class Difference:
    """Cells of one subject that differ in plan or work, and the axis that explains it."""

    subject: str
    kind: str  # query | write
    what: str  # plan | work | plan and work
    axis: str | None  # the one axis whose value alone decides the group; None: no single one
    candidates: tuple[str, ...]  # the axes that vary between the groups
    groups: Mapping[str, tuple[str, ...]]  # group letter -> cell keys
    sentence: str
    values: Mapping[str, str] = field(default_factory=dict)  # group -> its `axis` values
    plans: Mapping[str, str] = field(default_factory=dict)  # group -> its plan in words
    work: Mapping[str, str] = field(default_factory=dict)  # group -> the counters that differ


@dataclass(frozen=True)
class TimingRatio:
    """A figure of two cells on one machine that differ in one axis only (compare's rule):
    the base holds the axis's first value, the head another."""

    subject: str
    kind: str  # query | write
    metric: str  # latency_p50_ms | latency_p99_ms | ops_per_s
    machine: str
    axis: str  # the one axis the two cells differ in
    base_cell: str
    head_cell: str
    base: float | None
    head: float | None
    ratio: float | None
    verdict: str  # regression | improvement | unchanged | inconclusive | not comparable
    note: str = ""


@dataclass(frozen=True)
class SubjectMatrix:
    name: str
    kind: str  # query | write
    cells: tuple[SubjectCell, ...]
    difference: Difference | None
    timings: tuple[TimingRatio, ...] = ()


@dataclass(frozen=True)
class MatrixResult:
    """The merged result of a sweep: `to_dict()` is sweep.json's body."""

    axes: Mapping[str, tuple[str, ...]]  # axis -> its values in cell order
    cells: tuple[CellSummary, ...]
    queries: tuple[SubjectMatrix, ...]
    writes: tuple[SubjectMatrix, ...]
    differences: tuple[Difference, ...]
    machines: tuple[str, ...]
    timing_note: str
    min_effect: float = DEFAULT_MIN_EFFECT
    work_tolerance: float = DEFAULT_WORK_TOLERANCE
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, as sweep.json carries them (data/sweep.schema.json)."""
        d = to_jsonable(asdict(self))
        d["format_version"] = FORMAT_VERSION
        d["rule"] = {k: THRESHOLDS[k] for k in ("latency", "throughput", "noise")}
        return d

    @property
    def varying(self) -> tuple[str, ...]:
        """The axes with more than one value (the others are the same in every cell)."""
        return tuple(a for a, v in self.axes.items() if len(v) > 1)

    def cell(self, key: str) -> CellSummary | None:
        return next((c for c in self.cells if c.key == key), None)


# ------------------------------------------------------------------------------ helpers


def _label(axes: Mapping[str, str], keep: Sequence[str] | None = None) -> str:
    """The cell's axis values joined; `keep`: only those axes (the ones that vary)."""
    vals = [str(v) for a, v in axes.items() if keep is None or a in keep]
    return " · ".join(vals) or "(one cell)"


def _kinds(plan: PlanShape) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(classify(d).get("kind", "other")) for d in plan.details))


def plan_words(plan: PlanShape) -> str:
    """What a plan does, in words quoted from its own lines (which index, which scan)."""
    parts: list[str] = []
    for d in plan.details:
        c = classify(d)
        k, table, index = c.get("kind"), c.get("table"), c.get("index")
        if k == "scan_table":
            parts.append(f"scans {table}")
        elif k in ("search_index", "search_covering_index", "scan_index", "scan_covering_index"):
            verb = "searches" if k.startswith("search") else "walks"
            how = "covering index" if "covering" in k else "index"
            parts.append(f"{verb} {table} by {how} {index}")
        elif k == "search_automatic_index":
            parts.append(f"builds an automatic index on {table}")
        elif k in ("search_rowid", "search_primary_key"):
            parts.append(f"looks {table} up by its key")
        elif k == "temp_btree":
            parts.append(f"sorts in a temp B-tree ({c.get('purpose')})")
    parts = list(dict.fromkeys(parts))
    if not parts:
        return ("runs " + " | ".join(plan.details)) if plan.details else "has no plan recorded"
    return ", ".join(parts)


def _counter_means(c: CounterEvidence | None) -> tuple[dict[str, float], int, str]:
    if c is None:
        return {}, 0, "a summary from before work counters"
    if c.source is None or not c.means:
        return {}, 0, c.reason or "counters unavailable"
    return ({k: c.means[k] for k in COUNTERS if k in c.means}, c.executions, "")


def _write_means(c: WriteCounterEvidence | None) -> tuple[dict[str, float], int, str]:
    if c is None:
        return {}, 0, "a summary from before write counters"
    if c.reason or c.ops == 0:
        return {}, 0, c.reason or "no write was counted"
    m = c.means_over(c.ops)
    return ({k: v for k, v in m.items() if v is not None}, c.ops, "")


def _cell_targets(
    targets: Sequence[TargetResult], subject: str, scenario: str = ""
) -> tuple[CellTarget, ...]:
    """The targets on `subject`; for a write, only those measured on its `scenario`
    ("memory_write, batch 1", as the target's source names it) when the source says."""
    return tuple(
        CellTarget(t.metric, t.status, t.value, t.threshold, t.comparator, t.status_reason)
        for t in targets
        if t.subject == subject
        and (not scenario or "batch" not in t.source or f"[{scenario}]" in t.source)
    )


def _writes_by_subject(ev: Evidence) -> dict[str, WriteEvidence]:
    """A cell's writes by name and batch size (the first of each: its pragmas are the
    cell's, which an axis may change, so they are not part of the key)."""
    out: dict[str, WriteEvidence] = {}
    for w in ev.throughput.writes if ev.throughput else ():
        out.setdefault(write_subject(w), w)
    return out


def _same(kind: str, a: Any, b: Any, tolerance: float) -> tuple[bool, bool]:
    """(same plan, same work) of two subjects; work not comparable, or a plan a summary
    did not record, counts as same (it is shown as unavailable, never as a difference)."""
    if kind == "query":
        unknown = not a.plan.details or not b.plan.details
        plan_same = unknown or plan_change(a.plan, b.plan)[0] == "same"
        v = work_verdict(a.counters, b.counters, tolerance)["verdict"]
    else:
        plan_same = True
        v = write_work_verdict(a.counters, b.counters, tolerance)["verdict"]
    return plan_same, v in ("same", "not comparable")


def _group(kind: str, items: list[tuple[str, Any]], tolerance: float, plan_only: bool = False):
    """Cells (key, subject) into groups of identical plan and work (`plan_only`: plan), in
    first-seen order; returns {key: letter}, {letter: representative}, and what differed."""
    reps: list[tuple[str, Any]] = []
    of: dict[str, str] = {}
    plan_diff = work_diff = False
    for key, s in items:
        for letter, r in reps:
            ps, ws = _same(kind, r, s, tolerance)
            if ps and (ws or plan_only):
                of[key] = letter
                break
        else:
            for _, r in reps:
                ps, ws = _same(kind, r, s, tolerance)
                plan_diff |= not ps
                work_diff |= not ws
            letter = chr(ord("A") + len(reps)) if len(reps) < 26 else f"G{len(reps) + 1}"
            reps.append((letter, s))
            of[key] = letter
    what = "plan and work" if plan_diff and work_diff else "plan" if plan_diff else "work"
    return of, dict(reps), what


def _explaining_axes(
    groups: Mapping[str, tuple[str, ...]], axes_of: Mapping[str, Mapping[str, str]]
) -> tuple[list[str], list[str]]:
    """(axes whose value alone decides the group, axes that vary between groups).

    An axis explains the difference when each of its values falls in one group only; it
    varies between groups when two cells of different groups have different values of it."""
    names = list(dict.fromkeys(a for k in axes_of for a in axes_of[k]))
    group_of = {k: g for g, ks in groups.items() for k in ks}
    explain, vary = [], []
    for a in names:
        val = {k: str(axes_of[k].get(a, "")) for k in group_of}
        groups_of_value: dict[str, set[str]] = {}
        for k, v in val.items():
            groups_of_value.setdefault(v, set()).add(group_of[k])
        if any(group_of[x] != group_of[y] and val[x] != val[y] for x in group_of for y in group_of):
            vary.append(a)
            if all(len(gs) == 1 for gs in groups_of_value.values()):
                explain.append(a)
    return explain, vary


def _group_means(kind: str, reps: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Each group's counter means over the executions (or writes) every group counted."""
    if kind == "query":
        recs = {g: r.counters for g, r in reps.items()}
        ok = {g: c for g, c in recs.items() if c is not None and c.source and c.means}
        n = min((c.executions for c in ok.values()), default=0)
        return {g: c.means_over(n) for g, c in ok.items()} if n else {}
    recs = {g: r.counters for g, r in reps.items()}
    ok = {g: c for g, c in recs.items() if c is not None and not c.reason and c.ops}
    n = min((c.ops for c in ok.values()), default=0)
    out = {g: {k: v for k, v in c.means_over(n).items() if v is not None} for g, c in ok.items()}
    return out if n else {}


def _differing_work(kind: str, reps: Mapping[str, Any]) -> dict[str, str]:
    """Per group: only the counters that differ between groups, in words."""
    labels = {**WORK_COUNTERS, "rows": "rows returned"} if kind == "query" else WRITE_WORK_LABELS
    means = _group_means(kind, reps)
    moved = [
        k
        for k in labels
        if len({m.get(k) for m in means.values()}) > 1 and all(k in m for m in means.values())
    ]
    per = "per execution" if kind == "query" else "per write"
    return {
        g: ", ".join(f"{fmt_work(m[k])} {labels[k]}" for k in moved) + f" {per}"
        for g, m in means.items()
        if moved
    }


def _difference(
    name: str,
    kind: str,
    of: Mapping[str, str],
    reps: Mapping[str, Any],
    what: str,
    axes_of: Mapping[str, Mapping[str, str]],
    plan_of: Mapping[str, str] | None = None,
    plan_reps: Mapping[str, Any] | None = None,
    with_work: bool = True,
) -> Difference:
    """The sentence: which axis decides the group, and what each group's plan and work is.

    When plans differ and, within one plan, work differs too (a scale axis changes every
    count), the plan is explained on its own (`plan_of`), and the axes that change the work
    within a plan, holding the others fixed, are named after it."""
    groups: dict[str, tuple[str, ...]] = {}
    for k, g in of.items():
        groups[g] = (*groups.get(g, ()), k)
    if plan_of and 1 < len(plan_reps) < len(reps):
        d = _difference(name, kind, plan_of, plan_reps, "plan", axes_of, with_work=False)
        within = sorted(
            {
                a
                for x in of
                for y in of
                if plan_of[x] == plan_of[y] and of[x] != of[y]
                for a in _one_axis_apart(axes_of[x], axes_of[y])
            }
        )
        extra = (
            f" Work also differs within one plan, by {_and(within)} with the other axes held"
            " fixed (the table has the counters)."
            if within
            else " Work also differs within one plan (the table has the counters)."
        )
        _, vary = _explaining_axes(groups, axes_of)
        pg = {g: plan_of[ks[0]] for g, ks in groups.items()}  # each group's plan group
        return replace(
            d,
            values={g: d.values[p] for g, p in pg.items() if p in d.values},
            plans={g: d.plans[p] for g, p in pg.items() if p in d.plans},
            what="plan and work",
            groups=groups,
            candidates=tuple(vary),
            sentence=d.sentence + extra,
        )
    explain, vary = _explaining_axes(groups, axes_of)
    axis = explain[0] if len(explain) == 1 else None
    work = _differing_work(kind, reps) if with_work else {}

    plans: dict[str, str] = {}
    if kind == "query" and what != "work":
        plans = {g: plan_words(r.plan) for g, r in reps.items()}
        if len(set(plans.values())) < len(plans):  # the words hide the difference: quote
            plans = {g: "runs " + " | ".join(r.plan.details) for g, r in reps.items()}

    def side(g: str) -> str:
        plan = plans.get(g, "")
        w = work.get(g, "")
        if plan and w:
            return f"{plan} ({w})"
        return plan or (f"does {w}" if w else "has no comparable counters")

    def values(g: str, a: str) -> str:
        return ", ".join(dict.fromkeys(str(axes_of[k].get(a, "")) for k in groups[g]))

    letters = list(groups)
    head = f"`{name}`" + ("" if kind == "query" else " (write)")
    differs = {"plan": "plans differ", "work": "work differs (same plan)"}.get(
        what, "plans and work differ"
    )
    if kind == "write":
        differs = "work differs"
    if axis is not None:
        sides = "; ".join(f"on {values(g, axis)} it {side(g)}" for g in letters)
        sentence = f"{head}: {differs} by {axis}: {sides}."
    elif explain:
        sentence = (
            f"{head}: {differs} between cells where {_and(explain)} change together, so "
            "these cells cannot tell which made the difference: "
            + "; ".join(
                f"on {' / '.join(values(g, a) for a in explain)} it {side(g)}" for g in letters
            )
            + "."
        )
    else:
        sentence = (
            f"{head}: {differs} across {_and(vary) if vary else 'the cells'} together; "
            "no single axis separates the cells: "
            + "; ".join(
                f"{g} ({'; '.join(_label(axes_of[k], vary) for k in groups[g])}) {side(g)}"
                for g in letters
            )
            + "."
        )
    by_value = {g: values(g, axis) for g in letters} if axis else {}
    return Difference(name, kind, what, axis, tuple(vary), groups, sentence, by_value, plans, work)


def _one_axis_apart(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """The one axis two cells differ in; [] when they differ in none or several."""
    diff = [k for k in {*a, *b} if a.get(k) != b.get(k)]
    return diff if len(diff) == 1 else []


def _and(xs: Sequence[str]) -> str:
    xs = list(xs)
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


def _work_direction(kind: str, b: Any, h: Any, tolerance: float) -> str:
    """compare's verdict on the two cells' work: regression, improvement, same, ..."""
    f = work_verdict if kind == "query" else write_work_verdict
    return str(f(b.counters, h.counters, tolerance)["verdict"])


def _small_work_change(kind: str, b: Any, h: Any, tolerance: float) -> str:
    """A note when two cells' work differs, but within compare's work tolerance: such a
    difference does not account for a timing change past the minimum effect."""
    if kind == "query":
        v = work_verdict(b.counters, h.counters, tolerance)
    else:
        v = write_work_verdict(b.counters, h.counters, tolerance)
    if v["verdict"] != "within tolerance":
        return ""
    return (
        f"the work differs by less than the {tolerance:.0%} work tolerance: between separate "
        "runs the timing change is not told from noise; measure interleaved to settle"
    )


def _pairs(
    present: Sequence[tuple[CellInput, Any]], axes: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, tuple[CellInput, Any], tuple[CellInput, Any]]]:
    """(axis, base, head): cells of one machine that differ in exactly one axis, the base
    holding that axis's first value; so each ratio is what that one axis did."""
    out = []
    for hc, h in present:
        for a, vals in axes.items():
            if hc.axes.get(a) in (None, vals[0]):
                continue
            want = {**hc.axes, a: vals[0]}
            for bc, b in present:
                if bc.machine == hc.machine and dict(bc.axes) == want:
                    out.append((a, (bc, b), (hc, h)))
                    break
    return out


def _timings(
    name: str,
    kind: str,
    present: list[tuple[CellInput, Any]],
    of: Mapping[str, str],
    axes: Mapping[str, tuple[str, ...]],
    min_effect: float,
    tolerance: float,
) -> list[TimingRatio]:
    """Per one-axis pair of cells on one machine, each figure by compare's rule."""
    out: list[TimingRatio] = []
    for axis, (bc, b), (hc, h) in _pairs(present, axes):
        note = ""
        if bc.select_1_ms and hc.select_1_ms:
            r = hc.select_1_ms / bc.select_1_ms
            if not MACHINE_DRIFT[0] <= r <= MACHINE_DRIFT[1]:
                note = (
                    f"SELECT 1 through the harness took {r:.2f}x as long: the machine's speed "
                    "(or, between engines, their cost per statement) moved"
                )
        identical = of.get(bc.key) == of.get(hc.key)
        small = "" if identical else _small_work_change(kind, b, h, tolerance)
        work = _work_direction(kind, b, h, tolerance)
        if kind == "query":
            rows = []
            for p in ("p50", "p99"):
                (bv, bci), (hv, hci) = latency_figure(b, p), latency_figure(h, p)
                ratio, v = change_verdict(bv, hv, bci, hci, True, min_effect, aa_spread_of(b, p))
                rows.append((f"latency_{p}_ms", bv, hv, ratio, v))
        else:
            ratio, v = change_verdict(
                b.ops_per_s,
                h.ops_per_s,
                b.ops_per_s_ci,
                h.ops_per_s_ci,
                False,
                min_effect,
                b.ops_per_s_aa_spread,
            )
            rows = [("ops_per_s", b.ops_per_s, h.ops_per_s, ratio, v)]
        for metric, bv, hv, ratio, v in rows:
            n = note
            # Cells are separate runs, minutes apart: their timings differ by between-run
            # noise, which no within-run interval sees. A change is called only where the
            # work differs past compare's tolerance and the machine's speed held; else it is
            # inconclusive. (Calling it on work within tolerance flipped between two sweeps of
            # the same code: event_append under rollback, apsw vs sqlite3, 12x slower in one,
            # 1.58x faster in the next, 2 VM steps apart, SELECT 1 moved 935 -> 1,731 ns.)
            against = "" if v == work else AGAINST_WORK.format(work=work)
            if v in ("regression", "improvement") and (identical or small or note or against):
                v = "inconclusive"
                why = IDENTICAL_WORK if identical else small or against
                n = "; ".join(x for x in (n, why) if x)
            out.append(
                TimingRatio(
                    name, kind, metric, hc.machine, axis, bc.key, hc.key, bv, hv, ratio, v, n
                )
            )
    return out


def _subject_cell(kind: str, c: CellInput, s: Any, group: str) -> SubjectCell:
    if kind == "query":
        means, n, why = _counter_means(s.counters)
        return SubjectCell(
            c.key,
            True,
            group=group,
            p50_ms=s.latency.get("p50"),
            p99_ms=s.latency.get("p99"),
            counters=means,
            counted=n,
            counters_note=why,
            plan=s.plan.details,
            kinds=_kinds(s.plan),
            targets=_cell_targets(c.targets, s.name),
        )
    means, n, why = _write_means(s.counters)
    lo, hi = s.ops_per_s_ci or (None, None)
    ops = None if s.ops_per_s is None else Figure(s.ops_per_s, lo, hi, s.ops_per_s_aa_spread)
    return SubjectCell(
        c.key,
        s.status in (None, "ok"),
        absent_reason="" if s.status in (None, "ok") else (s.error or str(s.status)),
        group=group,
        ops_per_s=ops,
        counters=means,
        counted=n,
        counters_note=why,
        targets=_cell_targets(c.targets, str(s.write), f"{s.write}, batch {s.batch_size}"),
    )


def _subject(
    name: str,
    kind: str,
    cells: Sequence[CellInput],
    lookup,
    axes: Mapping[str, tuple[str, ...]],
    min_effect: float,
    tolerance: float,
) -> SubjectMatrix:
    present: list[tuple[CellInput, Any]] = []
    for c in cells:
        s = lookup(c)
        if s is not None and (kind == "query" or s.status in (None, "ok")):
            present.append((c, s))
    items = [(c.key, s) for c, s in present]
    of, reps, what = _group(kind, items, tolerance)
    plan_of, plan_reps, _ = _group(kind, items, tolerance, plan_only=True)
    axes_of = {c.key: c.axes for c, _ in present}
    diff = (
        _difference(name, kind, of, reps, what, axes_of, plan_of, plan_reps)
        if len(reps) > 1
        else None
    )
    rows = []
    for c in cells:
        s = lookup(c)
        if c.status != "finished" or c.evidence is None:
            rows.append(SubjectCell(c.key, False, f"cell failed: {c.reason or 'no evidence'}"))
        elif s is None:
            rows.append(SubjectCell(c.key, False, f"not in this cell's {kind}s"))
        else:
            rows.append(_subject_cell(kind, c, s, of.get(c.key, "")))
    return SubjectMatrix(
        name,
        kind,
        tuple(rows),
        diff,
        tuple(_timings(name, kind, present, of, axes, min_effect, tolerance)),
    )


def _cell_summary(c: CellInput, varying: Sequence[str]) -> CellSummary:
    ev = c.evidence
    count = {
        s: sum(t.status == s for t in c.targets)
        for s in ("pass", "fail", "inconclusive", "not_measured")
    }
    return CellSummary(
        c.key,
        _label(c.axes, varying or None),
        dict(c.axes),
        c.machine,
        c.select_1_ms,
        c.status,
        c.reason,
        c.run_dir,
        None if ev is None else ev.decision,
        None if ev is None else ev.sqlite_version,
        count["pass"],
        count["fail"],
        count["inconclusive"],
        count["not_measured"],
    )


def _normal(c: CellInput) -> CellInput:
    """A cell whose status is finished or failed: finished without evidence, or any other
    status (cancelled), is failed with its reason."""
    if c.status == "finished" and c.evidence is not None:
        return c
    if c.status == "finished":
        return replace(c, status="failed", reason=c.reason or "finished without a summary")
    if c.status != "failed":
        return replace(c, status="failed", reason=f"{c.status}: {c.reason}".rstrip(": "))
    return c


def compare_cells(
    cells: Sequence[CellInput],
    min_effect: float = DEFAULT_MIN_EFFECT,
    work_tolerance: float = DEFAULT_WORK_TOLERANCE,
) -> MatrixResult:
    """The merged comparison of a sweep's cells (in the sweep's order)."""
    cells = [_normal(c) for c in cells]
    done = [c for c in cells if c.status == "finished"]
    axes: dict[str, tuple[str, ...]] = {}
    for c in cells:
        for a, v in c.axes.items():
            if str(v) not in axes.get(a, ()):
                axes[a] = (*axes.get(a, ()), str(v))
    qnames = list(dict.fromkeys(q.name for c in done for q in c.evidence.queries))
    wnames = list(dict.fromkeys(n for c in done for n in _writes_by_subject(c.evidence)))
    queries = tuple(
        _subject(
            n,
            "query",
            cells,
            lambda c, n=n: c.evidence.query(n) if c.evidence else None,
            axes,
            min_effect,
            work_tolerance,
        )
        for n in qnames
    )
    writes = tuple(
        _subject(
            n,
            "write",
            cells,
            lambda c, n=n: _writes_by_subject(c.evidence).get(n) if c.evidence else None,
            axes,
            min_effect,
            work_tolerance,
        )
        for n in wnames
    )
    machines = tuple(dict.fromkeys(c.machine for c in done))
    if len(machines) > 1:
        note = CROSS_MACHINE_NOTE.format(n=len(machines))
    elif machines:
        note = ONE_MACHINE_NOTE.format(machine=machines[0])
    else:
        note = "No cell finished: nothing was measured."
    warnings = []
    versions = {c.evidence.sqlite_version for c in done if c.evidence.sqlite_version}
    if len(versions) > 1:
        warnings.append(
            f"SQLite versions {', '.join(sorted(versions))}: VM steps count bytecode, which "
            "a version may compile differently; scans, sorts and rows are comparable as they are"
        )
    diffs = tuple(s.difference for s in (*queries, *writes) if s.difference is not None)
    return MatrixResult(
        axes,
        tuple(_cell_summary(c, [a for a, v in axes.items() if len(v) > 1]) for c in cells),
        queries,
        writes,
        diffs,
        machines,
        note,
        min_effect,
        work_tolerance,
        tuple(warnings),
    )


def dumps(result: MatrixResult) -> str:
    """sweep.json's text."""
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
