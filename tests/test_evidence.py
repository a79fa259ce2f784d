"""The verdict reads `judge.evidence.Evidence`: each figure mapped from its own key, and a
summary missing a stage judged as that stage not having run (None, never a KeyError)."""

from __future__ import annotations

import pytest
from perflab.inputs.targets import Target
from perflab.judge import verdict
from perflab.judge.evidence import Evidence
from perflab.measure.scale import LINEAR
from test_verdict import creads, fit, info_finding, q, targets


def full_summary() -> dict:
    """One summary where every stage has something the verdict acts on."""
    return {
        "queries": [q("a", p50=1.0, p99=80, ci99=(70, 90), ci50=(0.9, 1.1)), q("b")],
        "throughput": {
            "settings": {"pragmas": {"journal_mode": "wal"}},
            "writes": [
                {
                    "write": "w",
                    "batch_size": 1,
                    "pragmas": {"journal_mode": "delete"},
                    "ops_per_s": 10.0,
                    "ops_per_s_ci": [9.0, 11.0],
                },
                {
                    "write": "w",
                    "batch_size": 1,
                    "pragmas": {"journal_mode": "wal"},
                    "ops_per_s": 500.0,
                    "ops_per_s_ci": [450.0, 550.0],
                },
                {"write": "w", "batch_size": 100, "ops_per_s": 9000.0},
            ],
            "failures": ["w: expected +10 rows, saw +9"],
        },
        **creads(total=4.0, ci=(3.0, 5.0), errors=2, reads=48),
        "integrity": {
            "integrity_ok": True,
            "foreign_keys_ok": False,
            "foreign_key_violations": 3,
            "foreign_key_problems": ["child rowid 7 -> parent 99"],
            "pragma_audit": [
                {
                    "pragma": "synchronous",
                    "value": 0,
                    "status": "risk",
                    "why": "y",
                    "recommendation": "r",
                },
            ],
        },
        "findings": {
            "plan_findings": [
                {
                    "query": "a",
                    "rule": "full_table_scan",
                    "severity": "medium",
                    "rows": 20000,
                    "plan_line": "SCAN t",
                    "table": "t",
                    "evidence": "20000 rows",
                },
                info_finding(5),
            ],
            "diagnostics": [{"query": "b", "diagnostic": "not_analysed", "reason": "why b"}],
        },
        "advice": {
            "recommended": ["CREATE INDEX t_a ON t(a)"],
            "candidates": [
                {
                    "ddl": "CREATE INDEX t_a ON t(a)",
                    "action": "create",
                    "queries_changed": ["a"],
                    "verdicts": {"a": {"p50_before_ms": 4.0, "p50_after_ms": 0.2}},
                    "insert_us": 3.0,
                },
                {"ddl": 'DROP INDEX "t_b"', "action": "drop"},
            ],
            "skipped": [{"what": "expert on query c", "reason": "cannot parse SQL"}],
        },
        "indexes": {
            "health": [
                {
                    "index": "t_b",
                    "table": "t",
                    "issue": "redundant_prefix",
                    "droppable": True,
                    "reason": "prefix of t_bc",
                },
                {"index": "t_u", "table": "t", "issue": "unused", "droppable": True},
            ],
            "write_cost": [
                {
                    "index": "t_b",
                    "op": "insert",
                    "cost_us": 1.5,
                    "cost_pct": 12.0,
                    "cost_lo": 1.0,
                    "cost_hi": 2.0,
                },
                {"index": "t_bc", "op": "insert", "cost_us": 9.0},
            ],
            "inventory": [{"index": "t_b", "size_bytes": 8192}],
        },
        "scale": {"fits": [fit("a", LINEAR, 50_000), fit("b", "inconclusive", None, reason="few")]},
    }


TARGETS = (
    Target("latency_p99_ms", "<", 50, query="a"),
    Target("latency_p50_ms", "<", 5, query="b"),
    Target("ops_per_s", ">", 100, operation="w"),
    Target("total_ms", "<", 10, operation="cr"),
)


