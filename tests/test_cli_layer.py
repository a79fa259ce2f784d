"""click lives in cli.py only: every other module is a library the CLI (and Python users) call."""

from __future__ import annotations

import ast
from pathlib import Path

import perflab
from perflab.inputs.capture import capture
from perflab.inputs.draft import save_draft

PACKAGE = Path(perflab.__file__).resolve().parent
DDL = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT);\nCREATE INDEX t_k ON t(k);\n"


def _imports_click(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        if any(n == "click" or n.startswith("click.") for n in names):
            return True
    return False


def test_only_cli_imports_click():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _imports_click(p))
    assert users == ["cli.py"]


def test_capture_writes_a_workload_from_python_without_the_cli(tmp_path):
    log = tmp_path / "statements.sql"
    log.write_text("SELECT k FROM t WHERE id = 1;\nSELECT k FROM t WHERE id = 2;\n")
    heard: list[str] = []
    report = capture(out=tmp_path / "app.yaml", from_log=log, warn=heard.append)
    assert report.out.read_text().count("SELECT k FROM t WHERE id = ?") == 1
    assert report.result.statements == 2 and report.query_shapes == 1
    assert "2 statements" in report.line() and str(report.out) in report.line()
    assert heard == []


def test_a_failing_command_is_heard_and_its_statements_still_written(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(
        "import sqlite3, sys\n"
        "c = sqlite3.connect(':memory:')\n"
        "c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT)')\n"
        "c.execute('SELECT k FROM t WHERE id = ?', (1,)).fetchall()\n"
        "sys.exit(3)\n"
    )
    heard: list[str] = []
    import sys

    report = capture([sys.executable, str(script)], out=tmp_path / "app.yaml", warn=heard.append)
    assert heard == ["perflab: capture: the command exited with code 3"]
    assert report.out.is_file()


def test_save_draft_writes_the_draft_for_a_schema(tmp_path):
    schema = tmp_path / "s.sql"
    schema.write_text(DDL)
    out = save_draft(tmp_path / "w.yaml", schema=schema)
    text = out.read_text()
    assert "t_by_id" in text and "drafted" in text
    assert text.startswith("# perflab:generated")  # perflab owns it: a rerun may replace it
