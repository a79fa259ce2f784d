"""Views and figures show the values they are given, in the right place.

Every input carries distinct numbers (p50 1, p95 2, p99 3, ...), so a column or a
trace that shows the wrong field (p50 as p99, lo as hi) gives a wrong value here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from perflab.inputs.targets import Target, Targets
from perflab.measure.timing import Samples
from perflab.present import figures, index_figures, perf_figures, theme, views
from perflab.sqlite.plans import PlanNode


def arr(v) -> list[float]:
    return [float(x) for x in np.asarray(v, dtype=float)]


def lat(base: float) -> dict:
    return {
        "p50": base + 1,
        "p95": base + 2,
        "p99": base + 3,
        "p999": base + 4,
        "max": base + 5,
        "mean": base + 6,
        "min": base + 0.5,
    }


def summary() -> dict:
    return {
        "workload": {"name": "w"},
        "database": {"scale": "tiny", "tables": {"t": 1000, "u": 234}},
        "sqlite_version": "3.40.1",
        "profile": "tiny",
        "queries": [
            {
                "name": "a",
                "latency_ms": lat(0),
                "ops_per_s": 111.0,
                "rows": {"mean": 7.0},
                "target_ms": 50.0,
                "reference_ms": 0.11,
                "plan_classification": {
                    "kinds": ["search_index"],
                    "uses_index": True,
                    "full_scans": 0,
                    "temp_btrees": 1,
                },
            },
            {
                "name": "b",
                "latency_ms": lat(10),
                "ops_per_s": 222.0,
                "rows": {"mean": 9.0},
                "target_ms": 20.0,
                "plan_classification": {
                    "kinds": ["scan_table"],
                    "uses_index": False,
                    "full_scans": 1,
                    "temp_btrees": 0,
                },
            },
        ],
        "targets": [
            {
                "metric": "latency_p99_ms",
                "subject": "a",
                "comparator": "<",
                "threshold": 50.0,
                "milestone": "current",
                "status": "pass",
                "value": 3.0,
                "ci": [2.5, 3.5],
                "reference": 0.11,
            },
            {
                "metric": "ops_per_s",
                "subject": "w1",
                "comparator": ">",
                "threshold": 30.0,
                "milestone": "current",
                "status": "inconclusive",
                "value": 40.0,
                "ci": [None, None],
                "reference": None,
            },
            {
                "metric": "total_ms",
                "subject": "cr",
                "comparator": "<",
                "threshold": 2.0,
                "milestone": "current",
                "status": "not_measured",
                "value": None,
                "ci": [None, None],
            },
        ],
        "verdict": {
            "targets_passed": 1,
            "targets_failed": 0,
            "targets_inconclusive": 1,
            "targets_not_measured": 1,
            "issues_by_severity": {"critical": 0, "high": 0, "medium": 2, "low": 1},
        },
        "decision": {
            "decision": "APPROVED WITH CONDITIONS",
            "reasons": ["2 high or medium issue(s) to resolve"],
            "conditions": ["I001: x", "I002: y"],
        },
        "issues": [
            {"id": "I001", "severity": "medium", "title": "target inconclusive: w1"},
            {"id": "I002", "severity": "medium", "title": "target not measured: cr"},
            {"id": "I003", "severity": "low", "title": "index t_x unused"},
        ],
        "indexes": {
            "inventory": [
                {"index": "t_x", "table": "t", "columns": "x", "size_bytes": 4096, "uses": 0},
                {"index": "t_y", "table": "t", "columns": "y", "size_bytes": 8192, "uses": 2},
            ],
            "health": [{"index": "t_x", "issue": "unused"}],
        },
        "advice": {
            "recommended": ["CREATE INDEX i ON t(z)"],
            "candidates": [
                {
                    "ddl": "CREATE INDEX i ON t(z)",
                    "action": "create",
                    "why": "w",
                    "gain_ms": 1.5,
                    "insert_us": 2.5,
                    "size_bytes": 3.5,
                },
                {"ddl": "CREATE INDEX j ON t(q)", "action": "create", "gain_ms": 9.0},
            ],
            "query_rewrites": [
                {
                    "query": "b",
                    "fix": "SELECT 1",
                    "diagnostic": "like_collation",
                    "equivalent": "yes",
                    "p50_before_ms": 4.0,
                    "p50_after_ms": 1.0,
                }
            ],
            "before_after": [
                {
                    "query": "a",
                    "p50_before_ms": 2.0,
                    "p50_after_ms": 1.0,
                    "ratio": 0.5,
                    "ci_lo": 0.4,
                    "ci_hi": 0.6,
                    "verdict": "improvement",
                    "plan_before": "SCAN",
                }
            ],
        },
        "throughput": {
            "writes": [
                {
                    "write": "w1",
                    "batch_size": 1,
                    "ops_per_s": 40.0,
                    "ops_per_s_ci": [35.0, 45.0],
                    "op_latency_ms": {"p50": 0.1, "p99": 0.9},
                    "status": "ok",
                }
            ]
        },
        "scale": {
            "points": [
                {"query": "a", "n": 1000, "p50": 1.0, "p99": 3.0},
                {"query": "a", "n": 100, "p50": 0.5, "p99": 2.0},
            ],
            "fits": [
                {
                    "query": "a",
                    "model": "O(n^2)",
                    "claim": "flat",
                    "claim_text": "flat: x1.02 with constant work",
                    "n_min": 100,
                    "n_max": 1000,
                }
            ],
        },
        "integrity": {
            "integrity_ok": True,
            "integrity_problems": [],
            "foreign_keys_ok": False,
            "foreign_key_violations": 3,
            "pragma_audit": [
                {
                    "pragma": "synchronous",
                    "value": "OFF",
                    "status": "risk",
                    "recommendation": "NORMAL",
                    "why": "durability",
                }
            ],
        },
    }


# ------------------------------------------------------------------ tables


def test_benchmarks_columns_carry_their_own_percentile():
    df = views.benchmarks(summary()).set_index("query")
    for name, base in (("a", 0), ("b", 10)):
        row = df.loc[name]
        assert [row[k] for k in ("p50", "p95", "p99", "p999", "max")] == [
            base + 1,
            base + 2,
            base + 3,
            base + 4,
            base + 5,
        ]
    assert df.loc["a", "ops_per_s"] == 111.0 and df.loc["b", "rows"] == 9.0
    assert df.loc["a", "target p99"] == 50.0 and df.loc["a", "claimed p99 (reference)"] == 0.11
    assert df.loc["b", "plan"] == "scan_table"


def test_quick_reference_shows_value_interval_threshold_status():
    df = views.quick_reference(summary())
    # each value in its metric's unit, the interval in the value's magnitude
    assert list(df["measured"]) == ["3 ms [2.5, 3.5]", "40 ops/s", "—"]
    assert list(df["target"]) == ["< 50 ms", "> 30 ops/s", "< 2 ms"]
    assert list(df["status"]) == ["pass", "inconclusive", "not measured"]
    assert list(df["original's claim"]) == ["110 µs", "—", "—"]


def test_executive_summary_states_the_decision_and_the_counts():
    md = views.executive_summary(summary())
    assert "## Decision: **APPROVED WITH CONDITIONS**" in md
    assert "1.23k rows" in md
    assert "1 pass, 0 fail, 1 inconclusive, 1 not measured" in md
    assert "medium 2, low 1." in md
    assert "**medium** I001: target inconclusive: w1" in md and "I003" not in md
    assert "2 condition(s)" in md


def test_index_validation_counts_what_was_measured():
    claims = (("indexes", "39"), ("full_scans", "0"))
    df = views.index_validation(summary(), claims).set_index("check")
    m = df["measured"]
    assert list(m) == [2, "1 of 2", 1, 1, 1]
    assert list(df["claimed"])[:2] == ["39", "—"]


def test_bottlenecks_rank_by_p99_over_target():
    df = views.bottlenecks(summary())
    # a: 3 / 50 = 0.06; b: 13 / 20 = 0.65
    assert list(df["query"]) == ["b", "a"]
    assert list(df["p99 / target"]) == pytest.approx([13 / 20, 3 / 50])


def test_configuration_rows():
    df = views.configuration(summary()).set_index("check")
    assert df.loc["integrity_check", "status"] == "ok"
    assert df.loc["foreign_key_check", "value"] == "3 violations"
    assert df.loc["foreign_key_check", "status"] == "risk"
    assert df.loc["synchronous", "recommendation"] == "NORMAL"


def test_recommendations_before_after_inventory_throughput_scale_fits():
    rec = views.recommendations(summary())
    assert list(rec["change"]) == ["CREATE INDEX i ON t(z)", "b: SELECT 1"]  # j not recommended
    assert list(rec["gain_ms"]) == [1.5, 3.0]
    assert rec["insert_us"].iloc[0] == 2.5 and rec["size_bytes"].iloc[0] == 3.5
    ba = views.before_after(summary())
    assert list(ba.columns) == [
        "query",
        "p50_before_ms",
        "p50_after_ms",
        "ratio",
        "ci_lo",
        "ci_hi",
        "verdict",
    ]
    assert list(ba.iloc[0]) == ["a", 2.0, 1.0, 0.5, 0.4, 0.6, "improvement"]
    inv = views.inventory(summary())
    assert list(inv["size_bytes"]) == [4096, 8192] and list(inv["uses"]) == [0, 2]
    tp = views.throughput(summary()).iloc[0]
    assert tp["ops_per_s"] == 40.0 and tp["ci"] == [35.0, 45.0] and tp["p99_ms"] == 0.9
    fits = views.scale_fits(summary())
    # The claim leads; the bare fitted class is shown after it, never as the headline.
    assert list(fits.columns) == ["query", "claim", "claim_text", "model", "n_min", "n_max"]
    assert list(fits.iloc[0][["claim", "model"]]) == ["flat", "O(n^2)"]


# ------------------------------------------------------------------ summary figures


def test_measured_vs_target_is_one_ratio_axis_anchored_at_the_target():
    fig = views.measured_vs_target(summary())
    (measured,) = fig.data
    # latency 3 ms against < 50 ms: 0.06; throughput 40 against > 30 ops/s: 30/40 (good side)
    assert arr(measured.x) == pytest.approx([3 / 50, 30 / 40])  # the unmeasured has no point
    assert list(measured.y) == ["a · latency_p99_ms", "w1 · ops_per_s"]
    assert list(measured.marker.color) == [theme.BETTER, theme.WARN]
    assert "measured 3 ms, target < 50 ms" in measured.text[0]
    assert "110" not in fig.layout.title.text and fig.layout.xaxis.type == "log"


def test_percentile_profile_is_each_querys_percentiles_in_order():
    fig = views.percentile_profile(summary())
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[0].x) == ["p50", "p95", "p99", "p999", "max"]
    assert arr(fig.data[0].y) == [1, 2, 3, 4, 5]
    assert arr(fig.data[1].y) == [11, 12, 13, 14, 15]


def test_index_coverage_and_scale_curves_views():
    fig = views.index_coverage(summary())
    assert arr(fig.data[0].x) == [0, 2] and list(fig.data[0].y) == ["t_x", "t_y"]
    assert list(fig.data[0].marker.color) == [theme.WORSE, theme.ACCENT]
    assert "red" in fig.layout.title.text and fig.layout.xaxis.tickformat == "d"
    s = summary()
    s["indexes"]["inventory"][0]["uses"] = 1
    assert "red" not in views.index_coverage(s).layout.title.text  # no red bar, no red promise
    fig = views.scale_curves(summary())
    assert arr(fig.data[0].x) == [100, 1000] and arr(fig.data[0].y) == [2.0, 3.0]  # p99


# ------------------------------------------------------------------ notebook figures


def test_latency_distribution_is_the_samples_in_ms():
    s = Samples(np.array([1_000_000, 3_000_000, 2_000_000]), np.ones(3, dtype=int), 0)
    fig = figures.latency_distribution({"q": s})
    assert arr(fig.data[0].x) == [1.0, 3.0, 2.0] and fig.data[0].name == "q"
    big = Samples(np.arange(1, 10_001) * 1000, np.ones(10_000, dtype=int), 0)
    x = arr(figures.latency_distribution({"q": big}, max_points=101).data[0].x)
    assert len(x) == 101 and x[0] == 0.001 and x[-1] == 10.0 and x[50] == pytest.approx(5.0005)


def test_percentiles_vs_target_bars_and_target_marker():
    frame = pd.DataFrame({"query": ["a", "b"], "p50": [1, 11], "p95": [2, 12], "p99": [3, 13]})
    t = Targets((Target("latency_p99_ms", "<", 50, query="b"),))
    fig = figures.percentiles_vs_target(frame, t)
    assert [d.name for d in fig.data] == ["p50", "p95", "p99", "p99 target"]
    assert [arr(d.x) for d in fig.data[:3]] == [[1, 11], [2, 12], [3, 13]]
    assert arr(fig.data[3].x) == [50] and list(fig.data[3].y) == ["b"]
    ax = fig.layout.xaxis  # the 50 ms marker sits on a tick labelled "50 ms", not "5"
    assert ax.ticktext[list(ax.tickvals).index(50)] == "50 ms"
    assert "5" not in ax.ticktext and "red line" in fig.layout.title.text
    assert "red" not in figures.percentiles_vs_target(frame, None).layout.title.text


def test_plan_kinds_counts_steps_per_kind():
    plans = {
        "a": [PlanNode(1, 0, "SCAN t", "scan_table"), PlanNode(2, 0, "x", "temp_btree")],
        "b": [PlanNode(1, 0, "x", "temp_btree"), PlanNode(2, 0, "y", "temp_btree")],
    }
    t = figures.plan_kinds(plans)  # a table: a 0/1 grid per query repeated the plan table
    assert t.frame.to_dict("records") == [
        {"plan step kind": "scan_table", "steps (count)": "1", "queries": "a"},
        {"plan step kind": "temp_btree", "steps (count)": "3", "queries": "a, b"},
    ]
    assert "<table" in t._repr_html_()


def test_write_throughput_and_pragma_sweep_bars_with_their_intervals():
    frame = pd.DataFrame(
        {
            "write": ["w1", "w2", "w3"],
            "batch_size": [1, 1, 1],
            "ops_per_s": [100.0, 50.0, 7.0],
            "ops_per_s_lo": [90.0, 40.0, 1.0],
            "ops_per_s_hi": [120.0, 55.0, 9.0],
            "status": ["ok", "ok", "failed"],
            "journal_mode": ["wal", "delete", "wal"],
            "synchronous": ["NORMAL", "FULL", "OFF"],
        }
    )
    t = Targets((Target("ops_per_s", ">", 30, operation="w2"),))
    fig = perf_figures.write_throughput(frame, t)
    bar = fig.data[0]
    assert list(bar.x) == ["w1", "w2"]  # the failed write is not drawn as a figure
    assert arr(bar.y) == [100.0, 50.0]
    assert arr(bar.error_y.array) == [20.0, 5.0] and arr(bar.error_y.arrayminus) == [10.0, 10.0]
    assert arr(fig.data[1].y) == [30] and list(fig.data[1].x) == ["w2"]
    sweep = perf_figures.pragma_sweep(frame).data
    assert [list(d.x) for d in sweep] == [["wal / NORMAL"], ["delete / FULL"]]
    assert [arr(d.y) for d in sweep] == [[100.0], [50.0]]


def test_reader_scaling_and_wal_growth():
    frame = pd.DataFrame(
        {
            "mode": ["thread", "thread"],
            "writer": [False, False],
            "readers": [1, 4],
            "reads_per_s": [1000.0, 3000.0],
            "reads_per_s_lo": [900.0, 2500.0],
            "reads_per_s_hi": [1100.0, 3600.0],
            "p99_ms": [0.1, 0.7],
        }
    )
    rate, p99 = perf_figures.reader_scaling(frame).data
    assert arr(rate.x) == [1, 4] and arr(rate.y) == [1000.0, 3000.0]
    assert arr(rate.error_y.array) == [100.0, 600.0]
    assert arr(p99.y) == [0.1, 0.7]
    recs = [
        {
            "writer": False,
            "mode": "thread",
            "readers": 1,
            "wal": {"series": [{"t_s": 0, "bytes": 1}]},
        },
        {
            "writer": True,
            "mode": "process",
            "readers": 2,
            "wal": {"series": [{"t_s": 0.0, "bytes": 0}, {"t_s": 0.5, "bytes": 2048}]},
        },
    ]
    (w,) = perf_figures.wal_growth(recs).data
    assert arr(w.x) == [0.0, 0.5] and arr(w.y) == [0.0, 2.0] and w.name == "process × 2"


def test_scale_curves_db_size_and_drivers():
    frame = pd.DataFrame(
        {
            "query": ["a", "a", "b"],
            "n": [1000, 100, 100],
            "p50": [2.0, 1.0, 5.0],
            "p99": [4.0, 3.0, 9.0],
            "regime": ["cache", "cache", "cache"],
        }
    )
    t = Targets((Target("latency_p99_ms", "<", 8, query="a"),))
    d = perf_figures.scale_curves(frame, None, t).data
    a50, a99, a_target = d[:3]
    assert arr(a50.x) == [100, 1000] and arr(a50.y) == [1.0, 2.0]
    assert arr(a99.y) == [3.0, 4.0]
    assert arr(a_target.y) == [8, 8] and arr(a_target.x) == [100, 1000]
    sizes = pd.DataFrame(
        {
            "scale": ["s", "m"],
            "db_bytes": [2 * 2**20, 2**20],
            "cache_bytes": [2**21, 2**21],
            "regime": ["cache", "cache"],
        }
    )
    db, cache = perf_figures.db_size_vs_cache(sizes).data
    assert list(db.x) == ["m", "s"] and arr(db.y) == [1.0, 2.0] and arr(cache.y) == [2.0, 2.0]
    drv = pd.DataFrame(
        {
            "driver": ["sqlite3", "apsw"],
            "query": ["a", "a"],
            "p50": [0.2, 0.1],
            "sqlite_version": ["3.40", "3.50"],
        }
    )
    s3, ap = perf_figures.driver_comparison(drv).data
    assert arr(s3.x) == [0.2] and arr(ap.x) == [0.1] and "3.50" in ap.name


def test_index_figures_show_their_inputs():
    m = pd.DataFrame([[1, 0], [0, 0]], index=["ix_a", "ix_b"], columns=["q1", "q2"])
    h = index_figures.usage_heatmap(m).data[0]
    assert [list(r) for r in h.z] == [[1, 0], [0, 0]] and list(h.y) == ["ix_a", "ix_b"]
    inv = pd.DataFrame(
        {
            "index": ["big", "small"],
            "size_bytes": [8192, 1024],
            "uses": [0, 3],
            "used_by": ["", "q"],
        }
    )
    b = index_figures.index_sizes(inv).data[0]
    assert list(b.y) == ["small", "big"] and arr(b.x) == [1.0, 8.0]
    assert list(b.marker.color) == [theme.ACCENT, theme.WORSE]
    assert "red" in index_figures.index_sizes(inv).layout.title.text
    assert "red" not in index_figures.index_sizes(inv.assign(uses=1)).layout.title.text
    wc = pd.DataFrame(
        {
            "index": ["i1", "i1", None],
            "op": ["insert", "update", "insert"],
            "cost_us": [3.0, 5.0, 99.0],
            "cost_lo": [2.0, 4.5, 0.0],
            "cost_hi": [4.5, 6.0, 100.0],
        }
    )
    ins, upd = index_figures.write_costs(wc).data
    assert arr(ins.x) == [3.0] and arr(upd.x) == [5.0]  # the table's base row is not an index
    assert arr(ins.error_x.array) == [1.5] and arr(ins.error_x.arrayminus) == [1.0]
    f = pd.DataFrame({"query": ["a", "a", "b"], "severity": ["high", "high", "low"]})
    bars = {d.name: d for d in index_figures.findings_chart(f).data}
    assert arr(bars["high"].x) == [2] and list(bars["high"].y) == ["a"]
    assert arr(bars["low"].x) == [1] and arr(bars["info"].x) == []
    ax = index_figures.findings_chart(f).layout.xaxis
    assert ax.dtick == 1 and ax.tickformat == "d"  # counts: no tick at 0.5
    ba = pd.DataFrame(
        {"query": ["a"], "ratio": [0.5], "ci_lo": [0.4], "ci_hi": [0.7], "verdict": ["improvement"]}
    )
    s = index_figures.before_after(ba).data[0]
    assert arr(s.x) == [0.5] and arr(s.error_x.array) == pytest.approx([0.2])
    assert arr(s.error_x.arrayminus) == pytest.approx([0.1])
    assert list(s.marker.color) == [theme.BETTER]


def test_ignored_findings_table_carries_each_reason():
    s = {
        "ignored_findings": [
            {"query": "a", "rule": "full_table_scan", "rows": 12, "why_ignored": "12 rows < 1,000"},
            {"query": "b", "rule": "scale", "model": "O(n)", "why_ignored": "uncertain"},
        ]
    }
    df = views.ignored_findings(s)
    assert list(df.columns) == ["query", "rule", "rows", "why_ignored"]
    assert list(df["why_ignored"]) == ["12 rows < 1,000", "uncertain"]
    assert df["rows"].iloc[0] == 12 and views.ignored_findings({}).empty


def captured_summary() -> dict:
    """A captured workload: two queries (one IN-list variant) and one write, with distinct
    numbers everywhere; the application's total time is 200 ms."""
    s = summary()
    a, b = s["queries"][0], s["queries"][1]
    a["captured"] = {"calls": 40, "rows": 40, "total_ms": 20.0, "mean_ms": 0.5, "p95_ms": 0.9}
    a["params_source"] = ["column t.x", "column t.y", "captured"]
    a["latency_ci_ms"] = {"p50": [0.9, 1.1], "p99": [2.5, 3.5]}
    b["captured"] = {"variant_of": "a", "calls": 7}
    b["params_source"] = ["captured"]
    s["workload"] = {
        "name": "w",
        "captured": {
            "statements": 500,
            "total_ms": 200.0,
            "writes": [{"name": "ins", "calls": 300, "total_ms": 90.0}],
        },
        "not_replayed": [
            {
                "name": "gone",
                "kind": "write",
                "sql": "INSERT INTO z VALUES (?)",
                "reason": "no such table: z",
            }
        ],
    }
    return s


