"""Notebook 06: every stage's record gathered, integrity checked, the verdict reached.

`measured(records, targets)` is the one place stage records become summary.json's keys;
`run.summary.collect` uses it too, so the notebook and the published summary agree.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perflab.analysis import integrity
from perflab.database import checks
from perflab.inputs.context import RunContext
from perflab.inputs.workload import workload_record
from perflab.judge import verdict
from perflab.judge.evidence import Evidence
from perflab.stages import indexes, latency, plans, scale, throughput
from perflab.stages.records import Record, part, shown


@dataclass(frozen=True)
class IntegrityRecord(Record):
    """`PRAGMA integrity_check`, `foreign_key_check` (when and how they were taken: on this
    file, now or earlier and kept beside it), and the pragma audit."""

    STAGE = "integrity"
    integrity_ok: bool
    integrity_problems: tuple[str, ...]
    foreign_keys_ok: bool
    foreign_key_violations: int
    foreign_key_problems: tuple[str, ...]
    pragma_audit: tuple[dict, ...]
    check_method: str = "integrity_check"
    checked_at: str | None = None  # UTC, when the checks ran on this file
    check_seconds: float | None = None
    check_reused: bool = False  # taken earlier (the database stage) and read back
    check_note: str = ""  # the sentence the report shows


@dataclass(frozen=True)
class VerdictRecord(Record):
    """Each target met or not, the issues with their evidence, and the decision
    (`judge.verdict.assess`); summary.json carries each field under its own key."""

    STAGE = "verdict"
    verdict: dict
    targets: tuple[dict, ...]
    issues: tuple[dict, ...]
    ignored_findings: tuple[dict, ...]
    decision: dict
    # what no stage could analyse, each with its stage and reason (`verdict.not_analysed`)
    not_analysed: tuple[dict, ...] = ()
    # the slow-query budget and each query's check against it (`judge.slow_queries`)
    query_budget: dict | None = None
    integrity: IntegrityRecord | None = part(IntegrityRecord)
    summary: dict | None = shown()  # summary.json's shape, as 06 presents it (`present.views`)
    issues_frame: Any = shown()


@dataclass(frozen=True)
class RunRecords:
    """Every stage's record a run folder holds (None: that stage did not run)."""

    plans: plans.PlansRecord | None = None
    latency: latency.LatencyRecord | None = None
    indexes: indexes.IndexesRecord | None = None
    throughput: throughput.ThroughputRecord | None = None
    scale: scale.ScaleRecord | None = None
    integrity: IntegrityRecord | None = None
    verdict: VerdictRecord | None = None


def load_records(run_dir: str | Path) -> RunRecords:
    return RunRecords(
        plans.load(run_dir),
        latency.load(run_dir),
        indexes.load(run_dir),
        throughput.load(run_dir),
        scale.load(run_dir),
        IntegrityRecord.load(run_dir),
        VerdictRecord.load(run_dir),
    )


def _queries(recs: RunRecords, targets) -> list[dict]:
    """Latency and plan entries joined by query name, in workload order, with targets."""
    by_plan = recs.plans.by_name() if recs.plans else {}
    out = []
    for q in recs.latency.content()["queries"] if recs.latency else []:
        p = by_plan.get(q["name"], {})
        entry = {**q, **{k: p[k] for k in ("plan", "plan_text", "plan_classification") if k in p}}
        t = targets.for_query(q["name"]) if targets is not None else None
        if t is not None:
            entry["target_ms"] = t.threshold
            if t.reference is not None:
                entry["reference_ms"] = t.reference
        out.append(entry)
    return out


def measured(recs: RunRecords, targets=None) -> dict:
    """Everything the stages measured, shaped as in summary.json."""
    out: dict[str, Any] = {
        "queries": _queries(recs, targets),
        "harness_overhead_ms": recs.latency.content()["harness_overhead_ms"]
        if recs.latency
        else {},
    }
    if recs.latency and recs.latency.pagination:
        # each paged query as recorded, with the rule's conclusion beside it (the verdict
        # reads `missed`; it sits below this floor and cannot call the record's method)
        saved = recs.latency.content()["pagination"]
        out["pagination"] = [
            {**d, "missed": r.missed, "faster": r.faster, "sentence": r.sentence()}
            for d, r in zip(saved, recs.latency.pagination, strict=True)
        ]
    parts: list[Record | None] = [
        recs.indexes,
        recs.plans and recs.plans.findings,
        recs.plans and recs.plans.joins,
        recs.indexes and recs.indexes.advice,
        recs.throughput,
        recs.throughput and recs.throughput.concurrency,
        recs.scale,
        recs.throughput and recs.throughput.drivers,
        recs.integrity,
    ]
    for rec in parts:
        if rec is not None:
            out[rec.STAGE] = rec.content()
    if recs.verdict is not None:
        out.update(recs.verdict.content())
    return out


def run(ctx: RunContext) -> VerdictRecord:
    """Read the run folder's records (or, opened without one, run the plans and latency
    stages now), check integrity, and reach the verdict by `judge.verdict`'s rules."""
    if ctx.run_dir:
        recs = load_records(ctx.run_dir)
    else:
        recs = RunRecords(plans=plans.run(ctx), latency=latency.run(ctx))
    # Taken once per file and kept beside it (perflab.database.checks): `perflab run` takes
    # it in its database stage; by hand, or when the file changed, it runs now.
    check = checks.checked(ctx.db_path, store=bool(ctx.build.cache_key or ctx.build.source))
    conn = ctx.connect()
    try:
        integ = IntegrityRecord.of(
            integrity.integrity_records(conn, ctx.db_path.stat().st_size, check)
        )
    finally:
        conn.close()
    recs = replace(recs, integrity=integ, verdict=None)
    found = measured(recs, ctx.targets)
    # The records' saved content is the shape summary.json carries, so one mapping
    # (`Evidence.from_summary`) serves this run and old summaries alike; `judge` sits
    # below `stages` and cannot read the record classes.
    wrec = workload_record(ctx.workload)
    ev = Evidence.from_summary({**found, "workload": wrec})
    assessment = verdict.assess(ev, ctx.targets, ctx.deployment_rows)
    summary = {
        **found,
        **assessment,
        "database": ctx.database_info(),
        "profile": ctx.config.profile.name,
        "sqlite_version": sqlite3.sqlite_version,
        "workload": wrec,
    }
    return VerdictRecord.of(
        assessment,
        integrity=integ,
        summary=summary,
        issues_frame=verdict.issues_frame(assessment),
    ).save(ctx.run_dir)


def load(run_dir: str | Path) -> RunRecords:
    return load_records(run_dir)
