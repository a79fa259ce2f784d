"""Measured scale: the same workload at several sizes, a growth claim per query,
and where each query's p99 would cross its target.

Sizes are the dataset spec's base scale with every table's row count multiplied
by a factor (so the data keeps its shape), built deterministically and cached
like any other scale. At each size we record the database size against the
connection's page cache (`cache_size`): crossing from page cache to OS cache to
disk looks super-linear, so a fit uses one regime when that regime alone spans
enough sizes (measurement-facts §6). Growth classes are fitted on the median (less
noisy), the target crossing on p99 with that class.

A fitted class is only a shape. It becomes a *claim* (`judge_growth`) when
  (a) the growth is material: p50 at the largest size over p50 at the smallest, with a
      99% interval from the two medians' order-statistic intervals, has its lower
      bound at or above MIN_GROWTH;
  (b) the sizes span enough range: at least MIN_SIZES sizes over MIN_DECADES decades;
  (c) SQLite's own work counters agree: VM steps per execution (`perflab.sqlite.counters`,
      measured at every size) that do not grow rule out any growing class (time that
      grows over constant work is caching, or a B-tree's depth, which one VM step hides:
      inconclusive); work that grows rules out "flat"; O(log n) needs sublinear work.
A curve whose growth is clearly below MIN_GROWTH, with constant work, over enough
range, is claimed "flat". Anything else is "inconclusive", with the failed test and
its numbers as the reason.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from perflab import humanize
from perflab.database.sizes import sweep_specs
from perflab.errors import PerflabError
from perflab.inputs.targets import Targets
from perflab.inputs.workload import Workload
from perflab.measure.latency import measure_workload, sample_params
from perflab.measure.stats import MIN_GROWTH_POINTS, GrowthFit, fit_growth, refit
from perflab.measure.timing import Budget, quantile_ci, summarize
from perflab.sqlite import engine

MIN_FIT_POINTS = MIN_GROWTH_POINTS

#: Rule (b): a growth claim needs this many sizes over this many decades of rows. With
#: the corrected AICc, 5 sizes recover O(log n) in <= 38% and O(n^2) in 45-68% of curves
#: at 10% noise; 7 sizes over 2 decades recover log n 99% (5% noise) / 73% (10%), n^2
#: 100%, and never call constant data a growing class more than 3% of the time (and
#: rule (a) removes those). benchmarks/bench_growth.py prints the table.
MIN_SIZES = 7
MIN_DECADES = 2.0

#: Rule (a): the lower bound of the p50 ratio (largest / smallest size) must reach this.
#: Why 2: timings of the same commit moved up to 1.6x between runs (issue 11's A/A test),
#: and lookups whose work is constant (24-33 VM steps at every size) got up to 1.7x slower
#: across the quick sweep (memory_by_namespace_key x1.7 [x1.6, x1.77], session_by_id
#: x1.61) from cache regimes and B-tree depth alone: growth below a doubling is what the
#: machine does to any query. Rule (c), not this floor, is what keeps a caching step
#: larger than 2x from being called growth.
MIN_GROWTH = 2.0
#: Confidence of the ratio's interval: each median's interval at 1 - (1 - 0.99) / 2
#: (Bonferroni), so both hold together with at least 99%.
GROWTH_CONF = 0.99

#: Rule (c): the work's class from the log-log slope of VM steps per execution against
#: rows: constant below 0.2 (B-tree lookups of the default workload: -0.05..0.05),
#: sublinear from 0.2 (a lookup whose matches grow with a skewed key: 0.45..0.68 on the
#: default workload, its rows returned x19 for x128 rows), linear from 0.8 (scans and
#: listings: 0.89..1.03), quadratic from 1.5. Full-scan steps growing with a slope of
#: 0.8 or more make the work at least linear whatever the fixed VM overhead (a LIMIT 50
#: after a full scan: VM slope 0.74, full-scan slope 1.00).
WORK_CONSTANT = 0.2
WORK_LINEAR = 0.8
WORK_QUADRATIC = 1.5
#: Parameter tuples per query and size whose counters are read (the first ones, in the
#: first round's counting pass, which is also that round's warm-up), and the time that pass
#: may take (at least one execution): a scan of 2M rows takes ~1.7 s per execution at full,
#: and 20 of them were most of the sweep's time.
COUNTER_EXECUTIONS = 20
COUNTER_SECONDS = 0.25

#: The claim for a fitted O(n) or O(n log n): over 2-3 decades and 5-10% noise the
#: curve's shape confuses the two 13-33% of the time (bench_growth.py), two quick runs
#: of one commit swapped them, and VM steps are linear for both (a sort's comparisons
#: are not steps). Both are "linear or worse"; the claim says no more than that.
LINEAR = "O(n) to O(n log n)"
#: Claims that grow at least linearly (the verdict's scale issue reads these).
LINEAR_OR_WORSE = (LINEAR, "O(n^2)")
GROWING = ("O(log n)", *LINEAR_OR_WORSE)

# --------------------------------------------------------------------- sizes


def build_sweep(
    spec,
    base_scale: str,
    factors: Sequence[float],
    *,
    seed: int | None = None,
    progress: bool = False,
) -> list:
    """Build (or reuse from cache) one database per factor; returns BuildReports,
    smallest first. `perflab run` builds them ahead, in its database stage
    (`perflab.inputs.context.prepare`), so a run finds them all in the cache here."""
    from perflab.database.build import cached_database

    items = sweep_specs(spec, base_scale, factors)
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="building scales", unit="db")
    out = []
    for name, s in items:
        if s is None:  # the run's own database; keep the sweep's name as the size's label
            run_db = cached_database(spec, base_scale, seed=seed, progress=False)
            out.append(replace(run_db, scale=name))
            continue
        out.append(cached_database(s, name, seed=seed, progress=False))
    return out


# ------------------------------------------------------------------- regimes


def page_cache_bytes(conn: sqlite3.Connection) -> int:
    """The connection's page cache in bytes (cache_size < 0 is KiB, > 0 pages)."""
    cs = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    ps = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return -cs * 1024 if cs < 0 else cs * ps


def ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def regime(db_bytes: int, cache_bytes: int, ram: int | None) -> str:
    """Where the database can live: SQLite's page cache, the OS cache, or only on disk."""
    if db_bytes <= cache_bytes:
        return "page cache"
    if ram is None or db_bytes <= ram // 2:
        return "OS cache"
    return "disk"


_FROM = re.compile(r"\bFROM\s+(\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$]*)", re.I)


def main_table(sql: str) -> str | None:
    """The first table a statement reads (its first FROM), unquoted."""
    m = _FROM.search(sql)
    return m.group(1).strip('"`[]') if m else None


# ------------------------------------------------------------------- measuring


#: The sweep's budget when none is given (a run's comes from its profile): `iterations`
#: per query and size, pooled over the rounds; `max_seconds` per query, size and round.
DEFAULT_BUDGET = Budget(iterations=300, warmup=30, max_seconds=0.25)


def measure_sweep(
    builds: Sequence,
    workload: Workload,
    budget: Budget = DEFAULT_BUDGET,
    *,
    rounds: int = 2,
    progress: bool = False,
) -> pd.DataFrame:
    """Latency of every query at every size (read-only, application pragmas).

    The sizes are measured in `rounds` interleaved passes (small to large, then
    again), each with budget.iterations / rounds executions per query, and the samples
    pooled: drift on a shared machine then hits every size alike instead of
    bending the curve. `round_spread_pct` is the spread of the per-round medians.
    Each size's parameters are drawn once, at its first round (a sampler query reads its
    whole table: seconds at 2M rows), and each round times its own share of them.

    In the first round, before the timings, each query's work counters are read on
    the same connection for its first COUNTER_EXECUTIONS parameter tuples, for at most
    COUNTER_SECONDS (`measure_workload`'s counting pass, untimed, which is also that
    round's warm-up): a prefix of a seeded draw, so deterministic for a seed where the
    time allows all of them.

    Columns: scale, db_bytes, cache_bytes, regime, query, table, n (rows of the
    query's main table; the largest table if none), p50, p50_lo, p50_hi (the
    median's order-statistic interval at 1 - (1 - GROWTH_CONF) / 2), p95, p99, p99_lo,
    p99_hi, samples, rows_mean, truncated, round_spread_pct, vm_steps,
    fullscan_steps, sorts, autoindex (means per execution; None without counters),
    counter_executions, counter_source, counter_note (why there are none).
    """
    ram = ram_bytes()
    rounds = max(1, int(rounds))
    per_round = max(1, budget.iterations // rounds)
    passes = [(r, b) for r in range(rounds) for b in builds]
    if progress:
        from tqdm.auto import tqdm

        passes = tqdm(passes, desc="scale sweep", unit="size")
    ns: dict[tuple[str, str], list[np.ndarray]] = {}
    rows: dict[tuple[str, str], list[np.ndarray]] = {}
    trunc: dict[tuple[str, str], bool] = {}
    info: dict[str, tuple[int, int, dict]] = {}
    work: dict[str, dict[str, dict]] = {}
    drawn: dict[str, dict[str, list[tuple]]] = {}
    at: dict[str, Workload] = {}  # per size, the queries its data can sample
    unsampled: dict[str, dict[str, str]] = {}  # size -> query -> why it was left out
    each = per_round + budget.warmup
    q_conf = 1 - (1 - GROWTH_CONF) / 2
    for r, b in passes:
        conn = engine.connect(b.path, readonly=True)
        try:
            if b.scale not in info:
                info[b.scale] = (
                    Path(b.path).stat().st_size,
                    page_cache_bytes(conn),
                    engine.row_counts(conn),
                )
            # Counters once per size (the first round), a short pass: 100 executions per
            # query and pass took 23 of the quick sweep's 39 s, a separate pass of 20 most
            # of the full one's. stopping=None: the rounds are pooled, so each round's
            # count is fixed.
            if b.scale not in drawn:
                at[b.scale] = workload
                try:
                    drawn[b.scale] = sample_params(conn, workload, rounds * each, budget.seed)
                except PerflabError:  # some sampler finds no row at this size
                    at[b.scale] = _samplable(conn, workload, unsampled.setdefault(b.scale, {}))
                    drawn[b.scale] = sample_params(conn, at[b.scale], rounds * each, budget.seed)
            share = {q: ps[r * each : (r + 1) * each] for q, ps in drawn[b.scale].items()}
            frame, samples, _ = measure_workload(
                conn,
                at[b.scale],
                replace(budget, iterations=per_round),
                params=share,
                count=r == 0,
                count_executions=COUNTER_EXECUTIONS,
                count_seconds=COUNTER_SECONDS,
                stopping=None,
            )
            if r == 0:
                work[b.scale] = sweep_counters(frame)
        finally:
            conn.close()
        for q, smp in samples.items():
            ns.setdefault((b.scale, q), []).append(smp.ns)
            rows.setdefault((b.scale, q), []).append(smp.rows)
            trunc[(b.scale, q)] = trunc.get((b.scale, q), False) or smp.truncated
    recs = []
    for b in builds:
        size, cache, counts = info[b.scale]
        largest = max(counts.values())
        for q in at[b.scale].queries:
            parts = ns[(b.scale, q.name)]
            pooled = np.concatenate(parts)
            st = summarize(pooled)
            _, m_lo, m_hi = quantile_ci(pooled / 1e6, 0.5, q_conf)
            meds = [float(np.median(p)) for p in parts if p.size]
            t = main_table(q.sql)
            recs.append(
                {
                    "scale": b.scale,
                    "db_bytes": size,
                    "cache_bytes": cache,
                    "regime": regime(size, cache, ram),
                    "query": q.name,
                    "table": t if t in counts else None,
                    "n": counts.get(t, largest),
                    "p50": st["latency_ms"]["p50"],
                    "p50_lo": m_lo,
                    "p50_hi": m_hi,
                    "p95": st["latency_ms"]["p95"],
                    "p99": st["latency_ms"]["p99"],
                    "p99_lo": st["latency_ci_ms"]["p99"][0],
                    "p99_hi": st["latency_ci_ms"]["p99"][1],
                    "samples": st["n"],
                    "rows_mean": float(np.concatenate(rows[(b.scale, q.name)]).mean()),
                    "truncated": trunc[(b.scale, q.name)],
                    "round_spread_pct": (max(meds) - min(meds)) / float(np.median(meds)) * 100
                    if len(meds) > 1 and np.median(meds) > 0
                    else None,
                    **work[b.scale][q.name],
                }
            )
    out = pd.DataFrame(recs)
    out.attrs["unsampled"] = {k: v for k, v in unsampled.items() if v}
    return out


def _samplable(conn: sqlite3.Connection, workload: Workload, why: dict[str, str]) -> Workload:
    """The workload's queries whose samplers find rows in this size's data; each left out
    goes into ``why`` with the reason. A smaller size may hold no row a sampler asks for
    (a filter, a modulus): that query has one point fewer on its curve, and the run goes on
    (a sampler that finds nothing at the run's own size was refused when the run began)."""
    kept = []
    for q in workload.queries:
        try:
            sample_params(conn, replace(workload, queries=(q,)), 1, seed=0)
            kept.append(q)
        except PerflabError as exc:
            why[q.name] = str(exc)
    return replace(workload, queries=tuple(kept))


def sweep_counters(frame: pd.DataFrame) -> dict[str, dict]:
    """Per query, the mean work counters per execution of `measure_workload`'s counting
    pass (its frame's `_counters`), as the sweep frame's counter columns; None values and
    the reason when the engine has no `sqlite_stmt`."""
    out: dict[str, dict] = {}
    for name, rec in frame["_counters"].items():
        per = rec["per_execution"]
        if rec["source"] is None or not per or not rec["executions"]:
            out[name] = {
                **dict.fromkeys(("vm_steps", "fullscan_steps", "sorts", "autoindex")),
                "counter_executions": 0,
                "counter_source": None,
                "counter_note": rec["reason"] or "no executions to count",
            }
            continue
        out[name] = {
            **{k: per[k]["mean"] for k in ("vm_steps", "fullscan_steps", "sorts", "autoindex")},
            "counter_executions": rec["executions"],
            "counter_source": rec["source"],
            "counter_note": None,
        }
    return out


def decades(n: Sequence[float]) -> float:
    """How many decades of rows the sizes span: log10(largest / smallest)."""
    n = [float(v) for v in n if v and v > 0]
    return float(np.log10(max(n) / min(n))) if len(n) > 1 else 0.0


def _meets_range(n: Sequence[float]) -> bool:
    return len(set(n)) >= MIN_SIZES and decades(n) >= MIN_DECADES - 1e-9


def _fit_points(g: pd.DataFrame) -> tuple[pd.DataFrame, str | None, bool]:
    """The points of one cache regime when it alone meets the range rule (b); else all
    points, flagged when they span regimes (the counters and the growth floor, not the
    curve's shape, then guard against a regime step read as growth)."""
    counts = g["regime"].value_counts()
    for reg in counts.index:
        one = g[g["regime"] == reg]
        if _meets_range(one["n"]):
            return one, reg, False
    return g, (counts.index[0] if counts.size == 1 else None), counts.size > 1


@dataclass(frozen=True)
class Check:
    """One test of a growth claim: passed or not, and the numbers that decided it."""

    test: str  # "range", "growth", "work"
    passed: bool
    detail: str


@dataclass(frozen=True)
class GrowthClaim:
    """What may be said about a query's growth, and why.

    `claim` is "flat", a growing class ("O(log n)", "O(n)", "O(n log n)", "O(n^2)"),
    or "inconclusive"; `reason` names the failed test with its numbers (None when
    confident); `evidence` carries every number the tests used.
    """

    claim: str
    text: str
    reason: str | None
    checks: tuple[Check, ...]
    evidence: dict

    @property
    def confident(self) -> bool:
        return self.claim != "inconclusive"

    def as_dict(self) -> dict:
        return {
            "claim": self.claim,
            "claim_text": self.text,
            "claim_reason": self.reason,
            "claim_checks": [asdict(c) for c in self.checks],
            "evidence": self.evidence,
        }


def growth_ratio(
    p50: Sequence[float],
    lo: Sequence[float | None] | None,
    hi: Sequence[float | None] | None,
) -> tuple[float, float | None, float | None]:
    """p50 at the largest size over p50 at the smallest (inputs ordered by size), with the
    interval [lo_last / hi_first, hi_last / lo_first] from the medians' own intervals:
    if both hold (>= GROWTH_CONF together), the ratio lies inside. None: a bound missing."""
    r = float(p50[-1]) / float(p50[0])
    lo = lo or [None] * len(p50)
    hi = hi or [None] * len(p50)
    r_lo = lo[-1] / hi[0] if lo[-1] is not None and hi[0] else None
    r_hi = hi[-1] / lo[0] if hi[-1] is not None and lo[0] else None
    return r, (None if r_lo is None else float(r_lo)), (None if r_hi is None else float(r_hi))


def work_slope(n: Sequence[float], steps: Sequence[float]) -> float:
    """Least-squares slope of log(VM steps per execution) on log(rows): 0 constant, 1 linear."""
    x = np.log(np.asarray(n, dtype=float))
    y = np.log(np.maximum(np.asarray(steps, dtype=float), 1.0))
    return float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0


def _work_class(slope: float, scan_slope: float | None) -> str:
    """constant, sublinear, linear or quadratic (see WORK_CONSTANT)."""
    if scan_slope is not None and scan_slope >= WORK_LINEAR:
        slope = max(slope, scan_slope)
    if slope < WORK_CONSTANT:
        return "constant"
    if slope < WORK_LINEAR:
        return "sublinear"
    return "linear" if slope < WORK_QUADRATIC else "quadratic"


_AGREES = {
    "flat": ("constant",),
    # A B-tree descent is one VM step whatever its depth, so constant steps with growing
    # time cannot tell O(log n) from caching: O(log n) needs work that grows sublinearly.
    "O(log n)": ("sublinear",),
    LINEAR: ("linear",),
    "O(n^2)": ("quadratic",),
}


def _steps(v: Sequence[float]) -> str:
    a, b = humanize.count(round(v[0], 1)), humanize.count(round(v[-1], 1))
    return f"{a} at every size" if a == b else f"{a} -> {b}"


def judge_growth(
    n: Sequence[float],
    p50: Sequence[float],
    p50_lo: Sequence[float | None] | None,
    p50_hi: Sequence[float | None] | None,
    fit: GrowthFit | None,
    *,
    vm_steps: Sequence[float | None] | None = None,
    fullscan_steps: Sequence[float | None] | None = None,
    counter_note: str | None = None,
    fit_error: str | None = None,
) -> GrowthClaim:
    """Decide the claim from the fit and tests (a) growth, (b) range, (c) work, in the
    module docstring's order; inputs are per size, ordered by rows."""
    n = [float(v) for v in n]
    span = (humanize.rows(n[0]), humanize.rows(n[-1]))
    ev: dict = {
        "range": {
            "sizes": len(set(n)),
            "n_min": n[0],
            "n_max": n[-1],
            "decades": round(decades(n), 3),
            "min_sizes": MIN_SIZES,
            "min_decades": MIN_DECADES,
        },
        "fit": None
        if fit is None
        else {"model": fit.model, "weights": fit.weights, "rel_rmse": fit.rel_rmse},
    }
    checks: list[Check] = []

    def verdict(claim: str, reason: str | None, text: str | None = None) -> GrowthClaim:
        return GrowthClaim(claim, text or f"inconclusive: {reason}", reason, tuple(checks), ev)

    ok = _meets_range(n)
    checks.append(
        Check(
            "range",
            ok,
            f"{ev['range']['sizes']} sizes over {decades(n):.1f} decades ({span[0]} to "
            f"{span[1]}); a claim needs >= {MIN_SIZES} sizes over >= {MIN_DECADES:g} decades",
        )
    )
    if not (len(p50) and np.isfinite(p50[0]) and float(p50[0]) > 0):
        # an empty table, or a time below the clock's resolution: no ratio to take
        return verdict(
            "inconclusive",
            "not analysed: the median at the smallest size is "
            f"{p50[0] if len(p50) else 'missing'} ms, so growth has nothing to scale from",
        )
    r, r_lo, r_hi = growth_ratio(p50, p50_lo, p50_hi)
    ev["growth"] = {
        "ratio": r,
        "lo": r_lo,
        "hi": r_hi,
        "conf": GROWTH_CONF,
        "min_ratio": MIN_GROWTH,
    }
    ci = f"[{humanize.ratio(r_lo)}, {humanize.ratio(r_hi)}]"
    growth = f"p50 {humanize.ratio(r)} {ci} from {span[0]} to {span[1]}"
    material = r_lo is not None and r_lo >= MIN_GROWTH
    clearly_not = r_hi is not None and r_hi < MIN_GROWTH
    checks.append(
        Check(
            "growth",
            material,
            f"{growth} ({humanize.duration_ms(p50[0])} -> {humanize.duration_ms(p50[-1])}); "
            f"material from a lower bound of {humanize.ratio(MIN_GROWTH)}",
        )
    )
    steps = None if vm_steps is None or any(v is None for v in vm_steps) else list(vm_steps)
    scans = (
        None
        if fullscan_steps is None or any(v is None for v in fullscan_steps)
        else list(fullscan_steps)
    )
    slope = work_slope(n, steps) if steps else None
    scan_slope = work_slope(n, scans) if scans and max(scans) >= 1 else None
    wclass = None if slope is None else _work_class(slope, scan_slope)
    ev["work"] = {
        "source": None if steps is None else "sqlite_stmt",
        "vm_steps": steps,
        "fullscan_steps": scans,
        "slope": slope,
        "fullscan_slope": scan_slope,
        "class": wclass,
        "note": counter_note,
    }
    work = (
        None
        if steps is None
        else f"VM steps per execution {_steps(steps)} (log-log slope {slope:.2f}: {wclass})"
        + (
            ""
            if scan_slope is None
            else f", full-scan steps {_steps(scans)} (slope {scan_slope:.2f})"
        )
    )
    if fit_error is not None or fit is None:
        return verdict("inconclusive", f"no fit: {fit_error or 'no growth fit'}")
    if not ok:
        return verdict("inconclusive", f"too narrow a range: {checks[0].detail}")
    if steps is None:
        return verdict(
            "inconclusive", f"work counters unavailable: {counter_note or 'not measured'}"
        )
    if material:
        claim = LINEAR if fit.model in ("O(n)", "O(n log n)") else fit.model
        if claim == "O(1)":
            return verdict(
                "inconclusive",
                f"{growth} but no growth class fits better than a constant (AICc)",
            )
    elif clearly_not:
        claim = "flat"
        checks[1] = replace(
            checks[1],
            passed=True,
            detail=f"{checks[1].detail}; flat from an upper bound below it",
        )
    else:
        return verdict(
            "inconclusive",
            f"growth not shown: {growth}, the interval reaches below {humanize.ratio(MIN_GROWTH)}"
            if r_hi is not None and r_hi >= MIN_GROWTH
            else f"growth not shown: {growth} (an interval bound is missing)",
        )
    agrees = wclass in _AGREES[claim]
    checks.append(Check("work", agrees, f"{work}; {claim} needs {_AGREES[claim][0]} work"))
    if not agrees:
        if wclass == "constant":
            why = "the work does not grow, so the time's growth is caching or noise"
        elif claim == "flat":
            why = "the time does not grow as the work does (fixed overhead hides it)"
        elif wclass == "sublinear":
            why = f"the work grows slower than n, so the time's {fit.model} shape is not the work's"
        else:
            why = "the curve's shape and the work disagree"
        shape = "flat" if claim == "flat" else f"fitted {fit.model}"
        return verdict("inconclusive", f"{shape} ({growth}) but {work}: {why}")
    if claim == "flat":
        return verdict("flat", None, f"flat: {growth}; {work}")
    if claim == LINEAR:
        return verdict(claim, None, f"grows {claim} (fitted {fit.model}): {growth}; {work}")
    return verdict(claim, None, f"grows {claim}: {growth}; {work}")


#: Columns of a fitted query's row in `fit_sweep` (None where the fit failed).
_FIT_COLUMNS = (
    "model",
    "weight",
    "runner_up",
    "rel_rmse",
    "p99_model",
    "p99_rel_rmse",
    "target_ms",
    "limit_rows",
    "limit_range",
    "limit_x",
    "p99_at_max_ms",
)


def fit_sweep(frame: pd.DataFrame, targets: Targets | None = None) -> pd.DataFrame:
    """One row per query: the growth class fitted (AICc on p50), the claim that may be
    made of it (`judge_growth`: claim, claim_text, claim_reason, claim_checks,
    evidence), the p99 fit in that class, the p99 target, and, for a confident growing
    claim only, the rows at which p99 is predicted to reach it (`limit_rows`; None
    otherwise; `limit_x` is its ratio to the largest measured size)."""
    out = []
    for name, g in frame.groupby("query", sort=False):
        g = g.sort_values("n")
        pts, reg, spans = _fit_points(g)
        rec = {
            "query": name,
            "table": g["table"].iloc[0],
            "fit_regime": reg,
            "spans_regimes": spans,
            "points": len(pts),
            "n_min": int(pts["n"].min()),
            "n_max": int(pts["n"].max()),
        }
        f50 = f99 = None
        error = None
        try:
            f50 = fit_growth(pts["n"], pts["p50"])
            f99 = refit(f50.model, pts["n"], pts["p99"])
        except ValueError as exc:
            error = str(exc)
        claim = judge_growth(
            pts["n"].tolist(),
            pts["p50"].tolist(),
            _col(pts, "p50_lo"),
            _col(pts, "p50_hi"),
            f50,
            vm_steps=_col(pts, "vm_steps"),
            fullscan_steps=_col(pts, "fullscan_steps"),
            counter_note=_note(pts),
            fit_error=error,
        )
        rec.update(claim.as_dict())
        t = targets.for_query(name) if targets is not None else None
        if f50 is None:  # every fit column present, so readers of the frame need no guard
            blank = dict.fromkeys(_FIT_COLUMNS)
            out.append({**rec, **blank, "target_ms": t.threshold if t else None, "error": error})
            continue
        limits = (
            _limits(claim.claim, f99, pts, t.threshold)
            if (t is not None and claim.claim in GROWING)
            else None
        )
        limit = limits[0] if limits else None  # the earliest crossing of the 95% range
        rec.update(
            {
                "model": f50.model,
                "weight": f50.weights.get(f50.model),
                "runner_up": max(
                    (k for k in f50.weights if k != f50.model), key=f50.weights.get, default=None
                ),
                "rel_rmse": f50.rel_rmse,
                "p99_model": f99.model,
                "p99_rel_rmse": f99.rel_rmse,
                "target_ms": t.threshold if t is not None else None,
                "limit_rows": limit,
                "limit_range": limits,
                "limit_x": (limit / rec["n_max"]) if limit else None,
                "p99_at_max_ms": float(g["p99"].iloc[-1]),
                "_fit50": f50,
                "_fit99": f99,
            }
        )
        out.append(rec)
    return pd.DataFrame(out)


#: Refits behind a predicted limit's interval (a residual bootstrap): the p99 curve of a
#: sweep is noisy (relative RMSE of 20-50% at quick), and a limit read off one fit moved 2x
#: between two runs of the same commit, so the limit is stated as a 95% range over refits.
LIMIT_BOOTSTRAP = 400


def _limits(
    claim: str, f99: GrowthFit, pts: pd.DataFrame, threshold: float, seed: int = 0
) -> list[float | None] | None:
    """Rows at which p99 is predicted to reach `threshold`, as [low, high]: the 2.5% and
    97.5% quantiles of the crossing over residual-bootstrap refits of every class the
    claim allows (O(n) and O(n log n) for a linear claim); high is None when more than
    2.5% of the refits never cross; None when no fit crosses at all, or 97.5% never do."""
    models = ("O(n log n)", "O(n)") if claim == LINEAR else (f99.model,)
    n = pts["n"].to_numpy(float)
    t = pts["p99"].to_numpy(float)
    rng = np.random.default_rng(seed)
    cross: list[float] = []
    for m in models:
        f = refit(m, n, t)
        fitted = np.maximum(f.predict(n), 1e-12)
        # residuals of a 2-parameter fit understate the noise: inflate by sqrt(m / (m - 2))
        rel = (t / fitted - 1.0) * np.sqrt(n.size / max(n.size - 2, 1))
        point = f.crossing(threshold)
        cross.append(np.inf if point is None else point)
        for _ in range(LIMIT_BOOTSTRAP // len(models)):
            t_star = fitted * (1.0 + rng.choice(rel, size=rel.size, replace=True))
            if np.any(t_star <= 0):
                continue
            try:
                c = refit(m, n, t_star).crossing(threshold)
            except ValueError:
                continue
            cross.append(np.inf if c is None else c)
    return crossing_range(cross)


def crossing_range(cross: Sequence[float]) -> list[float | None] | None:
    """[2.5%, 97.5%] quantiles of crossings (inf: a refit that never crosses): high None
    when more than 2.5% never cross; None when none, or 97.5% or more, cross."""
    arr = np.asarray(cross, float)
    if not np.isfinite(arr).any():
        return None
    with np.errstate(invalid="ignore"):  # between two refits that never cross: inf - inf
        lo, hi = np.quantile(arr, [0.025, 0.975])
    if not np.isfinite(lo):  # 97.5% of the refits never cross: no crossing to range
        return None
    return [float(lo), float(hi) if np.isfinite(hi) else None]


def _col(pts: pd.DataFrame, name: str) -> list | None:
    """A column as a list with NaN as None (None: the frame has no such column)."""
    if name not in pts:
        return None
    return [
        None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)
        for v in pts[name]
    ]


def _note(pts: pd.DataFrame) -> str | None:
    if "counter_note" not in pts:
        return "the sweep did not read work counters"
    notes = [v for v in pts["counter_note"] if isinstance(v, str) and v]
    return notes[0] if notes else None


def claims_table(fits: pd.DataFrame) -> pd.DataFrame:
    """Per query: the claim, and its sentence (the evidence, or why it is inconclusive)."""
    return fits[["query", "claim", "claim_text"]].rename(columns={"claim_text": "evidence"})


def scale_records(
    frame: pd.DataFrame, fits: pd.DataFrame, *, factors: Sequence[float], base_scale: str
) -> dict:
    """The sweep as summary.json carries it."""
    sizes = frame.drop_duplicates("scale")[["scale", "db_bytes", "cache_bytes", "regime"]].to_dict(
        "records"
    )
    points = frame.drop(columns=["cache_bytes"]).to_dict("records")
    points = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in p.items()}
        for p in points
    ]
    qfits = []
    for r in fits.to_dict("records"):
        f50: GrowthFit | None = r.pop("_fit50", None)
        f99: GrowthFit | None = r.pop("_fit99", None)
        r = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        if isinstance(f50, GrowthFit):
            r["fit_p50"] = f50.as_dict()
            r["fit_p99"] = f99.as_dict()
        qfits.append(r)
    return {
        "base_scale": base_scale,
        "factors": list(factors),
        "sizes": sizes,
        "points": points,
        "fits": qfits,
        "rules": {
            "min_sizes": MIN_SIZES,
            "min_decades": MIN_DECADES,
            "min_growth": MIN_GROWTH,
            "growth_conf": GROWTH_CONF,
            "work_constant_below_slope": WORK_CONSTANT,
            "work_linear_from_slope": WORK_LINEAR,
            "work_quadratic_from_slope": WORK_QUADRATIC,
        },
        "method": "t = a + b·g(n), a,b ≥ 0, relative least squares, class by AICc (k counts "
        "the variance) on p50; p99 refitted in that class; fit within one cache regime when "
        f"it alone has ≥{MIN_SIZES} sizes over ≥{MIN_DECADES:g} decades. A class is claimed "
        f"only when p50 grows ≥{MIN_GROWTH:g}x (lower bound of a {GROWTH_CONF:.0%} interval), "
        f"over ≥{MIN_SIZES} sizes and ≥{MIN_DECADES:g} decades, and SQLite's VM steps per "
        "execution grow as the class needs; 'flat' when p50 grows clearly less than "
        f"{MIN_GROWTH:g}x with constant work; otherwise 'inconclusive' with the reason",
        # per size, the queries its data could not sample (one point fewer on their curves)
        "unsampled": dict(frame.attrs.get("unsampled") or {}),
    }
