"""Offline notebook HTML: plotly charts draw with no network, nothing is loaded from outside."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from browser import check_pages, chromium_path
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from perflab.present.htmlexport import export_many, export_notebook_html
from perflab.present.pages import write_index
from perflab.present.report_page import write_report
from perflab.run.summary import validate_summary

# Tags that make a browser fetch something, pointing at http(s) or protocol-relative URLs.
EXTERNAL_LOAD = re.compile(
    r"""<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)

FIGURES_CELL = """\
import pandas as pd
import plotly.express as px
import plotly.io as pio

pio.renderers.default = "plotly_mimetype"
df = pd.DataFrame({"query": ["a", "b", "c"], "p95_ms": [0.5, 1.25, 3.0]})
px.bar(df, x="query", y="p95_ms", title="p95 <latency>").show()
px.line(df, x="query", y="p95_ms").show()
df
"""


def small_summary() -> dict:
    query = {
        "name": "by_id",
        "sql": "SELECT * FROM t WHERE id = ?",
        "iterations": 10,
        "latency_ms": dict.fromkeys(("p50", "p95", "p99", "p999", "max", "mean", "min"), 0.01),
        "latency_ci_ms": dict.fromkeys(("p50", "p95", "p99", "p999"), [None, None]),
        "ops_per_s": 100000.0,
        "rows": {"mean": 1, "min": 1, "max": 1},
        "plan": [
            {
                "id": 2,
                "parent": 0,
                "detail": "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
                "kind": "search_rowid",
            }
        ],
        "plan_text": "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
        "plan_classification": {
            "kinds": ["search_rowid"],
            "uses_index": True,
            "full_scans": 0,
            "temp_btrees": 0,
        },
    }
    return {
        "format_version": "1.0",
        "run_id": "test-run",
        "created_at": "2026-11-26T00:00:00Z",
        "profile": "quick",
        "sqlite_version": "3.40.1",
        "engine": {"driver": "sqlite3", "python": "3.11", "compile_options": []},
        "pragmas": {},
        "database": {
            "path": "db.sqlite",
            "scale": "tiny",
            "seed": 1,
            "analyzed": True,
            "size_bytes": 4096,
            "tables": {"t": 10},
            "from_cache": False,
        },
        "queries": [query],
        "harness_overhead_ms": {"empty_loop": 0.0, "select_1": 0.001},
        "notebooks": [
            {
                "name": "latency",
                "ipynb": "notebooks/latency.ipynb",
                "html": "notebooks/latency.html",
                "status": "ok",
                "seconds": 4.0,
            }
        ],
        "stages": {"notebooks": 4.0},
        "decision": {"decision": "APPROVED", "reasons": ["all targets pass"], "conditions": []},
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("run")
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Latency\n\nTwo charts and a table, offline."),
            new_code_cell(FIGURES_CELL),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(folder)}}
    ).execute()
    outputs = nb.cells[1].outputs
    assert sum("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs) == 2

    notebooks = folder / "notebooks"
    notebooks.mkdir()
    ipynb = notebooks / "latency.ipynb"
    nbformat.write(nb, ipynb)
    html = export_notebook_html(ipynb, notebooks / "latency.html")

    summary = small_summary()
    validate_summary(summary)
    report = write_report(folder, summary)
    index = write_index(folder, summary)
    return {"ipynb": ipynb, "html": html, "index": index, "folder": folder, "report": report}


def test_export_is_self_contained(exported: dict[str, Path]) -> None:
    import plotly.offline

    page = exported["html"].read_text(encoding="utf-8")
    assert not EXTERNAL_LOAD.findall(page)
    assert '<script src="http' not in page and '<link href="http' not in page
    assert "require.min.js" not in page and "MathJax.js" not in page and "mermaid" not in page
    # plotly.js is inlined exactly once, and both figures are drawn by it
    head = plotly.offline.get_plotlyjs()[:120]
    assert page.count(head) == 1
    assert page.count("Plotly.newPlot(") == 2
    assert "application/vnd.plotly.v1+json" not in page
    # markdown and the pandas table made it
    assert "Two charts and a table, offline." in page
    assert "<table" in page and "p95_ms" in page
    # the input prompts are left out, the code is not: it is hidden until "show code"
    assert 'class="jp-InputPrompt' not in page and "In&nbsp;[" not in page
    assert "renderers" in page and "plotly_mimetype" in page
    assert '<body class="jp-Notebook perflab-hide-code"' in page
    assert ">show code</button>" in page
    # the pandas table went through perflab's number format: no index column, units
    assert '<table class="perflab-table">' in page and "p95 (time)" in page
    assert "1.25 ms" in page and "<th></th>" not in page


def test_report_is_one_file_with_plotlyjs_once_and_no_code(exported: dict[str, Path]) -> None:
    import plotly.offline

    page = exported["report"].read_text(encoding="utf-8")
    assert not EXTERNAL_LOAD.findall(page)
    assert page.count(plotly.offline.get_plotlyjs()[:120]) == 1  # once, in the head
    assert page.index("plotly") < page.index("<body")
    assert page.count("Plotly.newPlot(") == 2
    assert "plotly_mimetype" not in page and "import pandas" not in page  # no code at all
    assert '<nav class="sidebar"' in page and 'href="#stage-latency"' in page
    assert '<section class="stage" id="stage-latency">' in page
    assert "Two charts and a table, offline." in page
    # the decision and what to do first come before the stages
    assert page.index('id="decision"') < page.index('id="todo"') < page.index('id="stage-latency"')
    assert 'href="report.html"' in exported["index"].read_text(encoding="utf-8")


def test_export_many_and_no_partial_file_on_error(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    out = export_many(
        [(exported["ipynb"], tmp_path / "a.html"), (exported["ipynb"], tmp_path / "b.html")]
    )
    assert [p.name for p in out] == ["a.html", "b.html"]
    for p in out:
        assert p.read_text(encoding="utf-8").count("Plotly.newPlot(") == 2

    from perflab.errors import PerflabError

    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    target = tmp_path / "a.html"
    before = target.read_bytes()
    with pytest.raises(PerflabError, match="bad.ipynb"):
        export_notebook_html(bad, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html", "bad.ipynb"]


def test_pages_render_offline_in_chromium(exported: dict[str, Path]) -> None:
    if chromium_path() is None:
        if os.environ.get("PERFLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (PERFLAB_REQUIRE_BROWSER=1) but was not found")
        pytest.skip("Chromium not installed (set PERFLAB_CHROMIUM or install chromium)")

    nb_page, index_page, report = check_pages(
        [exported["html"], exported["index"], exported["report"]]
    )
    assert report.ok, report
    assert report.charts == 2 and report.visible_code == 0
    assert nb_page.visible_code == 0  # hidden until "show code"

    assert nb_page.load_error is None
    assert nb_page.title_loaded
    assert nb_page.charts == 2
    assert nb_page.main_svgs == 6
    assert nb_page.console_errors == ()
    assert nb_page.page_errors == ()
    assert nb_page.external_requests == ()
    assert nb_page.ok

    assert index_page.load_error is None
    assert index_page.title_loaded and "quick" in index_page.title
    assert index_page.charts == 0
    assert index_page.console_errors == ()
    assert index_page.page_errors == ()
    assert index_page.external_requests == ()
    assert index_page.ok


def test_printed_values_and_raw_frames_read_as_numbers_for_people() -> None:
    """A printed dict loses its exponents and a raw DataFrame its index and NaN, at export."""
    import pandas as pd
    from nbformat.v4 import new_output
    from perflab.present.htmlexport import PlotlyOfflinePreprocessor

    frame = pd.DataFrame({"query": ["a"], "p99": [0.0074], "ok": [True], "x": [None]})
    cell = new_code_cell("x")
    cell.outputs = [
        new_output("execute_result", {"text/plain": "{'empty_loop': 8e-05}"}, execution_count=1),
        new_output(
            "execute_result",
            {"text/html": frame._repr_html_(), "text/plain": "df"},
            execution_count=2,
        ),
    ]
    pre = PlotlyOfflinePreprocessor()
    pre._plotlyjs_done, pre._figures = False, 0
    cell, _ = pre.preprocess_cell(cell, {}, 0)
    assert cell.outputs[0]["data"]["text/plain"] == "{'empty_loop': 0.00008}"
    html = cell.outputs[1]["data"]["text/html"]
    assert "7.4 µs" in html and "<td>yes</td>" in html
    assert "None" not in html and "NaN" not in html and "<th></th>" not in html


def test_sections_made_while_the_run_went_on_give_the_same_report(exported) -> None:
    """The run makes report sections beside its last notebook (run.html_workers.Exports); the
    report built from them is the one built from the notebooks, and a section given is
    used, not made again."""
    import re

    from perflab.present.report_page import Section, render_report, render_section

    folder, summary = exported["folder"], small_summary()
    name = summary["notebooks"][0]["name"]
    made = render_section(exported["ipynb"], name)
    ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    fresh = ids.sub("ID", render_report(folder, summary))
    assert ids.sub("ID", render_report(folder, summary, {name: made})) == fresh
    given = Section(made.anchor, made.title, "<p>given-not-remade</p>")
    assert "given-not-remade" in render_report(folder, summary, {name: given})


def test_a_warmed_exporter_makes_the_same_page_and_section(exported, tmp_path) -> None:
    """The run warms its exporters before measuring (htmlexport.warm_up) and the processes
    forked beside 06 use them: what they make is what fresh exporters make."""
    import re

    from perflab.present.htmlexport import export_notebook_html, make_exporter, warm_up
    from perflab.present.report_page import render_section, section_exporter

    ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    nb = exported["ipynb"]
    page, part = make_exporter(), section_exporter()
    warm_up(page, part)
    warm = export_notebook_html(nb, tmp_path / "warm.html", page).read_text()
    cold = export_notebook_html(nb, tmp_path / "cold.html").read_text()
    assert "Warm-up" not in warm and ids.sub("ID", warm) == ids.sub("ID", cold)
    assert warm.count("Plotly.newPlot(") == 2  # both charts, plotly.js inlined as cold
    name = nb.stem
    assert ids.sub("ID", render_section(nb, name, part).html) == ids.sub(
        "ID", render_section(nb, name).html
    )