def test_application_view_ranks_by_share_of_captured_time_beside_measured_latency():
    df = views.application_view(captured_summary())
    assert df["statement"].tolist() == ["ins", "a", "b"]  # 90 ms, 20 ms, time in a's row
    ins, a, b = (df.iloc[i] for i in range(3))
    assert ins["share %"] == pytest.approx(45.0) and ins["app mean ms"] == pytest.approx(0.3)
    assert ins["kind"] == "write" and ins["calls"] == 300
    assert a["share %"] == pytest.approx(10.0) and a["calls"] == 40 and a["app mean ms"] == 0.5
    assert (a["p50"], a["p99"]) == (1.0, 3.0)
    assert a["p50 interval"] == "[0.9, 1.1]" and a["p99 interval"] == "[2.5, 3.5]"
    assert a["plan"] == "search_index"
    assert a["parameters"] == "column t.x, t.y; captured x1"
    assert pd.isna(b["share %"]) and b["calls"] == 7 and "variant" in b["kind"]
    assert views.application_view(summary()).empty  # not captured: nothing to rank


def test_not_replayed_lists_name_kind_reason():
    df = views.not_replayed(captured_summary())
    assert df.to_dict("records") == [
        {
            "name": "gone",
            "kind": "write",
            "reason": "no such table: z",
            "sql": "INSERT INTO z VALUES (?)",
        }
    ]
    assert views.not_replayed(summary()).empty


