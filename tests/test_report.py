"""summary.json schema validation, atomic writing, and the index page."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
from perflab.errors import PerflabError
from perflab.present.pages import render_index, write_index
from perflab.run.summary import validate_summary, write_summary


def make_query(name: str = "task_by_id", sql: str = "SELECT * FROM task WHERE id = ?") -> dict:
    return {
        "name": name,
        "sql": sql,
        "iterations": 200,
        "latency_ms": {
            "p50": 0.012,
            "p95": 0.02,
            "p99": 0.03,
            "p999": 0.05,
            "max": 0.06,
            "mean": 0.014,
            "min": 0.009,
        },
        "latency_ci_ms": {
            "p50": [0.011, 0.013],
            "p95": [0.018, 0.022],
            "p99": [0.025, None],
            "p999": [None, None],
        },
        "ops_per_s": 71000.5,
        "rows": {"mean": 1.0, "min": 1, "max": 1},
        "plan": [
            {
                "id": 2,
                "parent": 0,
                "detail": "SEARCH task USING INTEGER PRIMARY KEY (rowid=?)",
                "kind": "search_rowid",
            }
        ],
        "plan_text": "SEARCH task USING INTEGER PRIMARY KEY (rowid=?)",
        "plan_classification": {
            "kinds": ["search_rowid"],
            "uses_index": True,
            "full_scans": 0,
            "temp_btrees": 0,
        },
    }


def make_summary() -> dict:
    scan = make_query("recent_runs", "SELECT * FROM run ORDER BY started_at DESC LIMIT 10")
    scan["plan"] = [
        {"id": 2, "parent": 0, "detail": "SCAN run", "kind": "scan_table"},
        {"id": 5, "parent": 0, "detail": "USE TEMP B-TREE FOR ORDER BY", "kind": "temp_btree"},
    ]
    scan["plan_text"] = "SCAN run\nUSE TEMP B-TREE FOR ORDER BY"
    scan["plan_classification"] = {
        "kinds": ["scan_table", "temp_btree"],
        "uses_index": False,
        "full_scans": 1,
        "temp_btrees": 1,
    }
    scan["target_ms"] = 5.0
    return {
        "format_version": "1.0",
        "run_id": "20261126-091500-abc123",
        "created_at": "2026-11-26T09:15:00+00:00",
        "profile": "quick",
        "sqlite_version": "3.46.1",
        "engine": {
            "driver": "sqlite3",
            "python": "3.11.7",
            "compile_options": ["ENABLE_FTS5", "THREADSAFE=1"],
            "platform": "Linux-6.1-x86_64",
            "machine": "x86_64",
        },
        "pragmas": {"journal_mode": "wal", "cache_size": -65536},
        "database": {
            "path": "/tmp/db.sqlite",
            "scale": "tiny",
            "seed": 42,
            "analyzed": True,
            "size_bytes": 1_234_567,
            "tables": {"task": 1000, "run": 5000},
            "from_cache": False,
        },
        "queries": [make_query(), scan],
        "harness_overhead_ms": {"empty_loop": 0.0001, "select_1": 0.002},
        "notebooks": [
            {
                "name": "01_plans",
                "ipynb": "notebooks/01_plans.ipynb",
                "html": "notebooks/01_plans.html",
                "status": "ok",
                "seconds": 3.2,
            },
            {
                "name": "02_latency",
                "ipynb": "notebooks/02_latency.ipynb",
                "html": "notebooks/02_latency.html",
                "status": "failed",
                "seconds": 1.5,
            },
        ],
        "stages": {"database": 1.5, "notebooks": 4.7},
    }


def test_valid_summary_passes() -> None:
    validate_summary(make_summary())


def test_optional_sections_and_numpy_types_accepted() -> None:
    s = make_summary()
    s["decision"] = {"decision": "REJECTED", "reasons": ["p95 over target"], "conditions": []}
    s["issues"] = [{"id": "I001", "severity": "critical", "title": "t", "evidence": ["e"]}]
    s["indexes"] = {"inventory": [], "health": [], "write_cost": [], "usage": {}}
    s["queries"][0]["latency_ms"]["p50"] = np.float64(0.0125)
    s["queries"][0]["iterations"] = np.int64(200)
    s["queries"][0]["params_example"] = [1, "x"]
    validate_summary(s)


def test_missing_queries_rejected_naming_it() -> None:
    s = make_summary()
    del s["queries"]
    with pytest.raises(PerflabError) as info:
        validate_summary(s)
    msg = str(info.value)
    assert "queries" in msg and "required" in msg
    assert "\n" not in msg


def test_string_latency_rejected_naming_path() -> None:
    s = make_summary()
    s["queries"][1]["latency_ms"]["p95"] = "fast"
    with pytest.raises(PerflabError) as info:
        validate_summary(s)
    msg = str(info.value)
    assert "$.queries[1].latency_ms.p95" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda s: s.update(format_version="2.0"), "$.format_version"),
        (lambda s: s["database"]["tables"].update(task="many"), "$.database.tables.task"),
        (lambda s: s["notebooks"][0].update(status="maybe"), "$.notebooks[0].status"),
        (
            lambda s: s["queries"][0]["latency_ci_ms"].update(p50=[1.0]),
            "$.queries[0].latency_ci_ms.p50",
        ),
    ],
)
def test_other_breakages_name_their_path(mutate, path: str) -> None:
    s = make_summary()
    mutate(s)
    with pytest.raises(PerflabError, match=re.escape(path)):
        validate_summary(s)


def test_write_summary_roundtrip_and_numpy(tmp_path: Path) -> None:
    s = make_summary()
    s["queries"][0]["ops_per_s"] = np.float32(1234.5)
    s["database"]["tables"]["task"] = np.int64(1000)
    out = write_summary(tmp_path, s)
    assert out == tmp_path / "summary.json"
    text = out.read_text()
    assert text.startswith('{\n  "format_version": "1.0"')
    data = json.loads(text)
    assert data["database"]["tables"]["task"] == 1000
    assert data["queries"][0]["ops_per_s"] == 1234.5
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temp files left


def test_invalid_summary_leaves_existing_file_untouched(tmp_path: Path) -> None:
    good = write_summary(tmp_path, make_summary())
    before = good.read_bytes()
    bad = copy.deepcopy(make_summary())
    bad["queries"][0]["latency_ms"]["p50"] = "slow"
    with pytest.raises(PerflabError):
        write_summary(tmp_path, bad)
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_index_escapes_and_links_every_notebook(tmp_path: Path) -> None:
    s = make_summary()
    s["queries"][0]["name"] = "<script>alert('name')</script>"
    s["queries"][0]["sql"] = "SELECT '<b>' AS x FROM t WHERE a < 1 AND b > 2 & c"
    s["notebooks"].append(
        {
            "name": "03 <odd> & name",
            "ipynb": "x.ipynb",
            "html": "x.html",
            "status": "ok",
            "seconds": 0.4,
        }
    )
    s["decision"] = {
        "decision": "REJECTED",
        "reasons": ["<i>p95</i> over target"],
        "conditions": [],
    }
    out = write_index(tmp_path, s)
    assert out == tmp_path / "index.html"
    page = out.read_text()

    assert "<script" not in page  # escaped everywhere, and no JavaScript of our own
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    assert "SELECT &#39;&lt;b&gt;&#39; AS x FROM t WHERE a &lt; 1 AND b &gt; 2 &amp; c" in page
    assert "<i>p95</i>" not in page and "&lt;i&gt;p95&lt;/i&gt;" in page

    hrefs = re.findall(r'href="([^"]+)"', page)
    assert "notebooks/01_plans.html" in hrefs
    assert "notebooks/02_latency.html" in hrefs
    assert "notebooks/03%20%3Codd%3E%20%26%20name.html" in hrefs
    assert not [h for h in hrefs if h.startswith(("http:", "https:", "//"))]
    assert "failed" in page and "REJECTED" in page
    # headline and environment
    for text in ("quick", "3.46.1", "<b>6k</b>", "ENABLE_FTS5", "journal_mode", "Linux-6.1-x86_64"):
        assert text in page
    # the query with a full scan and a temp b-tree is highlighted
    assert '<tr class="flag">' in page
    assert '<span class="tag bad">scan_table</span>' in page


def test_index_without_decision_or_notebooks() -> None:
    s = make_summary()
    s["notebooks"] = []
    page = render_index(s)
    assert "Decision" not in page
    assert "No notebooks ran." in page


def test_index_leads_a_captured_workload_with_the_applications_view_and_not_replayed() -> None:
    s = make_summary()
    q = s["queries"][0]
    q["captured"] = {"calls": 40, "rows": 40, "total_ms": 20.0, "mean_ms": 0.5, "p95_ms": 0.9}
    q["params_source"] = ["column task.id"]
    s["workload"] = {
        "name": "w",
        "not_replayed": [
            {
                "name": "gone<x>",
                "kind": "write",
                "sql": "INSERT INTO z VALUES (?)",
                "reason": "no such table: z",
            }
        ],
        "captured": {
            "statements": 9,
            "total_ms": 100.0,  # more than the listed statements: shares of the whole
            "writes": [{"name": "ins_z", "calls": 300, "total_ms": 60.0}],
        },
    }
    s["decision"] = {"decision": "APPROVED", "reasons": ["ok"], "conditions": []}
    s["issues"] = [{"id": "I001", "severity": "low", "title": "t", "evidence": ["e"]}]
    validate_summary(s)
    page = render_index(s)
    assert page.index("<h2>Decision") < page.index("Where the application")
    app = page.index("Where the application")
    assert app < page.index("Not replayed") < page.index("<h2>Issues") < page.index("Key figures")
    page = page.replace("<wbr>", "")  # break chances after "_" in names
    rows = re.findall(
        r'<tr><td>([^<]+)</td><td>(query|write)</td><td class="num">([\d,]+)</td>'
        r'<td class="num">([\d.]+ ms)</td><td class="num">(\d+%)</td>',
        page,
    )
    assert rows == [
        ("ins_z", "write", "300", "60 ms", "60%"),
        (q["name"], "query", "40", "20 ms", "20%"),
    ]
    assert "column task.id" in page
    assert "gone&lt;x&gt;" in page and "no such table: z" in page
    plain = make_summary()
    assert "Where the application" not in render_index(plain)
    assert "Not replayed" not in render_index(plain)


def test_index_reads_as_prose_for_people() -> None:
    """Overhead in µs/ns (not 4e-05), 'reused from cache', evidence in code style, what to do."""
    s = make_summary()
    s["harness_overhead_ms"] = {"empty_loop": 4e-05, "select_1": 0.000801}
    s["database"]["from_cache"] = True
    s["decision"] = {"decision": "APPROVED WITH CONDITIONS", "reasons": ["r"], "conditions": []}
    s["issues"] = [
        {"id": "I001", "severity": "low", "title": "t1", "evidence": ["x"]},
        {
            "id": "I002",
            "severity": "medium",
            "title": "scan on run",
            "evidence": ["plan: `SCAN run`; run has 5,000 rows"],
            "recommendation": "CREATE INDEX i ON run(started_at)",
        },
    ]
    page = render_index(s)
    assert "40 ns" in page and "801 ns" in page and "e-0" not in page
    assert "reused from cache" in page and "from cache False" not in page
    assert "plan: <code>SCAN run</code>; run has 5,000 rows" in page and "`" not in page
    todo = page[page.index("What to do first") :]
    assert todo.index("I002") < todo.index("I001")  # the most severe first
    assert "Do: CREATE INDEX i ON run(started_at)" in todo
    for bad in ("NaN", "None", ">nan<"):
        assert bad not in page
