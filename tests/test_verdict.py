"""Targets, issues and decision rules; compare and the CI gates, on summaries with known answers."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys

import jsonschema
import pytest
from perflab import paths
from perflab.analysis import integrity
from perflab.errors import PerflabError
from perflab.inputs.targets import Target, Targets, load_targets
from perflab.judge import compare, gate, verdict
from perflab.judge.evidence import Evidence
from perflab.present.comparison import text_report


def q(
    name,
    p50=1.0,
    p99=2.0,
    ci99=(1.9, 2.1),
    ci50=(0.95, 1.05),
    plan=None,
    scans=0,
    temps=0,
    uses_index=True,
    indexes=("ix",),
):
    return {
        "name": name,
        "sql": f"SELECT * FROM t WHERE {name} = ?",
        "iterations": 1000,
        "latency_ms": {
            "p50": p50,
            "p95": p99 * 0.9,
            "p99": p99,
            "p999": p99 * 1.2,
            "max": p99 * 2,
            "mean": p50,
            "min": p50 / 2,
        },
        "latency_ci_ms": {
            "p50": list(ci50),
            "p99": list(ci99),
            "p95": [None, None],
            "p999": [None, None],
        },
        "ops_per_s": 1000 / p50,
        "rows": {"mean": 1, "min": 1, "max": 1},
        "plan": plan
        or [
            {
                "id": 2,
                "parent": 0,
                "detail": "SEARCH t USING INDEX ix (a=?)",
                "kind": "search_index",
            }
        ],
        "plan_classification": {
            "kinds": [],
            "uses_index": uses_index,
            "full_scans": scans,
            "temp_btrees": temps,
            "indexes": list(indexes),
        },
    }


def targets(*ts):
    return Targets(tuple(ts), "the original report")


def p99_target(name, threshold):
    return Target("latency_p99_ms", "<", threshold, query=name, reference=0.1)


# ---------------------------------------------------------------- target status


@pytest.mark.parametrize(
    ("ci", "threshold", "status"),
    [
        ((1.9, 2.1), 5.0, "pass"),
        ((1.9, 2.1), 1.0, "fail"),
        ((1.9, 2.1), 2.0, "inconclusive"),
        ((1.9, None), 5.0, "inconclusive"),
        ((1.9, None), 1.0, "fail"),
    ],
)
def test_target_status_follows_the_interval(ci, threshold, status):
    s = {"queries": [q("a", p99=2.0, ci99=ci)]}
    (r,) = verdict.evaluate_targets(s, targets(p99_target("a", threshold)))
    assert r.status == status
    assert r.ratio == pytest.approx(2.0 / threshold)
    assert r.reference == 0.1 and r.reference_source == "the original report"


def test_higher_is_better_targets_use_the_lower_bound():
    s = {
        "queries": [],
        "throughput": {
            "writes": [
                {
                    "write": "w",
                    "batch_size": 1,
                    "ops_per_s": 100.0,
                    "ops_per_s_ci": [80.0, 120.0],
                    "status": "ok",
                }
            ]
        },
    }
    t = lambda thr: Target("ops_per_s", ">", thr, operation="w")  # noqa: E731
    assert verdict.evaluate_targets(s, targets(t(50)))[0].status == "pass"
    assert verdict.evaluate_targets(s, targets(t(90)))[0].status == "inconclusive"
    assert verdict.evaluate_targets(s, targets(t(150)))[0].status == "fail"


def test_failed_write_check_is_not_a_figure():
    s = {
        "queries": [],
        "throughput": {
            "writes": [{"write": "w", "batch_size": 1, "ops_per_s": None, "status": "failed"}],
            "failures": ["w: expected +10 rows, saw +9"],
        },
    }
    a = verdict.assess(s, targets(Target("ops_per_s", ">", 1, operation="w")))
    assert a["targets"][0]["status"] == "not_measured"
    assert a["decision"]["decision"] == "REJECTED"
    assert any("lost or duplicated" in i["title"] for i in a["issues"])


# ---------------------------------------------------------------- decisions


def test_all_pass_no_issues_is_approved():
    a = verdict.assess({"queries": [q("a")]}, targets(p99_target("a", 50)))
    assert a["decision"]["decision"] == "APPROVED"
    assert a["issues"] == []


def test_a_failed_target_rejects_with_evidence():
    a = verdict.assess({"queries": [q("a", p99=80, ci99=(70, 90))]}, targets(p99_target("a", 50)))
    assert a["decision"]["decision"] == "REJECTED"
    (i,) = [i for i in a["issues"] if i["severity"] == "critical"]
    assert "a" in i["title"] and i["evidence"] and "70" in i["evidence"][0]


def test_inconclusive_target_gives_conditions():
    a = verdict.assess({"queries": [q("a", p99=50, ci99=(45, 55))]}, targets(p99_target("a", 50)))
    assert a["decision"]["decision"] == "APPROVED WITH CONDITIONS"
    assert any("inconclusive" in c for c in a["decision"]["conditions"])


def test_next_milestone_failure_does_not_reject():
    t = Target("latency_p99_ms", "<", 1, query="a", milestone="next")
    a = verdict.assess({"queries": [q("a", p99=80, ci99=(70, 90))]}, targets(t))
    assert a["decision"]["decision"] == "APPROVED"
    assert a["issues"][0]["severity"] == "low"


def test_integrity_failure_rejects():
    s = {
        "queries": [q("a")],
        "integrity": {
            "integrity_ok": False,
            "integrity_problems": ["page 3: btree"],
            "foreign_keys_ok": True,
        },
    }
    assert verdict.assess(s, targets())["decision"]["decision"] == "REJECTED"


def test_findings_become_issues_by_severity_and_info_is_ignored_with_reason():
    s = {
        "queries": [q("a")],
        "findings": {
            "plan_findings": [
                {
                    "query": "a",
                    "rule": "full_table_scan",
                    "severity": "high",
                    "rows": 200000,
                    "plan_line": "SCAN t",
                    "table": "t",
                    "evidence": "200000 rows",
                    "detail": "d",
                },
                {
                    "query": "a",
                    "rule": "temp_btree_order_by",
                    "severity": "info",
                    "rows": 5,
                    "plan_line": "USE TEMP B-TREE FOR ORDER BY",
                    "evidence": "5 rows",
                },
            ]
        },
    }
    a = verdict.assess(s, targets(p99_target("a", 50)))
    assert [i["severity"] for i in a["issues"]] == ["high"]
    # the latency is 02's, with its interval (01 times nothing for its findings)
    p50 = "measured p50 1 ms [0.95, 1.05]"
    assert list(a["issues"][0]["evidence"]) == ["plan: `SCAN t`", "200000 rows", p50]
    assert a["decision"]["decision"] == "APPROVED WITH CONDITIONS"
    # evidence that quotes its plan line already says it once
    s["findings"]["plan_findings"][0]["evidence"] = "plan: `SCAN t`; t has 200,000 rows"
    ev = verdict.assess(s, targets(p99_target("a", 50)))["issues"][0]["evidence"]
    assert list(ev) == ["plan: `SCAN t`; t has 200,000 rows", p50]
    # without 02 (a stage subset, an older summary): the finding's own median, if any
    s["queries"] = []
    s["findings"]["plan_findings"][0]["latency_ms"] = 2.5
    ev = verdict.assess(s, targets())["issues"][0]["evidence"]
    assert list(ev) == ["plan: `SCAN t`; t has 200,000 rows", "measured p50 2.5 ms"]
    del s["findings"]["plan_findings"][0]["latency_ms"]
    ev = verdict.assess(s, targets())["issues"][0]["evidence"]
    assert list(ev) == ["plan: `SCAN t`; t has 200,000 rows"]
    assert len(a["ignored_findings"]) == 1 and a["ignored_findings"][0]["why_ignored"]


def test_a_finding_on_a_query_failing_its_target_is_raised_a_level():
    s = {
        "queries": [q("a", p99=80, ci99=(70, 90))],
        "findings": {
            "plan_findings": [
                {
                    "query": "a",
                    "rule": "full_table_scan",
                    "severity": "low",
                    "rows": 2000,
                    "plan_line": "SCAN t",
                    "evidence": "2000 rows",
                }
            ]
        },
    }
    a = verdict.assess(s, targets(p99_target("a", 50)))
    assert {i["severity"] for i in a["issues"]} == {"critical", "medium"}


def test_recommendation_carries_the_advisors_measured_gain():
    s = {
        "queries": [q("a")],
        "findings": {
            "plan_findings": [
                {
                    "query": "a",
                    "rule": "full_table_scan",
                    "severity": "medium",
                    "plan_line": "SCAN t",
                    "evidence": "20000 rows",
                }
            ]
        },
        "advice": {
            "recommended": ["CREATE INDEX x ON t(a)"],
            "candidates": [
                {
                    "ddl": "CREATE INDEX x ON t(a)",
                    "action": "create",
                    "queries_changed": ["a"],
                    "verdicts": {"a": {"p50_before_ms": 3.0, "p50_after_ms": 0.1}},
                    "insert_us": 2.0,
                }
            ],
        },
    }
    (i,) = verdict.assess(s, targets())["issues"]
    assert i["recommendation"] == "CREATE INDEX x ON t(a)"
    assert "3 -> 0.1" in i["gain"]


def test_a_missed_target_with_no_measured_fix_says_what_was_tried():
    t = Target("latency_p99_ms", "<", 1, query="a")
    tried = {
        "ddl": "CREATE INDEX y ON t(b, a)",
        "action": "create",
        "queries_changed": ["a"],
        "verdicts": {"a": {"p50_before_ms": 30.0, "p50_after_ms": 29.0}},
        "why": "rejected: no improvement beyond noise; timed within the budget",
    }
    s = {"queries": [q("a", p99=80, ci99=(70, 90))], "advice": {"candidates": [tried]}}
    (i,) = [i for i in verdict.assess(s, targets(t))["issues"] if i["origin"] == "targets"]
    assert i["recommendation"] == (
        "no measured fix: tried CREATE INDEX y ON t(b, a) (p50 30 -> 29 ms; rejected: no "
        "improvement beyond noise)"
    )
    s["advice"] = {"candidates": [{**tried, "queries_changed": ["b"]}]}
    (i,) = [i for i in verdict.assess(s, targets(t))["issues"] if i["origin"] == "targets"]
    assert i["recommendation"].startswith("no measured fix: no candidate index or rewrite")
    del s["advice"]  # nothing tried: it says so, never that nothing would help
    (i,) = [i for i in verdict.assess(s, targets(t))["issues"] if i["origin"] == "targets"]
    assert i["recommendation"] == "no measured fix: the index advisor (notebook 03) did not run"


def test_issue_needs_evidence():
    with pytest.raises(ValueError):
        verdict.Issue("I1", "low", "t", ())


# ---------------------------------------------------------------- targets files


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("{metric: latency_p42_ms, query: a, comparator: '<', threshold: 1}", "unknown metric"),
        (
            "{metric: latency_p99_ms, query: zz, comparator: '<', threshold: 1}",
            "unknown query 'zz'",
        ),
        (
            "{metric: ops_per_s, operation: zz, comparator: '>', threshold: 1}",
            "unknown operation 'zz'",
        ),
        ("{metric: ops_per_s, operation: w, comparator: '!=', threshold: 1}", "comparator"),
        ("{metric: ops_per_s, operation: w, comparator: '>', threshold: fast}", "threshold"),
    ],
)
def test_targets_file_errors(tmp_path, row, match):
    p = tmp_path / "t.yaml"
    p.write_text(f"targets:\n  - {row}\n")
    with pytest.raises(PerflabError, match=match):
        load_targets(p, queries={"a"}, operations={"w"})


# ---------------------------------------------------------------- integrity / pragmas


def test_pragma_audit_flags_risks_and_passes_good_settings(tmp_path):
    db = tmp_path / "a.db"
    c = sqlite3.connect(db, timeout=0)  # Python's default would set busy_timeout 5000
    c.executescript(
        "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p INTEGER REFERENCES p(id));"
    )
    by = {x.pragma: x for x in integrity.audit_pragmas(c, db.stat().st_size)}
    assert by["journal_mode"].status == "risk"  # rollback journal
    assert by["foreign_keys"].status == "risk"  # declared, not enforced
    assert by["busy_timeout"].status == "risk"
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA foreign_keys=ON")
    c.execute("PRAGMA busy_timeout=5000")
    c.execute("PRAGMA synchronous=NORMAL")
    by = {x.pragma: x for x in integrity.audit_pragmas(c, db.stat().st_size)}
    assert {
        by[k].status for k in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
    } == {"ok"}


def test_foreign_key_violations_are_found(tmp_path):
    c = sqlite3.connect(tmp_path / "f.db")
    c.executescript(
        "CREATE TABLE p(id INTEGER PRIMARY KEY); "
        "CREATE TABLE c(p INTEGER REFERENCES p(id)); INSERT INTO c VALUES (7);"
    )
    r = integrity.integrity(c)
    assert r["integrity_ok"] and not r["foreign_keys_ok"] and r["foreign_key_violations"] == 1


# ---------------------------------------------------------------- compare and gates


def base_summary():
    return {
        "run_id": "base",
        "queries": [q("a"), q("b"), q("c")],
        "indexes": {"inventory": [{"index": "ix"}, {"index": "iy"}]},
        "decision": {"decision": "APPROVED"},
    }


def test_compare_finds_slower_query_changed_plan_and_dropped_index():
    base = base_summary()
    head = copy.deepcopy(base)
    head["run_id"] = "head"
    head["queries"][0] = q("a", p50=2.0, ci50=(1.9, 2.1), p99=4.0, ci99=(3.8, 4.2))  # 2x slower
    head["queries"][1] = q(
        "b",
        plan=[{"id": 2, "parent": 0, "detail": "SCAN t", "kind": "scan_table"}],
        scans=1,
        uses_index=False,
    )
    head["queries"][2] = q("c", p50=1.03, ci50=(0.9, 1.2))  # noise: unchanged
    head["indexes"]["inventory"] = [{"index": "ix"}]
    cmp = compare.compare(base, head)
    m = {(r["subject"], r["metric"]): r["verdict"] for r in cmp["metrics"]}
    assert m[("a", "latency_p50_ms")] == "regression"
    assert m[("c", "latency_p50_ms")] == "unchanged"
    plans = {p["query"]: p for p in cmp["plans"]}
    assert plans["b"]["change"] == "worse" and "full table scan" in plans["b"]["why"]
    assert plans["a"]["change"] == "same"
    assert cmp["indexes"]["removed"] == ["iy"] and cmp["indexes"]["added"] == []
    assert m[("a", "latency_p99_ms")] == "regression"  # shown, but tails are not gated
    assert cmp["regressions"] == 1 and cmp["tail_regressions"] == 1
    assert cmp["plan_regressions"] == 1
    fails = gate.check_gates({"comparison": cmp}, ["regression"])
    assert len(fails) == 2 and "a latency_p50_ms" in fails[0] and "p99" not in fails[0]


def test_machine_speed_drift_is_reported():
    base, head = base_summary(), base_summary()
    base["harness_overhead_ms"] = {"select_1": 0.001}
    head["harness_overhead_ms"] = {"select_1": 0.002}
    cmp = compare.compare(base, head)
    assert cmp["machine"]["select_1_ratio"] == pytest.approx(2.0)
    assert "different speed" in cmp["machine"]["warning"]
    assert "warning:" in text_report(cmp)
    head["harness_overhead_ms"] = {"select_1": 0.00105}
    assert compare.compare(base, head)["machine"]["warning"] == ""


def test_large_change_with_overlapping_intervals_is_inconclusive():
    base = base_summary()
    head = copy.deepcopy(base)
    head["queries"][0] = q("a", p50=1.3, ci50=(0.9, 1.8))
    m = compare.compare_metrics(Evidence.from_summary(base), Evidence.from_summary(head))
    assert (
        m.set_index(["subject", "metric"]).loc[("a", "latency_p50_ms"), "verdict"] == "inconclusive"
    )


def test_identical_runs_compare_clean():
    cmp = compare.compare(base_summary(), base_summary())
    assert cmp["regressions"] == cmp["plan_regressions"] == cmp["improvements"] == 0
    assert gate.check_gates({"comparison": cmp}, ["regression"]) == []


def test_reject_gate():
    assert gate.check_gates({"decision": {"decision": "REJECTED", "reasons": ["x"]}}, ["reject"])
    assert not gate.check_gates({"decision": {"decision": "APPROVED WITH CONDITIONS"}}, ["reject"])
    with pytest.raises(PerflabError, match="needs --baseline"):
        gate.parse_fail_on(["regression"], None)
    with pytest.raises(PerflabError, match="unknown condition"):
        gate.parse_fail_on(["reject,sometimes"], None)


def test_compare_command_prints_writes_html_and_exits_on_regression(tmp_path):
    base = base_summary()
    head = copy.deepcopy(base)
    head["run_id"] = "head"
    head["queries"][0] = q("a", p50=3.0, ci50=(2.9, 3.1))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.json").write_text(json.dumps(base))
    (tmp_path / "h.json").write_text(json.dumps(head))
    html = tmp_path / "cmp.html"
    cmd = [
        sys.executable,
        "-m",
        "perflab.cli",
        "compare",
        str(tmp_path / "b"),
        str(tmp_path / "h.json"),
        "--html",
        str(html),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "regression" in ok.stdout and "a" in ok.stdout
    page = html.read_text()
    assert "plotly" in page and '<script src="http' not in page
    fail = subprocess.run([*cmd, "--fail-on", "regression"], capture_output=True, text=True)
    assert fail.returncode == 1 and "fail-on regression" in fail.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "perflab.cli",
            "compare",
            str(tmp_path / "nope"),
            str(tmp_path / "h.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no summary.json" in bad.stderr


def test_claims_are_checked_against_the_run_and_unknown_claims_refused(tmp_path):
    from perflab.present import views

    p = tmp_path / "t.yaml"
    p.write_text("claims: {full_scans: '0', indexes: '3'}\ntargets: []\n")
    tg = load_targets(p, queries=set(), operations=set())
    s = {
        "queries": [q("a", scans=1, uses_index=False), q("b")],
        "indexes": {"inventory": [{"index": "i1"}, {"index": "i2"}], "health": [{}]},
    }
    v = views.index_validation(s, tg.claims).set_index("check")
    assert (
        v.loc["full table scans", "claimed"] == "0" and v.loc["full table scans", "measured"] == 1
    )
    assert v.loc["indexes in the schema", "measured"] == 2
    assert v.loc["queries using an index", "measured"] == "1 of 2"
    assert v.loc["temp B-trees", "claimed"] == "—"
    p.write_text("claims: {speed: fast}\ntargets: []\n")
    with pytest.raises(PerflabError, match="unknown key 'speed'"):
        load_targets(p, queries=set(), operations=set())


def fit(query, claim, limit, n_max=1000, table="t", reason=None):
    return {
        "query": query,
        "table": table,
        "model": "O(n)",
        "claim": claim,
        "claim_text": f"grows {claim}: p50 x20 [x18, x22] from 10 rows to 1k rows",
        "claim_reason": reason,
        "n_min": 10,
        "n_max": n_max,
        "rel_rmse": 0.05,
        "target_ms": 50,
        "limit_rows": limit,
        "limit_x": None if limit is None else limit / n_max,
    }


def test_scale_rule_needs_a_confident_claim_and_uses_the_deployment_horizon():
    lin = "O(n) to O(n log n)"
    s = {
        "queries": [q("a"), q("b"), q("c"), q("d")],
        "scale": {
            "fits": [
                fit("a", lin, limit=50_000),  # beyond 10x measured, within deployment
                fit("b", "inconclusive", limit=2_000, reason="too narrow a range: 5 sizes"),
                fit("c", lin, limit=None),  # never crosses
                fit("d", "flat", limit=None),
            ]
        },
    }
    a = verdict.assess(s, targets(), deployment_rows={"t": 100_000})
    by = {i["subject"]: i for i in a["issues"]}
    assert by["a"]["severity"] == "high" and "100k rows" in by["a"]["evidence"][1]
    assert by["a"]["title"].endswith("p99 predicted to cross 50 ms before 100k rows")
    assert "this run's estimate: at 50k rows" in by["a"]["evidence"][2]  # not 5e+04
    assert "b" not in by and "d" not in by
    (ign,) = [x for x in a["ignored_findings"] if x["query"] == "b"]
    assert "too narrow a range" in ign["why_ignored"]
    assert by["c"]["severity"] == "low"
    # without a deployment size the horizon is 10x the largest measured size
    a = verdict.assess(s, targets())
    assert {i["subject"]: i["severity"] for i in a["issues"]}["a"] == "low"


@pytest.mark.parametrize(
    "limit_range, severity, words",
    [
        ([20_000, 80_000], "high", "predicted to cross 50 ms before 100k rows"),
        ([20_000, 300_000], "medium", "p99 may cross 50 ms before 100k rows"),  # straddles
        ([20_000, None], "medium", "at 20k rows or later"),  # some refits never cross
        ([200_000, 400_000], "low", "not predicted to reach"),
    ],
)
def test_scale_issue_follows_the_whole_range_of_the_crossing(limit_range, severity, words):
    """High only when the whole 95% range of the predicted crossing is inside the horizon."""
    f = fit("a", "O(n) to O(n log n)", limit=limit_range[0]) | {"limit_range": limit_range}
    s = {"queries": [q("a")], "scale": {"fits": [f]}}
    a = verdict.assess(s, targets(), deployment_rows={"t": 100_000})
    (i,) = [i for i in a["issues"] if i["subject"] == "a"]
    assert i["severity"] == severity
    assert words in i["title"] + " ".join(i["evidence"])
    if severity != "low":
        assert (
            f"between {limit_range[0] // 1000}k" in i["evidence"][2] or limit_range[1] is None
        )  # the run's own range is evidence, not the headline
        assert "this run's estimate" in i["evidence"][2]


# ---------------------------------------------------------------- inconclusive paths


@pytest.mark.parametrize("threshold", [5.0, 1.0])
def test_a_figure_without_any_bound_is_inconclusive_whatever_the_point(threshold):
    # p99 of 2.0 with no interval: neither "pass" (threshold 5) nor "fail" (threshold 1)
    # can be claimed from a point estimate.
    s = {"queries": [q("a", p99=2.0, ci99=(None, None))]}
    (r,) = verdict.evaluate_targets(s, targets(p99_target("a", threshold)))
    assert r.status == "inconclusive"
    assert "no interval" in r.status_reason
    a = verdict.assess(s, targets(p99_target("a", threshold)))
    (i,) = a["issues"]
    assert i["severity"] == "medium" and "no interval" in " ".join(i["evidence"])
    assert "a figure that has an interval" in i["recommendation"]
    assert a["decision"]["decision"] == "APPROVED WITH CONDITIONS"


def test_a_straddling_interval_says_so():
    s = {"queries": [q("a", p99=2.0, ci99=(1.9, 2.1))]}
    (r,) = verdict.evaluate_targets(s, targets(p99_target("a", 2.0)))
    assert r.status == "inconclusive" and "straddles" in r.status_reason
    (i,) = verdict.assess(s, targets(p99_target("a", 2.0)))["issues"]
    assert "--iterations" in i["recommendation"]


def test_a_query_throughput_target_has_no_interval_so_is_inconclusive():
    s = {"queries": [q("a", p50=1.0)]}  # ops_per_s 1000, far above the threshold
    t = Target("ops_per_s", ">", 10, query="a")
    (r,) = verdict.evaluate_targets(s, targets(t))
    assert r.status == "inconclusive" and r.value == pytest.approx(1000)


def creads(total=4.0, ci=(3.0, 5.0), errors=0, reads=50):
    return {
        "concurrency": {
            "concurrent_reads": {
                "name": "cr",
                "target_ms": 10,
                "thread": {
                    "mode": "thread",
                    "readers": 50,
                    "reads_per_reader": 1,
                    "total_ms": total,
                    "total_ms_ci": list(ci),
                    "total_ms_runs": [3.0, 3.5, 4.0, 4.5, 5.0, 4.2, 3.9],
                    "setup_ms": 1.0,
                    "errors": errors,
                    "reads": reads,
                    "repeatability": {},
                },
            }
        }
    }


@pytest.mark.parametrize(
    ("ci", "threshold", "status"),
    [
        ((3.0, 5.0), 10, "pass"),
        ((3.0, 5.0), 4.0, "inconclusive"),
        ((3.0, 5.0), 2.0, "fail"),
        ((None, None), 10, "inconclusive"),  # too few repeats for an interval
    ],
)
def test_concurrent_reads_total_is_judged_on_its_order_statistic_interval(ci, threshold, status):
    t = Target("total_ms", "<", threshold, operation="cr")
    (r,) = verdict.evaluate_targets(creads(ci=ci), targets(t))
    assert r.status == status
    assert r.ci == ci


def test_failed_concurrent_reads_fail_the_target_and_raise_an_issue():
    s = creads(errors=3)
    t = Target("total_ms", "<", 10, operation="cr")
    (r,) = verdict.evaluate_targets(s, targets(t))
    assert r.status == "fail" and "3 of 50 reads failed" in r.status_reason
    a = verdict.assess(s, targets(t))
    assert a["decision"]["decision"] == "REJECTED"
    # even without a target, failed reads are an issue
    a = verdict.assess(s, targets())
    (i,) = a["issues"]
    assert i["severity"] == "high" and "3" in i["title"] and "failed" in i["title"]


def test_failed_reads_in_the_concurrency_sweep_are_an_issue():
    s = {
        "concurrency": {
            "sweep": [
                {"mode": "thread", "readers": 4, "writer": True, "reads": 100, "errors": 2},
                {"mode": "thread", "readers": 1, "writer": False, "reads": 50, "errors": 0},
            ]
        }
    }
    (i,) = verdict.assess(s, targets())["issues"]
    assert i["severity"] == "high" and "2" in i["title"]
    assert "4 thread readers with a writer" in i["evidence"][0]


def test_drop_advice_names_exactly_its_own_index():
    # "t_a" is a substring of "t_ab2": each issue must carry its own DROP statement.
    health = [
        {"index": n, "table": "t", "issue": "redundant_prefix", "droppable": True, "reason": "r"}
        for n in ("t_a", "t_ab2", 'we"ird')
    ]
    drops = ['DROP INDEX "t_ab2"', 'DROP INDEX "we""ird"', 'DROP INDEX "t_a"']
    s = {
        "indexes": {"health": health},
        "advice": {
            "recommended": drops[:1],
            "candidates": [{"ddl": d, "action": "drop"} for d in drops],
        },
    }
    by = {i["subject"]: i for i in verdict.assess(s, targets())["issues"]}
    assert by["t_a"]["recommendation"] == 'DROP INDEX "t_a"'
    assert by["t_ab2"]["recommendation"] == 'DROP INDEX "t_ab2"'
    assert by['we"ird']["recommendation"] == 'DROP INDEX "we""ird"'
    assert by["t_ab2"]["gain"].startswith("recommended by the advisor")
    assert not by["t_a"]["gain"].startswith("recommended")


def info_finding(rows, rule="temp_btree_order_by"):
    return {"query": "a", "rule": rule, "severity": "info", "rows": rows, "plan_line": "L"}


@pytest.mark.parametrize(
    ("tgts", "said"),
    [
        (lambda: targets(p99_target("a", 50)), "target of a: latency_p99_ms pass"),
        (lambda: targets(p99_target("a", 2.0)), "target of a: latency_p99_ms inconclusive"),
        (lambda: targets(p99_target("b", 50)), "a has no latency target"),
    ],
)
def test_ignored_findings_say_why_from_the_numbers(tgts, said):
    s = {"queries": [q("a")], "findings": {"plan_findings": [info_finding(5)]}}
    (ig,) = verdict.assess(s, tgts())["ignored_findings"]
    assert "5 rows involved < 1,000 (the low-severity threshold)" in ig["why_ignored"]
    assert said in ig["why_ignored"]


def test_an_ignored_finding_with_unknown_rows_says_so():
    s = {
        "queries": [q("a")],
        "findings": {"plan_findings": [info_finding(None, "unknown_plan_line")]},
    }
    (ig,) = verdict.assess(s, targets())["ignored_findings"]
    assert "rows involved unknown" in ig["why_ignored"]


def test_skipped_analyses_are_an_issue_listing_each_with_its_reason():
    s = {
        "queries": [q("a")],
        "findings": {
            "plan_findings": [],
            "diagnostics": [
                {
                    "query": "a",
                    "diagnostic": "not_analysed",
                    "reason": "index ix could not be created: no such function: f",
                },
                {"query": "a", "diagnostic": "like_collation", "reason": "r"},
            ],
        },
        "advice": {"skipped": [{"what": "expert on query b", "reason": "cannot parse SQL"}]},
    }
    a = verdict.assess(s, targets())
    (i,) = a["issues"]
    assert i["severity"] == "low" and i["title"] == "2 analyses skipped"
    assert any("no such function: f" in e for e in i["evidence"])
    assert any("expert on query b: cannot parse SQL" in e for e in i["evidence"])
    assert a["decision"]["decision"] == "APPROVED"


def test_ignored_findings_reach_summary_json_and_validate(tmp_path):
    from perflab.run import summary as summary_mod
    from perflab.stages.summary import VerdictRecord

    s = {"queries": [q("a")], "findings": {"plan_findings": [info_finding(5)]}}
    a = verdict.assess(s, targets(p99_target("a", 50)))
    VerdictRecord.of(a).save(tmp_path)
    got = summary_mod.collect(tmp_path)
    assert got["ignored_findings"] == a["ignored_findings"]
    assert "5 rows involved" in got["ignored_findings"][0]["why_ignored"]
    props = json.loads(paths.SUMMARY_SCHEMA.read_text())["properties"]
    jsonschema.validate(got["ignored_findings"], props["ignored_findings"])
    with pytest.raises(jsonschema.ValidationError):  # an ignored finding needs its reason
        jsonschema.validate([{"query": "a"}], props["ignored_findings"])


def test_the_verdict_lists_what_was_not_analysed_and_why():
    """Each stage's own 'cannot' reaches one list with its stage and reason; an analysed
    run lists nothing."""
    from perflab.judge.verdict import not_analysed

    summary = {
        "queries": [
            {"name": "q_ok", "counters": {"source": "sqlite_stmt", "executions": 1}},
            {"name": "q_blind", "counters": {"source": None, "reason": "no sqlite_stmt"}},
        ],
        "workload": {"not_replayed": [{"name": "w_kv", "kind": "write", "reason": "kv empty"}]},
        "throughput": {
            "writes": [
                {"write": "w_bad", "status": "not_replayed", "error": "not replayed: no table"},
                {"write": "w_ok", "status": "ok", "counters": {"ops": 2, "reason": None}},
            ]
        },
        "scale": {
            "fits": [
                {"query": "q_ok", "model": "O(1)", "claim": "O(1)"},
                {
                    "query": "q_flat",
                    "model": None,
                    "claim": "inconclusive",
                    "claim_reason": "no fit: growth fit needs at least 5 sizes",
                },
            ]
        },
    }
    got = {(x["stage"], x["subject"]): x["reason"] for x in not_analysed(summary)}
    assert got == {
        ("workload", "write w_kv"): "not replayed: kv empty",
        ("latency", "q_blind"): "no sqlite_stmt",
        ("throughput", "w_bad"): "not replayed: no table",
        ("scale", "q_flat"): "no fit: growth fit needs at least 5 sizes",
    }
    clean = {k: v for k, v in summary.items() if k == "queries"}
    clean["queries"] = clean["queries"][:1]
    assert not_analysed(clean) == []


def test_an_unused_partial_index_is_explained_first_with_both_fixes_measured(make_db):
    """`status = ?` cannot use the partial index `... WHERE status IN ('active', 'paused')`
    (SQLite proves implication by shape only). The issue the user reads must say so
    first, and offer the two real fixes, each measured on a copy: the query made to imply
    the index's WHERE (same rows checked), or the index changed."""
    from perflab.analysis import diagnostics, findings
    from perflab.inputs.targets import Targets
    from perflab.inputs.workload import ParamSpec, QuerySpec, Workload
    from perflab.judge.verdict import assess
    from perflab.sqlite import plans

    ddl = (
        "CREATE TABLE s (id INTEGER PRIMARY KEY, status TEXT NOT NULL, t TEXT, pad TEXT);"
        "CREATE INDEX s_status_t ON s(status, t DESC) WHERE status IN ('active', 'paused');"
    )
    rows = "".join(
        f"INSERT INTO s VALUES ({i}, '{['active', 'paused', 'done', 'gone'][i % 4]}', "
        f"'2025-01-01 {i % 24:02d}:{i % 60:02d}', 'x');"
        for i in range(2000)  # >= 1,000 rows: a finding the verdict raises
    )
    conn = sqlite3.connect(make_db(ddl, rows=rows))
    q = QuerySpec(
        "by_status",
        "SELECT * FROM s WHERE status = ? ORDER BY t DESC",
        (ParamSpec("value", "active"),),
    )
    wl = Workload("w", (q,))
    params = {"by_status": [("active",)] * 20}
    pl = plans.workload_plans(conn, wl, params)
    found = findings.findings_records(findings.plan_findings(conn, wl, pl, params))
    diags = diagnostics.records(diagnostics.diagnose(conn, wl, params, executions=10))
    conn.close()
    out = assess({"findings": {"plan_findings": found, "diagnostics": diags}}, Targets(()))
    mine = [i for i in out["issues"] if i["subject"] == "by_status"]
    assert len(mine) == 1, mine  # one issue for the query, not one per plan symptom
    (issue,) = mine
    assert "partial index s_status_t not used" in issue["title"]
    assert issue["evidence"][0].startswith("your partial index s_status_t is not used because")
    rec = issue["recommendation"]
    assert "status IN ('active', 'paused')" in rec.split("; or change the index:")[0]
    assert "same rows: yes" in rec and "; or change the index: CREATE INDEX" in rec