def test_scale_curves_draw_points_without_a_line_for_a_nan_fit_or_an_empty_table():
    """A fit that did not converge arrives as NaN (pandas fills the missing object) and an
    empty table's size is 0: the chart draws the measured points and no fitted line, where
    it used to raise ('float' has no attribute 'predict'; geomspace cannot include zero)."""
    from perflab.measure.stats import GrowthFit

    frame = pd.DataFrame(
        {
            "query": ["nan_fit", "nan_fit", "empty", "empty", "ok", "ok"],
            "n": [100, 1000, 0, 10, 100, 1000],
            "p50": [1.0, 2.0, 0.1, 0.1, 1.0, 10.0],
            "p99": [2.0, 3.0, 0.2, 0.2, 2.0, 20.0],
            "regime": ["cache"] * 6,
        }
    )
    line = GrowthFit("O(n)", 0.0, 10.0, 1000.0, 0.0)
    fits = pd.DataFrame(
        {
            "query": ["nan_fit", "empty", "ok"],
            "model": ["O(n)"] * 3,
            "_fit50": [float("nan"), line, line],
        }
    )
    d = perf_figures.scale_curves(frame, fits, None).data
    lines = [t for t in d if t.mode == "lines"]
    assert [t.legendgroup for t in lines] == ["ok"]
    assert {t.legendgroup for t in d if t.mode == "markers"} == {"nan_fit", "empty", "ok"}
