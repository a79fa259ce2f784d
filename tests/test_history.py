"""perflab history: runs ordered by commit and time, exact steps in work and plans, timing
change points (ruptures, then compare's minimum effect and non-overlapping intervals).

The issue's evidence as a test: two real `perflab run --profile tiny` runs of one small
schema, with its index (X) and without it (Y), give the real plan regression, its real
counters and real summaries. Eight runs are derived from them: runs 1-3 are X, runs 4-8
are Y (the plan regression at run 4), and `user_by_email` is planted 30% slower from run
6. Timings come from a seeded noise model: each run's figures are the real run's times
exp(N(0, σ)), with σ calibrated by eight real A/A tiny runs of this schema on this
machine (standard deviation of log p50 between runs: 0.027-0.045 per query, of log p99
0.14-0.38, of log ops/s 0.042-0.051; the largest are used). Deriving costs no run, and
the timings' noise is what a real series shows, without making the test hang on how busy
the machine is today. Eight A/A runs derived from X alone must give no change point.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from perflab import paths
from perflab.errors import PerflabError
from perflab.judge.history import (
    MIN_RUNS,
    Point,
    RunPoint,
    breakpoints,
    build_history,
    history,
    load_runs,
    timing_changes,
    validate_history,
)
from perflab.present.history_page import render_history, write_history
from perflab.run.summary import checkout_commit, validate_summary
from test_html_offline import EXTERNAL_LOAD

DDL = """
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                   team INTEGER NOT NULL CHECK (team BETWEEN 1 AND 20));
CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                    kind TEXT NOT NULL CHECK (kind IN ('view', 'click', 'buy')),
                    at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, payload TEXT NOT NULL);
CREATE INDEX events_user ON events(user_id, at);
"""

WORKLOAD = """
name: history_test
queries:
  - name: user_by_id
    sql: SELECT * FROM users WHERE id = ?
    params:
      - sample: SELECT id FROM users
  - name: user_by_email
    sql: SELECT id, team FROM users WHERE email = ?
    params:
      - sample: SELECT email FROM users
  - name: recent_events
    sql: SELECT * FROM events WHERE user_id = ? ORDER BY at DESC LIMIT 20
    params:
      - sample: SELECT user_id FROM events
writes:
  - name: add_event
    statements:
      - sql: INSERT INTO events(user_id, kind, at, payload) VALUES (?, 'view', ?, 'x')
        params:
          - sample: SELECT id FROM users
          - now: true
