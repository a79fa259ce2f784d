"""The public Python API (perflab/__init__.py): the README's examples run as written, the
names stay clear of module names, `import perflab` stays light, and the thin wrappers give
the answers known for small schemas built here."""

from __future__ import annotations

import importlib
import inspect
import sqlite3
import subprocess
import sys
from pathlib import Path

import perflab
import pytest
from perflab import paths
from perflab.errors import PerflabError
from readme_examples import python_blocks

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(perflab.__file__).resolve().parent
# The public names, spelled out: a name dropped from or added to __all__ is a decision.
# fmt: off
PUBLIC_API = {
    "PerflabError", "__version__", "browse", "capture_workload", "compare_runs",
    "copy_notebooks", "count_work", "draft_workload", "explain", "history", "open_database",
    "query_box", "run_suite", "sweep", "time_query", "try_index", "try_rewrite",
}
# fmt: on


def readme_examples() -> list[str]:
    """The ```python blocks of the README's "Python API" section, in order."""
    return python_blocks("Python API")


@pytest.mark.timeout(400)
def test_readme_python_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = readme_examples()
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md Python API block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "search_index SEARCH tasks USING INDEX idx_tasks_status_priority" in out
    assert "name: app" in out and "origin: capture" in out
    assert namespace["cmp"]["base_run"] == "a" and namespace["second"].run_dir.name == "b"
    assert (tmp_path / "runs" / "a" / "summary.json").is_file()


def test_public_names_are_not_module_names():
    """Importing a submodule sets it as an attribute of the package: a function named like
    a module (`run`, `compare`, `capture`, `measure`) would be replaced by it."""
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if p.is_dir()
    }
    assert set(perflab.__all__) == PUBLIC_API
    assert not set(perflab.__all__) & modules
    for name in sorted(modules - {"__init__", "__main__", "__pycache__"}):
        if (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file():
            importlib.import_module(f"perflab.{name}")  # what would shadow a public name
    assert isinstance(perflab.__version__, str) and perflab.__version__
    assert issubclass(perflab.PerflabError, Exception)
    for name in PUBLIC_API - {"__version__", "PerflabError"}:
        obj = getattr(perflab, name)
        assert inspect.isfunction(obj) and obj.__module__ == "perflab", name
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_import_perflab_loads_no_submodule_and_no_pandas():
    code = (
        "import sys, perflab\n"
        "print(sorted(m for m in sys.modules if m.startswith('perflab')))\n"
        "print('pandas' in sys.modules, 'numpy' in sys.modules, 'click' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['perflab', 'perflab.errors']", "False False False"]


def _indexed_db(tmp_path: Path) -> Path:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INT NOT NULL, v TEXT)")
    conn.execute("CREATE INDEX t_k ON t(k)")
    conn.executemany("INSERT INTO t(k, v) VALUES (?, ?)", [(i % 100, "x") for i in range(5000)])
    conn.commit()
    conn.close()
    return db


def test_query_functions_on_a_connection(tmp_path):
    conn = sqlite3.connect(_indexed_db(tmp_path))
    plan = perflab.explain(conn, "SELECT v FROM t WHERE k = ?", (7,))
    assert [s.kind for s in plan] == ["search_index"] and plan[0].index == "t_k"
    assert perflab.explain(conn, "SELECT v FROM t WHERE v = ?", ("x",))[0].kind == "scan_table"

    timing = perflab.time_query(conn, "SELECT v FROM t WHERE k = ?", [(1,), (2,)], iterations=300)
    assert timing["n"] == 300
    lo, hi = timing["latency_ci_ms"]["p50"]
    assert 0 < lo <= timing["latency_ms"]["p50"] <= hi

    work = perflab.count_work(conn, "SELECT v FROM t WHERE v = ?", ("x",), executions=3)
    if work["source"] is None:  # this SQLite lacks sqlite_stmt: said, not zeros
        assert work["reason"]
    else:
        assert work["executions"] == 3
        assert work["per_execution"]["fullscan_steps"]["mean"] == 4999  # every row but one
        assert work["per_execution"]["rows"]["mean"] == 5000
    conn.execute("SELECT 1")  # a caller's connection stays open
    conn.close()


