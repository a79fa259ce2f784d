"""DataFrames as tables for people: units in headers, magnitudes per value, no index, no NaN.

``show(frame, units={...})`` returns a :class:`Table` that notebooks display (it has
``_repr_html_``) and pages embed (``.html``). Units not given are inferred from column names
(``p99``, ``gain_ms``, ``ops_per_s``, ``size_bytes``...), so ``show(views.benchmarks(s))``
already reads "7.4 µs". :func:`reformat_pandas_html` applies the same layer to a table pandas
already rendered (an executed notebook's output), which is how exported pages stay consistent
with notebooks that still display raw frames.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from perflab.present import theme

__all__ = [
    "Table",
    "header",
    "infer_unit",
    "prose_html",
    "record",
    "reformat_pandas_html",
    "show",
]

_DURATION = re.compile(r"(^|[ _])(p50|p95|p99|p999|min|max|mean|median)($|[ _])|_ms$| ms$|\bms\b")
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(_us|\bus|µs)$"), "us"),
    (re.compile(r"ops_per_s|ops/s|per_s$|/s\b"), "ops/s"),
    (re.compile(r"(_s|\bseconds?)$"), "s"),
    (re.compile(r"bytes$"), "bytes"),
    (re.compile(r"kib$"), "kib"),
    (re.compile(r"(^|[ _])%$|share|percent|_pct$"), "%"),
    (re.compile(r"(^|[ _])(ratio|x)$|/ target$"), "ratio"),
    (re.compile(r"(^|[ _])rows($|[ _])|^n_(min|max)$|limit_rows"), "rows"),
    (
        re.compile(
            r"(^|[ _])(calls|uses|pages|executions|count|full_scans|temp_btrees|readers"
            r"|iterations|violations|batch_size|statements)$"
        ),
        "count",
    ),
)
_SUFFIX = re.compile(r"(_ms| ms|_us| us|_bytes| bytes|_kib| kib|_pct| %)$")


def infer_unit(column: str) -> str | None:
    """The unit a column name implies, or None (a plain value)."""
    name = str(column).strip().lower()
    for pattern, unit in _RULES:
        if pattern.search(name):
            return unit
    if _DURATION.search(name) or name.startswith("target p") or "claimed p" in name:
        return "ms"
    return None


def header(column: str, unit: str | None) -> str:
    """The header a reader sees: name without its unit suffix, the unit in brackets."""
    name = _SUFFIX.sub("", str(column)).replace("_per_s", "/s").replace("_", " ").strip()
    label = theme.unit_label(unit)
    if not label or label == name or name.endswith(label):
        return name
    if name.endswith(")"):  # "claimed p99 (reference)" -> "claimed p99 (reference, time)"
        return f"{name[:-1]}, {label})"
    return f"{name} ({label})"


_CODE = re.compile(r"`([^`]+)`")
#: beyond this many columns a table's numbers may wrap (in a smaller font) rather than
#: make the page scroll sideways at 1400 px
WIDE_COLUMNS = 12


def prose_html(text: str) -> str:
    """Escaped text with `backtick` spans as <code> (evidence quotes plan lines that way)."""
    return _CODE.sub(r"<code>\1</code>", escape(text))


def _cell_html(text: str) -> str:
    """A text cell: prose, with a line-break chance after each "_" so a narrow column
    breaks ``memory_by_namespace_key`` between words, not inside them."""
    return prose_html(text).replace("_", "_<wbr>")


@dataclass(frozen=True)
class Table:
    """A formatted table: ``frame`` holds the cell texts, ``html`` the page fragment."""

    frame: pd.DataFrame
    numeric: tuple[bool, ...]
    caption: str = ""

    @property
    def html(self) -> str:
        heads = "".join(
            f'<th class="num">{escape(str(c))}</th>' if n else f"<th>{escape(str(c))}</th>"
            for c, n in zip(self.frame.columns, self.numeric, strict=True)
        )
        body = []
        for row in self.frame.itertuples(index=False):
            cells = "".join(
                f'<td class="num">{escape(v)}</td>' if n else f"<td>{_cell_html(v)}</td>"
                for v, n in zip(row, self.numeric, strict=True)
            )
            body.append(f"<tr>{cells}</tr>")
        cap = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        wide = " wide" if len(self.frame.columns) > WIDE_COLUMNS else ""
        return (
            f'<table class="perflab-table{wide}">{cap}<thead><tr>{heads}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        style = (
            "<style>.perflab-table td.num,.perflab-table th.num{text-align:right;"
            "font-variant-numeric:tabular-nums}.perflab-table td.num{white-space:nowrap}"
            ".perflab-table td{overflow-wrap:break-word}"
            ".perflab-table.wide{font-size:12px}.perflab-table.wide td.num{white-space:normal}"
            ".perflab-table.wide td,.perflab-table.wide th{padding:3px 4px}"
            "</style>"
        )
        return style + self.html

    def __len__(self) -> int:
        return len(self.frame)


def _cell(v: Any, unit: str | None) -> str:
    if _is_pair(v):  # an interval kept as a pair: "[35, 45]"
        return "" if None in v else f"[{theme.fmt(v[0], unit)}, {theme.fmt(v[1], unit)}]"
    out = theme.fmt(v, unit)
    return "" if out == theme.MISSING else out


def show(
    frame: pd.DataFrame,
    units: Mapping[str, str | None] | None = None,
    *,
    intervals: Mapping[str, tuple[str, str]] | None = None,
    caption: str = "",
) -> Table:
    """``frame`` formatted for a reader; ``units`` overrides what column names imply.

    ``intervals`` joins bound columns into their value's cell: ``{"ops_per_s": ("lo", "hi")}``
    gives "13.3k [12.1k, 14.2k]" and drops lo and hi. Missing values read as an empty cell.
    """
    units = dict(units or {})
    intervals = {**_paired_bounds(frame), **dict(intervals or {})}
    frame = (
        frame.reset_index(drop=True)
        if isinstance(frame.index, pd.RangeIndex)
        else (frame.reset_index())
    )
    bounds = {b for pair in intervals.values() for b in pair}
    cols, numeric, data = [], [], {}
    for c in frame.columns:
        if c in bounds:
            continue
        unit = units[c] if c in units else infer_unit(c)
        values = frame[c].tolist()
        is_num = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
            frame[c]
        )
        if c in intervals:
            lo, hi = intervals[c]
            texts = [
                theme.fmt_interval(v, a, b, unit)
                for v, a, b in zip(values, frame[lo], frame[hi], strict=True)
            ]
            texts = ["" if t == theme.MISSING else t for t in texts]
        else:
            texts = [_cell(v, unit if is_num or _is_pair(v) else None) for v in values]
        h = header(
            c, unit if (is_num or c in intervals or any(_is_pair(v) for v in values)) else None
        )
        cols.append(h)
        numeric.append(bool(is_num or c in intervals))
        data[h] = texts
    return Table(pd.DataFrame(data, columns=cols), tuple(numeric), caption)


def record(values: Any, units: Mapping[str, str | None] | None = None, caption: str = "") -> Table:
    """A mapping or a dataclass (settings, one measured record) as a two-column table, each
    value in the unit its key implies (or ``units`` gives), written out since the column
    mixes units."""
    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = dataclasses.asdict(values)
    units = dict(units or {})
    names, texts = [], []
    for k, v in values.items():
        unit = units[k] if k in units else infer_unit(k)
        names.append(header(k, None))
        out = theme.fmt_with_unit(v, unit) if not _is_pair(v) else _cell(v, unit)
        texts.append("" if out == theme.MISSING else out)
    return Table(pd.DataFrame({"name": names, "value": texts}), (False, True), caption)


def _paired_bounds(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Bound columns named after their value (``p99`` with ``p99_lo``/``p99 hi``), joined
    into the value's cell so a wide table loses two columns per interval."""
    out = {}
    cols = set(map(str, frame.columns))
    names = [str(c) for c in frame.columns]
    if {"ci_lo", "ci_hi"} <= cols and names.index("ci_lo") > 0:  # bounds of the column before
        out[names[names.index("ci_lo") - 1]] = ("ci_lo", "ci_hi")
    for c in frame.columns:
        for sep in ("_", " "):
            lo, hi = f"{c}{sep}lo", f"{c}{sep}hi"
            if lo in cols and hi in cols:
                out[c] = (lo, hi)
    return out


