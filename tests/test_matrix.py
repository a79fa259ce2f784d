"""The sweep's merged comparison (judge.matrix) and its page (present.sweep_page).

Each cell's summary is built from a real SQLite file in tmp_path: the plan is SQLite's own
EXPLAIN QUERY PLAN and the work its own counters, so which cells differ is known from the
schema (an index present or not). Timings are set by hand: no test times anything.
"""

from __future__ import annotations

import json
import sqlite3

import jsonschema
import pytest
from perflab import paths
from perflab.judge.evidence import (
    Evidence,
    ThroughputEvidence,
    WriteCounterEvidence,
    WriteEvidence,
)
from perflab.judge.matrix import CellInput, cell_from_run, compare_cells, targets_from_summary
from perflab.judge.verdict import TargetResult
from perflab.present.sweep_page import render_sweep_page, write_sweep_page
from perflab.sqlite.counters import count_work, counter_record
from perflab.sqlite.plans import explain, plan_records

SQL = "SELECT b FROM t WHERE a = ?"
PARAMS = [(i,) for i in range(0, 200, 20)]


class _Q:  # what plan_records reads of a workload
    def __init__(self) -> None:
        self.queries = [type("Q", (), {"name": "by_a", "sql": SQL})()]


def _db(tmp_path, name: str, indexed: bool, rows: int = 200) -> sqlite3.Connection:
    path = tmp_path / f"{name}.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)")
    conn.executemany("INSERT INTO t (a, b) VALUES (?, ?)", [(i, f"v{i}") for i in range(rows)])
    if indexed:
        conn.execute("CREATE INDEX t_a ON t (a)")
    conn.commit()
    return conn


def _summary(conn, p50: float = 0.01, width: float = 0.001, target_ok: bool = True) -> dict:
    """A summary-shaped dict for one query, with SQLite's own plan and counters."""
    (q,) = plan_records(_Q(), {"by_a": explain(conn, SQL, PARAMS[0])})
    q["latency_ms"] = {"p50": p50, "p99": p50 * 3}
    q["latency_ci_ms"] = {"p50": [p50 - width, p50 + width], "p99": [p50 * 2, p50 * 4]}
    q["counters"] = counter_record(count_work(conn, SQL, PARAMS))
    status = "pass" if target_ok else "fail"
    return {
        "run_id": "r",
        "sqlite_version": sqlite3.sqlite_version,
        "queries": [q],
        "decision": {"decision": "APPROVED" if target_ok else "REJECTED"},
        "harness_overhead_ms": {"select_1": 0.001},
        "targets": [
            {"metric": "latency_p99_ms", "subject": "by_a", "comparator": "<", "threshold": 1.0}
            | {"milestone": "current", "status": status, "value": p50 * 3, "ci": [0.0, 1.0]}
        ],
    }


def _cell(key, axes, summary, machine="m1") -> CellInput:
    ev = Evidence.from_summary(summary)
    return CellInput(
        key, axes, machine, 0.001, "finished", "", ev, targets_from_summary(summary), f"/r/{key}"
    )


def _schema() -> dict:
    return json.loads((paths.DATA_DIR / "sweep.schema.json").read_text())


@pytest.fixture
def dbs(tmp_path):
    return {"plain": _db(tmp_path, "plain", False), "indexed": _db(tmp_path, "indexed", True)}


def test_the_schema_axis_alone_explains_a_plan_difference(dbs, tmp_path):
    cells = [
        _cell(f"{e}-{s}", {"engine": e, "schema": s}, _summary(dbs[s]))
        for e in ("stdlib 3.40.1", "apsw 3.54.1")
        for s in ("plain", "indexed")
    ]
    r = compare_cells(cells)
    (d,) = r.differences
    assert (d.axis, d.what, d.candidates) == ("schema", "plan and work", ("engine", "schema"))
    assert d.groups == {"A": ("stdlib 3.40.1-plain", "apsw 3.54.1-plain")} | {
        "B": ("stdlib 3.40.1-indexed", "apsw 3.54.1-indexed")
    }
    assert d.sentence == (
        "`by_a`: plans and work differ by schema: on plain it scans t (609 VM steps, 199 "
        "full-scan steps per execution); on indexed it searches t by index t_a (15 VM steps, "
        "0 full-scan steps per execution)."
    )
    # the full-scan steps the scan does and the index does not, from SQLite's counters
    plain = r.queries[0].cells[0]
    assert plain.counters["fullscan_steps"] > 0 == r.queries[0].cells[1].counters["fullscan_steps"]
    assert plain.kinds == ("scan_table",) and r.queries[0].cells[1].kinds == ("search_index",)
    jsonschema.validate(r.to_dict(), _schema())
    page = write_sweep_page(r, tmp_path / "sweep.html").read_text()
    assert "plans and work differ by schema" in page and "<script src" not in page


