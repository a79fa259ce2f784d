"""Notebook 01: every query's plan, classified, and the findings and diagnostics on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perflab.analysis import diagnostics, findings, joins
from perflab.inputs import config
from perflab.inputs.context import RunContext
from perflab.measure.latency import sample_params
from perflab.sqlite import counters, plans
from perflab.sqlite.schema import introspect
from perflab.stages.records import Record, part, shown

#: Time cap of the counting pass per query (the counters are exact; a prefix is enough):
#: the scale sweep's (measure.scale.COUNTER_SECONDS). It was 1 s, 8 of full 01's 58 s for
#: plan cards that show a mean per execution; a full-size slow query still runs once.
WORK_SECONDS = 0.25


@dataclass(frozen=True)
class FindingsRecord(Record):
    """Plan findings judged by rule, and the diagnoses tested on the database."""

    STAGE = "findings"
    plan_findings: tuple[dict, ...]
    diagnostics: tuple[dict, ...]
    # `diagnostics.inputs_key` of what they were diagnosed on: 03 reuses them when it matches
    diagnosed_on: str | None = None


@dataclass(frozen=True)
class JoinsRecord(Record):
    """Every multi-table query: SQLite's loops in order with the rows each visits, and each
    missing join index measured on a copy (`analysis.joins`)."""

    STAGE = "joins"
    queries: tuple[joins.JoinQuery, ...] = ()
    not_analysed: tuple[dict, ...] = ()
    method: str = ""
    cap: str = ""

    @property
    def analysis(self) -> joins.JoinAnalysis:
        return joins.JoinAnalysis(self.queries, self.not_analysed, self.method, self.cap)


@dataclass(frozen=True)
class PlansRecord(Record):
    """Per query: its plan (`id, parent, detail, kind`), the plan text and its class."""

    STAGE = "plans"
    queries: tuple[dict, ...]
    findings: FindingsRecord | None = part(FindingsRecord)
    joins: JoinsRecord | None = part(JoinsRecord)
    params: dict | None = shown()  # the parameter tuple each query was explained with
    query_plans: dict | None = shown()  # name -> the plan steps
    overview: Any = shown()  # DataFrame: one row per query
    plan_findings: Any = shown()  # DataFrame, with the `detail` column
    diagnoses: Any = shown()  # DataFrame, one row per diagnosis
    table_rows: dict | None = shown()  # table (lower case) -> rows, for the plan trees
    work: dict | None = shown()  # name -> SQLite's work counters per execution (a record)

    def by_name(self) -> dict[str, dict]:
        return {q["name"]: q for q in self.queries}


def run(
    ctx: RunContext, *, sample: int | None = None, executions: int | None = None
) -> PlansRecord:
    """Explain every query with real parameters, judge the plans, test the diagnoses."""
    cfg = config.settings(ctx.config.profile, "plans", sample=sample, executions=executions)
    conn = ctx.connect()
    try:
        wl, seed = ctx.workload, ctx.build.seed
        fparams = sample_params(conn, wl, cfg.sample, seed)
        # the first tuple of the sample, which is what a sample of one draws (same seed):
        # sampling twice ran every sampler query twice
        params = {name: drawn[:1] for name, drawn in fparams.items()}
        query_plans = plans.workload_plans(conn, wl, params)
        # no latency here: 02 measures it with its intervals, and the verdict quotes that (a
        # median of 30 executions for the findings took 19 of full 01's 58 s, 1 s at quick)
        found = findings.plan_findings(conn, wl, query_plans, params)
        diag = diagnostics.diagnose(
            conn, wl, fparams, executions=cfg.executions, seconds=cfg.ab_seconds
        )
        sizes = findings.table_row_counts(conn, introspect(conn))
        why = counters.unavailable_reason(conn)
        work = {  # untimed, capped: what each plan tree can tie to its nodes
            q.name: counters.counter_record(
                counters.count_work(conn, q.sql, fparams[q.name], max_seconds=WORK_SECONDS), why
            )
            for q in wl.queries
        }
        # multi-table queries: loops, rows per loop, and missing join indexes measured on
        # copies as notebook 03's advisor measures an index (its profile settings)
        join = joins.analyse(
            conn,
            ctx.db_path,
            wl,
            fparams,
            settings=config.settings(ctx.config.profile, "indexes"),
            seed=seed,
        )
    finally:
        conn.close()
    return PlansRecord(
        tuple(plans.plan_records(wl, query_plans)),
        FindingsRecord(
            tuple(findings.findings_records(found)),
            tuple(diagnostics.records(diag)),
            diagnostics.inputs_key(ctx.build.cache_key, wl, fparams),
        ),
        JoinsRecord(join.queries, join.not_analysed, join.method, join.cap),
        params=params,
        query_plans=query_plans,
        overview=plans.plans_overview(wl, query_plans),
        plan_findings=found,
        diagnoses=diag,
        table_rows=sizes,
        work=work,
    ).save(ctx.run_dir)


#: The stage's record back from a run folder (None when the stage did not run).
load = PlansRecord.load
