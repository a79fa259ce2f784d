"""Milestones: `--milestone N` judges milestone N; later queries wait, later targets are shown.

Files built in the test, where the answer is known, plus the embedded example's own split
(the seed's 10 queries at milestone 1, its next milestone's queries and targets at 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from perflab.errors import PerflabError
from perflab.inputs.config import RunConfig, RunInputs
from perflab.inputs.context import load_inputs
from perflab.judge import verdict
from test_verdict import q

WORKLOAD = """\
name: m
queries:
  - name: now
    sql: SELECT * FROM sessions WHERE id = ?
    params: [{value: "s1"}]
  - name: later
    milestone: 2
    sql: SELECT count(*) FROM tasks
writes: []
"""

TARGETS = """\
targets:
  - {metric: latency_p99_ms, query: now, comparator: "<", threshold: 50, milestone: 1}
  - {metric: latency_p99_ms, query: now, comparator: "<", threshold: 1, milestone: 2}
  - {metric: latency_p99_ms, query: later, comparator: "<", threshold: 5, milestone: 2}
"""


def _load(tmp_path: Path, milestone: int | None, workload: str = WORKLOAD):
    (tmp_path / "w.yaml").write_text(workload)
    (tmp_path / "t.yaml").write_text(TARGETS)
    cfg = RunConfig.create(
        RunInputs.create(
            "tiny",
            workload=tmp_path / "w.yaml",
            targets=tmp_path / "t.yaml",
            milestone=milestone,
        )
    )
    notes: list[str] = []
    _, wl, tg = load_inputs(cfg, notes)
    return wl, tg, notes


def test_a_later_query_waits_and_its_target_goes_with_it(tmp_path):
    wl, tg, notes = _load(tmp_path, None)
    assert [q.name for q in wl.queries] == ["now"]
    assert [(t.subject, t.milestone, t.current) for t in tg.targets] == [
        ("now", "1", True),
        ("now", "2", False),
    ]
    assert any("later" in n and "--milestone" in n for n in notes), notes


def test_at_milestone_2_every_query_runs_and_every_target_gates(tmp_path):
    wl, tg, notes = _load(tmp_path, 2)
    assert [q.name for q in wl.queries] == ["now", "later"]
    assert all(t.current for t in tg.targets)
    assert tg.for_query("later").threshold == 5
    assert notes == []


def test_a_later_targets_miss_is_low_and_names_its_milestone(tmp_path):
    _, tg, _ = _load(tmp_path, 1)
    ev = {"queries": [q("now", p99=10.0, ci99=(9.0, 11.0))]}
    a = verdict.assess(ev, tg)
    assert a["decision"]["decision"] == "APPROVED"
    missed = [i for i in a["issues"] if "target missed" in i["title"]]
    assert [(i["severity"], i["title"].split(":")[0]) for i in missed] == [
        ("low", "milestone 2 target missed")
    ]
    by = {(t["subject"], t["milestone"]): t for t in a["targets"]}
    assert by[("now", "2")]["status"] == "fail" and by[("now", "2")]["current"] is False
    assert by[("now", "1")]["current"] is True


def test_the_same_miss_rejects_once_its_milestone_is_judged(tmp_path):
    _, tg, _ = _load(tmp_path, 2)
    a = verdict.assess({"queries": [q("now", p99=10.0, ci99=(9.0, 11.0))]}, tg)
    assert a["decision"]["decision"] != "APPROVED"


@pytest.mark.parametrize("bad", ["0", "two", "true", "1.5"])
def test_a_bad_milestone_on_a_query_is_named(tmp_path, bad):
    with pytest.raises(PerflabError, match=r"w\.yaml: query 'later': 'milestone'"):
        _load(tmp_path, None, WORKLOAD.replace("milestone: 2", f"milestone: {bad}"))


def test_every_query_waiting_is_an_error_that_names_the_way_out(tmp_path):
    only_later = WORKLOAD.replace("  - name: now\n", "  - name: now\n    milestone: 3\n")
    with pytest.raises(PerflabError, match="no query at milestone 1.*--milestone"):
        _load(tmp_path, None, only_later.replace("milestone: 2", "milestone: 3"))


def test_the_command_refuses_milestone_0_before_any_work(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "run", "--milestone", "0", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2, p.stderr
    assert "--milestone" in p.stderr and not out.exists()


def test_the_embedded_example_holds_the_seeds_next_milestone():
    m1 = load_inputs(RunConfig.create(RunInputs.create("tiny")))
    m2 = load_inputs(RunConfig.create(RunInputs.create("tiny", milestone=2)))
    assert len(m1[1].queries) == 10  # the seed's critical queries
    later = {q.group for q in m2[1].queries} - {q.group for q in m1[1].queries}
    assert later == {"join", "pagination"}  # and namespace trees, in the namespace group
    assert all(t.current for t in m2[2].targets)
    assert {t.milestone for t in m1[2].targets if not t.current} == {"2"}
    for spec in m2[1].queries:
        if spec.milestone == 2:
            assert m2[2].for_query(spec.name) is not None, spec.name
