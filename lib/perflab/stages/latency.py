"""Notebook 02: per-query latency with intervals, work counters, and the harness's cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perflab.analysis import pagination
from perflab.analysis.pagination import PaginationResult
from perflab.inputs.context import RunContext
from perflab.inputs.fidelity import ReplayFidelity
from perflab.measure import latency, timing
from perflab.stages.records import Record, shown


@dataclass(frozen=True)
class LatencyRecord(Record):
    """Per query: percentiles, their 95% intervals, ops/s, rows and work counters."""

    STAGE = "latency"
    harness_overhead_ms: dict
    queries: tuple[dict, ...]
    # per captured query: the application's rows per execution beside the replay's
    replay: tuple[ReplayFidelity, ...] = ()
    # per paged query (LIMIT with OFFSET): pages by depth, OFFSET against keyset
    pagination: tuple[PaginationResult, ...] = ()
    frame: Any = shown()  # DataFrame, one row per query
    samples: dict | None = shown()  # name -> the timed samples (ms)
    params: dict | None = shown()
    table: Any = shown()  # latency.timing_table(frame)
    work: Any = shown()  # latency.work_table(frame)


def run(ctx: RunContext, *, iterations: int | None = None) -> LatencyRecord:
    """Time every query `iterations` times (default: the profile's) after its warm-up."""
    prof = ctx.config.profile
    budget = timing.Budget(
        iterations=iterations or prof.iterations,
        warmup=prof.warmup,
        seed=ctx.build.seed,
        max_seconds=prof.max_seconds,
    )
    conn = ctx.connect()
    try:
        overhead = timing.harness_overhead(conn)
        frame, samples, params = latency.measure_workload(conn, ctx.workload, budget)
        # after the timed loops, so its work never sits between them (capped per query)
        pages = pagination.analyse_workload(
            conn, ctx.workload.queries, params, min_effect=prof.indexes.min_effect
        )
    finally:
        conn.close()
    return LatencyRecord(
        overhead,
        tuple(latency.latency_records(frame, ctx.workload, params)),
        latency.replay_fidelities(frame, ctx.workload),
        pages,
        frame=frame,
        samples=samples,
        params=params,
        table=latency.timing_table(frame),
        work=latency.work_table(frame),
    ).save(ctx.run_dir)


#: The stage's record back from a run folder (None when the stage did not run).
load = LatencyRecord.load
