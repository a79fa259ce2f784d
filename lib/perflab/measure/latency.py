"""Per-query latency of a workload: samples, percentiles, harness overhead."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from perflab.inputs.fidelity import ReplayFidelity, replay_fidelity
from perflab.inputs.workload import Workload, sample_params
from perflab.measure import stats
from perflab.measure.stopping import DEFAULT_RULE, StoppingRule, time_sequential, warmup_cap
from perflab.measure.timing import Budget, Samples, summarize, time_statement
from perflab.sqlite import counters

#: Columns of the frame `measure_workload` returns.
LATENCY_COLUMNS = {
    "query": "query name from the workload",
    "group": "query group (exact_match, listing, ...)",
    "n": "timed executions",
    "p50, p95, p99, p999, max, min, mean": "latency in ms (execute + fetch all rows)",
    "p99_lo, p99_hi": "order-statistic CI of p99 at the frame's `conf` (>= 95% over the "
    "stopping rule's looks; NaN: too few samples)",
    "conf": "confidence of each interval at its look (1 - 0.05 / looks: Bonferroni)",
    "stop": "why sampling stopped: precise (intervals within tolerance), max, time, planned "
    "(a query the cap cannot pay for: at the look where a bound appears after which the "
    "rest of its cap could not pay for the next)",
    "ops_per_s": "1 / mean latency",
    "rows_mean, rows_min, rows_max": "rows returned per execution",
    "truncated": "stopped early by the time budget",
    "seconds": "wall time the query took here: warm-up, timed loop and counting pass",
    "vm_steps, fullscan_steps, sorts, autoindex": "work per execution (mean), from SQLite's "
    "own counters in an untimed pass over the first parameter tuples; NaN: unavailable",
    "work": "the work in one sentence (counters.describe)",
}


#: `measure_workload`'s budget when none is given (a run's comes from its profile).
DEFAULT_BUDGET = Budget(iterations=1000, warmup=50)


def measure_workload(
    conn: sqlite3.Connection,
    workload: Workload,
    budget: Budget = DEFAULT_BUDGET,
    *,
    progress: bool = False,
    count: bool = True,
    count_executions: int = counters.MAX_EXECUTIONS,
    count_seconds: float | None = None,
    stopping: StoppingRule | None = DEFAULT_RULE,
    params: dict[str, list[tuple]] | None = None,
) -> tuple[pd.DataFrame, dict[str, Samples], dict[str, list[tuple]]]:
    """Time every query; returns (summary frame, raw samples, parameters used).

    `budget.iterations` is the most timed executions per query, after `budget.warmup`
    untimed ones, each query capped at `budget.max_seconds`; parameters are drawn with
    `budget.seed` (or given: `params`, as many tuples per query as those two add up to).
    Under `stopping` (`perflab.measure.stopping`) a query stops at the first checkpoint
    where its p50, p95 and p99 intervals are tight enough, and its intervals are computed
    at the rule's per-look confidence so that each covers with at least 95% whatever the
    stopping time; a query whose time per execution (measured before its timed loop) says
    the cap cannot pay for every execution looks only where a bound appears, with alpha
    split between those looks in advance, and stops at the one after which the rest of its
    cap cannot pay for the next (`StoppingRule.capped_looks`, stop "planned").
    `stopping=None`: exactly `budget.iterations` (or until the time cap), 95% intervals.

    With `count`, each query's timed loop is preceded by an untimed counting pass on the
    same connection over the first `count_executions` of the same parameter tuples (at
    most `count_seconds` per query; None: as long as a warm-up may last,
    `stopping.warmup_cap`): SQLite's own work counters, which do not move between runs or
    machines, stand beside every timing (frame column `_counters`). That pass is also the
    warm-up (the same first tuples, untimed), which then runs only the tuples the pass did
    not. (It had 2 s of its own: a slow query warmed up twice as long as the warm-up rule
    says, 6 s of full 02 and 1 s of quick's.)
    """
    if params is None:
        params = sample_params(conn, workload, budget.iterations + budget.warmup, budget.seed)
    warmup, max_seconds = budget.warmup, budget.max_seconds
    if count_seconds is None:
        count_seconds = warmup_cap(max_seconds)
    reason = counters.unavailable_reason(conn) if count else "not counted (count=False)"
    samples: dict[str, Samples] = {}
    records = []
    queries = workload.queries
    if progress:
        from tqdm.auto import tqdm

        queries = tqdm(queries, desc="latency", unit="query")
    for q in queries:
        t0 = time.perf_counter()
        stop = None
        work = None
        per_execution = None  # seconds, from the counting pass: what the cap can pay for
        if reason is None:  # first: its untimed executions of the first tuples warm up too
            work = counters.count_work(
                conn,
                q.sql,
                params[q.name],
                max_executions=count_executions,
                max_seconds=count_seconds,
            )
            if work is not None and work.executions:
                per_execution = (time.perf_counter() - t0) / work.executions
        # a counting pass cut by its time budget warmed up as long as a warm-up may
        warmed = 0 if work is None else (warmup if work.truncated else work.executions)
        if stopping is None:
            w0 = min(warmed, warmup)  # the warm-up runs only the tuples the pass did not
            s = time_statement(
                conn, q.sql, params[q.name][w0:], warmup=warmup - w0, max_seconds=max_seconds
            )
            s = replace(s, warmup=s.warmup + w0)
        else:
            s, stop = time_sequential(
                conn,
                q.sql,
                params[q.name],
                warmup=warmup,
                rule=stopping,
                max_seconds=max_seconds,
                warmed=warmed,
                per_execution=per_execution,
            )
        samples[q.name] = s
        rec = counters.counter_record(work, reason)
        seconds = time.perf_counter() - t0
        per = rec["per_execution"] or {}
        conf = stop.conf if stop else 0.95
        st = summarize(s.ns, conf=conf)
        lat, ci = st["latency_ms"], st["latency_ci_ms"]
        records.append(
            {
                "query": q.name,
                "group": q.group,
                "n": st["n"],
                **lat,
                "p99_lo": np.nan if ci["p99"][0] is None else ci["p99"][0],
                "p99_hi": np.nan if ci["p99"][1] is None else ci["p99"][1],
                "ops_per_s": st["ops_per_s"],
                "rows_mean": float(s.rows.mean()) if s.rows.size else 0.0,
                "rows_min": int(s.rows.min()) if s.rows.size else 0,
                "rows_max": int(s.rows.max()) if s.rows.size else 0,
                "truncated": s.truncated,
                "seconds": seconds,
                "conf": conf,
                "aa_spread_p50": stats.aa_spread(s.ns),
                "stop": stop.reason if stop else ("time" if s.truncated else "max"),
                **{k: per[k]["mean"] if per else np.nan for k in list(counters.COUNTERS)[:4]},
                "work": rec["sentence"],
                "_ci": ci,
                "_counters": rec,
                "_stopping": stop.as_dict() if stop else None,
            }
        )
    frame = pd.DataFrame(records).set_index("query", drop=False)
    return frame, samples, params


def replay_fidelities(frame: pd.DataFrame, workload: Workload) -> tuple[ReplayFidelity, ...]:
    """Per captured query: the application's rows per execution beside those the timed
    executions returned (`perflab.inputs.fidelity`); hand-written queries have none."""
    out = []
    for q in workload.queries:
        if q.captured is None or q.name not in frame.index:
            continue
        rows, n = frame.loc[q.name, "rows_mean"], frame.loc[q.name, "n"]
        ok = bool(np.isfinite(rows)) and bool(np.isfinite(n))
        out.append(
            replay_fidelity(
                q.name,
                q.captured,
                float(rows) if ok else None,
                int(n) if ok else 0,
                accepted=q.accept_replay,
            )
        )
    return tuple(out)


def _finite(x: object) -> float | None:
    """A frame cell as a JSON number, None for a missing or NaN one."""
    return float(x) if isinstance(x, (int, float)) and np.isfinite(x) else None


def latency_records(frame: pd.DataFrame, workload: Workload, params: dict) -> list[dict]:
    """Per-query entries as summary.json carries them (plans are merged in later)."""
    out = []
    replay = {f.query: f for f in replay_fidelities(frame, workload)}
    for q in workload.queries:
        r = frame.loc[q.name]
        out.append(
            {
                "name": q.name,
                "sql": q.sql,
                "group": q.group,
                "iterations": int(r["n"]),
                "truncated": bool(r["truncated"]),
                **({"seconds": round(float(r["seconds"]), 4)} if "seconds" in r else {}),
                "latency_ms": {
                    k: float(r[k]) for k in ("p50", "p95", "p99", "p999", "max", "mean", "min")
                },
                "latency_ci_ms": r["_ci"],
                "latency_aa_spread": {"p50": _finite(r.get("aa_spread_p50"))},
                **({"latency_ci_conf": float(r["conf"])} if "conf" in r else {}),
                **({"stopping": r["_stopping"]} if r.get("_stopping") else {}),
                "ops_per_s": float(r["ops_per_s"]),
                "rows": {
                    "mean": float(r["rows_mean"]),
                    "min": int(r["rows_min"]),
                    "max": int(r["rows_max"]),
                },
                "params_example": list(params[q.name][0]) if params[q.name] else [],
                "params_source": list(q.params_source),
                **({"captured": dict(q.captured)} if q.captured else {}),
                **({"replay": asdict(replay[q.name])} if q.name in replay else {}),
                "counters": r["_counters"]
                if "_counters" in r
                else counters.counter_record(None, "not counted"),
            }
        )
    return out


def work_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per query: SQLite's work counters per execution (means) and the work in words.

    Columns: query, source, executions, vm_steps, fullscan_steps, sorts, autoindex, rows,
    work. Counters are machine-independent: the same data, plan and parameters give the
    same numbers on any machine, which is why a comparison can gate on them exactly.
    """
    out = []
    for name, rec in frame["_counters"].items():
        per = rec["per_execution"] or {}
        out.append(
            {
                "query": name,
                "source": rec["source"] or "unavailable",
                "executions": rec["executions"],
                **{k: per[k]["mean"] if per else np.nan for k in counters.COUNTERS},
                "work": rec["sentence"],
            }
        )
    return pd.DataFrame(out).set_index("query")


def timing_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The timing columns of `measure_workload`'s frame, rounded for display (the work
    counters have their own table, `work_table`)."""
    hidden = {"_ci", "_counters", "_stopping", "query", "work", "seconds", "aa_spread_p50"}
    hidden |= set(list(counters.COUNTERS)[:4])
    return frame.drop(columns=[c for c in frame.columns if c in hidden]).round(4)
