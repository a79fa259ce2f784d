"""One look for every page, chart and table: palette, severity scale, chart layout, number format.

Every figure, table and headline perflab shows goes through here, so a duration reads
"7.4 µs" everywhere (not 7.4e-03 in one place and 0.0074 in another), better is the same
green on the comparison page and in a notebook, and no NaN, None or exponent reaches a reader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perflab import humanize

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BETTER",
    "LAYOUT",
    "NEUTRAL",
    "SEVERITY",
    "SEVERITY_ORDER",
    "STATUS",
    "WORSE",
    "fmt",
    "fmt_interval",
    "humanize_text",
    "count_axis",
    "error_bars",
    "layout",
    "log_ticks",
    "unit_label",
]

BETTER = "#1a7f37"
WORSE = "#b42318"
NEUTRAL = "#6b7280"
WARN = "#b7791f"
ACCENT = "#2d5bd3"
MISSING = "\u2014"  # what a reader sees for a value that is not there

#: target status -> colour (a status is a verdict: better/worse/undecided)
STATUS = {"pass": BETTER, "fail": WORSE, "inconclusive": WARN, "not_measured": NEUTRAL}
#: comparison verdict -> colour
VERDICT = {
    "improvement": BETTER,
    "regression": WORSE,
    "inconclusive": WARN,
    "unchanged": NEUTRAL,
    "same": NEUTRAL,
    "same plan": NEUTRAL,
}
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
SEVERITY = {
    "critical": "#7f1d1d",
    "high": WORSE,
    "medium": WARN,
    "low": "#2b6cb0",
    "info": NEUTRAL,
}

LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
    "margin": {"l": 60, "r": 30, "t": 60, "b": 50},
}


def layout(**overrides: Any) -> dict[str, Any]:
    """The shared chart layout with ``overrides`` merged in (margin merged key by key)."""
    out = {**LAYOUT, **overrides}
    if "margin" in overrides:
        out["margin"] = {**LAYOUT["margin"], **overrides["margin"]}
    return out


def log_ticks(values: Sequence[float], unit: str = "") -> dict[str, Any]:
    """Axis settings for a log axis labelled 1-2-5 in the data's range, every tick a full
    number with its magnitude ("50 ms", not a "5" next to a 50 ms marker)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v)) and v > 0]
    if not vals:
        return {"type": "log"}
    lo, hi = min(vals), max(vals)
    ticks = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            t = m * 10.0**e
            if lo / 2.5 <= t <= hi * 2.5:
                ticks.append(t)
    return {
        "type": "log",
        "tickvals": ticks,
        "ticktext": [fmt(t, unit) for t in ticks],
        "showgrid": True,
    }


def error_bars(frame: pd.DataFrame, col: str, lo: str, hi: str) -> dict[str, Any]:
    """Plotly asymmetric error bars from a value column and its interval's bounds; a bound
    on the wrong side or missing draws no whisker instead of a reversed or broken one."""
    v = frame[col].astype(float)
    return {
        "type": "data",
        "symmetric": False,
        "array": (frame[hi].astype(float) - v).clip(lower=0).fillna(0),
        "arrayminus": (v - frame[lo].astype(float)).clip(lower=0).fillna(0),
    }


def count_axis(largest: float, title: str = "") -> dict[str, Any]:
    """An axis of whole counts: integer ticks only (no 0.5 between 0 and 1), from 0."""
    step = max(1, math.ceil((largest or 1) / 8))
    return {"title": title, "tickformat": "d", "dtick": step, "rangemode": "tozero"}


# ----------------------------------------------------------------------------- numbers

#: the unit families a value can carry; durations and sizes choose their magnitude per value
_UNIT_LABELS = {
    "ms": "time",
    "us": "time",
    "s": "time",
    "bytes": "size",
    "kib": "size",
    "rows": "rows",
    "count": "count",
    "ops/s": "ops/s",
    "%": "%",
    "ratio": "×",
}


def unit_label(unit: str | None) -> str:
    """What a header says about its column's unit: "time" (each cell says µs/ms/s), "ops/s"."""
    return _UNIT_LABELS.get(unit or "", unit or "")


def _plain(v: float) -> str:
    """A bare number: integers with thousands separators, else 3 significant digits."""
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{round(v):,}" if abs(v) < 1e15 else humanize.count(v)
    return humanize._sig(float(v))


