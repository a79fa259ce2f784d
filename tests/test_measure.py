import sqlite3

import numpy as np
import pytest
from perflab.measure.timing import harness_overhead, quantile_ci, summarize, time_statement


def test_quantile_ci_covers_true_value_on_known_distribution():
    rng = np.random.default_rng(1)
    true_p99 = float(np.exp(2.326348 * 1.0))  # lognormal(0, 1) p99
    hits = 0
    for _ in range(200):
        x = rng.lognormal(0, 1, 2000)
        _, lo, hi = quantile_ci(x, 0.99)
        hits += lo <= true_p99 <= hi
    assert 0.90 <= hits / 200 <= 1.0


def test_quantile_ci_reports_missing_bounds_with_few_samples():
    x = np.arange(100.0)
    est, lo, hi = quantile_ci(x, 0.99)
    assert hi is None and lo is not None
    _, lo, hi = quantile_ci(np.arange(400.0), 0.99)
    assert hi is not None


def test_summarize_units_and_keys():
    ns = np.array([1_000_000] * 99 + [10_000_000])  # 1 ms x99, 10 ms once
    s = summarize(ns)
    assert s["latency_ms"]["p50"] == pytest.approx(1.0)
    assert s["latency_ms"]["max"] == pytest.approx(10.0)
    assert s["latency_ms"]["mean"] == pytest.approx(1.09)
    assert s["ops_per_s"] == pytest.approx(1000 / 1.09)
    assert set(s["latency_ci_ms"]) == {"p50", "p95", "p99", "p999"}


def test_time_statement_counts_rows_and_skips_warmup(tmp_path):
    c = sqlite3.connect(tmp_path / "x.db")
    c.execute("CREATE TABLE t(a)")
    c.executemany("INSERT INTO t VALUES (?)", [(i % 5,) for i in range(100)])
    params = [(i % 5,) for i in range(120)]
    s = time_statement(c, "SELECT * FROM t WHERE a = ?", params, warmup=20)
    assert s.ns.size == 100 and (s.ns > 0).all()
    assert (s.rows == 20).all()


def test_time_budget_truncates(tmp_path):
    c = sqlite3.connect(tmp_path / "x.db")
    s = time_statement(c, "SELECT 1", [()] * 100_000, warmup=0, max_seconds=0.0)
    assert s.truncated and s.ns.size < 100_000


def test_harness_overhead_is_small_and_ordered(tmp_path):
    c = sqlite3.connect(tmp_path / "x.db")
    o = harness_overhead(c, n=500)
    assert 0 <= o["empty_loop"] < o["select_1"]


def test_time_budget_bounds_slow_warmup_and_checks_every_execution(tmp_path):
    c = sqlite3.connect(tmp_path / "x.db")
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT count(*) FROM n"
    )
    s = time_statement(c, slow, [()] * 200, warmup=50, max_seconds=0.02)
    assert s.warmup < 50  # the warm-up stopped at a quarter of the budget
    assert s.truncated and s.ns.size < 10  # not 64 executions before the first check
