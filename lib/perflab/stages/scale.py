"""Notebook 05: the workload at several sizes, and a growth claim per query."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from perflab.inputs import config
from perflab.inputs.context import RunContext
from perflab.measure import scale
from perflab.stages.records import Record, shown


@dataclass(frozen=True)
class ScaleRecord(Record):
    """Sizes built, latency and work per query and size, and the fitted growth claims."""

    STAGE = "scale"
    base_scale: str
    factors: tuple[float, ...]
    sizes: tuple[dict, ...]
    points: tuple[dict, ...]
    fits: tuple[dict, ...]
    rules: dict
    method: str
    unsampled: dict = field(default_factory=dict)  # size -> query -> why it was left out
    points_frame: Any = shown()
    fits_frame: Any = shown()
    claims: Any = shown()  # scale.claims_table(fits)
    limits: Any = shown()  # queries with a p99 target: where the fitted p99 reaches it


def run(
    ctx: RunContext,
    *,
    scale_factors: str | tuple[float, ...] | None = None,
    scale_iterations: int | None = None,
    scale_rounds: int | None = None,
    scale_seconds: float | None = None,
) -> ScaleRecord:
    """Build each size (cached), time the workload on all of them interleaved, fit."""
    s = config.settings(
        ctx.config.profile,
        "scale",
        factors=scale_factors,
        iterations=scale_iterations,
        rounds=scale_rounds,
        seconds=scale_seconds,
    )
    base = ctx.config.profile.scale
    builds = scale.build_sweep(
        ctx.dataset_spec, base, s.factors, seed=ctx.config.seed, progress=False
    )
    # the profile's executions and time cap, the module's warm-up
    budget = replace(
        scale.DEFAULT_BUDGET, iterations=s.iterations, seed=ctx.build.seed, max_seconds=s.seconds
    )
    points = scale.measure_sweep(builds, ctx.workload, budget, rounds=s.rounds)
    fits = scale.fit_sweep(points, ctx.targets)
    limits = fits[fits["target_ms"].notna()][
        [
            "query",
            "claim",
            "target_ms",
            "p99_at_max_ms",
            "n_max",
            "limit_rows",
            "limit_range",
            "limit_x",
        ]
    ]
    return ScaleRecord.of(
        scale.scale_records(points, fits, factors=s.factors, base_scale=base),
        points_frame=points,
        fits_frame=fits,
        claims=scale.claims_table(fits),
        limits=limits,
    ).save(ctx.run_dir)


#: The stage's record back from a run folder (None when the stage did not run).
load = ScaleRecord.load
