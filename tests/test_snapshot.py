"""Snapshots of the user's database: read-only, byte-identical files, every journal state."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from perflab.database.snapshot import fingerprint, is_working_copy, schema_ddl, snapshot
from perflab.database.source import Snapshot, load_dataset_spec, open_source
from perflab.errors import PerflabError

DDL = """
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
CREATE INDEX posts_user ON posts(user_id);
"""
ROWS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO users(email) SELECT 'u' || i || '@x.org' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO posts(user_id, title) SELECT i % 200 + 1, 'post ' || i FROM n;
"""


def _holder(db: Path, script: str) -> subprocess.Popen:
    """A separate process that runs `script` on `db`, prints 'ready' and keeps it open."""
    code = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        f"{script}\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _count(path: Path, table: str = "posts") -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_rollback_db_snapshot_leaves_file_identical(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    before = fingerprint(db)
    rep = snapshot(db, tmp_path / "work" / "copy.sqlite")
    assert fingerprint(db) == before
    assert before["-wal"] is None and not Path(str(db) + "-shm").exists()
    assert rep.row_counts == {"users": 200, "posts": 500}
    assert rep.journal_mode == "rollback" and "mode=ro" in rep.method
    assert rep.integrity == () and rep.analyzed is False
    assert _count(rep.path) == 500 and is_working_copy(rep.path)


def test_wal_with_wal_and_shm_open_elsewhere(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    # another process writes 100 more rows and keeps the connection (so -wal and -shm stay)
    proc = _holder(
        db,
        "c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.executemany('INSERT INTO posts(user_id, title) VALUES (1, ?)', "
        "[(str(i),) for i in range(100)])",
    )
    try:
        assert Path(str(db) + "-wal").stat().st_size > 0 and Path(str(db) + "-shm").exists()
        before = fingerprint(db)
        rep = snapshot(db, tmp_path / "copy.sqlite")
        assert fingerprint(db) == before  # db, -wal and -shm byte-identical
        assert rep.row_counts["posts"] == 600  # committed WAL content included
        assert rep.journal_mode == "wal" and "-wal" in rep.method
    finally:
        proc.kill()
        proc.wait()


def test_wal_file_without_shm(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    proc = _holder(
        db,
        "c.execute('PRAGMA journal_mode=WAL')\nc.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute(\"INSERT INTO users(email) VALUES ('new@x.org')\")",
    )
    try:
        # copy what a crashed application leaves: db + -wal, no -shm
        src = tmp_path / "crashed"
        src.mkdir()
        for suffix in ("", "-wal"):
            Path(str(src / "app.db") + suffix).write_bytes(Path(str(db) + suffix).read_bytes())
    finally:
        proc.kill()
        proc.wait()
    target = src / "app.db"
    before = fingerprint(target)
    assert before["-shm"] is None and before["-wal"] is not None
    rep = snapshot(target, tmp_path / "copy.sqlite")
    assert fingerprint(target) == before  # no -shm created beside the user's file
    assert sorted(p.name for p in src.iterdir()) == ["app.db", "app.db-wal"]
    assert rep.row_counts["users"] == 201


def test_wal_header_without_wal_file_is_opened_immutable(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()  # last connection: -wal and -shm removed
    assert not Path(str(db) + "-wal").exists()
    before = fingerprint(db)
    rep = snapshot(db, tmp_path / "copy.sqlite")
    assert "immutable" in rep.method
    assert fingerprint(db) == before
    assert not Path(str(db) + "-wal").exists() and not Path(str(db) + "-shm").exists()


def test_locked_database_is_one_error_within_the_timeout(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    proc = _holder(db, "c.execute('BEGIN EXCLUSIVE')\nc.execute('DELETE FROM posts')")
    try:
        t0 = time.perf_counter()
        with pytest.raises(PerflabError, match="locked by another process"):
            snapshot(db, tmp_path / "copy.sqlite", busy_timeout=0.5)
        assert time.perf_counter() - t0 < 5
    finally:
        proc.kill()
        proc.wait()
    assert not (tmp_path / "copy.sqlite").exists()
    assert not list(tmp_path.glob(".perflab-snap-*"))


def test_integrity_problems_are_findings_when_readable(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA writable_schema=ON")  # index text no longer matches its entries
    conn.execute(
        "UPDATE sqlite_schema SET sql = 'CREATE INDEX posts_user ON posts(title)' "
        "WHERE name = 'posts_user'"
    )
    conn.commit()
    conn.close()
    before = fingerprint(db)
    rep = snapshot(db, tmp_path / "copy.sqlite")
    assert rep.integrity and "posts_user" in rep.integrity[0]
    assert fingerprint(db) == before
    build = Snapshot(rep.path).build()
    assert any("integrity" in n for n in build.notes)


def test_truncated_database_is_one_clear_error(make_db, tmp_path):
    db = make_db(DDL, rows=ROWS.replace("200", "3000").replace("500", "9000"))
    data = db.read_bytes()
    bad = tmp_path / "trunc.db"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(PerflabError, match=r"trunc\.db: cannot read the database: .*malformed"):
        snapshot(bad, tmp_path / "copy.sqlite")
    short = tmp_path / "short.db"
    short.write_bytes(data[:40])
    with pytest.raises(PerflabError, match="truncated database"):
        snapshot(short, tmp_path / "copy.sqlite")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty database"),
        (b"id,name\n1,alice\n" * 20, "not a SQLite database"),
    ],
)
def test_not_a_database(tmp_path, content, message):
    p = tmp_path / "x.db"
    p.write_bytes(content)
    with pytest.raises(PerflabError, match=message):
        snapshot(p, tmp_path / "copy.sqlite")


def test_database_without_tables(make_db, tmp_path):
    db = make_db("CREATE VIEW v AS SELECT 1 AS x;")
    with pytest.raises(PerflabError, match="empty database: no tables"):
        snapshot(db, tmp_path / "copy.sqlite")


def test_missing_file(tmp_path):
    with pytest.raises(PerflabError, match="database file not found"):
        snapshot(tmp_path / "nope.db", tmp_path / "copy.sqlite")


def test_existing_build_record(make_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    db = make_db(DDL, rows=ROWS + "ANALYZE;")
    before = fingerprint(db)
    b = open_source(db, seed=7).build()
    assert b.scale == "existing" and b.from_cache is False and b.analyzed is True
    assert b.source == str(db.resolve()) and b.seed == 7
    assert b.row_counts == {"users": 200, "posts": 500}
    assert b.path != db and b.path.is_file()
    assert fingerprint(db) == before  # ANALYZE never run on the user's file


def test_schema_ddl_and_spec_for_database(make_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    db = make_db(DDL + "CREATE VIRTUAL TABLE docs USING fts5(body);", rows=ROWS)
    rep = snapshot(db, tmp_path / "copy.sqlite")
    assert rep.virtual_tables == ("docs",)
    ddl = schema_ddl(rep.path)
    assert "posts_user" in ddl and "fts5" not in ddl and "docs_data" not in ddl
    spec = load_dataset_spec(rep.path)  # a database path: the spec derived from it
    assert spec.scales["tiny"] == {"users": 200, "posts": 500}
