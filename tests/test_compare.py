"""`perflab compare` and `--fail-on regression` on work counters: small real schemas, known answers.

Summaries are built the way a run builds them (latency records with counters, plan
records) from real SQLite files made here. The timings are then set by hand, so that
the counters alone decide: a planted index drop must be flagged with timings made
identical, and an A/A with timings moved 2x must not be flagged on counters.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest
from perflab.cli import main
from perflab.inputs.workload import load_workload
from perflab.judge import compare
from perflab.judge.evidence import CounterEvidence
from perflab.judge.gate import check_gates
from perflab.measure import latency
from perflab.measure.timing import Budget
from perflab.present.comparison import html_report, text_report
from perflab.sqlite import counters, plans

DDL = """
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL, c TEXT);
CREATE INDEX t_a ON t(a);
"""

WORKLOAD = """
name: small
queries:
  - name: by_id
    sql: SELECT * FROM t WHERE id = ?
    params:
      - sample: SELECT id FROM t ORDER BY id
  - name: by_a
    sql: SELECT * FROM t WHERE a = ?
    params:
      - sample: SELECT a FROM t ORDER BY id
"""


def _db(path: Path, *, index: bool = True, n: int = 3000) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(DDL if index else DDL.replace("CREATE INDEX t_a ON t(a);", ""))
    conn.executemany(
        "INSERT INTO t(a, b, c) VALUES (?, ?, ?)", [(i % 100, i % 7, f"r{i}") for i in range(n)]
    )
    conn.commit()
    conn.close()
    return path


def _summary(tmp_path: Path, name: str, *, index: bool = True) -> dict:
    """A summary as a run writes it: measured latency with counters, plans, SELECT 1."""
    wl_path = tmp_path / "small.yaml"
    wl_path.write_text(WORKLOAD)
    wl = load_workload(wl_path)
    conn = sqlite3.connect(_db(tmp_path / f"{name}.db", index=index))
    frame, _, params = latency.measure_workload(conn, wl, Budget(iterations=60, warmup=5, seed=3))
    recs = latency.latency_records(frame, wl, params)
    by_plan = {p["name"]: p for p in plans.plan_records(wl, plans.workload_plans(conn, wl, params))}
    conn.close()
    return {
        "run_id": name,
        "sqlite_version": sqlite3.sqlite_version,
        "queries": [{**q, **by_plan[q["name"]]} for q in recs],
        "harness_overhead_ms": {"select_1": 0.002, "empty_loop": 0.0001},
    }


def _same_timings(src: dict, dst: dict, factor: float = 1.0) -> None:
    """Give `dst` the timings of `src` (times `factor`), intervals included."""
    by = {q["name"]: q for q in src["queries"]}
    for q in dst["queries"]:
        s = by[q["name"]]
        q["latency_ms"] = {k: v * factor for k, v in s["latency_ms"].items()}
        q["latency_ci_ms"] = {
            k: [None if v is None else v * factor for v in ci]
            for k, ci in s["latency_ci_ms"].items()
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    return {
        "a": _summary(tmp, "a"),
        "a2": _summary(tmp, "a2"),
        "dropped": _summary(tmp, "dropped", index=False),
    }


def _by_query(cmp: dict) -> dict[str, dict]:
    return {w["query"]: w for w in cmp["work"]}


def test_counters_in_records_and_schema(runs):
    from perflab.run.summary import _validator

    q = {x["name"]: x for x in runs["a"]["queries"]}
    c = q["by_id"]["counters"]
    assert c["source"] == "sqlite_stmt" and c["reason"] is None and c["executions"] == 65
    assert c["per_execution"]["fullscan_steps"] == {"mean": 0.0, "min": 0, "max": 0}
    assert c["per_execution"]["rows"] == {"mean": 1.0, "min": 1, "max": 1}
    assert c["sentence"].startswith("returns 1 row without a full scan")
    scan = {x["name"]: x for x in runs["dropped"]["queries"]}["by_a"]["counters"]
    assert scan["per_execution"]["fullscan_steps"]["mean"] == 2999  # 3,000 rows: a step after each
    assert scan["sentence"].startswith("visits 2,999 rows in full scans to return 30 rows")
    schema = _validator().schema
    from jsonschema import Draft202012Validator

    v = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/query"})
    for rec in runs["a"]["queries"]:
        v.validate(rec)
    bad = copy.deepcopy(runs["a"]["queries"][0])
    bad["counters"] = {"source": None, "reason": None, "executions": 0, "per_execution": None}
    assert not v.is_valid(bad)  # unavailable must say why


def test_planted_index_drop_is_a_work_regression_with_identical_timings(runs, tmp_path, capsys):
    base, head = runs["a"], copy.deepcopy(runs["dropped"])
    _same_timings(base, head)
    cmp = compare.compare(base, head)
    assert cmp["regressions"] == 0  # the clock sees nothing
    w = _by_query(cmp)
    assert w["by_a"]["verdict"] == "regression"
    assert "new full-scan steps: 2,999 per execution" in w["by_a"]["why"]
    assert w["by_id"]["verdict"] == "same"
    assert cmp["work_regressions"] == 1 and cmp["unchanged_work_and_plan"] == ["by_id"]
    fails = check_gates({"comparison": cmp}, ["regression"])
    assert any("work per execution worse" in f and "by_a" in f for f in fails)
    # the same through the CLI, end to end, with files
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(base))
    b.write_text(json.dumps(head))
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--fail-on", "regression"]) == 1
    out, err = capsys.readouterr()
    assert "by_a: regression (VM steps x" in out and "new full-scan steps: 2,999" in out
    assert "work per execution worse" in err and "by_a" in err


def test_aa_with_timings_moved_2x_flags_nothing_on_counters(runs, tmp_path, capsys):
    base, head = runs["a"], copy.deepcopy(runs["a2"])
    _same_timings(base, head, factor=2.0)
    head["harness_overhead_ms"]["select_1"] = 0.004
    cmp = compare.compare(base, head)
    assert {w["verdict"] for w in cmp["work"]} == {"same"}
    assert cmp["work_regressions"] == 0 and cmp["plan_regressions"] == 0
    assert cmp["unchanged_work_and_plan"] == ["by_a", "by_id"]
    # The timings moved 2x, but with the same work and plan that is not evidence: shown as
    # inconclusive (marked identical work), never gated.
    assert cmp["regressions"] == 0
    moved = [m for m in cmp["metrics"] if m["metric"] == "latency_p50_ms"]
    assert {(m["verdict"], m["work"]) for m in moved} == {("inconclusive", "identical")}
    assert check_gates({"comparison": cmp}, ["regression"]) == []
    text = text_report(cmp)
    assert "by_a: same" in text and "plan identical too: no plan or work change" in text
    assert "SELECT 1 through the harness took 2.00x as long" in text
    assert "do not depend on the machine" in text


def test_base_without_counters_is_not_comparable(runs):
    base = copy.deepcopy(runs["a"])
    for q in base["queries"]:
        del q["counters"]  # a summary from before counters existed
    cmp = compare.compare(base, runs["dropped"])
    assert {w["verdict"] for w in cmp["work"]} == {"not comparable"}
    assert cmp["work_regressions"] == 0
    assert cmp["counters_status"].startswith("counters: not comparable (the base run has no")
    assert "counters: not comparable" in text_report(cmp)
    assert cmp["plan_regressions"] == 1  # the plan still tells


def _rec(vm, scan=0, sorts=0, aidx=0, rows=1, n=10):
    import numpy as np

    a = [np.full(n, v, dtype=np.int64) for v in (vm, scan, sorts, aidx, rows)]
    return counters.counter_record(counters.WorkCounters("sqlite_stmt", *a))


@pytest.mark.parametrize(
    ("base", "head", "verdict"),
    [
        (_rec(100), _rec(100), "same"),
        (_rec(100), _rec(109), "within tolerance"),
        (_rec(100), _rec(111), "regression"),
        (_rec(100), _rec(100, sorts=1), "regression"),
        (_rec(100), _rec(100, aidx=5), "regression"),
        (_rec(100, scan=50), _rec(100, scan=54), "within tolerance"),
        (_rec(100, scan=50), _rec(100, scan=56), "regression"),
        (_rec(100, scan=50), _rec(100), "improvement"),
        (_rec(100), _rec(80), "improvement"),
        (_rec(100), {"source": None, "reason": "no stmtvtab", "per_execution": None}, None),
    ],
)
def test_work_tolerance_rule(base, head, verdict):
    read = CounterEvidence.from_summary
    v = compare.work_verdict(read(base), read(head), 0.10)
    assert v["verdict"] == (verdict or "not comparable")
    if verdict is None:
        assert v["why"] == "head: no stmtvtab"


def test_compares_the_executions_both_runs_counted():
    import numpy as np

    vm = np.array([10] * 30 + [1000] * 70, dtype=np.int64)
    z = np.zeros(100, dtype=np.int64)
    full = counters.counter_record(counters.WorkCounters("sqlite_stmt", vm, z, z, z, z + 1))
    cut = counters.counter_record(
        counters.WorkCounters("sqlite_stmt", vm[:30], z[:30], z[:30], z[:30], z[:30] + 1, True)
    )
    read = CounterEvidence.from_summary
    v = compare.work_verdict(read(full), read(cut), 0.10)
    assert v["verdict"] == "same" and v["executions"] == 30


def test_html_shows_counter_verdict_and_machine_ratio(runs):
    head = copy.deepcopy(runs["dropped"])
    head["harness_overhead_ms"]["select_1"] = 0.003
    page = html_report(compare.compare(runs["a"], head))
    assert "Work per execution (SQLite's counters)" in page
    assert "SELECT 1 (harness), head ÷ base</span><b>x1.5</b>" in page
    assert "added none; removed" in page and "added []" not in page
    assert "new full-scan steps: 2,999 per execution" in page
    assert "took 1.50x as long in head as in base" in page
    assert "do not depend on the machine or its load" in page


# --- the CI recipe: benchmarks/ci_compare.sh on two local git commits ----------------------

CI_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ci_compare.sh"

#: `perflab` as the CI job runs it, limited to the notebooks a comparison reads (plans,
#: latency) so that two real runs stay short.
PERFLAB_TWO_NOTEBOOKS = """
import sys
import perflab.run.runner
perflab.run.runner.notebook_names = lambda: ["01_query_plans", "02_latency"]
from perflab.cli import main
sys.exit(main())
"""


def _git(repo: Path, *args: str) -> str:
    import subprocess

    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def test_ci_script_measures_base_and_head_and_gates(tmp_path):
    import os
    import subprocess
    import sys

    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "db").mkdir()
    (repo / "db" / "app.sql").write_text(DDL)
    (repo / "app.yaml").write_text(WORKLOAD.replace(" ORDER BY id", ""))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    (repo / "db" / "app.sql").write_text(DDL.replace("CREATE INDEX t_a ON t(a);", ""))
    _git(repo, "commit", "-qam", "drop the index")
    wrapper = tmp_path / "perflab_two.py"
    wrapper.write_text(PERFLAB_TWO_NOTEBOOKS)
    env = {
        **os.environ,
        "PERFLAB": f"{sys.executable} {wrapper}",
        "OUT": str(tmp_path / "perf"),
        "PERFLAB_CACHE_DIR": str(tmp_path / "cache"),
    }
    args = ["--profile", "tiny", "--schema", "db/app.sql", "--workload", "app.yaml"]

    def script(*refs: str) -> subprocess.CompletedProcess:
        cmd = ["bash", str(CI_SCRIPT), *refs, *args]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)

    proc = script("HEAD~1", "HEAD")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "by_a: regression (VM steps x" in proc.stdout
    assert "fail-on regression: work per execution worse" in proc.stderr
    out = tmp_path / "perf"
    base = json.loads((out / "base" / "summary.json").read_text())
    head = json.loads((out / "head" / "summary.json").read_text())

    def scans(s: dict) -> dict[str, float]:
        return {
            q["name"]: q["counters"]["per_execution"]["fullscan_steps"]["mean"]
            for q in s["queries"]
        }

    assert scans(base) == {"by_id": 0, "by_a": 0}
    assert scans(head)["by_a"] > 0 and scans(head)["by_id"] == 0
    assert (out / "comparison.html").is_file()
    assert _git(repo, "worktree", "list").count("\n") == 0  # the temporary trees are gone
    assert _git(repo, "status", "--porcelain") == ""  # the checkout is untouched
    bad = script("no-such-ref", "HEAD")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "ci_compare.sh: no-such-ref: not a commit (fetch it first: actions/checkout "
        "with fetch-depth: 0)"
    ]


def test_ratio_bars_start_at_one_and_colour_the_direction(runs):
    from perflab.present import theme
    from perflab.present.comparison import ratio_chart

    cmp = {
        "metrics": [
            {"subject": "q", "metric": "latency_p50_ms", "ratio": 2.0, "verdict": "regression"},
            {"subject": "q", "metric": "ops_per_s", "ratio": 2.0, "verdict": "improvement"},
            {"subject": "r", "metric": "latency_p50_ms", "ratio": 0.9, "verdict": "unchanged"},
        ]
    }
    (bar,) = ratio_chart(cmp).data
    assert list(bar.base) == [1.0, 1.0, 1.0]  # anchored at "no change"
    assert [b + x for b, x in zip(bar.base, bar.x, strict=True)] == pytest.approx([2, 2, 0.9])
    assert list(bar.marker.color) == [theme.WORSE, theme.BETTER, theme.BETTER]
    assert list(bar.marker.opacity) == [1.0, 1.0, 0.35]  # within noise: faint


def test_terminal_report_leads_with_the_select_1_ratio(runs):
    head = copy.deepcopy(runs["a"])
    head["harness_overhead_ms"]["select_1"] = 0.004
    lines = text_report(compare.compare(runs["a"], head)).splitlines()
    assert "SELECT 1 through the harness took 2.00x as long" in lines[1]
    assert "e-0" not in "\n".join(lines) and "e+0" not in "\n".join(lines)


def _timed(name: str, p50: float, lo: float, hi: float, spread: float | None) -> dict:
    """A summary of one query with a p50, its interval and its A/A spread, and no counters
    (an older summary): only the timing rule decides."""
    return {
        "run_id": name,
        "queries": [
            {
                "name": "q",
                "latency_ms": {"p50": p50, "p99": p50},
                "latency_ci_ms": {"p50": [lo, hi], "p99": [lo, hi]},
                "latency_aa_spread": {"p50": spread},
            }
        ],
    }


@pytest.mark.parametrize(
    "spread, verdict",
    [(None, "regression"), (1.1, "regression"), (1.6, "inconclusive"), (2.0, "inconclusive")],
)
def test_a_timing_change_within_the_base_runs_own_aa_spread_is_inconclusive(spread, verdict):
    base = _timed("base", 1.0, 0.95, 1.05, spread)
    head = _timed("head", 1.5, 1.45, 1.55, None)  # 1.5x, intervals far apart
    cmp = compare.compare(base, head)
    (p50,) = [m for m in cmp["metrics"] if m["metric"] == "latency_p50_ms"]
    assert p50["verdict"] == verdict and p50["aa_spread"] == spread
    assert cmp["regressions"] == (verdict == "regression")