def _bytes(n: float) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{_plain(round(size)) if unit == 'B' else humanize._sig(size)} {unit}"
        size /= 1024
    return f"{humanize._sig(size)} TiB"


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return isinstance(v, float) and not math.isfinite(v)
    except TypeError:  # pragma: no cover
        return False


def fmt_with_unit(v: Any, unit: str | None) -> str:
    """:func:`fmt` with the unit written even where a header would carry it ("13.3k ops/s"),
    for a column that mixes units."""
    out = fmt(v, unit)
    if out != MISSING and unit in ("ops/s", "rows"):
        return f"{out} {unit}"
    return out


def fmt(v: Any, unit: str | None = None) -> str:
    """One value as a reader sees it, with its unit where it carries one.

    Units: "ms", "us", "s" (durations, shown in ns/µs/ms/s/min as the value needs),
    "bytes" (B/KiB/MiB), "rows" and "count" (391k), "ops/s" (13.3k), "%" , "ratio" (x1.08);
    None: a plain number (3 significant digits, never an exponent). Missing values are "—".
    """
    if _missing(v):
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return humanize_text(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, unit) for x in v) if v else MISSING
    try:
        x = float(v)
    except (TypeError, ValueError):
        return humanize_text(str(v))
    if not math.isfinite(x):
        return MISSING
    if unit in ("ms", "us", "s"):
        ms = x * {"ms": 1.0, "us": 1e-3, "s": 1e3}[unit]
        return humanize.duration_ms(ms)
    if unit in ("bytes", "kib"):
        return _bytes(x * (1024 if unit == "kib" else 1))
    if unit in ("rows", "count", "ops/s"):
        return humanize.count(x)
    if unit == "%":
        return f"{humanize._sig(x, 2) if abs(x) < 10 else f'{x:.0f}'}%"
    if unit == "ratio":
        return humanize.ratio(x)
    return _plain(x)


def fmt_interval(v: Any, lo: Any, hi: Any, unit: str | None = None) -> str:
    """A value with its interval, the bounds in the value's magnitude: "7.4 µs [7.2, 8.9]"."""
    head = fmt_with_unit(v, unit)
    if _missing(lo) or _missing(hi):
        return head
    if unit in ("ms", "us", "s") and not _missing(v):
        scale_ms = {"ms": 1.0, "us": 1e-3, "s": 1e3}[unit]
        sym = head.split(" ")[-1]
        per = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1e3, "min": 60e3}.get(sym)
        if per:
            a, b = (humanize._sig(float(x) * scale_ms / per) for x in (lo, hi))
            return f"{head} [{a}, {b}]"
    if unit in ("rows", "count", "ops/s"):
        return f"{fmt_with_unit(v, unit)} [{humanize.count(lo)}, {humanize.count(hi)}]"
    return f"{head} [{_plain(lo)}, {_plain(hi)}]"


# whole tokens only: "6e00" inside a commit hash such as 6e00de0 is not 6 x 10^0
_LONG_NUMBER = re.compile(
    r"(?<![\w.])-?\d+\.\d{4,}(?:[eE][-+]?\d+)?(?!\w|\.\d)"
    r"|(?<![\w.])-?\d+(?:\.\d+)?[eE][-+]?\d+(?!\w|\.\d)"
)
_MISSING_WORDS = re.compile(r"^(?:nan|NaN|None|<NA>|NaT|null)$")
#: a missing value inside a printed list or pair: "[11513, None]"
_MISSING_INSIDE = re.compile(
    r"(?<=[\[(,] )(?:nan|NaN|None)(?=[\]),])|(?<=[\[(])(?:nan|NaN|None)(?=,)"
)


def humanize_text(s: str) -> str:
    """Text with long floats and exponents rewritten to 3 significant digits
    ("[9611.016672, 1.885e+04]" -> "[9,611, 18,850]"); a bare NaN/None becomes "—"."""
    if _MISSING_WORDS.match(s.strip()):
        return MISSING
    s = _MISSING_INSIDE.sub(MISSING, s)
    return _LONG_NUMBER.sub(lambda m: _plain(float(m.group(0))), s)


def target_is_current(target: Mapping[str, Any]) -> bool:
    """A summary target gates its run (older summaries lack ``current``: only the label
    "current" gated then)."""
    return bool(target.get("current", str(target.get("milestone") or "current") == "current"))


def fmt_milestone(target: Mapping[str, Any]) -> str:
    """A summary target's milestone as the report shows it: its label, and for a later
    milestone's target that it is shown but not judged."""
    label = str(target.get("milestone") or "current")
    return label if target_is_current(target) else f"{label} (later: not judged)"
