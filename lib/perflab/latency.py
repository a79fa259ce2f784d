"""Per-query latency of a workload: samples, percentiles, harness overhead."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from perflab.measure import Samples, summarize, time_statement
from perflab.workload import ParamSampler, Workload, check_statement

#: Columns of the frame `measure_workload` returns.
LATENCY_COLUMNS = {
    "query": "query name from the workload",
    "group": "query group (exact_match, listing, ...)",
    "n": "timed executions",
    "p50, p95, p99, p999, max, min, mean": "latency in ms (execute + fetch all rows)",
    "p99_lo, p99_hi": "95% order-statistic CI of p99 (NaN: too few samples)",
    "ops_per_s": "1 / mean latency",
    "rows_mean, rows_min, rows_max": "rows returned per execution",
    "truncated": "stopped early by the time budget",
}


def sample_params(
    conn: sqlite3.Connection, workload: Workload, count: int, seed: int
) -> dict[str, list[tuple]]:
    """`count` parameter tuples per query, checked against the statement first."""
    out = {}
    for i, q in enumerate(workload.queries):
        sampler = ParamSampler(conn, q.params, seed=seed + i, where=f"query {q.name!r}")
        params = sampler.draw_many(count)
        check_statement(conn, q.sql, len(params[0]), f"query {q.name!r}")
        out[q.name] = params
    return out


def measure_workload(
    conn: sqlite3.Connection,
    workload: Workload,
    *,
    iterations: int = 1000,
    warmup: int = 50,
    seed: int = 0,
    max_seconds: float | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Samples], dict[str, list[tuple]]]:
    """Time every query; returns (summary frame, raw samples, parameters used)."""
    params = sample_params(conn, workload, iterations + warmup, seed)
    samples: dict[str, Samples] = {}
    records = []
    queries = workload.queries
    if progress:
        from tqdm.auto import tqdm

        queries = tqdm(queries, desc="latency", unit="query")
    for q in queries:
        s = time_statement(conn, q.sql, params[q.name], warmup=warmup, max_seconds=max_seconds)
        samples[q.name] = s
        st = summarize(s.ns)
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
                "_ci": ci,
            }
        )
    frame = pd.DataFrame(records).set_index("query", drop=False)
    return frame, samples, params


def latency_records(frame: pd.DataFrame, workload: Workload, params: dict) -> list[dict]:
    """Per-query entries as summary.json carries them (plans are merged in later)."""
    out = []
    for q in workload.queries:
        r = frame.loc[q.name]
        out.append(
            {
                "name": q.name,
                "sql": q.sql,
                "group": q.group,
                "iterations": int(r["n"]),
                "truncated": bool(r["truncated"]),
                "latency_ms": {
                    k: float(r[k]) for k in ("p50", "p95", "p99", "p999", "max", "mean", "min")
                },
                "latency_ci_ms": r["_ci"],
                "ops_per_s": float(r["ops_per_s"]),
                "rows": {
                    "mean": float(r["rows_mean"]),
                    "min": int(r["rows_min"]),
                    "max": int(r["rows_max"]),
                },
                "params_example": list(params[q.name][0]) if params[q.name] else [],
            }
        )
    return out
