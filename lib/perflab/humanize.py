"""Numbers as people read them in claims: "391k rows", "6.4 µs", "x1.08".

Claims are sentences for a performance engineer, not dumps of floats: "predicted limit
1.73e+05 rows" reads as noise, "173k rows" as a size. Three significant digits at most;
no perflab imports (a base module).
"""

from __future__ import annotations

import math

__all__ = ["count", "duration_ms", "number", "ratio", "rows"]

_COUNT_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _sig(v: float, digits: int = 3) -> str:
    """`v` to `digits` significant digits, trailing zeros dropped, no exponent."""
    if v == 0:
        return "0"
    places = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    s = f"{v:.{places}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def number(v: float | None, digits: int = 4) -> str:
    """A plain number to ``digits`` significant digits, never an exponent: 4e-05 -> "0.00004"."""
    if v is None or not math.isfinite(v):
        return "n/a"
    return _sig(float(v), digits)


def count(n: float | None) -> str:
    """A count with k/M/G/T: 999 -> "999", 1234 -> "1.23k", 391_300 -> "391k"."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "n/a"
    sign, a = ("-" if n < 0 else ""), abs(n)
    for scale, unit in _COUNT_UNITS:
        shown = _sig(a / scale)  # rounded first, so 999,999 reads "1M", not "1000k"
        if float(shown) >= 1:
            return sign + shown + unit
    return sign + (_sig(a) if a != int(a) else str(int(a)))


def rows(n: float | None) -> str:
    """ "391k rows"; one row is "1 row"."""
    return "1 row" if n == 1 else f"{count(n)} rows"


def duration_ms(ms: float | None) -> str:
    """A duration given in milliseconds, in ns, µs, ms, s or min: 0.0064 -> "6.4 µs"."""
    if ms is None or not math.isfinite(ms):
        return "n/a"
    a = abs(ms)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{_sig(ms * 1e6)} ns"
    if a < 1:
        return f"{_sig(ms * 1e3)} µs"
    if a < 1e3:
        return f"{_sig(ms)} ms"
    if a < 60e3:
        return f"{_sig(ms / 1e3)} s"
    return f"{_sig(ms / 60e3)} min"


def ratio(r: float | None) -> str:
    """A growth factor: 1.0823 -> "x1.08", 15.62 -> "x15.6"."""
    if r is None or not math.isfinite(r):
        return "n/a"
    return "x" + _sig(r)
