"""Timing loops and the statistics that summarize them.

Timing is kept apart from statistics (as pytest-benchmark does): loops return
raw nanosecond samples; `summarize` turns samples into percentiles with
order-statistic confidence intervals, which are exact and deterministic where
a bootstrap under-covers at high percentiles.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "p999": 0.999}


@dataclass(frozen=True)
class Budget:
    """What one measuring function may spend, and which parameters it draws.

    The same four settings govern every loop that times a workload (latency per query,
    write throughput per configuration, the scale sweep per size): a stage builds one
    from the profile and passes it down whole, so no measuring function re-lists them.
    For a write, `iterations` counts operations and `warmup` untimed operations.
    """

    iterations: int = 1000  # timed executions at the most
    warmup: int = 50  # untimed executions first (statement cache, page cache)
    seed: int = 0  # parameter sampling: the same seed draws the same parameters
    max_seconds: float | None = None  # time cap on the timed loop; None: all `iterations`


@dataclass(frozen=True)
class Samples:
    """Raw results of a timing loop: per-execution nanoseconds and rows returned."""

    ns: np.ndarray
    rows: np.ndarray
    warmup: int
    truncated: bool = False  # stopped early by the time budget


def timed_calls(
    params: Sequence[tuple], *, warmup: int = 50, max_seconds: float | None = None
) -> Generator[tuple, int, Samples]:
    """The one timing loop: yields each parameter tuple, is sent back the rows that call
    returned, and returns the `Samples` (through ``StopIteration.value``).

    The caller executes between a yield and the next ``send``, so a synchronous driver
    (`run_calls`) and an asynchronous one (`run_calls_async`: the call is awaited between
    the two clock reads) are timed by the same code: the clock is read here, around the
    call, and nothing else sits between the reads but the generator's resume.

    The first ``warmup`` tuples are executed untimed. ``max_seconds`` bounds the timed
    loop, checked after every execution, and the warm-up, which may use at most a quarter
    of it: a query taking seconds per execution must not spend minutes warming up.
    """
    clock = time.perf_counter_ns
    budget = None if max_seconds is None else int(max_seconds * 1e9)
    warm_end = None if budget is None else clock() + budget // 4
    warmed = 0
    for p in params[:warmup]:
        yield p
        warmed += 1
        if warm_end is not None and clock() > warm_end:
            break
    timed = params[warmup:]
    n = len(timed)
    ns = np.zeros(n, dtype=np.int64)
    rows = np.zeros(n, dtype=np.int64)
    done = n
    deadline = None if budget is None else clock() + budget
    for i, p in enumerate(timed):
        t0 = clock()
        r = yield p
        t1 = clock()
        ns[i] = t1 - t0
        rows[i] = r
        if deadline is not None and t1 > deadline:
            done = i + 1
            break
    return Samples(ns[:done], rows[:done], warmed, done < n)


def run_calls(call: Callable[[tuple], int], params: Sequence[tuple], **budget) -> Samples:
    """Time ``call(p)`` (which returns the rows it fetched) once per tuple in `timed_calls`;
    ``budget``: its ``warmup`` and ``max_seconds``."""
    loop = timed_calls(params, **budget)
    send = loop.send
    try:
        p = next(loop)
        while True:
            p = send(call(p))
    except StopIteration as stop:
        return stop.value


async def run_calls_async(
    call: Callable[[tuple], Awaitable[int]], params: Sequence[tuple], **budget
) -> Samples:
    """`run_calls` for a coroutine: ``await call(p)`` is what is timed."""
    loop, p = timed_calls(params, **budget), None
    try:
        for p in loop:  # the first tuple; each next one comes from send
            while True:
                p = loop.send(await call(p))
    except StopIteration as stop:
        return stop.value
    return Samples(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)  # no tuples at all


def time_statement(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence[tuple],
    *,
    warmup: int = 50,
    max_seconds: float | None = None,
) -> Samples:
    """Execute `sql` once per parameter tuple and time each execution with its fetch.

    The statement is prepared once and reused through the connection's statement
    cache; the loop body is kept small so the harness adds (measurably) little
    (benchmarks/bench_harness.py). Warm-up and time budget as in `timed_calls`.
    """
    execute = conn.cursor().execute

    def call(p: tuple) -> int:
        return len(execute(sql, p).fetchall())

    return run_calls(call, params, warmup=warmup, max_seconds=max_seconds)


def quantile_ci(
    x: np.ndarray, q: float, conf: float = 0.95
) -> tuple[float, float | None, float | None]:
    """Quantile with a distribution-free CI from order statistics.

    Returns (estimate, lo, hi); a bound is None when there are too few samples
    for it (e.g. fewer than 368 for the upper bound of p99 at 95%).
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        return float("nan"), None, None
    est = float(np.quantile(x, q))
    a = (1 - conf) / 2
    # P(K <= j), K ~ Bin(n, q). special.bdtr, not stats.binom.cdf: the same ranks (every
    # n <= 3000 and 5k..70k, q in PERCENTILES, conf 0.95..0.995), and importing scipy.stats
    # cost each notebook's kernel 0.6-0.9 s, for this one function.
    cdf = special.bdtr(np.arange(n + 1), n, q)
    lo = int(np.searchsorted(cdf, a, side="right"))  # 1-based rank
    hi = int(np.searchsorted(cdf, 1 - a, side="left")) + 1
    lo_v = float(x[lo - 1]) if lo >= 1 else None
    hi_v = float(x[hi - 1]) if hi <= n else None
    return est, lo_v, hi_v


