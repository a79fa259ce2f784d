"""Assemble summary.json from the stage results the notebooks saved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from perflab import engine, results
from perflab.context import RunContext

FORMAT_VERSION = "1.0"


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
    lat = results.load(run_dir, "latency") or {}
    queries = merge_queries(run_dir)
    for q in queries:
        t = ctx.targets.for_query(q["name"])
        if t is not None:
            q["target_ms"] = t.threshold
            if t.reference is not None:
                q["reference_ms"] = t.reference
    summary = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": ctx.config.profile.name,
        "sqlite_version": info["sqlite_version"],
        "engine": info,
        "pragmas": pragmas,
        "database": ctx.database_info(),
        "workload": {"name": ctx.workload.name, "path": str(ctx.config.workload)},
        "queries": queries,
        "harness_overhead_ms": lat.get("harness_overhead_ms", {}),
        "notebooks": notebooks,
        "stages": stages,
    }
    for stage in (
        "indexes",
        "findings",
        "advice",
        "throughput",
        "concurrency",
        "scale",
        "drivers",
        "verdict",
        "targets",
        "issues",
        "decision",
    ):
        data = results.load(run_dir, stage)
        if data is not None:
            summary[stage] = data
    return results.to_jsonable(summary)