def test_identical_plans_and_counters_are_no_difference(dbs):
    # same schema under two pragma sets: SQLite does the same work; timings differ a lot
    cells = [
        _cell("wal", {"pragmas": "wal"}, _summary(dbs["indexed"], p50=0.01)),
        _cell("delete", {"pragmas": "delete"}, _summary(dbs["indexed"], p50=0.05)),
    ]
    r = compare_cells(cells)
    assert r.differences == () and r.queries[0].difference is None
    assert {c.group for c in r.queries[0].cells} == {"A"}
    # 5x apart with intervals apart, but identical work and plan: inconclusive, as compare
    (p50, p99) = r.queries[0].timings
    assert p50.ratio == pytest.approx(5.0) and p50.verdict == "inconclusive"
    assert "identical work and plan" in p50.note
    assert "No plan or work difference" in render_sweep_page(r)


def test_a_timing_is_settled_only_past_min_effect_with_intervals_apart(dbs):
    base = _cell("a", {"schema": "indexed"}, _summary(dbs["indexed"], p50=0.01, width=0.001))
    apart = _cell("b", {"schema": "plain"}, _summary(dbs["plain"], p50=0.02, width=0.001))
    overlap = _cell("c", {"schema": "plain2"}, _summary(dbs["plain"], p50=0.02, width=0.015))
    small = _cell("d", {"schema": "plain3"}, _summary(dbs["plain"], p50=0.011, width=0.0001))
    r = compare_cells([base, apart, overlap, small])
    p50 = {t.head_cell: t for t in r.queries[0].timings if t.metric == "latency_p50_ms"}
    assert {k: t.verdict for k, t in p50.items()} == {
        "b": "regression",
        "c": "inconclusive",
        "d": "unchanged",
    }
    assert all(t.base_cell == "a" for t in p50.values())
    page = render_sweep_page(r)
    assert "<code>by_a</code> p50: 2x slower with schema plain instead of indexed" in page


def test_timings_pair_cells_one_axis_apart(dbs):
    """In a 2x2, each ratio is between cells that differ in one axis (never the diagonal),
    the base holding the axis's first value."""
    cells = [
        _cell(f"{e}-{p}", {"engine": e, "pragmas": p, "scale": "tiny"}, _summary(dbs["indexed"]))
        for e in ("stdlib", "apsw")
        for p in ("wal", "delete")
    ]
    r = compare_cells(cells)
    # an axis with one value is the same everywhere: it names no cell
    assert r.varying == ("engine", "pragmas") and r.cells[0].label == "stdlib · wal"
    assert "4 cells over engine × pragmas" in render_sweep_page(r)
    pairs = {(t.axis, t.base_cell, t.head_cell) for t in r.queries[0].timings}
    assert pairs == {
        ("pragmas", "stdlib-wal", "stdlib-delete"),
        ("engine", "stdlib-wal", "apsw-wal"),
        ("engine", "stdlib-delete", "apsw-delete"),
        ("pragmas", "apsw-wal", "apsw-delete"),
    }


def test_timings_across_machines_are_never_compared(dbs):
    cells = [
        _cell("a", {"schema": "plain"}, _summary(dbs["plain"], p50=0.01), machine="host-1 (2 cpu)"),
        _cell("b", {"schema": "indexed"}, _summary(dbs["indexed"], p50=0.5), machine="host-2"),
    ]
    r = compare_cells(cells)
    assert r.queries[0].timings == () and r.machines == ("host-1 (2 cpu)", "host-2")
    assert r.differences[0].axis == "schema"  # counters and plans still compared
    page = render_sweep_page(r)
    assert "ran on 2 machines" in page and "only work counters and plans" in page
    assert " vs plain" not in page  # no ratio beside any cell


def test_a_failed_cell_is_shown_with_its_reason(dbs, tmp_path):
    ok = _cell("a", {"engine": "stdlib"}, _summary(dbs["plain"]))
    died = CellInput(
        "b", {"engine": "apsw"}, "m1", None, "failed", "worker died: KilledWorker", None
    )
    missing = cell_from_run("c", {"engine": "other"}, "m1", None, tmp_path / "no-such-run")
    assert missing.status == "failed" and "no summary.json" in missing.reason
    r = compare_cells([ok, died, missing])
    assert [c.status for c in r.cells] == ["finished", "failed", "failed"]
    assert r.cell("b").reason == "worker died: KilledWorker"
    rows = r.queries[0].cells
    assert [c.present for c in rows] == [True, False, False]
    assert rows[1].absent_reason == "cell failed: worker died: KilledWorker"
    assert r.differences == ()
    jsonschema.validate(r.to_dict(), _schema())
    page = render_sweep_page(r)
    assert "<b>Failed cell</b> apsw: worker died: KilledWorker" in page  # at the top
    assert page.count("worker died: KilledWorker") == 3  # and in the cells and query tables
    assert "1 of 3" in page


