"""Driver overhead: the same queries through stdlib sqlite3, aiosqlite and APSW.

stdlib `sqlite3` is the run's engine. `aiosqlite` wraps it in a background
thread driven by asyncio (the async path the original application used: every
call crosses a thread and a future). APSW binds its own, usually newer, SQLite
build, so its timings mix driver and engine differences; its plans are read
with EXPLAIN QUERY PLAN and compared with the stdlib engine's, and differences
are flagged (a different plan makes the timing comparison a plan comparison).

All three open the database read-only with the application's session pragmas,
run identical parameter tuples in the same order, and time execute + fetch all
rows per call (closed loop: service time) in the one timing loop,
`perflab.measure.timing.timed_calls`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from perflab.inputs.workload import Workload
from perflab.measure.timing import (
    quantile_ci,
    run_calls,
    run_calls_async,
    summarize,
    time_statement,
)
from perflab.sqlite import engine

DRIVERS = ("sqlite3", "aiosqlite", "apsw")

_SESSION = ("busy_timeout", "foreign_keys", "synchronous")


def available() -> dict[str, str | None]:
    """Driver -> SQLite version it runs (None: not installed)."""
    out: dict[str, str | None] = {"sqlite3": sqlite3.sqlite_version}
    try:
        import aiosqlite  # noqa: F401

        out["aiosqlite"] = sqlite3.sqlite_version  # it wraps the stdlib module
    except ImportError:
        out["aiosqlite"] = None
    try:
        import apsw

        out["apsw"] = apsw.sqlite_lib_version()
    except ImportError:
        out["apsw"] = None
    return out


def driver_versions() -> dict[str, dict]:
    """Per driver: package version and SQLite version."""
    vers = available()
    out = {"sqlite3": {"package": "stdlib", "sqlite_version": vers["sqlite3"]}}
    if vers.get("aiosqlite"):
        import aiosqlite

        out["aiosqlite"] = {
            "package": getattr(aiosqlite, "__version__", "?"),
            "sqlite_version": vers["aiosqlite"],
        }
    if vers.get("apsw"):
        import apsw

        out["apsw"] = {"package": apsw.apsw_version(), "sqlite_version": vers["apsw"]}
    return out


def _pragmas(pragmas: Mapping[str, object] | None) -> dict[str, object]:
    p = engine.APP_PRAGMAS if pragmas is None else pragmas
    return {k: v for k, v in p.items() if k in _SESSION}


def _apsw_readonly(path: Path):
    """An APSW connection to ``path`` opened read-only (``mode=ro`` URI)."""
    import apsw

    return apsw.Connection(
        f"{Path(path).resolve().as_uri()}?mode=ro",
        flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
    )


def time_apsw(
    path: Path, sql: str, params: Sequence[tuple], *, pragmas=None, **budget
) -> tuple[np.ndarray, np.ndarray]:
    """Nanoseconds and rows per call through APSW; ``budget``: `timed_calls`' warmup and
    max_seconds (the same for every driver)."""
    conn = _apsw_readonly(path)
    try:
        for k, v in _pragmas(pragmas).items():
            conn.execute(f"PRAGMA {k} = {v}")
        cur = conn.cursor()

        def call(p: tuple) -> int:
            return len(cur.execute(sql, p).fetchall())

        s = run_calls(call, params, **budget)
        return s.ns, s.rows
    finally:
        conn.close()


def time_aiosqlite(
    path: Path, sql: str, params: Sequence[tuple], *, pragmas=None, **budget
) -> tuple[np.ndarray, np.ndarray]:
    """As `time_apsw`, through aiosqlite (each call awaited inside the timed span)."""
    import aiosqlite

    async def main():
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        async with aiosqlite.connect(uri, uri=True) as db:
            for k, v in _pragmas(pragmas).items():
                await db.execute(f"PRAGMA {k} = {v}")

            async def call(p: tuple) -> int:
                async with db.execute(sql, p) as cur:
                    return len(await cur.fetchall())

            s = await run_calls_async(call, params, **budget)
            return s.ns, s.rows

    return _run_async(main())


def _run_async(coro):
    """Run a coroutine whether or not an event loop is already running (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, coro).result()


def time_sqlite3(
    path: Path, sql: str, params: Sequence[tuple], *, pragmas=None, **budget
) -> tuple[np.ndarray, np.ndarray]:
    """As `time_apsw`, through the stdlib module (the run's engine)."""
    conn = engine.connect(Path(path), readonly=True, pragmas=pragmas)
    try:
        s = time_statement(conn, sql, list(params), **budget)
        return s.ns, s.rows
    finally:
        conn.close()


_TIMERS = {"sqlite3": time_sqlite3, "aiosqlite": time_aiosqlite, "apsw": time_apsw}

#: Confidence of each median's interval: two of them bound a ratio with >= 95%.
MEDIAN_CONF = 0.975


