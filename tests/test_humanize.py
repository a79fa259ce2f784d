"""Human numbers in claims: counts with k/M, durations in µs/ms/s, growth factors."""

from __future__ import annotations

import pytest
from perflab import humanize


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.23k"),
        (391_300, "391k"),
        (3.913e5, "391k"),
        (173_000.4, "173k"),
        (999_999, "1M"),  # rounded before the unit is chosen: not "1000k"
        (2_500_000, "2.5M"),
        (12.5, "12.5"),
        (-4200, "-4.2k"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_count(n, text):
    assert humanize.count(n) == text


def test_rows():
    assert humanize.rows(1) == "1 row"
    assert humanize.rows(391_300) == "391k rows"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0.0000123, "12.3 ns"),
        (0.0059, "5.9 µs"),
        (0.0064, "6.4 µs"),
        (0.5, "500 µs"),
        (12.34, "12.3 ms"),
        (50.0, "50 ms"),
        (1500.0, "1.5 s"),
        (90_000.0, "1.5 min"),
        (None, "n/a"),
    ],
)
def test_duration_ms(ms, text):
    assert humanize.duration_ms(ms) == text


def test_ratio():
    assert humanize.ratio(1.0823) == "x1.08"
    assert humanize.ratio(15.62) == "x15.6"
    assert humanize.ratio(None) == "n/a"


@pytest.mark.parametrize(
    ("v", "text"), [(4e-05, "0.00004"), (0.2412345, "0.2412"), (13278.07, "13278"), (None, "n/a")]
)
def test_number_never_uses_an_exponent(v, text):
    assert humanize.number(v) == text