def test_no_single_axis_and_confounded_axes_are_said_so(dbs):
    # only the (apsw, indexed) cell has the index: neither axis alone decides the plan
    cells = [
        _cell(f"{e}-{s}", {"engine": e, "schema": s}, _summary(dbs[want]))
        for e, s, want in (
            ("stdlib", "v1", "plain"),
            ("stdlib", "v2", "plain"),
            ("apsw", "v1", "plain"),
            ("apsw", "v2", "indexed"),
        )
    ]
    (d,) = compare_cells(cells).differences
    assert d.axis is None and d.candidates == ("engine", "schema")
    assert "across engine and schema together; no single axis" in d.sentence
    # two cells that differ in both axes: either could be the cause
    two = [cells[0], cells[3]]
    (d,) = compare_cells(two).differences
    assert d.axis is None and "engine and schema change together" in d.sentence


def test_a_cell_from_its_run_folder(dbs, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(_summary(dbs["plain"], target_ok=False)))
    c = cell_from_run("k", {"scale": "tiny"}, "m1", None, run)
    assert c.status == "finished" and c.select_1_ms == 0.001 and c.run_dir == str(run)
    assert [(t.subject, t.status) for t in c.targets] == [("by_a", "fail")]
    r = compare_cells([c])
    assert r.cells[0].decision == "REJECTED" and r.cells[0].targets_failed == 1
    assert r.queries[0].cells[0].targets[0].status == "fail"


def _writes(vm: int, ops: float, failed: bool = False) -> Evidence:
    def w(batch: int) -> WriteEvidence:
        counters = WriteCounterEvidence(3, (vm,) * 3, (2,) * 3, (1,) * 3)
        if failed and batch == 50:
            return WriteEvidence("put", batch, status="error", error="disk I/O error")
        return WriteEvidence(
            "put", batch, None, "ok", ops, (ops * 0.9, ops * 1.1), None, None, counters
        )

    return Evidence(throughput=ThroughputEvidence((w(1), w(50))), decision="APPROVED")


def test_writes_are_grouped_by_their_work_and_targets_follow_their_scenario():
    target = TargetResult(
        "ops_per_s", "put", ">", 30.0, "current", "pass", 900.0,
        source="throughput.writes[put, batch 1].ops_per_s",
    )  # fmt: skip
    old, new = _writes(128, 1000.0), _writes(126, 1000.0, failed=True)
    cells = [
        CellInput("old", {"engine": "old"}, "m1", 0.001, "finished", "", old, (target,)),
        CellInput("new", {"engine": "new"}, "m1", 0.001, "finished", "", new),
    ]
    r = compare_cells(cells)
    assert [s.name for s in r.writes] == ["put (batch 1)", "put (batch 50)"]
    (d,) = r.differences  # batch 50 failed in "new": one cell left, nothing to differ
    assert d.subject == "put (batch 1)" and (d.axis, d.what) == ("engine", "work")
    assert d.sentence == (
        "`put (batch 1)` (write): work differs by engine: on old it does 128 VM steps per "
        "write; on new it does 126 VM steps per write."
    )
    b1, b50 = r.writes
    assert [len(c.targets) for c in b1.cells] == [1, 0] and b50.cells[0].targets == ()
    assert b50.cells[1].present is False and b50.cells[1].absent_reason == "disk I/O error"
    assert b50.timings == ()  # nothing is timed against a write that failed
    assert b1.timings[0].verdict == "unchanged"
    jsonschema.validate(r.to_dict(), _schema())
    assert "ops/s &gt; 30: pass" in render_sweep_page(r)


def test_a_plan_axis_is_named_even_when_another_axis_changes_every_count(tmp_path):
    """Scale changes the rows and so every counter; the index changes the plan: the plan is
    explained by the schema axis alone, and scale is named as what moves the work."""
    cells = []
    for scale, rows in (("small", 200), ("large", 400)):
        for s in ("plain", "indexed"):
            conn = _db(tmp_path, f"{scale}-{s}", s == "indexed", rows)
            cells.append(_cell(f"{scale}-{s}", {"scale": scale, "schema": s}, _summary(conn)))
    (d,) = compare_cells(cells).differences
    assert (d.axis, d.what) == ("schema", "plan and work")
    # the index lookup does the same work at both sizes; the scan does not
    assert d.groups == {"A": ("small-plain",), "B": ("small-indexed", "large-indexed")} | {
        "C": ("large-plain",)
    }
    assert d.values == {"A": "plain", "B": "indexed", "C": "plain"}
    assert d.sentence == (
        "`by_a`: plans differ by schema: on plain it scans t; on indexed it searches t by "
        "index t_a. Work also differs within one plan, by scale with the other axes held "
        "fixed (the table has the counters)."
    )


