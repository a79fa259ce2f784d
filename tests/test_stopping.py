"""The sequential stopping rule: where it looks, when it stops, and that its intervals
keep their coverage (a fast version of benchmarks/bench_stopping.py)."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import replace

import numpy as np
import pytest
from perflab.inputs.workload import load_workload
from perflab.measure.latency import latency_records, measure_workload
from perflab.measure.stopping import StoppingRule, StopRecord, min_count, run_sequential
from perflab.measure.timing import Budget, quantile_ci


def test_min_count_is_where_both_bounds_appear():
    for q, conf in ((0.99, 0.95), (0.99, 0.975), (0.95, 0.95), (0.5, 0.99)):
        n = min_count(q, conf)
        x = np.arange(1.0, n + 1)
        _, lo, hi = quantile_ci(x, q, conf)
        assert lo is not None and hi is not None
        _, lo, hi = quantile_ci(x[:-1], q, conf)
        assert lo is None or hi is None
    assert min_count(0.99, 0.95) == 368  # measurement-facts §5


def test_checkpoints_are_geometric_and_bonferroni_consistent():
    rule = StoppingRule()
    for max_n in (1000, 4000, 20000):
        pts = rule.checkpoints(max_n)
        k = len(pts)
        conf = rule.look_conf(max_n)
        assert conf == pytest.approx(1 - 0.05 / k)
        assert pts[-1] == max_n and list(pts) == sorted(set(pts))
        # no look before p99 has both bounds at that confidence
        assert min_count(0.99, conf) <= pts[0] <= min_count(0.99, 1 - 0.05 / (k + 1))
        assert all(b / a <= 2.0 + 1e-9 for a, b in zip(pts[:-2], pts[1:-1], strict=True))
    assert rule.checkpoints(300) == (300,)  # too few for p99: one look, plain 95%
    assert rule.look_conf(300) == 0.95


def _draws(rng, dist):
    return lambda count: dist(rng, count)


def test_stops_at_first_look_when_tight_and_runs_to_max_when_not():
    rng = np.random.default_rng(1)
    loose = StoppingRule(tolerance={"p50": 10.0, "p95": 10.0, "p99": 10.0})
    x, rec = run_sequential(_draws(rng, lambda r, n: r.lognormal(0, 0.5, n)), loose, 4000)
    assert (rec.reason, rec.n, rec.looks) == ("precise", loose.checkpoints(4000)[0], 1)
    assert rec.conf == loose.look_conf(4000) > 0.95
    assert x.size == rec.n
    strict = StoppingRule(tolerance={"p50": 1e-9, "p95": 1e-9, "p99": 1e-9})
    x, rec = run_sequential(_draws(rng, lambda r, n: r.lognormal(0, 0.5, n)), strict, 4000)
    assert (rec.reason, rec.n, rec.looks) == ("max", 4000, len(strict.checkpoints(4000)))


def test_time_cap_ends_the_loop_mid_chunk():
    got = []

    def draw(count):  # the loop's own cap stopped after 100 executions
        got.append(count)
        return np.ones(min(count, 100))

    x, rec = run_sequential(draw, StoppingRule(), 4000)
    assert rec.reason == "time" and rec.n == 100 and len(got) == 1


def _coverage(rule, reps=300, max_n=2000, seed=3):
    """Coverage of p50/p95/p99 intervals after the rule, lognormal(0, 0.5), with each
    tolerance at the median width at the first look (about half the runs stop there)."""
    from scipy import stats

    truth = {p: float(stats.lognorm.ppf(q, 0.5)) for p, q in (("p50", 0.5), ("p99", 0.99))}
    first, conf = rule.checkpoints(max_n)[0], rule.look_conf(max_n)
    pilot = [
        rule.widths(np.random.default_rng([seed, 9, r]).lognormal(0, 0.5, first), conf)
        for r in range(100)
    ]
    rule = replace(rule, tolerance={p: float(np.median([w[p] for w in pilot])) for p in truth})
    hits = dict.fromkeys(truth, 0)
    early = 0
    for r in range(reps):
        rng = np.random.default_rng([seed, r])
        x, rec = run_sequential(_draws(rng, lambda g, n: g.lognormal(0, 0.5, n)), rule, max_n)
        early += rec.n < max_n
        for p, t in truth.items():
            _, lo, hi = quantile_ci(x, float(p[1:]) / 100, rec.conf)
            hits[p] += (lo is None or lo <= t) and (hi is None or t <= hi)
    return {p: h / reps for p, h in hits.items()}, early / reps


def test_coverage_holds_under_optional_stopping():
    cov, early = _coverage(StoppingRule())
    assert early > 0.2  # the rule did stop early often enough for the test to mean something
    # nominal >= 95%; 300 runs give a standard error of ~1.3 points at 95%
    assert min(cov.values()) >= 0.94, cov


def test_a_missing_bound_is_never_tight_enough():
    loose = StoppingRule(tolerance={"p50": 1e12, "p99": 1e12})
    x = np.random.default_rng(0).lognormal(0, 0.5, 367)  # p99 needs 368 at 95%
    assert loose.widths(x, 0.95)["p99"] == float("inf")
    assert not loose.satisfied(x, 0.95)
    assert loose.satisfied(np.append(x, 1.0), 0.95)


def _workload_db(tmp_path, sql="SELECT v FROM t WHERE id = ?"):
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, i % 7) for i in range(2000)])
    conn.commit()
    wl = tmp_path / "w.yaml"
    wl.write_text(
        f"name: w\nqueries:\n  - name: q\n    sql: {sql}\n"
        "    params:\n      - sample: SELECT id FROM t\n"
    )
    return conn, load_workload(wl)


def test_measure_workload_reports_how_sampling_stopped(tmp_path):
    conn, wl = _workload_db(tmp_path)
    # any finite interval passes (a loaded machine's p99 may be 1000x its p50)
    loose = StoppingRule(tolerance={"p50": 1e12, "p95": 1e12, "p99": 1e12})
    frame, samples, params = measure_workload(
        conn, wl, Budget(iterations=3000, warmup=10), stopping=loose, count=False
    )
    r = frame.loc["q"]
    first, conf = loose.checkpoints(3000)[0], loose.look_conf(3000)
    assert (r["n"], r["stop"], bool(r["truncated"])) == (first, "precise", False)
    assert samples["q"].ns.size == first and r["conf"] == pytest.approx(conf)
    rec = latency_records(frame, wl, params)[0]
    assert rec["iterations"] == first and rec["stopping"]["reason"] == "precise"
    # the reported interval is the one at the look's confidence, not a plain 95% one
    _, lo, hi = quantile_ci(samples["q"].ns / 1e6, 0.99, conf)
    assert rec["latency_ci_ms"]["p99"] == [lo, hi] and rec["latency_ci_conf"] == conf
    frame, samples, _ = measure_workload(
        conn, wl, Budget(iterations=600, warmup=10), stopping=None, count=False
    )
    r = frame.loc["q"]
    assert (r["n"], r["stop"], r["conf"]) == (600, "max", 0.95)


SLOW = "SELECT count(*) FROM t a, t b WHERE a.v = b.v AND a.id < ?"  # ~570k pairs


def test_the_time_cap_still_ends_a_slow_query(tmp_path):
    # no warm-up and no counting pass: nothing tells the time per execution beforehand,
    # so the looks run and the cap ends them
    conn, wl = _workload_db(tmp_path, SLOW)
    frame, samples, _ = measure_workload(
        conn, wl, Budget(iterations=3000, warmup=0, max_seconds=0.2), count=False
    )
    r = frame.loc["q"]
    assert r["stop"] == "time" and bool(r["truncated"])
    assert 1 <= r["n"] < 3000 and r["seconds"] < 5


def test_a_capped_query_looks_only_where_a_bound_appears_with_alpha_split_in_advance():
    from perflab.measure.stopping import Look

    rule = StoppingRule()
    # two looks, 0.01 of alpha at p95's bound, 0.04 at p99's: >= 95% whichever it stops at
    first, second = rule.capped_looks(2000, 0.076, 60.0)
    assert first == Look(min_count(0.95, 0.99), 0.99) == Look(104, 0.99)
    assert second == Look(min_count(0.99, 0.96), 0.96) == Look(390, 0.96)
    # the cap cannot even pay for the first (0.8 x 60 s < 104 x 0.5 s): one look at 95%,
    # the largest bound count it pays for below p99's
    assert rule.capped_looks(2000, 0.5, 60.0) == (Look(72, 0.95),)
    assert rule.capped_looks(2000, 1.3, 60.0) == (Look(6, 0.95),)
    assert rule.capped_looks(2000, 50.0, 60.0) == (Look(6, 0.95),)  # the cap may end it
    assert rule.bound_counts(2000) == (6, 72, 368) and rule.bound_counts(300) == (6, 72, 300)
    assert StoppingRule.capped(2000, 0.059, 60.0)  # affords 1,017 of 2,000
    assert not StoppingRule.capped(2000, 0.02, 60.0)  # affords 3,000
    assert not StoppingRule.capped(2000, None, 60.0) and not StoppingRule.capped(2000, 1, None)


def _lognormal(seed):
    return _draws(np.random.default_rng(seed), lambda r, n: r.lognormal(0, 0.5, n))


def test_a_capped_query_stops_at_the_look_whose_successor_it_cannot_pay_for():
    rule = StoppingRule()
    looks = rule.capped_looks(2000, 0.01, 60.0)
    asked = []

    def no(n, nxt, x):
        asked.append((n, nxt, x.size))
        return False

    x, rec = run_sequential(_lognormal(4), rule, 2000, capped=looks, afford=no)
    assert asked == [(104, 390, 104)]
    assert (rec.reason, rec.n, rec.looks, rec.conf) == ("planned", 104, 1, 0.99)
    _, lo, hi = quantile_ci(x, 0.95, rec.conf)
    assert lo is not None and hi is not None  # the bound that look was for
    x, rec = run_sequential(_lognormal(4), rule, 2000, capped=looks)
    assert (rec.reason, rec.n, rec.looks, rec.conf) == ("planned", 390, 2, 0.96)
    assert math.isfinite(rec.rel_half_width["p99"])
    # an estimate that was too low: the cap ends the loop before the look
    draw = _lognormal(4)
    x, rec = run_sequential(lambda k: draw(min(k, 50)), rule, 2000, capped=looks)
    assert (rec.reason, rec.n) == ("time", 50)


def test_a_capped_query_keeps_its_coverage():
    """Going on past the first look while the rest of a budget (the sum of the values, as
    time) pays for the second is a data-dependent stop; the split fixed in advance keeps
    every interval >= 95% (300 runs; bench_stopping.py's "capped" rows for more)."""
    from perflab.measure.stopping import PLAN_SHARE
    from scipy import stats

    rule = StoppingRule()
    truth = {q: float(stats.lognorm.ppf(q, 0.5)) for q in (0.5, 0.95, 0.99)}
    hits = dict.fromkeys(truth, 0)
    stops = set()
    budget = 1.133 * 390 / PLAN_SHARE * 0.9  # the second look affordable about half the time
    looks = rule.capped_looks(4000, 1.133, budget)

    for r in range(300):

        def afford(n, nxt, x):
            return float(x.mean()) * (nxt - n) <= (budget - float(x.sum())) * PLAN_SHARE

        x, rec = run_sequential(_lognormal([5, r]), rule, 4000, capped=looks, afford=afford)
        stops.add(rec.n)
        for q, t in truth.items():
            _, lo, hi = quantile_ci(x, q, rec.conf)
            hits[q] += (lo is None or lo <= t) and (hi is None or t <= hi)
    assert stops == {104, 390}  # the test means something: both kinds of stop happen
    assert min(h / 300 for h in hits.values()) >= 0.94, hits


def test_a_slow_query_stops_where_its_cap_runs_out(tmp_path):
    conn, wl = _workload_db(tmp_path, SLOW)
    frame, samples, _ = measure_workload(
        conn, wl, Budget(iterations=3000, warmup=3, max_seconds=3.0), count=False
    )
    r = frame.loc["q"]
    assert r["stop"] == "planned" and not bool(r["truncated"]), r["stop"]
    assert r["n"] in (6, 72, 104, 390)  # where a bound appears (capped_looks)
    assert r["conf"] in (0.95, 0.99, 0.96) and samples["q"].ns.sum() / 1e9 < 3.0


def test_the_warm_up_after_the_counting_pass_is_bounded_in_time(tmp_path, monkeypatch):
    from perflab.measure import stopping

    conn, wl = _workload_db(tmp_path, SLOW)
    monkeypatch.setattr(stopping, "WARMUP_SECONDS", 1e-6)
    _, samples, _ = measure_workload(
        conn, wl, Budget(iterations=60, warmup=50, max_seconds=60.0), count=False
    )
    assert samples["q"].warmup == 1  # the one that crossed the bound


def test_a_stop_record_as_the_latency_record_carries_it():
    """The record's keys in summary.json's order, and a width whose bound is missing (inf)
    as null: JSON has no infinity."""
    rec = StopRecord("time", 40, 1, 0.975, {"p50": 0.04, "p99": math.inf})
    d = rec.as_dict()
    assert list(d) == ["reason", "n", "looks", "conf", "rel_half_width"]
    assert d == {
        "reason": "time",
        "n": 40,
        "looks": 1,
        "conf": 0.975,
        "rel_half_width": {"p50": 0.04, "p99": None},
    }
    json.dumps(d, allow_nan=False)


def test_the_counting_pass_is_the_warm_up(tmp_path):
    # the counting pass runs the first tuples untimed on the timing connection, which is
    # what the warm-up does: the warm-up only adds the tuples the pass did not run
    conn, wl = _workload_db(tmp_path, "SELECT tick(id) FROM t WHERE id = ?")
    calls = []
    conn.create_function("tick", 1, lambda v: calls.append(v) or v, deterministic=False)
    loose = StoppingRule(tolerance={"p50": 1e12, "p95": 1e12, "p99": 1e12})
    first = loose.checkpoints(3000)[0]
    for warmup, counted in ((30, 50), (80, 50)):
        calls.clear()
        frame, samples, _ = measure_workload(
            conn, wl, Budget(3000, warmup), stopping=loose, count_executions=counted
        )
        assert frame.loc["q", "_counters"]["executions"] == counted
        assert samples["q"].warmup == warmup and samples["q"].ns.size == first
        assert len(calls) == max(counted, warmup) + first
    # a counting pass cut by its time budget has warmed up as long as a warm-up may
    calls.clear()
    frame, samples, _ = measure_workload(
        conn, wl, Budget(3000, 80), stopping=loose, count_seconds=1e-9
    )
    assert frame.loc["q", "_counters"]["truncated"] and len(calls) == 1 + first


def test_the_counting_pass_lasts_no_longer_than_a_warm_up_may(tmp_path):
    # the pass is the warm-up, so it takes the warm-up's cap (a quarter of the query's time
    # cap here): with its own 2 s, a slow query warmed up twice as long as the rule says
    import time

    conn, wl = _workload_db(tmp_path, "SELECT nap(id) FROM t WHERE id = ?")
    conn.create_function("nap", 1, lambda v: time.sleep(0.004) or v, deterministic=False)
    budget = Budget(3000, 80, max_seconds=0.2)  # warm-up cap 0.05 s: ~12 executions
    frame, _, _ = measure_workload(conn, wl, budget, count_executions=60)
    rec = frame.loc["q", "_counters"]
    assert rec["truncated"] and 1 <= rec["executions"] <= 20
    # given explicitly (the scale sweep's short pass), the caller's cap stands
    frame, _, _ = measure_workload(conn, wl, budget, count_executions=30, count_seconds=5.0)
    assert frame.loc["q", "_counters"]["executions"] == 30