def summarize(ns: np.ndarray, conf: float = 0.95) -> dict:
    """Latency summary in milliseconds, with CIs, from nanosecond samples.

    Keys: latency_ms {p50,p95,p99,p999,max,min,mean}, latency_ci_ms {p..: [lo, hi]},
    ops_per_s (1 / mean), n.
    """
    ms = np.asarray(ns, dtype=float) / 1e6
    lat: dict[str, float] = {}
    ci: dict[str, list[float | None]] = {}
    for key, q in PERCENTILES.items():
        est, lo, hi = quantile_ci(ms, q, conf)
        lat[key] = est
        ci[key] = [lo, hi]
    lat["max"] = float(ms.max()) if ms.size else float("nan")
    lat["min"] = float(ms.min()) if ms.size else float("nan")
    lat["mean"] = float(ms.mean()) if ms.size else float("nan")
    ops = 1000.0 / lat["mean"] if ms.size and lat["mean"] > 0 else 0.0
    return {"latency_ms": lat, "latency_ci_ms": ci, "ops_per_s": ops, "n": int(ms.size)}


def timer_resolution_ns(samples: int = 20000) -> int:
    """Smallest positive gap between back-to-back clock reads."""
    clock = time.perf_counter_ns
    best = None
    for _ in range(samples):
        a = clock()
        b = clock()
        while b == a:
            b = clock()
        d = b - a
        if best is None or d < best:
            best = d
    return int(best or 0)


def harness_overhead(conn: sqlite3.Connection, n: int = 5000) -> dict[str, float]:
    """What the harness itself costs, so readers can subtract it from small figures.

    `empty_loop`: the timed loop around nothing; `select_1`: a trivial statement
    through the same loop as the queries. Medians in milliseconds.
    """
    clock = time.perf_counter_ns
    empty = np.zeros(n, dtype=np.int64)
    for i in range(n):
        t0 = clock()
        t1 = clock()
        empty[i] = t1 - t0
    s = time_statement(conn, "SELECT 1", [()] * (n + 100), warmup=100)
    return {
        "empty_loop": float(np.median(empty)) / 1e6,
        "select_1": float(np.median(s.ns)) / 1e6,
        "timer_resolution": timer_resolution_ns(2000) / 1e6,
    }
