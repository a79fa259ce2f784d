"""Measured scale: the same workload at several sizes, a growth model per query,
and where each query's p99 would cross its target.

Sizes are the dataset spec's base scale with every table's row count multiplied
by a factor (so the data keeps its shape), built deterministically and cached
like any other scale. At each size we record the database size against the
connection's page cache (`cache_size`): crossing from page cache to OS cache to
disk looks super-linear, so fits never mix regimes when one regime has enough
points (measurement-facts §6). Growth classes are fitted on the median (less
noisy), the target crossing on p99 with that class.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from perflab import engine
from perflab.latency import measure_workload
from perflab.measure import summarize
from perflab.stats import GrowthFit, fit_growth, refit
from perflab.targets import Targets
from perflab.workload import Workload

#: Scale factors (relative to the profile's scale) per profile: ≥5 sizes, doubling.
DEFAULT_FACTORS: dict[str, tuple[float, ...]] = {
    "tiny": (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0),
    "quick": (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0),
    "full": tuple(2.0**-k for k in range(10, -1, -1)),  # 1/1024 .. 1 (2k .. 2M audit rows)
}

MIN_FIT_POINTS = 4

# --------------------------------------------------------------------- sizes


def scaled_rows(base: dict[str, int], factor: float) -> dict[str, int]:
    """Every table's rows × factor; tables that had rows keep at least one."""
    return {t: (max(1, round(n * factor)) if n > 0 else 0) for t, n in base.items()}


def sweep_scales(spec, base_scale: str, factors: Sequence[float]) -> dict[str, dict[str, int]]:
    """Scale name -> row counts for each factor (names encode the rows, so the
    cache reuses builds across runs)."""
    base = dict(spec.scales[base_scale])
    out = {}
    for f in sorted(factors):
        rows = scaled_rows(base, f)
        out[f"sweep_{max(rows.values())}"] = rows
    return out


def build_sweep(
    spec,
    base_scale: str,
    factors: Sequence[float],
    *,
    seed: int | None = None,
    progress: bool = False,
) -> list:
    """Build (or reuse from cache) one database per factor; returns BuildReports,
    smallest first."""
    from perflab.dataset import cached_database

    scales = sweep_scales(spec, base_scale, factors)
    items = list(scales.items())
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="building scales", unit="db")
    out = []
    for name, rows in items:
        s = replace(spec, scales={**spec.scales, name: rows})
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


def measure_sweep(
    builds: Sequence,
    workload: Workload,
    *,
    iterations: int = 300,
    warmup: int = 30,
    rounds: int = 2,
    seed: int = 0,
    max_seconds: float | None = 0.25,
    progress: bool = False,
) -> pd.DataFrame:
    """Latency of every query at every size (read-only, application pragmas).

    The sizes are measured in `rounds` interleaved passes (small to large, then
    again), each with iterations / rounds executions per query, and the samples
    pooled: drift on a shared machine then hits every size alike instead of
    bending the curve. `round_spread_pct` is the spread of the per-round medians.

    Columns: scale, db_bytes, cache_bytes, regime, query, table, n (rows of the
    query's main table; the largest table if none), p50, p95, p99, p99_lo,
    p99_hi, samples, rows_mean, truncated, round_spread_pct.
    """
    ram = ram_bytes()
    rounds = max(1, int(rounds))
    per_round = max(1, iterations // rounds)
    passes = [(r, b) for r in range(rounds) for b in builds]
    if progress:
        from tqdm.auto import tqdm

        passes = tqdm(passes, desc="scale sweep", unit="size")
    ns: dict[tuple[str, str], list[np.ndarray]] = {}
    rows: dict[tuple[str, str], list[np.ndarray]] = {}
    trunc: dict[tuple[str, str], bool] = {}
    info: dict[str, tuple[int, int, dict]] = {}
    for r, b in passes:
        conn = engine.connect(b.path, readonly=True)
        try:
            if b.scale not in info:
                info[b.scale] = (
                    Path(b.path).stat().st_size,
                    page_cache_bytes(conn),
                    engine.row_counts(conn),
                )
            _, samples, _ = measure_workload(
                conn,
                workload,
                iterations=per_round,
                warmup=warmup,
                seed=seed + 1000 * r,
                max_seconds=max_seconds,
            )
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
        for q in workload.queries:
            parts = ns[(b.scale, q.name)]
            st = summarize(np.concatenate(parts))
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
                }
            )
    return pd.DataFrame(recs)


def _fit_points(g: pd.DataFrame) -> tuple[pd.DataFrame, str | None, bool]:
    """Points of the regime with the most sizes if it has enough; else all (flagged)."""
    counts = g["regime"].value_counts()
    best = counts.index[0]
    if counts.iloc[0] >= MIN_FIT_POINTS:
        return g[g["regime"] == best], best, False
    return g, None, counts.size > 1


def fit_sweep(frame: pd.DataFrame, targets: Targets | None = None) -> pd.DataFrame:
    """One row per query: growth class (AICc on p50), its Akaike weight, relative
    RMS error, the p99 fit in that class, the p99 target, and the predicted rows
    at which p99 reaches it (None: never under the model; extrapolations far
    beyond the measured range are labelled by `limit_x`, the ratio to the
    largest measured size)."""
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
        try:
            f50 = fit_growth(pts["n"], pts["p50"])
            f99 = refit(f50.model, pts["n"], pts["p99"])
        except ValueError as exc:
            out.append({**rec, "model": None, "error": str(exc)})
            continue
        t = targets.for_query(name) if targets is not None else None
        limit = f99.crossing(t.threshold) if t is not None else None
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
                "limit_x": (limit / rec["n_max"]) if limit else None,
                "p99_at_max_ms": float(g["p99"].iloc[-1]),
                "_fit50": f50,
                "_fit99": f99,
            }
        )
        out.append(rec)
    return pd.DataFrame(out)


def scale_records(
    frame: pd.DataFrame, fits: pd.DataFrame, *, factors: Sequence[float], base_scale: str
) -> dict:
    """The sweep as summary.json carries it."""
    sizes = frame.drop_duplicates("scale")[["scale", "db_bytes", "cache_bytes", "regime"]].to_dict(
        "records"
    )
    points = frame.drop(columns=["cache_bytes"]).to_dict("records")
    qfits = []
    for r in fits.to_dict("records"):
        f50: GrowthFit | None = r.pop("_fit50", None)
        f99: GrowthFit | None = r.pop("_fit99", None)
        r = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        if f50 is not None:
            r["fit_p50"] = f50.as_dict()
            r["fit_p99"] = f99.as_dict()
        qfits.append(r)
    return {
        "base_scale": base_scale,
        "factors": list(factors),
        "sizes": sizes,
        "points": points,
        "fits": qfits,
        "method": "t = a + b·g(n), a,b ≥ 0, relative least squares, class by AICc on p50; "
        "p99 refitted in that class; fit within one cache regime when ≥4 sizes",
    }
