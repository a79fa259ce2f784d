"""Scale sweep: sizes, regimes, and growth fits on small schemas built in the test."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from perflab import paths
from perflab.database import sizes
from perflab.inputs import config
from perflab.inputs.targets import Target, Targets
from perflab.inputs.workload import ParamSpec, QuerySpec, Workload
from perflab.measure import scale
from perflab.measure.timing import Budget
from perflab.results import to_jsonable


def test_scaled_rows_keep_shape_and_at_least_one_row():
    rows = sizes.scaled_rows({"a": 1000, "b": 10, "c": 0}, 0.01)
    assert rows == {"a": 10, "b": 1, "c": 0}


def test_sweep_scales_names_encode_rows_and_sort_small_first():
    @dataclass
    class Spec:
        scales: dict

    out = sizes.sweep_scales(Spec({"q": {"t": 4000, "u": 40}}), "q", [1.0, 0.25, 0.5])
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
    """A table with a rowid and no index on `pad`: lookups by id, scans by pad."""
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

#: 8 sizes over 2.1 decades: the claim rule's minimum (7 sizes, 2 decades) with one to spare
SIZES = tuple(500 * 2**k for k in range(8))  # 500 .. 64,000


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    builds = [_db(d / f"d{n}.db", n) for n in SIZES]
    frame = scale.measure_sweep(builds, WL, Budget(iterations=60, warmup=5), rounds=2)
    targets = Targets((Target("latency_p99_ms", "<", 1000.0, query="full_scan"),))
    return frame, scale.fit_sweep(frame, targets).set_index("query")


def test_sweep_reads_work_counters_at_every_size(sweep):
    frame, _ = sweep
    assert set(frame["query"]) == {"by_id", "full_scan"}
    assert {"regime", "db_bytes", "cache_bytes", "round_spread_pct", "p50_lo", "p50_hi"} <= set(
        frame.columns
    )
    by_id = frame[frame["query"] == "by_id"].set_index("n")
    scan = frame[frame["query"] == "full_scan"].set_index("n")
    assert list(by_id.index) == list(SIZES)
    # SQLite's own counts, exact: a rowid lookup's work does not depend on the table's size,
    # a scan visits every row but the first once per execution
    assert by_id["vm_steps"].nunique() == 1 and (by_id["fullscan_steps"] == 0).all()
    assert list(scan["fullscan_steps"]) == [n - 1 for n in SIZES]
    assert (by_id["counter_executions"] == scale.COUNTER_EXECUTIONS).all()
    assert (scan["counter_source"] == "sqlite_stmt").all()
    assert ((frame["p50_lo"] <= frame["p50"]) & (frame["p50"] <= frame["p50_hi"])).all()


def test_a_real_scan_is_claimed_linear_with_counters_agreeing(sweep):
    _, fits = sweep
    f = fits.loc["full_scan"]
    assert f["claim"] == scale.LINEAR, f["claim_text"]
    assert f["claim_reason"] is None
    work = f["evidence"]["work"]
    assert work["class"] == "linear" and work["slope"] == pytest.approx(1.0, abs=0.02)
    assert f["evidence"]["growth"]["lo"] >= scale.MIN_GROWTH
    assert all(c["passed"] for c in f["claim_checks"])
    assert "64k rows" in f["claim_text"] and "e+" not in f["claim_text"]
    assert f["limit_rows"] > SIZES[-1]  # 1 s at a few ms per 64k rows
    lo, hi = f["limit_range"]  # hi is None when some noisy refits never cross (documented)
    assert lo <= f["limit_rows"] and (hi is None or lo <= hi)  # n log n crosses first


def test_a_primary_key_lookup_is_never_claimed_to_grow(sweep):
    _, fits = sweep
    f = fits.loc["by_id"]
    assert f["claim"] in ("flat", "inconclusive"), f["claim_text"]
    assert f["evidence"]["work"]["class"] == "constant"
    assert pd.isna(f["limit_rows"])


def test_scale_records_carry_claims_with_evidence(sweep):
    frame, fits = sweep
    rec = scale.scale_records(frame, fits.reset_index(), factors=[1, 2, 3], base_scale="x")
    by = {r["query"]: r for r in rec["fits"]}
    assert by["full_scan"]["claim"] == scale.LINEAR and "fit_p50" in by["full_scan"]
    assert by["full_scan"]["evidence"]["range"]["sizes"] == len(SIZES)
    assert rec["rules"]["min_growth"] == scale.MIN_GROWTH
    schema = json.loads(paths.SUMMARY_SCHEMA.read_text())["properties"]["scale"]
    jsonschema.validate(json.loads(json.dumps(to_jsonable(rec))), schema)
    rec["fits"][0]["claim"] = "O(n)"  # not a claim the sweep makes: the schema says so
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(to_jsonable(rec))), schema)


# ------------------------------------------------------------- claims on known curves


def _frame(n, p50, steps, scans=None, *, rel_ci=0.03, regime="OS cache", note=None):
    n = np.asarray(n, dtype=float)
    p50 = np.asarray(p50, dtype=float)
    return pd.DataFrame(
        {
            "query": "q",
            "table": "t",
            "n": n.astype(int),
            "regime": regime,
            "p50": p50,
            "p50_lo": p50 * (1 - rel_ci),
            "p50_hi": p50 * (1 + rel_ci),
            "p99": p50 * 2,
            "vm_steps": steps if steps is not None else np.nan,
            "fullscan_steps": scans if scans is not None else 0.0,
            "counter_note": note,
        }
    )


N7 = np.geomspace(1_000, 200_000, 7).round()  # 7 sizes over 2.3 decades


@pytest.mark.parametrize("seed", range(40))
def test_pure_noise_never_claims_growth(seed):
    rng = np.random.default_rng(seed)
    p50 = 0.006 * (1 + 0.1 * rng.standard_normal(7))
    f = scale.fit_sweep(_frame(N7, p50, np.full(7, 33.0))).iloc[0]
    assert f["claim"] in ("flat", "inconclusive"), f["claim_text"]


def test_constant_work_with_constant_time_is_flat():
    f = scale.fit_sweep(_frame(N7, np.full(7, 0.006), np.full(7, 33.0))).iloc[0]
    assert f["claim"] == "flat"
    assert f["claim_text"].startswith("flat: p50 x1 ") and "33 at every size" in f["claim_text"]


def test_constant_work_cannot_be_called_linear_however_the_time_grows():
    # a lookup through a cache cliff: 3x slower and curving up, 33 VM steps everywhere
    p50 = 0.006 * (1 + 2 * (N7 / N7.max()) ** 2)
    f = scale.fit_sweep(_frame(N7, p50, np.full(7, 33.0))).iloc[0]
    assert f["model"] in ("O(n)", "O(n log n)", "O(n^2)")  # the shape alone would say so
    assert f["claim"] == "inconclusive"
    assert "work does not grow" in f["claim_reason"] and "33 at every size" in f["claim_reason"]
    assert [c["test"] for c in f["claim_checks"] if not c["passed"]] == ["work"]


def test_a_lookup_slowing_logarithmically_over_constant_work_is_not_claimed_log_n():
    """A primary-key lookup whose time grows 3x like log n (deeper B-tree, colder cache)
    with 24 VM steps at every size: one SeekRowid step hides the depth, so the counters
    cannot back O(log n) and the claim is inconclusive, never a growth class."""
    p50 = 0.006 * (1 + 2 * np.log(N7 / N7.min()) / np.log(N7.max() / N7.min()))
    f = scale.fit_sweep(_frame(N7, p50, np.full(7, 24.0))).iloc[0]
    assert f["model"] == "O(log n)"  # the shape alone would say so
    assert f["claim"] == "inconclusive"
    assert "work does not grow" in f["claim_reason"]


def test_log_n_is_claimed_when_the_work_grows_sublinearly():
    p50 = 0.006 * (1 + 2 * np.log(N7 / N7.min()) / np.log(N7.max() / N7.min()))
    steps = 30 * np.sqrt(N7 / N7.min())  # slope 0.5: sublinear
    f = scale.fit_sweep(_frame(N7, p50, steps)).iloc[0]
    assert f["claim"] == "O(log n)", f["claim_text"]


def test_a_narrow_range_is_inconclusive_even_for_a_clear_scan():
    n = np.geomspace(1_000, 10_000, 7).round()  # 1 decade
    f = scale.fit_sweep(_frame(n, 1e-5 * n, 3 * n, n - 1)).iloc[0]
    assert f["claim"] == "inconclusive"
    assert f["claim_reason"].startswith("too narrow a range: 7 sizes over 1.0 decades")
    assert "10k rows" in f["claim_reason"]
    few = np.geomspace(1_000, 1_000_000, 5).round()  # 3 decades but 5 sizes
    f = scale.fit_sweep(_frame(few, 1e-5 * few, 3 * few, few - 1)).iloc[0]
    assert f["claim"] == "inconclusive" and "5 sizes" in f["claim_reason"]


def test_the_same_scan_over_enough_range_is_claimed_with_its_limit():
    targets = Targets((Target("latency_p99_ms", "<", 50.0, query="q"),))
    f = scale.fit_sweep(_frame(N7, 0.01 + 1e-5 * N7, 3 * N7, N7 - 1), targets).iloc[0]
    assert f["claim"] == scale.LINEAR and f["claim_reason"] is None
    # p99 = 2 * (0.01 + 1e-5 n) reaches 50 ms at n = 2.499M under O(n); earlier under n log n
    lo, hi = f["limit_range"]
    assert hi == pytest.approx(2_499_000, rel=1e-3) and lo < hi
    assert f["limit_rows"] == lo and f["limit_x"] == pytest.approx(lo / N7.max())


def test_growth_below_the_floor_is_not_claimed_even_when_work_grows():
    # fixed overhead dominates: work x200, time x1.5
    p50 = 0.01 * (1 + 0.5 * N7 / N7.max())
    f = scale.fit_sweep(_frame(N7, p50, 3 * N7, N7 - 1)).iloc[0]
    assert f["claim"] == "inconclusive" and "fixed overhead" in f["claim_reason"]


def test_growth_whose_interval_straddles_the_floor_is_inconclusive():
    p50 = 0.01 * (1 + 1.5 * N7 / N7.max())  # x2.5 at the largest size, medians +-30%
    f = scale.fit_sweep(_frame(N7, p50, 3 * N7, N7 - 1, rel_ci=0.3)).iloc[0]
    assert f["evidence"]["growth"]["ratio"] > scale.MIN_GROWTH  # the point estimate is not enough
    assert f["evidence"]["growth"]["lo"] == pytest.approx(p50[-1] * 0.7 / (p50[0] * 1.3))
    assert f["claim"] == "inconclusive" and "reaches below x2" in f["claim_reason"]


def test_without_counters_nothing_is_claimed():
    f = scale.fit_sweep(_frame(N7, 1e-5 * N7, None, note="no sqlite_stmt here")).iloc[0]
    assert f["claim"] == "inconclusive"
    assert f["claim_reason"] == "work counters unavailable: no sqlite_stmt here"


def test_quadratic_time_needs_quadratic_work():
    p50 = 1e-9 * N7**2
    f = scale.fit_sweep(_frame(N7, p50, N7**2 / 100)).iloc[0]
    assert f["claim"] == "O(n^2)"
    f = scale.fit_sweep(_frame(N7, p50, 3 * N7)).iloc[0]  # linear work: shape disagrees
    assert f["claim"] == "inconclusive" and "disagree" in f["claim_reason"]


def test_fit_uses_one_regime_when_it_alone_meets_the_range_rule():
    n = np.array([100 * 2**k for k in range(10)])  # 100 .. 51,200
    frame = _frame(n, 0.01 * n / 100, 3.0 * n, n - 1)
    frame["regime"] = ["page cache"] * 2 + ["OS cache"] * 8  # 8 sizes over 2.1 decades
    f = scale.fit_sweep(frame).iloc[0]
    assert f["fit_regime"] == "OS cache" and f["points"] == 8 and not f["spans_regimes"]
    assert f["model"] == "O(n)" and f["claim"] == scale.LINEAR
    frame["regime"] = ["page cache"] * 5 + ["OS cache"] * 5
    f = scale.fit_sweep(frame).iloc[0]
    assert f["spans_regimes"] and f["points"] == 10 and f["fit_regime"] is None


def test_too_few_sizes_is_reported_not_fitted():
    f = scale.fit_sweep(_frame([1, 2, 3], [1.0, 2.0, 3.0], [5.0, 5.0, 5.0])).iloc[0]
    assert f["model"] is None and "at least 5" in f["error"]
    assert f["claim"] == "inconclusive" and f["claim_reason"].startswith("no fit: ")


def test_when_every_fit_fails_the_frame_still_has_the_fit_columns():
    # an empty --db table or a drained queue: no query can be fitted; notebook 05 selects
    # fits["target_ms"] and the limit columns all the same
    frame = _frame([1, 2, 3], [1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    targets = Targets((Target("latency_p99_ms", "<", 2.5, query="q"),))
    fits = scale.fit_sweep(frame, targets)
    lim = fits[fits["target_ms"].notna()][["query", "target_ms", "limit_rows", "limit_x"]]
    assert lim["target_ms"].tolist() == [2.5] and lim["limit_rows"].isna().all()
    assert fits["model"].isna().all() and "at least 5" in fits["error"].iloc[0]


@pytest.mark.parametrize("profile", ["tiny", "quick", "full"])
def test_default_factors_meet_the_range_rule(profile):
    factors = config.profile(profile).scale_sweep.factors
    # sessions, the smallest table a default query reads, at the profile's scale
    sessions = {"tiny": 100, "quick": 2000, "full": 100_000}[profile]
    rows = [sizes.scaled_rows({"s": sessions}, f)["s"] for f in factors]
    assert scale._meets_range(rows)
    if profile != "full":  # no size more than the rule needs (full: 11 over 3 decades)
        assert not scale._meets_range(rows[1:])
    assert max(factors) == (8 if profile == "tiny" else 1)  # tiny reaches up, not down


def test_sublinear_work_does_not_support_a_linear_claim():
    # a lookup whose matches grow with a skewed key: rows x19 for x200 rows, time likewise
    steps = 100 * (N7 / N7[0]) ** 0.55
    f = scale.fit_sweep(_frame(N7, 0.001 * steps, steps)).iloc[0]
    assert f["model"] in ("O(n)", "O(n log n)", "O(log n)")
    assert f["evidence"]["work"]["class"] == "sublinear"
    assert f["claim"] == "inconclusive" and "grows slower than n" in f["claim_reason"]


def test_full_scan_steps_growing_linearly_make_the_work_linear():
    # a LIMIT after a full scan: VM steps carry a large fixed part, full-scan steps are n
    steps = 20_000 + 0.5 * N7
    assert scale.work_slope(N7, steps) < scale.WORK_LINEAR
    f = scale.fit_sweep(_frame(N7, 1e-5 * steps, steps, N7 - 1)).iloc[0]
    assert f["evidence"]["work"]["class"] == "linear" and f["claim"] == scale.LINEAR


def test_verdict_raises_only_confident_linear_claims_and_says_why_others_are_ignored():
    from perflab.judge import verdict

    def rec(query, claim, reason=None, limit=None):
        return {
            "query": query,
            "table": "t",
            "model": "O(n^2)",
            "claim": claim,
            "claim_text": f"grows {claim}: ...",
            "claim_reason": reason,
            "n_min": 100,
            "n_max": 10_000,
            "target_ms": 50.0,
            "limit_rows": limit,
            "limit_range": None if limit is None else [limit, 391_300],
        }

    summary = {
        "queries": [],
        "scale": {
            "fits": [
                rec("lookup", "inconclusive", "fitted O(n^2) (...) but VM steps ...: caching"),
                rec("flat_one", "flat"),
                rec("log_one", "O(log n)", limit=5_000),
                rec("scan", scale.LINEAR, limit=173_000),
                rec("old", None),  # a summary from before claims: claims nothing
            ]
        },
    }
    a = verdict.assess(summary, Targets(()), deployment_rows={"t": 1_000_000})
    issues = {i["subject"]: i for i in a["issues"] if i["origin"] == "scale"}
    assert set(issues) == {"scan"}
    assert issues["scan"]["severity"] == "high"
    assert issues["scan"]["title"] == (
        f"scan: grows {scale.LINEAR}, p99 predicted to cross 50 ms before 1M rows"
    )
    assert "this run's estimate: between 173k and 391k rows" in issues["scan"]["evidence"][2]
    ign = {x["query"]: x["why_ignored"] for x in a["ignored_findings"] if x.get("rule") == "scale"}
    assert set(ign) == {"lookup", "old"}
    assert ign["lookup"].startswith("no growth claim: fitted O(n^2)")


def test_predicted_limit_is_a_range_that_covers_the_true_crossing():
    """A noisy p99 curve (40% lognormal noise, 8 sizes) from a known linear model: the 95%
    range of the crossing covers the true crossing in about 95% of sweeps (a point read
    off one fit moved 2x between two runs of the same commit)."""
    import pandas as pd
    from perflab.measure.scale import LINEAR, _limits
    from perflab.measure.stats import refit

    n = np.array([156 * 2**i for i in range(8)], float)
    true = (50 - 0.2) / 4e-4
    hits = 0
    for seed in range(120):
        t = (0.2 + 4e-4 * n) * np.random.default_rng(seed).lognormal(0, 0.4, n.size)
        lo, hi = _limits(LINEAR, refit("O(n)", n, t), pd.DataFrame({"n": n, "p99": t}), 50.0)
        hits += lo <= true <= (np.inf if hi is None else hi)
    assert hits / 120 >= 0.88


def test_sweep_counts_work_once_per_size_not_once_per_pass(tmp_path, monkeypatch):
    """The first round's counting pass reads the counters (COUNTER_EXECUTIONS per query and
    size, at most COUNTER_SECONDS, also that round's warm-up); the later rounds count
    nothing, and there is no separate pass (a separate 20 executions per query and size
    were most of the full sweep's time)."""
    from perflab.sqlite import counters

    calls = []
    real = counters.count_work
    monkeypatch.setattr(counters, "count_work", lambda *a, **k: calls.append(k) or real(*a, **k))
    builds = [_db(tmp_path / f"d{n}.db", n) for n in (500, 1000)]
    frame = scale.measure_sweep(builds, WL, Budget(iterations=40, warmup=2), rounds=2)
    assert len(calls) == len(builds) * len(WL.queries)
    assert {(k["max_executions"], k["max_seconds"]) for k in calls} == {
        (scale.COUNTER_EXECUTIONS, scale.COUNTER_SECONDS)
    }
    assert (frame["counter_executions"] == scale.COUNTER_EXECUTIONS).all()
    assert (frame["samples"] == 40).all()  # a fixed count per round: no stopping rule


def test_each_size_draws_its_parameters_once_for_every_round(tmp_path, monkeypatch):
    # a sampler query reads its whole table (seconds at 2M rows): once per size, not per pass
    calls = []
    real = scale.sample_params
    monkeypatch.setattr(scale, "sample_params", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    builds = [_db(tmp_path / f"d{n}.db", n) for n in (500, 1000)]
    frame = scale.measure_sweep(builds, WL, Budget(iterations=40, warmup=2), rounds=2)
    assert calls == [2 * (20 + 2)] * len(builds)  # both rounds' tuples, warm-ups included
    assert (frame["samples"] == 40).all()


def test_the_sweeps_counting_pass_is_bounded_in_time(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "COUNTER_SECONDS", 1e-9)
    builds = [_db(tmp_path / f"d{n}.db", n) for n in (500, 1000)]
    frame = scale.measure_sweep(builds, WL, Budget(iterations=10, warmup=2), rounds=1)
    assert (frame["counter_executions"] == 1).all()  # the one that crossed it
    assert frame["vm_steps"].notna().all()


def test_the_full_size_of_a_sweep_is_the_runs_own_database(tmp_path, monkeypatch):
    from perflab import paths
    from perflab.database.build import cached_database
    from perflab.database.source import load_dataset_spec

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path))
    spec = load_dataset_spec(paths.DEFAULT_DATASET)
    run_db = cached_database(spec, "tiny", progress=False)
    builds = scale.build_sweep(spec, "tiny", (0.125, 1.0))
    assert [b.from_cache for b in builds] == [False, True]
    assert builds[1].path == run_db.path and builds[1].row_counts == run_db.row_counts
    assert [b.scale for b in builds] == list(sizes.sweep_scales(spec, "tiny", (0.125, 1.0)))
    assert len(list(tmp_path.glob("*.sqlite"))) == 2  # not a third, identical database


