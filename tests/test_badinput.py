"""Bad input: one clear line, exit 2 (130 on Ctrl-C), no traceback, the user's files and any
earlier report untouched. All but the interrupt fail before a notebook starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from perflab.cli import main
from perflab.database.snapshot import fingerprint
from perflab.ownership import mark_run_folder

# a thread failing while a bad input stops the run would print under its one-line error
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

DDL = """
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
CREATE INDEX posts_user ON posts(user_id);
"""
ROWS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO users(email, name) SELECT 'u' || i || '@x.org', 'n' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO posts(user_id, title) SELECT i % 100 + 1, 'post ' || i FROM n;
"""
GOOD_QUERY = """
  - name: user_by_email
    sql: SELECT * FROM users WHERE email = ?
    params:
      - sample: SELECT email FROM users
"""


@pytest.fixture
def env(tmp_path, make_db, monkeypatch):
    """A user database, an earlier report in the output folder, an isolated cache."""
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PERFLAB_BUSY_TIMEOUT", "0.5")
    db = make_db(DDL, name="app.db", rows=ROWS)
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("earlier report")
    mark_run_folder(out, "report")  # an earlier perflab run: replaceable, so the check passes
    return {"db": db, "out": out, "tmp": tmp_path}


def _workload(tmp: Path, body: str, name: str = "wl.yaml") -> Path:
    p = tmp / name
    p.write_text("name: app\nqueries:\n" + body)
    return p


