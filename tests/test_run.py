"""`perflab run` end to end on the tiny profile: the run-folder contract, offline pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from perflab import paths
from perflab.ownership import RUN_MARKER, mark_run_folder
from perflab.report import validate_summary
from perflab.run import NotebookFailed, run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    proc = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "run", "--profile", "tiny", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_prints_index_path_last(tiny_run):
    out, proc = tiny_run
    assert proc.stdout.strip().splitlines()[-1] == str(out / "index.html")
    assert "[1/" in proc.stderr  # progress per notebook


def test_run_folder_contract(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    validate_summary(summary)
    assert (out / "index.html").is_file()
    for nb in summary["notebooks"]:
        assert nb["status"] == "ok"
        assert (out / nb["ipynb"]).is_file() and (out / nb["html"]).is_file()
    names = [q["name"] for q in summary["queries"]]
    assert len(names) == 10 and "session_by_id" in names
    for q in summary["queries"]:
        lat = q["latency_ms"]
        assert q["iterations"] >= 1000
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p999"] <= lat["max"]
        assert q["plan"] and all({"id", "parent", "detail"} <= set(n) for n in q["plan"])
        assert q["plan_text"].startswith("QUERY PLAN")
    db = summary["database"]
    assert db["scale"] == "tiny" and db["analyzed"] is True
    assert len(db["tables"]) == 9 and all(n > 0 for n in db["tables"].values())
    assert summary["harness_overhead_ms"]["select_1"] > summary["harness_overhead_ms"]["empty_loop"]
    assert summary["pragmas"]["journal_mode"] == "wal"
    assert not list(out.parent.glob(".tiny.partial-*"))  # staging folder gone
    marker = json.loads((out / RUN_MARKER).read_text())  # every file listed: replaceable
    assert set(marker["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    } - {RUN_MARKER}


def test_pages_render_offline_in_chromium(tiny_run):
    from perflab.browser import check_pages, chromium_path

    if chromium_path() is None:
        if os.environ.get("PERFLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (PERFLAB_REQUIRE_BROWSER=1) but not found")
        pytest.skip("chromium not installed")
    out, _ = tiny_run
    pages = [out / "index.html", *sorted((out / "notebooks").glob("*.html"))]
    checks = check_pages(pages)
    for c in checks:
        assert not c.console_errors, (c.path, c.console_errors)
        assert not c.page_errors, (c.path, c.page_errors)
        assert not c.external_requests, (c.path, c.external_requests)
    by_name = {Path(c.path).name: c for c in checks}
    assert by_name["02_latency.html"].charts >= 2
    assert by_name["01_query_plans.html"].charts >= 1


def _failing_notebooks(tmp_path: Path) -> Path:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "tiny"\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('boom in cell')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, nbdir / "01_broken.ipynb")
    return nbdir


def test_failing_notebook_is_named_and_keeps_earlier_report(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", _failing_notebooks(tmp_path))
    out = tmp_path / "report"
    out.mkdir()
    (out / "summary.json").write_text('{"good": true}')
    mark_run_folder(out, "report")  # an earlier perflab run
    with pytest.raises(NotebookFailed) as err:
        run("tiny", out)
    assert err.value.exit_code == 1
    msg = str(err.value)
    assert "01_broken" in msg and "ValueError" in msg and "boom in cell" in msg
    assert "executed cell 3 (In [4])" in msg  # as numbered in the executed notebook
    assert (out / "summary.json").read_text() == '{"good": true}'  # earlier report intact
    failed = list(tmp_path.glob("report-failed-*"))
    assert len(failed) == 1
    partial = nbformat.read(failed[0] / "notebooks" / "01_broken.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in partial.cells for o in c.get("outputs", []))


def test_baseline_comparison_and_gates(tiny_run, tmp_path):
    """Same code, same data: plans and indexes identical; page and summary key written."""
    base, _ = tiny_run
    out = tmp_path / "head"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "perflab.cli",
            "run",
            "--profile",
            "tiny",
            "--out",
            str(out),
            "--baseline",
            str(base),
            "--fail-on",
            "reject",
        ],
        capture_output=True,
        text=True,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert proc.returncode == (1 if summary["decision"]["decision"] == "REJECTED" else 0)
    cmp = summary["comparison"]
    assert cmp["base_run"] == base.name and cmp["plan_regressions"] == 0
    assert {p["change"] for p in cmp["plans"]} == {"same"}
    assert cmp["indexes"]["added"] == cmp["indexes"]["removed"] == []
    assert (out / "comparison.html").is_file()
    assert "comparison.html" in (out / "index.html").read_text()
    assert "against baseline" in proc.stderr