def _is_pair(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 2


# ------------------------------------------------------------------ executed notebooks

_NUMBER = re.compile(r"^-?[\d,]*\.?\d+(?:[eE][-+]?\d+)?$")


def _parse_pandas_table(html: str) -> pd.DataFrame | None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    tables = soup.find_all("table", class_="dataframe")
    if len(tables) != 1:
        return None
    t = tables[0]
    head_rows = t.find("thead").find_all("tr") if t.find("thead") else []
    if not head_rows:
        return None
    columns = [th.get_text(strip=True) for th in head_rows[0].find_all("th")]
    index_name = ""
    if len(head_rows) > 1:  # a named index: its name sits alone in the second header row
        index_name = head_rows[1].find("th").get_text(strip=True) if head_rows[1].find("th") else ""
    rows = []
    for tr in t.find("tbody").find_all("tr") if t.find("tbody") else []:
        rows.append([c.get_text(strip=True) for c in tr.find_all(["th", "td"])])
    if not rows or any(len(r) != len(columns) for r in rows):
        return None
    df = pd.DataFrame(rows, columns=[index_name or "_index", *columns[1:]])
    idx = df["_index"] if "_index" in df.columns else None
    if idx is not None and list(idx) == [str(i) for i in range(len(df))]:
        df = df.drop(columns="_index")  # a 0..n-1 RangeIndex carries nothing
    elif idx is not None:
        df = df.rename(columns={"_index": ""})
    df = df.replace({"True": "yes", "False": "no"})
    for c in df.columns:
        s = df[c]
        if (
            len(s)
            and s.map(
                lambda x: x in ("", "NaN", "nan", "None", "<NA>") or bool(_NUMBER.match(x))
            ).all()
        ):
            num = pd.to_numeric(s.str.replace(",", ""), errors="coerce")
            if num.notna().any():
                df[c] = num
    return df


def reformat_pandas_html(html: str) -> str | None:
    """A pandas-rendered table (``DataFrame._repr_html_``) re-rendered through :func:`show`;
    None when ``html`` is not one plain pandas table (then it is left as it is)."""
    if 'class="dataframe"' not in html:
        return None
    df = _parse_pandas_table(html)
    if df is None:
        return None
    return show(df)._repr_html_()
