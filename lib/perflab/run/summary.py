"""Assemble summary.json from the stage results the notebooks saved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from perflab import results
from perflab.run.context import RunContext
from perflab.sqlite import engine

FORMAT_VERSION = "1.0"

#: Stage results copied into summary.json under the same key, when present.
STAGE_KEYS = (
    "indexes",
    "findings",
    "advice",
    "throughput",
    "concurrency",
    "scale",
    "drivers",
    "integrity",
    "verdict",
    "targets",
    "issues",
    "decision",
    "ignored_findings",
    "comparison",
)


def merge_queries(run_dir: Path) -> list[dict]:
    """Latency and plan entries joined by query name, in workload order."""
    lat = (results.load(run_dir, "latency") or {}).get("queries", [])
    plans = {p["name"]: p for p in results.load(run_dir, "plans", [])}
    out = []
    for q in lat:
        p = plans.get(q["name"], {})
        out.append(
            {**q, **{k: p[k] for k in ("plan", "plan_text", "plan_classification") if k in p}}
        )
    return out


def collect(run_dir: Path, targets=None) -> dict:
    """Everything the notebooks measured so far, shaped as in summary.json."""
    queries = merge_queries(run_dir)
    if targets is not None:
        for q in queries:
            t = targets.for_query(q["name"])
            if t is not None:
                q["target_ms"] = t.threshold
                if t.reference is not None:
                    q["reference_ms"] = t.reference
    out = {
        "queries": queries,
        "harness_overhead_ms": (results.load(run_dir, "latency") or {}).get(
            "harness_overhead_ms", {}
        ),
    }
    for stage in STAGE_KEYS:
        data = results.load(run_dir, stage)
        if data is not None:
            out[stage] = data
    return out


def build_summary(
    run_dir: Path,
    ctx: RunContext,
    *,
    run_id: str,
    notebooks: list[dict],
    stages: dict[str, float],
) -> dict:
    conn = ctx.connect()
    try:
        info = engine.engine_info(conn)
        pragmas = engine.pragma_values(conn)
    finally:
        conn.close()
    from perflab.inputs.workload import workload_record

    summary = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": ctx.config.profile.name,
        "sqlite_version": info["sqlite_version"],
        "engine": info,
        "pragmas": pragmas,
        "database": ctx.database_info(),
        "workload": workload_record(ctx.workload, ctx.config.workload),
        **collect(run_dir, ctx.targets),
        "notebooks": notebooks,
        "stages": stages,
    }
    return results.to_jsonable(summary)


def live(ctx: RunContext, iterations: int | None = None) -> dict:
    """Plans and latency measured now, for a summary notebook opened outside a run.

    Only used when there is no run folder to read; the run itself never measures twice.
    """
    from perflab.measure import latency, timing
    from perflab.sqlite import plans

    conn = ctx.connect()
    try:
        prof = ctx.config.profile
        frame, _, params = latency.measure_workload(
            conn,
            ctx.workload,
            iterations=iterations or prof.iterations,
            warmup=prof.warmup,
            seed=ctx.build.seed,
            max_seconds=prof.max_seconds,
        )
        qp = plans.workload_plans(conn, ctx.workload, params)
        by_name = {p["name"]: p for p in plans.plan_records(ctx.workload, qp)}
        queries = []
        for q in latency.latency_records(frame, ctx.workload, params):
            t = ctx.targets.for_query(q["name"])
            extra = {"target_ms": t.threshold} if t else {}
            if t is not None and t.reference is not None:
                extra["reference_ms"] = t.reference
            queries.append({**q, **by_name[q["name"]], **extra})
        overhead = timing.harness_overhead(conn, n=1000)
    finally:
        conn.close()
    return results.to_jsonable({"queries": queries, "harness_overhead_ms": overhead})
