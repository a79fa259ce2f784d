"""One number format for every table and headline: units, magnitudes per value, no NaN."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from perflab.present import tables, theme


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0074, "ms", "7.4 µs"),
        (50.0, "ms", "50 ms"),
        (1234.5, "ms", "1.23 s"),
        (391_300, "rows", "391k"),
        (13_278.065775, "ops/s", "13.3k"),
        (4096, "bytes", "4 KiB"),
        (1.0823, "ratio", "x1.08"),
        (18848.156813, None, "18,848"),
        (1.885e-5, None, "0.0000189"),
        (float("nan"), "ms", "\u2014"),
        (None, None, "\u2014"),
        (True, None, "yes"),
    ],
)
def test_fmt(value, unit, text):
    assert theme.fmt(value, unit) == text


def test_interval_bounds_share_the_values_magnitude():
    assert theme.fmt_interval(0.0074, 0.0072, 0.0089, "ms") == "7.4 µs [7.2, 8.9]"
    assert theme.fmt_interval(13_278.0, 9_611.0, 18_848.0, "ops/s") == "13.3k ops/s [9.61k, 18.8k]"
    assert theme.fmt_interval(3.0, None, 4.0, "ms") == "3 ms"


def test_text_loses_exponents_and_long_floats():
    assert theme.humanize_text("[9611.016672, 1.885e+04]") == "[9,611, 18,850]"
    assert theme.humanize_text("NaN") == "\u2014"
    assert theme.humanize_text("p99 1.5 ms, 3 rows") == "p99 1.5 ms, 3 rows"


def test_log_ticks_label_each_tick_with_its_magnitude():
    ax = theme.log_ticks([0.8, 50.0], "ms")
    assert 50.0 in ax["tickvals"]
    assert ax["ticktext"][ax["tickvals"].index(50.0)] == "50 ms"
    assert ax["ticktext"][ax["tickvals"].index(5.0)] == "5 ms"


def test_show_units_in_headers_values_per_magnitude_no_index_no_nan():
    df = pd.DataFrame(
        {
            "query": ["a", "b"],
            "p99": [0.0074, 52.0],
            "ops_per_s": [13_278.065775, math.nan],
            "rows": [391_300.0, None],
            "size_bytes": [4096, 2_500_000],
        },
        index=[7, 9],
    )
    t = tables.show(df.reset_index(drop=True))
    assert list(t.frame.columns) == ["query", "p99 (time)", "ops/s", "rows", "size"]
    assert t.frame.iloc[0].tolist() == ["a", "7.4 µs", "13.3k", "391k", "4 KiB"]
    assert t.frame.iloc[1].tolist() == ["b", "52 ms", "", "", "2.38 MiB"]
    html = t._repr_html_()
    for bad in ("NaN", "nan", "None", "e+0", ">0<", ">7<"):
        assert bad not in html
    assert '<th class="num">p99 (time)</th>' in html


def test_show_joins_intervals_and_overrides_units():
    df = pd.DataFrame({"w": ["x"], "rate": [13_278.0], "lo": [9_611.0], "hi": [18_848.0]})
    t = tables.show(df, units={"rate": "ops/s"}, intervals={"rate": ("lo", "hi")})
    assert list(t.frame.columns) == ["w", "rate (ops/s)"]
    assert t.frame.iloc[0, 1] == "13.3k ops/s [9.61k, 18.8k]"


def test_reformat_pandas_html_drops_the_range_index_and_formats():
    df = pd.DataFrame({"query": ["a"], "p99": [0.0074], "ops_per_s": [1.885e4], "x": [None]})
    html = tables.reformat_pandas_html(df._repr_html_())
    assert html is not None and "7.4 µs" in html and "18.9k" in html
    assert "<th></th>" not in html and ">0<" not in html and "None" not in html
    named = df.set_index("query")._repr_html_()
    assert "<td>a</td>" in tables.reformat_pandas_html(named)  # a named index is kept
    assert tables.reformat_pandas_html("<p>not a table</p>") is None


def test_backticks_become_code_and_are_escaped():
    t = tables.show(pd.DataFrame({"evidence": ["plan: `SCAN t` & <x>"]}))
    assert "<td>plan: <code>SCAN t</code> &amp; &lt;x&gt;</td>" in t.html
    assert "`" not in t.html


def test_bounds_named_after_their_value_join_its_cell_and_missing_in_lists_is_a_dash():
    df = pd.DataFrame({"p99": [0.5], "p99 lo": [0.4], "p99 hi": [0.7], "n": [3]})
    t = tables.show(df)
    assert list(t.frame.columns) == ["p99 (time)", "n"]
    assert t.frame.iloc[0, 0] == "500 µs [400, 700]"
    assert theme.humanize_text("[11513, None]") == "[11513, \u2014]"
    assert theme.humanize_text("None of them") == "None of them"


def test_views_tables_read_well():
    """Each summary view through show(): ratio with its interval, pairs bracketed."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from perflab.present import views
    from test_views import summary

    ba = tables.show(views.before_after(summary())).frame
    assert list(ba.columns) == [
        "query",
        "p50 before (time)",
        "p50 after (time)",
        "ratio (×)",
        "verdict",
    ]
    assert ba.iloc[0].tolist() == ["a", "2 ms", "1 ms", "x0.5 [0.4, 0.6]", "improvement"]
    tp = tables.show(views.throughput(summary())).frame
    assert tp["ci"].iloc[0] == "[35, 45]" and tp["ops/s"].iloc[0] == "40"


def test_a_commit_hash_is_not_read_as_a_number():
    """Hex like 6e00de0 holds "6e00", an exponent; only whole tokens are numbers."""
    from perflab.present.theme import humanize_text

    assert humanize_text("commit 6e00de0 at run 6") == "commit 6e00de0 at run 6"
    assert humanize_text("1.885e+04 and 3.14159265.") == "18,850 and 3.14."
