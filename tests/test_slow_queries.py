"""No slow query unnamed (judge.slow_queries): the budget rule, its override by a target,
unbounded results, and whether each query's WHERE is served by an index, on a real
schema built here whose answers are known. Latencies are given figures, never timed."""

from __future__ import annotations

import json
import sqlite3

import jsonschema
import pytest
from perflab import paths
from perflab.errors import PerflabError
from perflab.inputs.targets import QueryBudget, Target, Targets, load_targets
from perflab.judge import verdict
from perflab.sqlite import plans

ROWS = 3000


@pytest.fixture
def conn(tmp_path):
    """items: 3,000 rows, half of them status 'open', an index on owner only."""
    c = sqlite3.connect(tmp_path / "app.db")
    c.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, status TEXT, owner INT, body TEXT)")
    c.execute("CREATE INDEX items_owner ON items(owner)")
    c.executemany(
        "INSERT INTO items (status, owner, body) VALUES (?, ?, ?)",
        [("open" if i % 2 else "done", i % 30, "x" * 20) for i in range(ROWS)],
    )
    c.commit()
    yield c
    c.close()


def record(conn, name, sql, params=(), p99=1.0, ci=(0.9, 1.1), p50_ci=(0.4, 0.6)):
    """A summary-shaped query: its real plan and rows from the file, given latencies."""
    rows = len(conn.execute(sql, params).fetchall())
    nodes = plans.explain(conn, sql, params)
    return {
        "name": name,
        "sql": sql,
        "latency_ms": {"p50": p50_ci[0] + 0.1, "p95": p99 * 0.9, "p99": p99},
        "latency_ci_ms": {"p50": list(p50_ci), "p95": [None, None], "p99": list(ci)},
        "rows": {"mean": rows, "min": rows, "max": rows},
        "counters": {
            "source": "sqlite3_stmt_status",
            "executions": 5,
            "per_execution": {
                "vm_steps": {"mean": 12.0 * rows + 10},
                "fullscan_steps": {"mean": 0.0},
                "sorts": {"mean": 0.0},
                "autoindex": {"mean": 0.0},
                "rows": {"mean": float(rows)},
            },
        },
        "plan": [{"id": n.id, "parent": n.parent, "detail": n.detail} for n in nodes],
        "plan_classification": plans.plan_summary(nodes),
    }


def budget_issues(assessment):
    return [i for i in assessment["issues"] if i["origin"] == "slow query budget"]


def check_of(assessment, name):
    return next(c for c in assessment["query_budget"]["queries"] if c["query"] == name)


BY_OWNER = "SELECT id, owner FROM items WHERE owner = ? LIMIT 20"


def test_a_query_over_the_budget_gets_exactly_one_issue_with_its_evidence(conn):
    slow = record(conn, "q1", BY_OWNER, (3,), p99=250.0, ci=(180.0, 320.0))
    fast = record(conn, "q2", BY_OWNER, (4,), p99=2.0, ci=(1.5, 3.0))
    a = verdict.assess({"queries": [slow, fast]}, Targets(()))
    [issue] = budget_issues(a)
    assert issue["subject"] == "q1" and issue["severity"] == "medium"
    ev = " | ".join(issue["evidence"])
    assert "p99 250 ms" in ev and "100 ms" in ev
    assert "rows returned per execution 20" in ev and "VM steps" in ev
    assert "SEARCH items USING" in ev  # the plan line
    assert check_of(a, "q1")["latency"] == "over" and check_of(a, "q2")["latency"] == "under"
    assert a["query_budget"]["p99_ms"] == 100.0
    assert a["decision"]["decision"] == "APPROVED WITH CONDITIONS"


def test_a_query_under_the_budget_or_straddling_it_gets_no_issue(conn):
    under = record(conn, "q1", BY_OWNER, (3,), p99=60.0, ci=(40.0, 90.0))
    straddle = record(conn, "q2", BY_OWNER, (3,), p99=95.0, ci=(70.0, 130.0))
    a = verdict.assess({"queries": [under, straddle]}, Targets(()))
    assert budget_issues(a) == []
    assert a["decision"]["decision"] == "APPROVED"
    [why] = [x for x in a["ignored_findings"] if x.get("rule") == "slow_query_budget"]
    assert why["query"] == "q2" and "inconclusive" in why["why_ignored"]
    assert "straddles" in why["why_ignored"]