def test_cells_the_comparison_cannot_read_never_break_it(dbs):
    """An old summary (no plan, no counters), a cell finished without a summary and a
    cancelled one: no difference is invented, every cell is listed, the JSON is valid."""
    old = Evidence.from_summary({"queries": [{"name": "by_a"}]})
    cells = [
        CellInput("old", {"engine": "a"}, "m1", None, "finished", "", old),
        _cell("new", {"engine": "b"}, _summary(dbs["indexed"])),
        CellInput("lost", {"engine": "c"}, "m1", None, "finished", "", None),
        CellInput("stop", {"engine": "d"}, "m1", None, "cancelled", "Ctrl-C", None),
    ]
    r = compare_cells(cells)
    assert r.differences == ()
    assert [(c.status, c.reason) for c in r.cells] == [
        ("finished", ""),
        ("finished", ""),
        ("failed", "finished without a summary"),
        ("failed", "cancelled: Ctrl-C"),
    ]
    assert r.queries[0].cells[0].counters_note == "a summary from before work counters"
    jsonschema.validate(r.to_dict(), _schema())
    assert "not recorded" in render_sweep_page(r)
    empty = compare_cells([])
    assert empty.cells == () and "No cell finished" in render_sweep_page(empty)


def test_the_page_renders_offline_in_chromium(dbs, tmp_path):
    from browser import check_pages, chromium_path

    if chromium_path() is None:
        pytest.skip("Chromium not installed (set PERFLAB_CHROMIUM or install chromium)")
    cells = [
        _cell("a", {"engine": "x", "schema": "plain"}, _summary(dbs["plain"])),
        _cell("b", {"engine": "x", "schema": "indexed"}, _summary(dbs["indexed"])),
        _cell("c", {"engine": "y", "schema": "plain"}, _summary(dbs["plain"]), machine="m2"),
        CellInput("d", {"engine": "y", "schema": "indexed"}, "m2", None, "failed", "died", None),
    ]
    page = write_sweep_page(compare_cells(cells), tmp_path / "sweep.html")
    (check,) = check_pages([page])
    assert check.ok, check
    assert check.external_requests == () and check.console_errors == ()
    assert check.title_loaded and "4 cells over engine × schema" in check.title


def test_a_timing_change_on_work_within_tolerance_or_a_drifting_machine_is_inconclusive():
    """Two sweeps of the same code called event_append 12x slower, then 1.58x faster, on
    work 2 VM steps apart: between cells, only work past the tolerance settles a timing."""
    base = CellInput("a", {"engine": "a"}, "m1", 0.001, "finished", "", _writes(128, 1000.0))
    close = CellInput("b", {"engine": "b"}, "m1", 0.001, "finished", "", _writes(126, 80.0))
    r = compare_cells([base, close])
    t = r.writes[0].timings[0]
    assert t.ratio == pytest.approx(0.08) and t.verdict == "inconclusive"
    assert "work tolerance" in t.note
    # work past the tolerance settles it, unless the machine's own speed moved between cells
    far = CellInput("c", {"engine": "c"}, "m1", 0.001, "finished", "", _writes(400, 80.0))
    assert compare_cells([base, far]).writes[0].timings[0].verdict == "regression"
    slow = CellInput("d", {"engine": "d"}, "m1", 0.002, "finished", "", _writes(400, 80.0))
    drift = compare_cells([base, slow]).writes[0].timings[0]
    assert drift.verdict == "inconclusive" and "SELECT 1" in drift.note


def test_a_timing_that_moved_against_the_work_is_inconclusive():
    """Two sweeps called episodic_ttl_cleanup's p99 4.4x worse, then 0.38x, on 3.54.1,
    where SQLite does 20% less work: only the direction the work moved can be called."""
    base = CellInput("a", {"engine": "a"}, "m1", 0.001, "finished", "", _writes(400, 1000.0))
    less_work_slower = CellInput(
        "b", {"engine": "b"}, "m1", 0.001, "finished", "", _writes(128, 80.0)
    )
    t = compare_cells([base, less_work_slower]).writes[0].timings[0]
    assert t.verdict == "inconclusive" and "against the work" in t.note
    less_work_faster = CellInput(
        "c", {"engine": "c"}, "m1", 0.001, "finished", "", _writes(128, 4000.0)
    )
    assert compare_cells([base, less_work_faster]).writes[0].timings[0].verdict == "improvement"