def compare_drivers(
    path: Path,
    workload: Workload,
    params: Mapping[str, Sequence[tuple]],
    *,
    drivers: Sequence[str] = DRIVERS,
    warmup: int = 5,
    max_seconds: float | None = 0.3,
    rounds: int = 2,
) -> pd.DataFrame:
    """Per query and driver: p50/p99 ms, rows per call and the ratio of medians to stdlib.

    Drivers run interleaved (query by query, `rounds` passes alternating the
    driver order) so machine drift does not favour one of them. Rows returned
    must agree across drivers; a mismatch is recorded in `rows_match`.
    Columns: query, driver, sqlite_version, n, p50, p95, p99, mean, p50_lo, p50_hi (the
    median's order-statistic interval at MEDIAN_CONF; None: too few samples), rows_mean,
    rows_match, ratio_p50 (to sqlite3) and ratio_lo, ratio_hi (>= 95%, from the two
    medians' intervals; NaN where a bound is missing).

    A query whose every execution in the first call outlasts a round's budget is not
    compared (`frame.attrs["not_compared"]`: query -> why): a driver's per-call cost is
    microseconds, lost in one execution of seconds, and the other calls would each time
    one or two executions (full: audit_by_operation at 1.3-2.5 s, ~10 s of 04, for ratios
    of 1.36 and 1.15 from two samples).
    """
    vers = available()
    use = [d for d in drivers if vers.get(d)]
    recs = []
    skipped: dict[str, str] = {}
    budget = None if max_seconds is None else max_seconds / max(1, rounds)
    for q in workload.queries:
        ps = list(params[q.name])
        per: dict[str, list] = {d: [] for d in use}
        rws: dict[str, list] = {d: [] for d in use}
        for r in range(max(1, rounds)):
            order = use if r % 2 == 0 else use[::-1]
            for d in order:
                ns, rows = _TIMERS[d](path, q.sql, ps, warmup=warmup, max_seconds=budget)
                per[d].append(ns)
                rws[d].append(rows)
                if budget is not None and ns.size and ns.min() > budget * 1e9:
                    skipped[q.name] = (
                        f"not compared: one execution took {ns.min() / 1e6:,.0f} ms, more "
                        f"than a driver's {budget * 1e3:,.0f} ms per round; a driver's "
                        "per-call cost (microseconds) is lost in it"
                    )
                    break
            if q.name in skipped:
                break
        if q.name in skipped:
            continue
        first = rws[use[0]][0]  # first pass: same parameters, same order for every driver
        for d in use:
            ns = np.concatenate(per[d])
            rows = np.concatenate(rws[d])
            st = summarize(ns)
            _, lo, hi = quantile_ci(ns / 1e6, 0.5, MEDIAN_CONF)
            mine = rws[d][0]
            k = min(len(first), len(mine))
            recs.append(
                {
                    "query": q.name,
                    "driver": d,
                    "sqlite_version": vers[d],
                    "n": st["n"],
                    **{p: st["latency_ms"][p] for p in ("p50", "p95", "p99", "mean")},
                    "p50_lo": lo,
                    "p50_hi": hi,
                    "rows_mean": float(rows.mean()) if rows.size else 0.0,
                    "rows_match": bool(np.array_equal(mine[:k], first[:k])),
                }
            )
    cols = ["query", "driver", "sqlite_version", "n", "p50", "p95", "p99", "mean"]
    frame = pd.DataFrame(recs, columns=[*cols, "p50_lo", "p50_hi", "rows_mean", "rows_match"])
    frame[["p50_lo", "p50_hi"]] = frame[["p50_lo", "p50_hi"]].astype(float)  # None: NaN
    base = frame[frame["driver"] == "sqlite3"].set_index("query")
    frame["ratio_p50"] = frame["p50"] / frame["query"].map(base["p50"])
    # each median's interval at 97.5%, so both hold together with >= 95% (Bonferroni): the
    # ratio lies between the ratio of its bounds crosswise
    frame["ratio_lo"] = frame["p50_lo"] / frame["query"].map(base["p50_hi"])
    frame["ratio_hi"] = frame["p50_hi"] / frame["query"].map(base["p50_lo"])
    own = frame["driver"] == "sqlite3"
    frame.loc[own, ["ratio_lo", "ratio_hi"]] = 1.0
    frame.attrs["not_compared"] = skipped
    return frame


def _eqp_apsw(path: Path, sql: str, params: tuple) -> list[str]:
    conn = _apsw_readonly(path)
    try:
        return [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


def compare_plans(
    path: Path, workload: Workload, params: Mapping[str, Sequence[tuple]]
) -> pd.DataFrame:
    """EXPLAIN QUERY PLAN through stdlib sqlite3 and through APSW (its own SQLite),
    with the same first parameter tuple. Columns: query, sqlite3_plan, apsw_plan,
    same (bool). Without APSW the frame is empty."""
    if not available().get("apsw"):
        return pd.DataFrame(columns=["query", "sqlite3_plan", "apsw_plan", "same"])
    conn = engine.connect(Path(path), readonly=True)
    recs = []
    try:
        for q in workload.queries:
            p = tuple(params[q.name][0]) if params.get(q.name) else ()
            a = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + q.sql, p)]
            b = _eqp_apsw(path, q.sql, p)
            recs.append(
                {
                    "query": q.name,
                    "sqlite3_plan": "\n".join(a),
                    "apsw_plan": "\n".join(b),
                    "same": a == b,
                }
            )
    finally:
        conn.close()
    return pd.DataFrame(recs)


def driver_records(frame: pd.DataFrame, plans: pd.DataFrame) -> dict:
    """The comparison as summary.json carries it."""
    return {
        "drivers": driver_versions(),
        "timing": "closed loop, execute + fetch all rows per call (service time)",
        "results": frame.to_dict("records"),
        "plans": plans.to_dict("records"),
        "plan_differences": [r["query"] for r in plans.to_dict("records") if not r["same"]],
        "not_compared": [
            {"query": q, "reason": why} for q, why in frame.attrs.get("not_compared", {}).items()
        ],
    }