def test_from_summary_maps_each_figure_from_its_own_key():
    e = Evidence.from_summary(full_summary())
    a = e.query("a")
    assert (a.latency["p99"].value, a.latency["p99"].lo, a.latency["p99"].hi) == (80, 70, 90)
    assert (a.latency["p50"].value, a.latency["p50"].lo, a.latency["p50"].hi) == (1.0, 0.9, 1.1)
    assert a.latency["p95"].lo is None and a.ops_per_s == 1000.0
    assert e.throughput.pragmas == {"journal_mode": "wal"}
    assert [(w.batch_size, w.ops_per_s, w.ops_per_s_ci) for w in e.throughput.writes][1:] == [
        (1, 500.0, (450.0, 550.0)),
        (100, 9000.0, None),
    ]
    t = e.concurrency.modes["thread"]
    assert (e.concurrency.reads_name, t.total_ms, t.total_ms_ci) == ("cr", 4.0, (3.0, 5.0))
    assert (t.errors, t.reads, t.readers) == (2, 48, 50)
    assert e.integrity.foreign_key_violations == 3 and not e.integrity.foreign_keys_ok
    assert e.integrity.integrity_ok and e.integrity.pragma_audit[0].status == "risk"
    (scan, info) = e.findings.plan_findings
    assert (scan.plan_line, scan.table, scan.rows, scan.severity) == (
        "SCAN t",
        "t",
        20000,
        "medium",
    )
    assert info.recorded == info_finding(5)
    assert [(s.what, s.reason) for s in e.findings.not_analysed] == [("b", "why b")]
    (create, drop) = e.advice.candidates
    assert create.verdicts["a"].p50_before_ms == 4.0 and create.insert_us == 3.0
    assert drop.action == "drop" and e.advice.recommended == {"CREATE INDEX t_a ON t(a)"}
    assert e.indexes.size_bytes == {"t_b": 8192}
    assert [(c.op, c.cost_us, c.cost_lo, c.cost_hi) for c in e.indexes.write_cost] == [
        ("insert", 1.5, 1.0, 2.0),
        ("insert", 9.0, None, None),
    ]
    fa, fb = e.fits
    assert (fa.claim, fa.limit_rows, fa.n_max, fa.target_ms) == (LINEAR, 50_000, 1000, 50)
    assert (fb.claim, fb.claim_reason) == ("inconclusive", "few")


