"""`perflab run` end to end on the tiny profile: the run-folder contract, offline pages."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from perflab import paths
from perflab.inputs.config import RunInputs
from perflab.ownership import RUN_MARKER, mark_run_folder
from perflab.present import tables, theme
from perflab.run.runner import NotebookFailed, run
from perflab.run.summary import validate_summary


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
        assert nb["html_seconds"] > 0  # benchmarks/bench_run.py prints it per notebook
    names = [q["name"] for q in summary["queries"]]
    assert len(names) == 10 and "session_by_id" in names
    for q in summary["queries"]:
        lat = q["latency_ms"]
        # 1000 unless the stopping rule found the intervals tight enough at a checkpoint
        assert q["iterations"] >= 1000 or q["stopping"]["reason"] == "precise"
        assert q["stopping"]["n"] == q["iterations"] and q["latency_ci_conf"] >= 0.95
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p999"] <= lat["max"]
        assert q["plan"] and all({"id", "parent", "detail"} <= set(n) for n in q["plan"])
        assert q["plan_text"].startswith("QUERY PLAN")
        assert q["seconds"] >= q["iterations"] * lat["min"] / 1e3  # the loop's own time
    db = summary["database"]
    assert db["scale"] == "tiny" and db["analyzed"] is True
    assert len(db["tables"]) == 9 and all(n > 0 for n in db["tables"].values())
    assert summary["harness_overhead_ms"]["select_1"] > summary["harness_overhead_ms"]["empty_loop"]
    assert summary["pragmas"]["journal_mode"] == "wal"
    assert not list(out.parent.glob(".tiny.partial-*"))  # staging folder gone
    assert (out / "report.html").is_file()
    # shared like the user's own files: the umask's modes, not mkstemp's 0600/0700
    from perflab import fsio

    for p in [out, *out.rglob("*")]:
        want = (0o777 if p.is_dir() else 0o666) & ~fsio.UMASK
        assert p.stat().st_mode & 0o777 == want, (p, oct(p.stat().st_mode & 0o777))
    marker = json.loads((out / RUN_MARKER).read_text())  # every file listed: replaceable
    assert set(marker["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    } - {RUN_MARKER}


def test_no_notebook_of_a_run_prints_a_stray_message(tiny_run):
    """Text a notebook prints is its own (a figure, a table); an error from the kernel's
    machinery (IPython's history refused the reset's cell numbers: "ERROR! Session/line
    number was not unique") landed in whichever cell ran, and on the pages."""
    out, _ = tiny_run
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                text = "".join(o.get("text", "")) if o.get("output_type") == "stream" else ""
                assert "ERROR" not in text and o.get("name") != "stderr", (path.name, text)


def test_pages_render_offline_in_chromium(tiny_run):
    from browser import check_pages, chromium_path

    if chromium_path() is None:
        if os.environ.get("PERFLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (PERFLAB_REQUIRE_BROWSER=1) but not found")
        pytest.skip("chromium not installed")
    out, _ = tiny_run
    pages = [out / "report.html", out / "index.html", *sorted((out / "notebooks").glob("*.html"))]
    # PERFLAB_SCREENSHOTS=folder: also save one PNG per section of each page, to look at
    shots = os.environ.get("PERFLAB_SCREENSHOTS")
    checks = check_pages(pages, screenshots=Path(shots) if shots else None)
    for c in checks:  # at 1400 px, offline
        assert not c.console_errors, (c.path, c.console_errors)
        assert not c.page_errors, (c.path, c.page_errors)
        assert not c.external_requests, (c.path, c.external_requests)
        assert c.charts == c.chart_divs, (c.path, "a chart did not draw")
        assert not c.wide_tables, (c.path, "scrolls sideways", c.wide_tables)
        assert not c.bad_text, (c.path, "NaN/None/nan/e+0 in a table or headline", c.bad_text)
        assert c.visible_code == 0, (c.path, "code shown before 'show code'")
        assert c.ok, c
    by_name = {Path(c.path).name: c for c in checks}
    assert by_name["02_latency.html"].charts >= 2
    assert by_name["01_query_plans.html"].charts >= 1
    # report.html carries every notebook's charts, with plotly.js once
    notebook_charts = sum(c.charts for n, c in by_name.items() if n[:2].isdigit())
    assert by_name["report.html"].charts == notebook_charts > 0
    report = (out / "report.html").read_text(encoding="utf-8")
    import plotly.offline

    assert report.count(plotly.offline.get_plotlyjs()[:120]) == 1


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
        run(RunInputs("tiny"), out)
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


# ---------------------------------------------------------------- values, not only "it ran"


class _Tables(HTMLParser):
    """The <table>s of an HTML output: a list of rows (lists of cell texts) per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _output_of(nb_path: Path, source_snippet: str, mime: str):
    """The `mime` output of the executed cell whose source contains `source_snippet`."""
    nb = nbformat.read(nb_path, as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and source_snippet in c.source]
    for o in cell.get("outputs", []):
        if mime in o.get("data", {}):
            return o["data"][mime]
    raise AssertionError(f"{nb_path.name}: no {mime} output for {source_snippet!r}")


def _plotly_array(v) -> list[float]:
    """A trace's array as plotly stores it in JSON: a list, or base64 typed-array data."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _html_table(nb_path: Path, source_snippet: str) -> list[dict[str, str]]:
    p = _Tables()
    p.feed(_output_of(nb_path, source_snippet, "text/html"))
    header, *rows = [r for r in p.tables[0] if r]
    header = header[1:] if header[0] == "" else header  # the index column's empty corner
    return [dict(zip(header, r[-len(header) :], strict=True)) for r in rows]


def test_summary_notebook_tables_show_the_summarys_numbers(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    nb = out / "notebooks" / "06_summary.ipynb"
    shown = {r["query"]: r for r in _html_table(nb, "views.benchmarks(summary)")}
    assert set(shown) == {q["name"] for q in summary["queries"]}
    for q in summary["queries"]:
        for k in ("p50", "p95", "p99", "p999", "max"):  # as the one number format writes it
            cell = shown[q["name"]][tables.header(k, "ms")]
            assert cell.split(" [")[0] == theme.fmt(q["latency_ms"][k], "ms"), (q["name"], k)
    targets = _html_table(nb, "views.quick_reference(summary)")
    assert [t["status"] for t in targets] == [
        t["status"].replace("_", " ") for t in summary["targets"]
    ]
    assert [t["subject"] for t in targets] == [t["subject"] for t in summary["targets"]]
    decision = _output_of(nb, "r.decision['decision']", "text/markdown")
    assert decision == f"**{summary['decision']['decision']}**"


def test_summary_notebook_charts_plot_the_summarys_numbers(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    nb = out / "notebooks" / "06_summary.ipynb"
    fig = _output_of(nb, "views.percentile_profile(summary)", "application/vnd.plotly.v1+json")
    keys = ["p50", "p95", "p99", "p999", "max"]
    by = {t["name"]: t for t in fig["data"]}
    for q in summary["queries"]:
        assert _plotly_array(by[q["name"]]["x"]) == keys
        assert _plotly_array(by[q["name"]]["y"]) == pytest.approx(
            [q["latency_ms"][k] for k in keys]
        )


def test_latency_notebook_chart_plots_the_measured_percentiles(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    fig = _output_of(
        out / "notebooks" / "02_latency.ipynb",
        "figures.percentiles_vs_target(",
        "application/vnd.plotly.v1+json",
    )
    bars = {
        t["name"]: dict(zip(t["y"], _plotly_array(t["x"]), strict=True)) for t in fig["data"][:3]
    }
    for q in summary["queries"]:
        for k in ("p50", "p95", "p99"):
            assert bars[k][q["name"]] == pytest.approx(q["latency_ms"][k]), (q["name"], k)


def _same_dirs(cols, other) -> bool:
    """Same ASC/DESC as `other`'s leading terms, or all reversed (a backward scan)."""
    mine = [d for *_, d in cols]
    theirs = [d for *_, d in other[: len(cols)]]
    return theirs == mine or theirs == [1 - d for d in mine]


def _expected_redundancy(ddl: str) -> set[tuple[str, str]]:
    """Redundant indexes of a schema derived in this test from SQLite's own PRAGMAs, by
    the README's rules (not by perflab's code): an index on the INTEGER PRIMARY KEY; same
    key terms as a constraint's automatic index; an exact duplicate of an earlier explicit
    index; a non-unique left prefix of a longer index (not partial, or the same WHERE)."""
    c = sqlite3.connect(":memory:")
    c.executescript(ddl)
    out: set[tuple[str, str]] = set()
    order = [r[0] for r in c.execute("SELECT name FROM sqlite_schema ORDER BY rowid")]
    tables = [
        r[0]
        for r in c.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
    ]
    for t in tables:
        ipk = [
            r[1].lower()
            for r in c.execute(f'PRAGMA table_info("{t}")')
            if r[5] == 1
            and r[2].upper() == "INTEGER"
            and sum(x[5] > 0 for x in c.execute(f'PRAGMA table_info("{t}")')) == 1
        ]
        idx = []
        for _seq, name, unique, origin, partial in c.execute(f'PRAGMA index_list("{t}")'):
            cols = [
                (r[2].lower(), r[4].upper(), r[3])
                for r in c.execute(f'PRAGMA index_xinfo("{name}")')
                if r[5]  # key columns only
            ]
            sql = c.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (name,)).fetchone()[0]
            where = " ".join(sql.split(" WHERE ", 1)[1].split()) if sql and partial else None
            idx.append((name, bool(unique), origin, where, cols))
        created = [i for i in idx if i[2] == "c"]
        created.sort(key=lambda i: order.index(i[0]))
        for k, (name, unique, _, where, cols) in enumerate(created):
            keys = [(n, coll) for n, coll, _ in cols]
            if len(cols) == 1 and ipk and keys[0] == (ipk[0], "BINARY"):
                out.add((name, "rowid_alias"))
                continue
            auto = [
                i
                for i in idx
                if i[2] != "c" and [(n, cl) for n, cl, _ in i[4]] == keys and _same_dirs(cols, i[4])
            ]
            if auto and where is None:
                out.add((name, "duplicate_of_constraint"))
                continue
            if any(
                [(n, cl) for n, cl, _ in o[4]] == keys and o[3] == where and _same_dirs(cols, o[4])
                for o in created[:k]
            ):
                out.add((name, "duplicate"))
                continue
            if not unique and any(
                len(o[4]) > len(cols)
                and [(n, cl) for n, cl, _ in o[4][: len(cols)]] == keys
                and (o[3] is None or o[3] == where)
                and _same_dirs(cols, o[4])
                for o in idx
                if o[0] != name
            ):
                out.add((name, "left_prefix"))
    return out


def test_default_schema_index_health_matches_the_rules(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    ddl = (paths.DATA_DIR / "schemas" / "agent_orchestrator.sql").read_text()
    expected = _expected_redundancy(ddl)
    got = {
        (h["index"], h["issue"])
        for h in summary["indexes"]["health"]
        if h["issue"] not in ("unused", "not_analysed")
    }
    assert got == expected
    assert len(expected) >= 5  # the default schema's known redundancies are all there
    # each is reported as an issue recommending its own DROP
    issues = {i["subject"]: i for i in summary["issues"] if i["origin"] == "index health"}
    for name, _ in expected:
        assert issues[name]["recommendation"] == f'DROP INDEX "{name}"'


#: The tiny run of the default schema, workload and targets: every current target passes
#: with its whole interval (p99 intervals end far below 10-50 ms, write rates far above
#: 20-30 ops/s, the concurrent reads far below 2 s) and no issue is above low.
TINY_DECISION = "APPROVED WITH CONDITIONS"
TINY_TARGETS = {
    "session_by_id": "pass",
    "memory_by_namespace_key": "pass",
    "namespace_prefix": "pass",
    "task_dequeue": "pass",
    "memory_write": "pass",
    "memory_update": "pass",
    "event_append": "pass",
    "concurrent_session_reads": "pass",
}
#: Issue origins left out of the pin (none: growth claims need material growth, range and
#: agreeing work counters, so they no longer flip on timing noise).
UNSETTLED_ORIGINS: set[str] = set()


def _decision_from(issues) -> str:
    """The README's rule: critical -> REJECTED; high or medium -> WITH CONDITIONS."""
    sev = {i["severity"] for i in issues}
    if "critical" in sev:
        return "REJECTED"
    return "APPROVED WITH CONDITIONS" if sev & {"high", "medium"} else "APPROVED"


def test_tiny_run_decision_is_pinned_and_follows_from_its_issues(tiny_run):
    out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    issues = summary["issues"]
    assert summary["decision"]["decision"] == _decision_from(issues)
    settled = [i for i in issues if i["origin"] not in UNSETTLED_ORIGINS]
    assert _decision_from(settled) == TINY_DECISION, [i["title"] for i in settled]
    statuses = {t["subject"]: t["status"] for t in summary["targets"] if t["current"]}
    assert statuses == TINY_TARGETS


def test_a_notebook_is_written_once_not_at_every_cell(tmp_path, monkeypatch):
    # papermill rewrote the whole notebook, outputs so far included, at each cell's start
    # and end; the run writes it once at the end (and, on a failure, once before raising)
    import papermill.execute
    from perflab.run.runner import execute_notebook

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'tiny'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(f"x = {i}") for i in range(4)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, nbdir / "01_small.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", nbdir)
    written = []
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: written.append(path))
    real = papermill.execute.write_ipynb
    monkeypatch.setattr(
        papermill.execute, "write_ipynb", lambda nb, path: written.append(path) or real(nb, path)
    )
    (tmp_path / "staging").mkdir()
    execute_notebook("01_small", tmp_path / "staging", {"profile": "tiny"})
    assert written == [str(tmp_path / "staging" / "notebooks" / "01_small.ipynb")]
    out = nbformat.read(written[0], as_version=4)
    assert all(c.metadata["papermill"]["duration"] is not None for c in out.cells[1:])