"""

#: between-run noise (standard deviation of the log), from 8 real A/A tiny runs (see above)
SIGMA = {"p50": 0.045, "p99": 0.38, "ops_per_s": 0.051}
SLOW, SLOW_AT, PLAN_AT = "user_by_email", 6, 4
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _perflab(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "perflab.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PERFLAB_CACHE_DIR": str(cache)},
    )


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, dict]:
    """Two real tiny runs: the schema with its index (X) and without it (Y)."""
    tmp = tmp_path_factory.mktemp("history-real")
    (tmp / "app.yaml").write_text(WORKLOAD)
    out = {}
    for name, ddl in (("X", DDL), ("Y", DDL.replace("CREATE INDEX events_user", "-- "))):
        (tmp / f"{name}.sql").write_text(ddl)
        args = ["run", "--profile", "tiny", "--schema", f"{name}.sql", "--workload", "app.yaml"]
        proc = _perflab([*args, "--out", str(tmp / name)], tmp, tmp / "cache")
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[name] = json.loads((tmp / name / "summary.json").read_text())
    return out


def derive(base: dict, run: int, rng: np.random.Generator, slow: dict[str, float]) -> dict:
    """Run `run` of a history: `base` with its own run id, time and commit, and each figure
    times exp(N(0, σ)) (a query in `slow` also times its factor)."""
    s = copy.deepcopy(base)
    s["run_id"] = f"h{run:02d}"
    s["created_at"] = (T0 + dt.timedelta(hours=run)).isoformat()
    sha = hashlib.sha1(f"commit {run}".encode()).hexdigest()
    s["commit"] = {"sha": sha, "committed_at": (T0 + dt.timedelta(hours=run - 0.5)).isoformat()}
    for q in s["queries"]:
        f = slow.get(q["name"], 1.0)
        f50, f99 = (f * math.exp(rng.normal(0, SIGMA[k])) for k in ("p50", "p99"))
        for p, v in q["latency_ms"].items():
            q["latency_ms"][p] = v * (f99 if p == "p99" else f50)
        for p, v in q["latency_ci_ms"].items():
            q["latency_ci_ms"][p] = [x and x * (f99 if p == "p99" else f50) for x in v]
    for w in s["throughput"]["writes"]:
        f = math.exp(rng.normal(0, SIGMA["ops_per_s"]))
        w["ops_per_s"] *= f
        w["ops_per_s_ci"] = [x * f for x in w["ops_per_s_ci"]]
    return s


def _regression_runs(real: dict, seed: int = 24) -> list[dict]:
    """8 runs: X for 1-3, Y from run 4 (plan regression), SLOW 30% slower from run 6;
    every timing but recent_events' after its plan change is drawn around X's."""
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(1, 9):
        s = derive(real["X"], i, rng, {SLOW: 1.3} if i >= SLOW_AT else {})
        if i >= PLAN_AT:  # Y's plans and counters for every query, Y's timing where it moved
            y = derive(real["Y"], i, rng, {})
            for q, qy in zip(s["queries"], y["queries"], strict=True):
                keep = ("latency_ms", "latency_ci_ms") if q["name"] != "recent_events" else ()
                q.update({k: v for k, v in qy.items() if k not in keep})
            for w, wy in zip(s["throughput"]["writes"], y["throughput"]["writes"], strict=True):
                w["counters"] = wy["counters"]
        runs.append(s)
    return runs


def _write(tmp: Path, summaries: list[dict]) -> list[Path]:
    out = []
    for s in summaries:
        d = tmp / s["run_id"]
        d.mkdir()
        (d / "summary.json").write_text(json.dumps(s))
        out.append(d)
    return out


def test_the_derived_runs_are_valid_summaries(real):
    for s in _regression_runs(real):
        validate_summary(s)


def test_planted_plan_regression_and_slowdown_are_found_at_their_runs(real, tmp_path):
    dirs = _write(tmp_path, _regression_runs(real))
    h = history(list(reversed(dirs)))  # given out of order: ordered by commit
    assert [r.run_id for r in h.runs] == [f"h{i:02d}" for i in range(1, 9)]
    plan = [s for s in h.steps if s.what == "plan"]
    assert [(s.subject, s.run, s.verdict) for s in plan] == [("recent_events", PLAN_AT, "worse")]
    assert "scans" in plan[0].after and "events_user" in plan[0].before
    work = {(s.subject, s.kind, s.run) for s in h.steps if s.what == "work"}
    assert ("recent_events", "query", PLAN_AT) in work
    assert all(run == PLAN_AT for _, _, run in work)
    slow = [c for c in h.change_points if c.subject == SLOW]
    assert [(c.metric, c.run, c.worse) for c in slow] == [("p50", SLOW_AT, True)]
    assert 1.2 < slow[0].after / slow[0].before < 1.4
    others = [c for c in h.change_points if c.subject not in (SLOW, "recent_events")]
    assert others == []
    assert all(c.run == PLAN_AT for c in h.change_points if c.subject == "recent_events")
    sentences = "\n".join(h.sentences)
    assert f"`{SLOW}` got" in sentences and f"slower at run {SLOW_AT} (commit " in sentences
    assert f"`recent_events`'s plan changed at run {PLAN_AT} (commit" in sentences


def test_eight_aa_runs_give_no_change_point(real, tmp_path):
    rng = np.random.default_rng(24)
    h = history(_write(tmp_path, [derive(real["X"], i, rng, {}) for i in range(1, 9)]))
    assert len(h.runs) == 8
    assert h.change_points == () and h.steps == () and h.sentences == ()


def _series(rng, n: int, sigma: float, step_at: int | None, factor: float, rel=(0.9975, 1.0025)):
    pts = []
    for i in range(n):
        v = 0.003 * math.exp(rng.normal(0, sigma)) * (factor if step_at and i >= step_at else 1)
        pts.append(Point(i + 1, v, v * rel[0], v * rel[1]))
    return pts


RUNS = [RunPoint(i, f"r{i}", "x", machine="m") for i in range(1, 9)]


def test_detector_rates_at_the_calibrated_noise():
    """Over 300 seeds at σ = 4.5%: no A/A change point, the 30% step found at run 6 in most
    (missed only when the noise shrinks it below the 25% minimum effect or widens the
    segments' intervals into each other), never elsewhere."""
    aa = found = wrong = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        calls = timing_changes("q", "query", "p50", _series(rng, 8, 0.045, None, 1), RUNS)
        aa += any(c.called for c in calls)
        calls = timing_changes("q", "query", "p50", _series(rng, 8, 0.045, 5, 1.3), RUNS)
        found += any(c.called and c.run == 6 for c in calls)
        wrong += any(c.called and c.run != 6 for c in calls)
        for c in calls:
            if c.run == 6 and not c.called:
                assert c.after / c.before < 1.25 or "overlap" in c.reason, c
    assert aa == 0 and wrong <= 0.01 * 300
    assert found >= 0.7 * 300


def test_a_small_step_without_noise_is_not_even_a_candidate():
    """Identical figures around a 5% step (copies of one run): the penalty's floor keeps
    PELT from cutting where the noise estimate is zero."""
    assert breakpoints([1.0] * 4 + [1.05] * 4) == []
    assert breakpoints([1.0] * 4 + [1.3] * 4) == [4]


def test_a_step_below_the_minimum_effect_is_a_candidate_not_a_change_point():
    pts = [Point(i + 1, 1.0 if i < 4 else 1.15, 0.99, 1.01) for i in range(8)]
    pts = [Point(p.run, p.value, p.value * 0.99, p.value * 1.01) for p in pts]
    (c,) = timing_changes("q", "query", "p50", pts, RUNS)
    assert c.run == 5 and not c.called and "minimum effect" in c.reason
    big = [Point(p.run, p.value * (1.3 / 1.15 if p.run > 4 else 1), 0, 0) for p in pts]
    big = [Point(p.run, p.value, p.value * 0.99, p.value * 1.01) for p in big]
    (c,) = timing_changes("q", "query", "p50", big, RUNS)
    assert c.called and c.run == 5 and c.change == pytest.approx(0.3)


def test_overlapping_intervals_machines_and_one_odd_run_are_not_change_points():
    wide = [Point(i + 1, v, v * 0.5, v * 2) for i, v in enumerate([1, 1, 1, 1, 2, 2, 2, 2])]
    (c,) = timing_changes("q", "query", "p99", wide, RUNS)
    assert not c.called and "overlap" in c.reason
    two = [RunPoint(i, f"r{i}", "x", machine="a" if i <= 4 else "b") for i in range(1, 9)]
    tight = [Point(p.run, p.value, p.value * 0.99, p.value * 1.01) for p in wide]
    (c,) = timing_changes("q", "query", "p50", tight, two)
    assert not c.called and "machine" in c.reason
    assert timing_changes("q", "query", "p50", tight, RUNS)[0].called
    spike = [Point(i + 1, 3.0 if i == 4 else 1.0, None, None) for i in range(8)]
    assert not any(c.called for c in timing_changes("q", "query", "p50", spike, RUNS))
    assert MIN_RUNS == 2
    short = tight[:3]
    assert timing_changes("q", "query", "p50", short, RUNS) == []


def _counters(q: dict, factor: float) -> None:
    c = q["counters"]
    c["values"]["vm_steps"] = [round(v * factor) for v in c["values"]["vm_steps"]]
    vals = c["values"]["vm_steps"]
    c["per_execution"]["vm_steps"]["mean"] = sum(vals) / len(vals)


def test_work_steps_use_compares_tolerance_against_the_level_start(real, tmp_path):
    """VM steps +6% at run 3 and again at run 5 (+12% in all): no step at 3 (within the 10%
    tolerance), one at 5, where the drift from the level's start passes it."""
    rng = np.random.default_rng(1)
    runs = [derive(real["X"], i, rng, {}) for i in range(1, 7)]
    for i, s in enumerate(runs, start=1):
        q = next(q for q in s["queries"] if q["name"] == "recent_events")
        _counters(q, 1.0 if i < 3 else 1.06 if i < 5 else 1.06 * 1.06)
    h = history(_write(tmp_path, runs))
    assert [(s.subject, s.run, s.verdict) for s in h.steps] == [("recent_events", 5, "regression")]


def test_runs_order_by_commit_time_then_run_time(real, tmp_path):
    rng = np.random.default_rng(2)
    runs = [derive(real["X"], i, rng, {}) for i in (1, 2, 3)]
    rerun = derive(real["X"], 9, rng, {})  # run much later, of commit 1
    rerun["run_id"], rerun["commit"] = "h01-rerun", dict(runs[0]["commit"])
    no_commit = derive(real["X"], 4, rng, {})
    del no_commit["commit"]  # ordered by when it ran
    h = history(_write(tmp_path, [rerun, runs[2], no_commit, runs[1], runs[0]]))
    assert [r.run_id for r in h.runs] == ["h01", "h01-rerun", "h02", "h03", "h04"]
    assert h.runs[4].commit is None and h.run(2).commit == h.run(1).commit


def test_history_json_matches_its_schema(real, tmp_path):
    doc = history(_write(tmp_path, _regression_runs(real))).to_dict()
    validate_history(doc)
    schema = json.loads((paths.DATA_DIR / "history.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
    bad = copy.deepcopy(doc)
    bad["change_points"][0]["run"] = 0
    with pytest.raises(PerflabError, match=r"\$\.change_points\[0\]\.run"):
        validate_history(bad)


def test_page_is_self_contained_and_leads_with_the_sentences(real, tmp_path):
    h = history(_write(tmp_path, _regression_runs(real)))
    page = render_history(h)
    assert not EXTERNAL_LOAD.findall(page)
    assert page.count("Plotly.newPlot") == len(h.series)
    assert page.index("What changed") < page.index("By query and write")
    assert f"<code>{SLOW}</code> got" in page


def test_cli_writes_page_and_json_and_refuses_bad_input(real, tmp_path):
    dirs = _write(tmp_path, _regression_runs(real))
    out = tmp_path / "hist"
    proc = _perflab(["history", str(dirs[0].parent), "--out", str(out)], tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"`{SLOW}` got" in proc.stdout
    doc = json.loads((out / "history.json").read_text())
    assert {(c["subject"], c["run"]) for c in doc["change_points"]} >= {(SLOW, SLOW_AT)}
    assert (out / "history.html").is_file()
    again = _perflab(["history", *map(str, dirs), "--out", str(out)], tmp_path, tmp_path)
    assert again.returncode == 0, again.stderr  # its own folder: replaced
    (tmp_path / "notes.txt").write_text("not a summary")
    for bad in (tmp_path / "missing", tmp_path / "notes.txt"):
        fresh = tmp_path / "never"
        proc = _perflab(
            ["history", str(dirs[0]), str(bad), "--out", str(fresh)], tmp_path, tmp_path
        )
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert str(bad.name) in proc.stderr and not fresh.exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("the user's")
    proc = _perflab(["history", str(dirs[0]), "--out", str(mine)], tmp_path, tmp_path)
    assert proc.returncode == 2 and (mine / "keep.txt").read_text() == "the user's"


def test_write_history_refuses_a_folder_it_did_not_make(real, tmp_path):
    h = build_history(load_runs(_write(tmp_path, _regression_runs(real))[:2]))
    assert any("not analysed" in n for n in h.notes)  # 2 runs: too few for timings
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a").write_text("")
    with pytest.raises(PerflabError, match="not made by perflab"):
        write_history(h, tmp_path / "x")


def test_summary_records_the_checkouts_commit(tmp_path):
    assert checkout_commit(tmp_path) is None  # not a checkout
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
        env=env,
    )
    sha = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    got = checkout_commit(tmp_path)
    assert got is not None and got["sha"] == sha and dt.datetime.fromisoformat(got["committed_at"])


def test_page_renders_offline_in_chromium(real, tmp_path):
    from browser import check_pages, chromium_path

    if chromium_path() is None:
        pytest.skip("Chromium not installed (set PERFLAB_CHROMIUM or install chromium)")
    h = history(_write(tmp_path, _regression_runs(real)))
    out = write_history(h, tmp_path / "page")
    (check,) = check_pages([out / "history.html"])
    assert check.ok, check
    assert check.charts == len(h.series) > 0