# What the verdict said on `full_summary()`, as the dict-reading verdict gave it before
# Evidence: target statuses; issues as (severity, origin, subject, the start of the
# recommendation); the rules of the findings ignored; the decision.
FULL = (
    ("fail", "pass", "pass", "fail"),
    [
        ("critical", "targets", "a", "CREATE INDEX t_a ON t(a)"),
        ("critical", "targets", "cr", ""),
        ("critical", "integrity", "", "fix the orphaned rows; c"),
        ("critical", "throughput", "", "fix the write path befor"),
        ("high", "concurrency", "", "a read that fails after "),
        ("high", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ("high", "scale", "a", "CREATE INDEX t_a ON t(a)"),
        ("medium", "pragma audit", "synchronous", "r"),
        ("low", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ("low", "diagnostics and advisor", "", "the claims above do not "),
        ("low", "index health", "", "keep them if queries out"),
        ("low", "index health", "t_b", 'DROP INDEX "t_b"'),
    ],
    ["scale"],
    "REJECTED",
)

# With one stage key removed, as it was before: the target statuses, the issues gone and
# the issues new against FULL, and the findings ignored (the decision stays REJECTED).
DROPPED = {
    "queries": (
        ("not_measured", "not_measured", "pass", "fail"),
        [
            ("critical", "targets", "a", "CREATE INDEX t_a ON t(a)"),
            ("high", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
            ("low", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ],
        [
            ("medium", "targets", "a", "run the stage that measu"),
            ("medium", "targets", "b", "run the stage that measu"),
            ("medium", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ],
        ["temp_btree_order_by", "scale"],
    ),
    "throughput": (
        ("fail", "pass", "not_measured", "fail"),
        [("critical", "throughput", "", "fix the write path befor")],
        [("medium", "targets", "w", "run the stage that measu")],
        ["scale"],
    ),
    "concurrency": (
        ("fail", "pass", "pass", "not_measured"),
        [
            ("critical", "targets", "cr", ""),
            ("high", "concurrency", "", "a read that fails after "),
        ],
        [("medium", "targets", "cr", "run the stage that measu")],
        ["scale"],
    ),
    "integrity": (
        ("fail", "pass", "pass", "fail"),
        [
            ("critical", "integrity", "", "fix the orphaned rows; c"),
            ("medium", "pragma audit", "synchronous", "r"),
        ],
        [],
        ["scale"],
    ),
    "findings": (
        ("fail", "pass", "pass", "fail"),
        [
            ("high", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
            ("low", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ],
        [],
        ["scale"],
    ),
    "advice": (
        ("fail", "pass", "pass", "fail"),
        [
            ("critical", "targets", "a", "CREATE INDEX t_a ON t(a)"),
            ("high", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
            ("high", "scale", "a", "CREATE INDEX t_a ON t(a)"),
            ("low", "plan findings", "a", "CREATE INDEX t_a ON t(a)"),
        ],
        [
            # a failed target says why no fix is given: the advisor did not run
            ("critical", "targets", "a", "no measured fix: the ind"),
            ("high", "plan findings", "a", ""),
            ("high", "scale", "a", ""),
            ("low", "plan findings", "a", ""),
        ],
        ["scale"],
    ),
    "indexes": (
        ("fail", "pass", "pass", "fail"),
        [
            ("low", "index health", "", "keep them if queries out"),
            ("low", "index health", "t_b", 'DROP INDEX "t_b"'),
        ],
        [],
        ["scale"],
    ),
    "scale": (
        ("fail", "pass", "pass", "fail"),
        [("high", "scale", "a", "CREATE INDEX t_a ON t(a)")],
        [],
        [],
    ),
}


def _said(a: dict) -> tuple:
    return (
        tuple(t["status"] for t in a["targets"]),
        [(i["severity"], i["origin"], i["subject"], i["recommendation"][:24]) for i in a["issues"]],
        [f.get("rule") for f in a["ignored_findings"]],
        a["decision"]["decision"],
    )


def test_the_full_summary_gives_the_verdict_it_gave_before():
    a = verdict.assess(Evidence.from_summary(full_summary()), targets(*TARGETS), {"t": 1e6})
    assert _said(a) == FULL


@pytest.mark.parametrize("stage", list(DROPPED))
def test_a_summary_missing_a_stage_gives_the_verdict_it_gave_before(stage):
    s = {k: v for k, v in full_summary().items() if k != stage}
    a = verdict.assess(Evidence.from_summary(s), targets(*TARGETS), {"t": 1_000_000})
    statuses, gone, new, ignored = DROPPED[stage]
    kept = [i for i in FULL[1] if i not in gone]
    assert _said(a)[0] == statuses and _said(a)[2:] == (ignored, "REJECTED")
    assert sorted(_said(a)[1]) == sorted(kept + new)
    assert a == verdict.assess(s, targets(*TARGETS), {"t": 1_000_000})


def test_a_figure_the_stage_did_not_record_is_not_measured_not_a_key_error():
    # The dict-reading verdict raised KeyError on each of these.
    s = {
        "queries": [{"name": "a", "latency_ms": {"p50": 1.0}}, {"name": "b"}],
        "concurrency": {"concurrent_reads": {"name": "cr", "thread": {"errors": 0}}},
    }
    ts = (
        Target("latency_p99_ms", "<", 50, query="a"),
        Target("ops_per_s", ">", 1, query="b"),
        Target("total_ms", "<", 10, operation="cr"),
    )
    a = verdict.assess(Evidence.from_summary(s), targets(*ts))
    assert [t["status"] for t in a["targets"]] == ["not_measured"] * 3
    assert a["decision"]["decision"] == "APPROVED WITH CONDITIONS"


def test_a_key_a_stage_did_not_save_reads_as_the_fields_default():
    # an older summary: no batch_size, no integrity_ok, an audit without its why
    s = {
        "throughput": {"writes": [{"write": "w", "ops_per_s": 5.0}]},
        "integrity": {"pragma_audit": [{"pragma": "synchronous", "value": 0, "status": "risk"}]},
        "indexes": {"health": [{"index": "i"}]},
    }
    e = Evidence.from_summary(s)
    assert (e.throughput.writes[0].batch_size, e.throughput.writes[0].ops_per_s) == (1, 5.0)
    assert e.integrity.integrity_ok and e.integrity.foreign_keys_ok
    assert (e.integrity.pragma_audit[0].why, e.integrity.pragma_audit[0].value) == ("", 0)
    assert (e.indexes.health[0].issue, e.indexes.health[0].droppable) == ("", False)


def test_an_empty_before_after_entry_falls_back_to_the_candidates_gain():
    cand = {"ddl": "CREATE INDEX t_a ON t(a)", "queries_changed": ["a"], "gain_ms": 2.5}
    s = {
        "queries": [q("a", p99=80, ci99=(70, 90))],
        "advice": {"recommended": [cand["ddl"]], "candidates": [{**cand, "verdicts": {"a": {}}}]},
    }
    (i,) = verdict.assess(
        Evidence.from_summary(s), targets(Target("latency_p99_ms", "<", 50, query="a"))
    )["issues"]
    assert i["recommendation"] == cand["ddl"]
    assert i["gain"] == "gain 2.5 ms; write cost n/a us/insert"


def test_the_full_summary_gives_the_gains_it_gave_before():
    a = verdict.assess(Evidence.from_summary(full_summary()), targets(*TARGETS), {"t": 1e6})
    index = "p50 4 -> 0.2 ms; write cost 3 us/insert"
    keep = "measured cost of keeping it: insert +1.50 us (12.0%, 95% CI 1..2); 8 KiB on disk"
    gains = [i["gain"] for i in a["issues"]]
    assert gains == [index, "", "", "", "", index, index, "", index, "", "", keep]
