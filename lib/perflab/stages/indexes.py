"""Notebook 03: every index's use, size, health and write cost, and the advisor's
candidates measured on a copy (before/after interleaved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perflab.analysis import advisor, column_profile, diagnostics, indexes
from perflab.inputs import config
from perflab.inputs.context import RunContext
from perflab.measure.latency import sample_params
from perflab.sqlite import plans
from perflab.sqlite.engine import working_copy
from perflab.stages.plans import FindingsRecord
from perflab.stages.records import Record, part, shown


@dataclass(frozen=True)
class AdviceRecord(Record):
    """Index changes and query rewrites, each with its measured effect."""

    STAGE = "advice"
    expert: str
    candidates: tuple[dict, ...]
    recommended: tuple[str, ...]
    query_rewrites: tuple[dict, ...]
    before_after: tuple[dict, ...]
    files: dict
    skipped: tuple[dict, ...]


@dataclass(frozen=True)
class IndexesRecord(Record):
    """Inventory, health, write cost per index, and which query uses which index."""

    STAGE = "indexes"
    inventory: tuple[dict, ...]
    health: tuple[dict, ...]
    write_cost: tuple[dict, ...]
    usage: dict
    advice: AdviceRecord | None = part(AdviceRecord)
    inventory_frame: Any = shown()
    usage_matrix: Any = shown()
    health_frame: Any = shown()
    write_cost_frame: Any = shown()
    candidates_count: int = shown(0)
    evaluated: Any = shown()  # DataFrame of every candidate measured
    before_after_frame: Any = shown()
    # how selective each column a diagnosis or an advised index names is
    # (`perflab.analysis.column_profile`: sqlite-utils' analyze_column)
    column_profiles: tuple[dict, ...] = ()


def run(ctx: RunContext, **overrides: object) -> IndexesRecord:
    """Measure the indexes and the advisor's changes; the after-schema copy is removed.

    `overrides` are the notebook's parameters, any field of `config.IndexSettings` (sample,
    write_ops, write_rounds, rounds, executions, min_effect, drop_unused); None keeps the
    profile's value, an unknown name raises. `write_ops` sets the writes per variant of
    both the index write cost and each advisor candidate's."""
    s = config.settings(ctx.config.profile, "indexes", **overrides)
    wl, seed, db = ctx.workload, ctx.build.seed, ctx.db_path
    # two copies for the whole stage (A as it is, B for every change, rolled back, then
    # the advice): the expert, the write cost, each candidate and the before/after
    with working_copy(db, name="a.db") as pa, working_copy(db, name="b.db") as pb:
        conn = ctx.connect()
        try:
            params = sample_params(conn, wl, s.sample, seed)
            query_plans = plans.workload_plans(conn, wl, params)
            inv = indexes.inventory(conn, query_plans)
            matrix = indexes.usage_matrix(conn, query_plans)
            health = indexes.health(conn, query_plans)
            wc = indexes.write_cost(
                pb, writes=s.write_ops, rounds=s.write_rounds, seed=seed, in_place=True
            )
            diag = _diagnoses(ctx, conn, params, s)
            cands, tool, skipped = advisor.candidates(
                conn, db, wl, params, diag, health, scratch=pb
            )
            profiles = column_profile.profile_columns(conn, _named_columns(diag, cands))
        finally:
            conn.close()
        trial = advisor.Trial(db, wl, params, s, seed, copies=(pa, pb))
        evaluated = advisor.evaluate(trial, cands)
        chosen = advisor.choose(evaluated, drop_unused=s.drop_unused)
        ba, after_path = advisor.before_after(trial, list(chosen["ddl"]))
        files = advisor.write_outputs(ctx.run_dir, chosen, after_path)
    advice = advisor.advice_records(evaluated, chosen, ba, diag, tool, files, skipped)
    return IndexesRecord(
        tuple(indexes.records(inv)),
        tuple(indexes.records(health)),
        tuple(indexes.records(wc)),
        indexes.usage(query_plans),
        AdviceRecord.of(advice),
        inventory_frame=inv,
        usage_matrix=matrix,
        health_frame=health,
        write_cost_frame=wc,
        candidates_count=len(cands),
        evaluated=evaluated,
        before_after_frame=ba,
        column_profiles=tuple(p.to_dict() for p in profiles),
    ).save(ctx.run_dir)


def _named_columns(diag, cands: list[dict]) -> list[tuple[str, str, str]]:
    """(table, column, what named it): each diagnosis's column, then each candidate index's
    leading column (the one an equality search enters by)."""
    out = []
    if diag is not None and not diag.empty and "column" in diag:
        for r in diag.itertuples():
            if isinstance(r.table, str) and isinstance(r.column, str) and r.column:
                out.append((r.table, r.column, f"diagnosis of {r.query}"))
    for c in cands:
        lead = column_profile.index_leading_column(c["ddl"])
        if lead is not None:
            out.append((*lead, f"candidate index: {c['ddl']}"))
    return out


def _diagnoses(ctx: RunContext, conn, params, s: config.IndexSettings):
    """Notebook 01's diagnoses when it ran in this run folder on the same database, queries
    and parameters (its `diagnosed_on` key matches): diagnosing again would time every
    rewrite a second time for the same answer. Otherwise diagnosed here."""
    key = diagnostics.inputs_key(ctx.build.cache_key, ctx.workload, params)
    prior = FindingsRecord.load(ctx.run_dir) if ctx.run_dir else None
    if prior is not None and prior.diagnosed_on == key:
        return diagnostics.from_records(prior.diagnostics)
    return diagnostics.diagnose(
        conn, ctx.workload, params, executions=s.executions, seconds=s.ab_seconds
    )


#: The stage's record back from a run folder (None when the stage did not run).
load = IndexesRecord.load
