"""The sizes of a scale sweep: the spec's base scale with every table's rows times a factor.

They sit on the database floor because the run's database stage builds them ahead, beside
its own database (`perflab.database.ahead`), before anything is measured; notebook 05
(`perflab.measure.scale`) then finds them in the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

__all__ = ["scaled_rows", "sweep_scales", "sweep_specs"]


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


def sweep_specs(spec, base_scale: str, factors: Sequence[float]) -> list[tuple[str, object]]:
    """(size name, the spec naming that size) per factor, smallest first. The spec is None
    for a size whose rows are the base scale's (factor 1): that size *is* the run's own
    database (the cache key hashes the rows, not the scale's name), so it is looked up under
    the base scale's name instead of being built a second time under a sweep name (the
    largest size is about half of a sweep's build time)."""
    base_rows = dict(spec.scales[base_scale])
    return [
        (name, None if rows == base_rows else replace(spec, scales={**spec.scales, name: rows}))
        for name, rows in sweep_scales(spec, base_scale, factors).items()
    ]