def test_a_missing_p99_bound_is_decided_by_a_lower_percentile_only_when_it_is_over(conn):
    # six executions: no lower bound on p99, but the p50 interval is wholly over budget
    few = record(conn, "q1", BY_OWNER, (3,), p99=2500.0, ci=(None, None), p50_ci=(900, 2000))
    unsure = record(conn, "q2", BY_OWNER, (3,), p99=150.0, ci=(None, None), p50_ci=(10, 40))
    a = verdict.assess({"queries": [few, unsure]}, Targets(()))
    assert [i["subject"] for i in budget_issues(a)] == ["q1"]
    assert check_of(a, "q2")["latency"] == "inconclusive"


def test_a_query_with_its_own_target_is_judged_by_the_target_not_the_budget(conn):
    slow = record(conn, "q1", BY_OWNER, (3,), p99=250.0, ci=(180.0, 320.0))
    lenient = Targets((Target("latency_p99_ms", "<", 500.0, query="q1"),))
    a = verdict.assess({"queries": [slow]}, lenient)
    assert budget_issues(a) == [] and check_of(a, "q1")["judged_by"] == "target"
    assert a["targets"][0]["status"] == "pass"
    strict = Targets((Target("latency_p99_ms", "<", 50.0, query="q1"),))
    b = verdict.assess({"queries": [slow]}, strict)
    assert budget_issues(b) == []
    assert [i["severity"] for i in b["issues"]] == ["critical"]  # the target's own failure


def test_an_unbounded_result_is_named_and_a_limited_one_is_not(conn):
    everything = record(conn, "q1", "SELECT * FROM items WHERE status = 'open'", p99=3.0)
    paged = record(conn, "q2", "SELECT * FROM items WHERE status = 'open' LIMIT 1500", p99=3.0)
    a = verdict.assess({"queries": [everything, paged]}, Targets(()))
    [issue] = budget_issues(a)
    assert issue["subject"] == "q1" and issue["severity"] == "low"
    assert "unbounded result" in issue["title"]
    assert f"rows returned per execution {ROWS // 2}" in " ".join(issue["evidence"])
    assert "LIMIT / pagination" in issue["recommendation"]
    assert "narrower SELECT list" in issue["recommendation"]
    assert check_of(a, "q2")["has_limit"] is True and not check_of(a, "q2")["unbounded"]


def test_the_budget_is_a_setting_from_the_targets_file_or_the_api(conn, tmp_path):
    q = record(conn, "q1", BY_OWNER, (3,), p99=60.0, ci=(40.0, 90.0))
    f = tmp_path / "targets.yaml"
    f.write_text("budget:\n  p99_ms: 20\n  rows_per_execution: 50\ntargets: []\n")
    t = load_targets(f, queries={"q1"}, operations=set())
    assert t.budget == QueryBudget(20.0, 50.0, str(f))
    a = verdict.assess({"queries": [q]}, t)
    assert [i["subject"] for i in budget_issues(a)] == ["q1"]
    assert a["query_budget"]["source"] == str(f)
    b = verdict.assess({"queries": [q]}, t, budget=QueryBudget(200.0))
    assert budget_issues(b) == []
    schema = json.loads((paths.DATA_DIR / "summary.schema.json").read_text())
    jsonschema.validate(a["query_budget"], schema["properties"]["query_budget"])
    f.write_text("budget:\n  p99_ms: fast\ntargets: []\n")
    with pytest.raises(PerflabError, match="p99_ms"):
        load_targets(f, queries={"q1"}, operations=set())


def test_each_query_says_whether_an_index_serves_its_where(conn):
    status = "SELECT * FROM items WHERE status = ?"
    a = verdict.assess(
        {
            "queries": [
                record(conn, "q1", BY_OWNER, (3,)),
                record(conn, "q2", status, ("open",)),
                record(conn, "q3", "SELECT count(*) FROM items"),
                record(conn, "q4", "SELECT * FROM items WHERE owner > 0 ORDER BY id"),
            ]
        },
        Targets(()),
    )
    got = {
        c["query"]: (c["where_index"], c["where_plan_line"]) for c in a["query_budget"]["queries"]
    }
    assert got["q1"][0] == "index" and got["q1"][1].startswith("SEARCH items USING")
    assert got["q2"] == ("full scan", "SCAN items")
    assert got["q3"][0] == "no WHERE"
    # the same rule, once the schema has the index: no name is known to the rule
    conn.execute("CREATE INDEX items_s ON items(status)")
    b = verdict.assess({"queries": [record(conn, "q2", status, ("open",))]}, Targets(()))
    assert check_of(b, "q2")["where_index"] == "index"
    assert "(status=?)" in check_of(b, "q2")["where_plan_line"]
    assert got["q4"][0] in ("index", "full scan")  # the planner's choice, stated either way