def test_the_crossing_range_reads_refits_that_never_cross_without_a_warning():
    import warnings

    inf = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf - inf between two never-crossing refits
        assert scale.crossing_range([1.0, 2.0, 3.0] * 40) == [1.0, 3.0]
        lo, hi = scale.crossing_range([1.0] * 90 + [inf] * 10)
        assert lo == 1.0 and hi is None  # more than 2.5% never cross: no upper end
        assert scale.crossing_range([1.0] + [inf] * 99) is None  # 97.5% never cross
        assert scale.crossing_range([inf] * 10) is None


def test_a_query_that_fits_beside_one_that_cannot_is_a_valid_summary():
    """One query fitted, one with every time zero (an empty table: nothing to fit): the
    fitted one's `error` comes out of the frame as null, and the summary must accept it
    (a huey queue with an empty kv table failed its whole run on exactly this)."""
    fits = pd.concat(
        [
            _frame(N7, 0.01 + N7 * 1e-4, N7 * 10),
            _frame(N7, np.zeros(7), np.zeros(7)).assign(query="empty"),
        ]
    )
    fits = fits.assign(scale=[f"s{int(n)}" for n in fits["n"]], db_bytes=4096, cache_bytes=0)
    f = scale.fit_sweep(fits)
    rec = scale.scale_records(fits, f, factors=[1.0], base_scale="tiny")
    by = {r["query"]: r for r in rec["fits"]}
    assert by["q"]["error"] is None and by["q"]["model"] is not None
    assert "at least" in by["empty"]["error"] and by["empty"]["model"] is None
    schema = json.loads(paths.SUMMARY_SCHEMA.read_text())
    jsonschema.validate(
        {"fits": json.loads(json.dumps(to_jsonable(rec["fits"])))},
        {**schema["properties"]["scale"], "required": ["fits"], "$defs": schema["$defs"]},
    )


def test_a_size_whose_data_a_sampler_cannot_find_leaves_that_query_out_and_says_why(tmp_path):
    """A valid input never fails a run: at 500 rows no id is above 600, so `deep` has one
    size fewer; the other queries keep every size, and the reason is kept."""
    deep = QuerySpec(
        "deep",
        "SELECT * FROM t WHERE id = ?",
        (ParamSpec("sample", "SELECT id FROM t WHERE id > 600"),),
    )
    wl = Workload("w", (*WL.queries, deep))
    builds = [_db(tmp_path / f"d{n}.db", n) for n in (500, 1000)]
    frame = scale.measure_sweep(builds, wl, Budget(iterations=10, warmup=2), rounds=1)
    assert sorted(frame[frame["query"] == "deep"]["scale"]) == ["sweep_1000"]
    assert len(frame[frame["query"] == "by_id"]) == 2
    (why,) = frame.attrs["unsampled"]["sweep_500"].values()
    assert "no rows" in why
    fits = scale.fit_sweep(frame)
    rec = scale.scale_records(frame, fits, factors=(0.5, 1.0), base_scale="sweep_1000")
    assert set(rec["unsampled"]) == {"sweep_500"}
