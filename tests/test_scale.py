"""Scale sweep: sizes, regimes, and growth fits on small schemas built in the test."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from perflab import scale
from perflab.targets import Target, Targets
from perflab.workload import ParamSpec, QuerySpec, Workload


def test_scaled_rows_keep_shape_and_at_least_one_row():
    rows = scale.scaled_rows({"a": 1000, "b": 10, "c": 0}, 0.01)
    assert rows == {"a": 10, "b": 1, "c": 0}


def test_sweep_scales_names_encode_rows_and_sort_small_first():
    @dataclass
    class Spec:
        scales: dict

    out = scale.sweep_scales(Spec({"q": {"t": 4000, "u": 40}}), "q", [1.0, 0.25, 0.5])
    assert list(out) == ["sweep_1000", "sweep_2000", "sweep_4000"]
    assert out["sweep_1000"] == {"t": 1000, "u": 10}


def test_regime_follows_db_size_against_cache_and_ram():
    assert scale.regime(1_000, 2_048_000, 10**10) == "page cache"
    assert scale.regime(10**7, 2_048_000, 10**10) == "OS cache"
    assert scale.regime(10**10, 2_048_000, 10**10) == "disk"


def test_page_cache_bytes_reads_both_cache_size_forms():
    c = sqlite3.connect(":memory:")
    c.execute("PRAGMA cache_size = -2000")
    assert scale.page_cache_bytes(c) == 2000 * 1024
    c.execute("PRAGMA cache_size = 100")
    assert scale.page_cache_bytes(c) == 100 * c.execute("PRAGMA page_size").fetchone()[0]


def test_main_table_is_the_first_from():
    assert scale.main_table('SELECT * FROM "my t" WHERE x = 1') == "my t"
    assert scale.main_table("select id from items join b") == "items"
    assert scale.main_table("SELECT 1") is None


@dataclass
class _Build:
    path: Path
    scale: str


def _db(path: Path, n: int) -> _Build:
    c = sqlite3.connect(path)
    c.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER, pad TEXT);CREATE INDEX t_g ON t(g);"
    )
    c.executemany("INSERT INTO t (g, pad) VALUES (?, ?)", [(i % 7, "x" * 20) for i in range(n)])
    c.commit()
    c.close()
    return _Build(path, f"sweep_{n}")


WL = Workload(
    "w",
    (
        QuerySpec(
            "by_id", "SELECT * FROM t WHERE id = ?", (ParamSpec("sample", "SELECT id FROM t"),)
        ),
        QuerySpec("full_scan", "SELECT count(*) FROM t WHERE pad LIKE '%y%'"),
    ),
)


def test_measure_and_fit_tell_a_scan_from_a_lookup(tmp_path):
    # 5 sizes over 2.4 decades: with only 4, AICc's small-sample penalty lets the constant
    # model win on a 100x curve whenever load bends one point (seen under xdist load)
    sizes = (1000, 4000, 16000, 64000, 256000)
    builds = [_db(tmp_path / f"d{n}.db", n) for n in sizes]
    frame = scale.measure_sweep(builds, WL, iterations=60, warmup=5, rounds=2, max_seconds=None)
    assert set(frame["query"]) == {"by_id", "full_scan"}
    assert list(frame[frame["query"] == "by_id"]["n"]) == list(sizes)
    assert {"regime", "db_bytes", "cache_bytes", "round_spread_pct"} <= set(frame.columns)
    targets = Targets((Target("latency_p99_ms", "<", 1000.0, query="full_scan"),))
    fits = scale.fit_sweep(frame, targets).set_index("query")
    # a full scan over 256x more rows is far from constant; a rowid lookup grows little
    assert fits.loc["full_scan", "model"] in ("O(n)", "O(n log n)")
    # a lookup's few microseconds are at the mercy of machine load, so its class is not
    # asserted (test_stats covers class recovery on synthetic curves); its growth is
    lookup = frame[frame["query"] == "by_id"].set_index("n")["p50"]
    scan = frame[frame["query"] == "full_scan"].set_index("n")["p50"]
    assert lookup[sizes[-1]] / lookup[sizes[0]] < 5 < 50 < scan[sizes[-1]] / scan[sizes[0]]
    assert fits.loc["full_scan", "limit_rows"] > 256000  # 1 s at ~10 ms per 256k rows
    rec = scale.scale_records(frame, fits, factors=[1, 2, 3, 4], base_scale="x")
    assert len(rec["fits"]) == 2 and "fit_p50" in rec["fits"][0]


def test_fit_uses_one_regime_when_it_has_enough_points():
    n = np.array([100, 200, 400, 800, 1600, 3200])
    frame = pd.DataFrame(
        {
            "query": "q",
            "table": "t",
            "n": n,
            "regime": ["page cache", "page cache", "OS cache", "OS cache", "OS cache", "OS cache"],
            "p50": 0.01 * n / 100,
            "p99": 0.02 * n / 100,
        }
    )
    f = scale.fit_sweep(frame).iloc[0]
    assert f["fit_regime"] == "OS cache" and f["points"] == 4 and not f["spans_regimes"]
    assert f["model"] == "O(n)"
    frame["regime"] = ["page cache"] * 3 + ["OS cache"] * 3
    f = scale.fit_sweep(frame).iloc[0]
    assert f["spans_regimes"] and f["points"] == 6  # no regime has 4: all points, flagged


def test_too_few_sizes_is_reported_not_fitted():
    frame = pd.DataFrame(
        {
            "query": "q",
            "table": "t",
            "n": [1, 2, 3],
            "regime": "OS cache",
            "p50": [1.0, 2.0, 3.0],
            "p99": [1.0, 2.0, 3.0],
        }
    )
    f = scale.fit_sweep(frame).iloc[0]
    assert f["model"] is None and "at least 4" in f["error"]


@pytest.mark.parametrize("profile", ["tiny", "quick", "full"])
def test_default_factors_have_enough_sizes(profile):
    assert len(scale.DEFAULT_FACTORS[profile]) >= 5 and max(scale.DEFAULT_FACTORS[profile]) == 1