def test_capture_workload_needs_exactly_one_source(tmp_path):
    with pytest.raises(PerflabError, match="not both"):
        perflab.capture_workload()
    log = tmp_path / "s.sql"
    log.write_text("SELECT 1;")
    with pytest.raises(PerflabError, match="not both"):
        perflab.capture_workload(["python", "x.py"], from_log=log)


def test_the_api_and_the_cli_capture_alike(tmp_path, capsys):
    """Issue 22: one capture path. The API now has what the command had: no statement
    recorded is an error, a command that exits non-zero is heard, `max_values` bounds the
    kept tuples; and both write the same workload from the same log."""
    import sys

    from perflab.cli import main

    empty = tmp_path / "empty.sql"
    empty.write_text("-- nothing\n")
    with pytest.raises(PerflabError, match="no SQLite statements recorded"):
        perflab.capture_workload(from_log=empty)
    heard: list[str] = []
    script = tmp_path / "app.py"
    script.write_text(
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
        "c.execute('CREATE TABLE t(k)')\n"
        "for i in range(30):\n    c.execute('SELECT * FROM t WHERE k = ?', (i,))\n"
        "sys.exit(3)\n"
    )
    text = perflab.capture_workload(
        [sys.executable, str(script), str(tmp_path / "a.db")], warn=heard.append, max_values=4
    )
    assert heard == ["perflab: capture: the command exited with code 3"]
    kept = text.split("  - rows:\n", 1)[1].split("  notes:", 1)[0]
    assert kept.count("    - [") == 4  # 4 kept tuples of the 30 calls
    log = tmp_path / "s.sql"
    log.write_text("SELECT * FROM t WHERE k = 1;\nSELECT * FROM t WHERE k = 2;\n")
    api_out, cli_out = tmp_path / "api.yaml", tmp_path / "cli.yaml"
    perflab.capture_workload(from_log=log, name="w", out=api_out)
    assert main(["capture", "--out", str(cli_out), "--name", "w", "--from-log", str(log)]) == 0
    assert api_out.read_text() == cli_out.read_text()


def test_capture_workload_out_never_overwrites_a_users_file(tmp_path):
    log = tmp_path / "s.sql"
    log.write_text("SELECT * FROM t WHERE k = 1;\nSELECT * FROM t WHERE k = 2;\n")
    out = tmp_path / "w.yaml"
    text = perflab.capture_workload(from_log=log, name="w", out=out)
    assert out.read_text().endswith(text) and "k = ?" in text  # after the signature line
    perflab.capture_workload(from_log=log, name="w", out=out)  # ours, unchanged: replaced
    out.write_text(out.read_text() + "# mine\n")
    with pytest.raises(PerflabError, match="w.yaml"):
        perflab.capture_workload(from_log=log, name="w", out=out)
    assert out.read_text().endswith("# mine\n")


def test_copy_notebooks_then_refuses_once_the_copy_is_the_users(tmp_path):
    dest = tmp_path / "nb"
    got = perflab.copy_notebooks(dest)
    names = sorted(p.name for p in got.glob("*.ipynb"))
    assert names == sorted(p.name for p in paths.NOTEBOOKS_DIR.glob("*.ipynb"))
    first = names[0]
    assert (dest / first).read_bytes() == (paths.NOTEBOOKS_DIR / first).read_bytes()
    perflab.copy_notebooks(dest)  # unchanged since: refreshed
    (dest / first).write_text("{}")  # the user edits a notebook
    with pytest.raises(PerflabError, match="will not replace"):
        perflab.copy_notebooks(dest)
    assert (dest / first).read_text() == "{}"

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(PerflabError, match="will not replace"):
        perflab.copy_notebooks(theirs)
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]


def test_notebooks_command(tmp_path):
    from perflab.cli import main

    assert main(["notebooks", str(tmp_path / "nb")]) == 0
    assert len(list((tmp_path / "nb").glob("*.ipynb"))) >= 6
    (tmp_path / "nb" / "extra.txt").write_text("x")
    assert main(["notebooks", str(tmp_path / "nb")]) == 2
