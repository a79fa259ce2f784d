"""Assemble summary.json from the stage records the notebooks saved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from perflab import results
from perflab.run.context import RunContext
from perflab.sqlite import engine
from perflab.stages.summary import load_records, measured

FORMAT_VERSION = "1.0"


def collect(run_dir: Path, targets=None) -> dict:
    """Everything the notebooks measured, from the stage records in the run folder,
    shaped as in summary.json (`stages.summary.measured`)."""
    return measured(load_records(run_dir), targets)


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