def _kernels() -> list[int]:
    """This process's children that are Jupyter kernels: the run starts its kernel before
    it checks the inputs, so a bad input must shut it down too."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"ipykernel" in cmd:
            found.append(int(d.name))
    return found


def _fails(env, argv, capsys, match, code=2):
    before = fingerprint(env["db"])
    rc = main(["run", "--profile", "tiny", "--out", str(env["out"]), *argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == code, err
    assert "Traceback" not in err
    assert lines[-1].startswith("perflab: error: ") and match in lines[-1], err
    assert fingerprint(env["db"]) == before
    assert (env["out"] / "index.html").read_text() == "earlier report"
    assert not list(env["out"].parent.glob(".report.partial-*"))
    assert not _kernels()
    return lines[-1]


def test_missing_database(env, capsys):
    _fails(env, ["--db", str(env["tmp"] / "nope.db")], capsys, "nope.db: database file not found")


def test_not_sqlite(env, capsys):
    p = env["tmp"] / "notes.db"
    p.write_text("just some text, long enough to have a header of one hundred bytes " * 3)
    _fails(env, ["--db", str(p)], capsys, "notes.db: not a SQLite database")


def test_truncated(env, capsys, make_db):
    big = make_db(DDL, name="big.db", rows=ROWS.replace("300", "20000"))
    data = big.read_bytes()
    p = env["tmp"] / "cut.db"
    p.write_bytes(data[: len(data) // 3])
    _fails(env, ["--db", str(p)], capsys, "cut.db: cannot read the database")


def test_empty_database(env, capsys, make_db):
    empty = make_db("PRAGMA user_version = 1;", name="empty.db")
    _fails(env, ["--db", str(empty)], capsys, "empty database: no tables")


def test_locked_database(env, capsys):
    code = (
        "import sqlite3, time\n"
        f"c = sqlite3.connect({str(env['db'])!r}, isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE'); c.execute('DELETE FROM posts')\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        t0 = time.perf_counter()
        rc = main(["run", "--profile", "tiny", "--out", str(env["out"]), "--db", str(env["db"])])
        assert time.perf_counter() - t0 < 10
        err = capsys.readouterr().err
        assert rc == 2 and "Traceback" not in err
        assert "database is locked by another process (waited 0.5 s)" in err
    finally:
        proc.kill()
        proc.wait()
    assert (env["out"] / "index.html").read_text() == "earlier report"


def test_workload_yaml_error_names_file_and_line(env, capsys):
    p = env["tmp"] / "broken.yaml"
    p.write_text("name: app\nqueries:\n  - name: q\n    sql: [unclosed\n")
    line = _fails(env, ["--db", str(env["db"]), "--workload", str(p)], capsys, "broken.yaml:")
    assert "YAML error" in line


def test_targets_yaml_error_names_file_and_line(env, capsys):
    wl = _workload(env["tmp"], GOOD_QUERY)
    tg = env["tmp"] / "t.yaml"
    tg.write_text("targets:\n  - metric: latency_p99_ms\n   query: x\n")
    line = _fails(
        env,
        ["--db", str(env["db"]), "--workload", str(wl), "--targets", str(tg)],
        capsys,
        "t.yaml:3",
    )
    assert "YAML error" in line


def test_query_with_sql_error(env, capsys):
    wl = _workload(env["tmp"], GOOD_QUERY + "  - name: broken\n    sql: SELEC * FROM users\n")
    _fails(
        env,
        ["--db", str(env["db"]), "--workload", str(wl)],
        capsys,
        "query 'broken': SQL error: near \"SELEC\": syntax error",
    )


def test_parameter_count_mismatch(env, capsys):
    body = (
        "  - name: two_params\n    sql: SELECT * FROM posts WHERE user_id = ? AND title = ?\n"
        "    params:\n      - sample: SELECT user_id FROM posts\n"
    )
    _fails(
        env,
        ["--db", str(env["db"]), "--workload", str(_workload(env["tmp"], body))],
        capsys,
        "query 'two_params': parameter mismatch",
    )


def test_query_naming_missing_table(env, capsys):
    body = GOOD_QUERY + "  - name: ghost\n    sql: SELECT * FROM comments WHERE id = 1\n"
    _fails(
        env,
        ["--db", str(env["db"]), "--workload", str(_workload(env["tmp"], body))],
        capsys,
        "query 'ghost': SQL error: no such table: comments",
    )


def test_schema_with_sql_error(env, capsys):
    ddl = env["tmp"] / "bad.sql"
    ddl.write_text(
        "CREATE TABLE a(id INTEGER PRIMARY KEY);\nCREATE TABLE b(x INT REFERENCES a(id)\n"
    )
    _fails(env, ["--schema", str(ddl)], capsys, "bad.sql: SQLite error")


def test_schema_with_fk_cycle_is_refused(env, capsys):
    ddl = env["tmp"] / "cycle.sql"
    ddl.write_text(
        "CREATE TABLE a(id INTEGER PRIMARY KEY, b_id INT NOT NULL REFERENCES b(id));\n"
        "CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INT NOT NULL REFERENCES a(id));\n"
    )
    _fails(env, ["--schema", str(ddl)], capsys, "foreign keys form a cycle among tables: a, b")


def test_db_and_schema_together(env, capsys):
    _fails(env, ["--db", str(env["db"]), "--schema", "x.sql"], capsys, "not both")


def test_unwritable_output_folder(env, capsys):
    blocker = env["tmp"] / "a-file"
    blocker.write_text("x")
    before = fingerprint(env["db"])
    rc = main(
        [
            "run",
            "--profile",
            "tiny",
            "--out",
            str(blocker / "run"),
            "--db",
            str(env["db"]),
            "--workload",
            str(_workload(env["tmp"], GOOD_QUERY)),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "output folder is not writable" in err.strip().splitlines()[-1]
    assert fingerprint(env["db"]) == before


def test_interrupt_mid_run(env):
    """Ctrl-C during the notebooks: exit 130, one line, staging removed, report intact."""
    wl = _workload(env["tmp"], GOOD_QUERY)
    before = fingerprint(env["db"])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perflab.cli",
            "run",
            "--profile",
            "tiny",
            "--out",
            str(env["out"]),
            "--db",
            str(env["db"]),
            "--workload",
            str(wl),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PERFLAB_CACHE_DIR": str(env["tmp"] / "cache")},
    )
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "[1/" in line:
                time.sleep(1.5)  # inside the first notebook
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + rest
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("perflab: interrupted")
    assert (env["out"] / "index.html").read_text() == "earlier report"
    assert not list(env["out"].parent.glob(".report.partial-*"))
    assert fingerprint(env["db"]) == before


def test_an_interrupt_a_library_swallowed_still_stops_the_run():
    """SIGINT during papermill's kernel start was once swallowed and the run went on to
    the end: the runner remembers it and stops between notebooks; its handler is removed
    after the run."""
    from perflab.run import runner

    before = signal.getsignal(signal.SIGINT)
    ints = runner._Interrupts()
    try:
        ints.check()  # nothing seen: no raise
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
        with pytest.raises(KeyboardInterrupt):  # swallowed above, raised again here
            ints.check()
    finally:
        ints.restore()
    assert signal.getsignal(signal.SIGINT) is before
