"""The sweep's merged comparison (judge.matrix) and its page (present.sweep_page)."""

from __future__ import annotations

import json

import jsonschema
from perflab import paths
from perflab.judge.evidence import CounterEvidence, Evidence, Figure, PlanShape, QueryEvidence
from perflab.judge.matrix import CellInput, compare_cells
from perflab.present.sweep_page import write_sweep_page

SCAN = PlanShape(details=("SCAN t",), full_scans=1)
SEARCH = PlanShape(details=("SEARCH t USING INDEX t_a (a=?)",), uses_index=True, indexes=("t_a",))


def _query(plan: PlanShape, vm: int, full: int, p50: float = 1.0) -> QueryEvidence:
    n = 3
    vals = {"vm_steps": (vm,) * n, "fullscan_steps": (full,) * n, "sorts": (0,) * n}
    vals |= {"autoindex": (0,) * n, "rows": (1,) * n}
    means = {k: float(v[0]) for k, v in vals.items()}
    return QueryEvidence(
        "by_a",
        latency={"p50": Figure(p50, p50 * 0.9, p50 * 1.1), "p99": Figure(p50 * 2, p50, p50 * 3)},
        plan=plan,
        counters=CounterEvidence("sqlite_stmt", None, n, means, vals),
    )


def _cell(key, axes, q, machine="m1", status="finished", reason=""):
    ev = None if q is None else Evidence(queries=(q,), decision="APPROVED", sqlite_version="3.40.1")
    return CellInput(key, axes, machine, 0.001, status, reason, ev)


def test_plan_difference_named_by_the_schema_axis_and_valid_json(tmp_path):
    cells = [
        _cell("a", {"engine": "stdlib", "schema": "plain"}, _query(SCAN, 900, 300)),
        _cell("b", {"engine": "stdlib", "schema": "indexed"}, _query(SEARCH, 20, 0)),
        _cell("c", {"engine": "apsw", "schema": "plain"}, _query(SCAN, 900, 300)),
        _cell("d", {"engine": "apsw", "schema": "indexed"}, _query(SEARCH, 20, 0)),
    ]
    r = compare_cells(cells)
    (d,) = r.differences
    assert d.axis == "schema" and d.what == "plan and work"
    assert "on schema plain" in d.sentence and "on schema indexed" in d.sentence
    schema = json.loads((paths.DATA_DIR / "sweep.schema.json").read_text())
    jsonschema.validate(r.to_dict(), schema)
    page = write_sweep_page(r, tmp_path / "sweep.html").read_text()
    assert d.sentence.split(";")[0].replace("`", "") in page.replace("<code>", "").replace(
        "</code>", ""
    )
