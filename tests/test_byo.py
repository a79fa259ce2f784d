"""Bring your own: full `perflab run` on a database perflab did not create (--db, with a
captured workload) and on an awkward schema (--schema, drafted workload)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from perflab.database.snapshot import fingerprint
from perflab.run.summary import validate_summary
from test_draft import AWKWARD

FORUM = """
PRAGMA journal_mode = WAL;
CREATE TABLE members(id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE,
                     joined TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE boards(id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE threads(id INTEGER PRIMARY KEY, board_id INTEGER NOT NULL REFERENCES boards(id),
                     author_id INTEGER NOT NULL REFERENCES members(id), subject TEXT NOT NULL,
                     created TEXT NOT NULL);
CREATE TABLE replies(id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL REFERENCES threads(id),
                     author_id INTEGER NOT NULL REFERENCES members(id), body TEXT NOT NULL,
                     created TEXT NOT NULL);
CREATE INDEX threads_board ON threads(board_id, created DESC);
CREATE INDEX replies_thread ON replies(thread_id, created);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO members(handle) SELECT 'member' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12)
INSERT INTO boards(title) SELECT 'board ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO threads(board_id, author_id, subject, created)
SELECT i % 12 + 1, i % 300 + 1, 'subject ' || i, datetime('2026-01-01', '+' || i || ' minutes')
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
INSERT INTO replies(thread_id, author_id, body, created)
SELECT i % 2000 + 1, i % 300 + 1, 'reply ' || i, datetime('2026-01-02', '+' || i || ' minutes')
FROM n;
"""

APP = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
for board in (1, 2, 3):
    conn.execute(f"SELECT id, subject FROM threads WHERE board_id = {board} "
                 "ORDER BY created DESC LIMIT 20").fetchall()
for t in (5, 17, 99, 5):
    conn.execute("SELECT * FROM replies WHERE thread_id = ? ORDER BY created", (t,)).fetchall()
conn.execute("SELECT * FROM members WHERE handle = 'member7'").fetchall()
conn.execute("SELECT count(*) FROM replies WHERE author_id = 7").fetchall()
conn.execute("INSERT INTO replies(thread_id, author_id, body, created) "
             "VALUES (5, 7, 'me too', '2026-03-01 10:00:00')")
conn.commit()
"""


def _perflab(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "perflab.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PERFLAB_CACHE_DIR": str(cache)},
    )


@pytest.fixture(scope="module")
def db_run(tmp_path_factory):
    """A forum database built by its own SQL, its workload captured from its app, run."""
    tmp = tmp_path_factory.mktemp("byo-db")
    db = tmp / "forum.db"
    conn = sqlite3.connect(db)
    conn.executescript(FORUM)
    conn.close()
    app_db = tmp / "app-copy.db"  # the application writes: capture against its own copy
    src, dst = sqlite3.connect(db), sqlite3.connect(app_db)
    src.backup(dst)
    src.close()
    dst.close()
    (tmp / "app.py").write_text(APP)
    wl = tmp / "forum.yaml"
    cap = _perflab(
        ["capture", "--out", str(wl), "--", sys.executable, str(tmp / "app.py"), str(app_db)],
        tmp / "cache",
    )
    assert cap.returncode == 0, cap.stderr
    before = fingerprint(db)
    out = tmp / "report"
    proc = _perflab(
        ["run", "--profile", "tiny", "--db", str(db), "--workload", str(wl), "--out", str(out)],
        tmp / "cache",
    )
    return {"db": db, "out": out, "proc": proc, "before": before, "workload": wl}


@pytest.fixture(scope="module")
def schema_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("byo-schema")
    ddl = tmp / "awkward.sql"
    ddl.write_text(AWKWARD)
    before = ddl.read_bytes()
    out = tmp / "report"
    proc = _perflab(
        ["run", "--profile", "tiny", "--schema", str(ddl), "--out", str(out)], tmp / "cache"
    )
    return {"ddl": ddl, "out": out, "proc": proc, "before": before}


def _complete(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    validate_summary(summary)
    assert (out / "index.html").is_file()
    for nb in summary["notebooks"]:
        assert nb["status"] == "ok"
        assert (out / nb["ipynb"]).is_file() and (out / nb["html"]).is_file()
    return summary


def test_db_run_produces_complete_report(db_run):
    proc = db_run["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = _complete(db_run["out"])
    db = summary["database"]
    assert db["scale"] == "existing" and db["from_cache"] is False and db["analyzed"] is False
    assert db["source"] == str(db_run["db"].resolve())
    assert db["tables"] == {"boards": 12, "members": 300, "replies": 8000, "threads": 2000}
    names = {q["name"] for q in summary["queries"]}
    assert {"select_threads_by_board_id", "select_replies_by_thread_id"} <= names
    assert "perflab: database snapshot" in proc.stderr


def test_db_run_never_touched_the_users_files(db_run):
    assert fingerprint(db_run["db"]) == db_run["before"]
    assert sorted(p.name for p in db_run["db"].parent.glob("forum.db*")) == ["forum.db"]


def test_schema_run_with_awkward_identifiers(schema_run):
    proc = schema_run["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "drafted workload" in proc.stderr
    summary = _complete(schema_run["out"])
    tables = summary["database"]["tables"]
    assert tables["order"] == 1000 and tables["my table"] == 1000 and tables["strict_t"] == 1000
    assert "docs" not in tables  # the virtual table is skipped
    assert schema_run["ddl"].read_bytes() == schema_run["before"]


def test_db_run_draws_parameters_from_the_database_and_leads_with_the_applications_view(
    db_run,
):
    summary = json.loads((db_run["out"] / "summary.json").read_text())
    src = {q["name"]: q["params_source"] for q in summary["queries"]}
    assert src["select_replies_by_thread_id"] == ["column replies.thread_id"]
    assert src["select_threads_by_board_id"] == ["column threads.board_id", "captured"]  # LIMIT
    assert src["select_members_by_handle"] == ["column members.handle"]
    cap = summary["workload"]["captured"]
    assert cap["statements"] == 10 and cap["total_ms"] > 0
    shares = [q["captured"]["total_ms"] for q in summary["queries"]] + [
        w["total_ms"] for w in cap["writes"]
    ]
    # shares of the whole captured time; each figure is rounded to 0.001 ms on its own
    assert 0 < sum(shares) <= cap["total_ms"] + 0.0005 * (len(shares) + 1)
    page = (db_run["out"] / "index.html").read_text()
    assert page.index("<h2>Where the application") < page.index("<h2>Key figures")
    nb = json.loads((db_run["out"] / "notebooks" / "06_summary.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "views.application_view(summary)" in "".join(c["source"]))
    html = "".join(cell["outputs"][0]["data"]["text/html"]).replace("<wbr>", "")
    assert "select_threads_by_board_id" in html and "column replies.thread_id" in html
