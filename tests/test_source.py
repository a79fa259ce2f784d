"""A run's `dataset` path becomes a database in one place: `perflab.database.source`."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import perflab
import pytest
from perflab.database.schemaspec import schema_spec
from perflab.database.snapshot import fingerprint
from perflab.database.source import Generated, Snapshot, load_dataset_spec, open_source
from perflab.errors import PerflabError

PACKAGE = Path(perflab.__file__).resolve().parent
DDL = """CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
CREATE INDEX posts_user ON posts(user_id);"""
ROWS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO users(email) SELECT 'u' || i || '@x.org' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 90)
INSERT INTO posts(user_id, title) SELECT i % 30 + 1, 'post ' || i FROM n;
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))


def _spec(tmp_path: Path) -> Path:
    schema = tmp_path / "s.sql"
    schema.write_text(DDL)
    return schema_spec(schema, rows={"tiny": {"users": 12, "posts": 40}})


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_a_spec_is_generated_at_its_scale_and_reused_from_the_cache(tmp_path):
    src = open_source(_spec(tmp_path), scale="tiny", seed=3)
    assert isinstance(src, Generated) and src.spec.scales["tiny"]["posts"] == 40
    first = src.build(progress=False)
    assert first.scale == "tiny" and first.seed == 3 and not first.from_cache
    assert _count(first.path, "posts") == 40 and _count(first.path, "users") == 12
    again = open_source(_spec(tmp_path), scale="tiny", seed=3).build(progress=False)
    assert again.from_cache and again.path == first.path


def test_a_database_is_measured_on_a_snapshot_and_never_written(make_db):
    db = make_db(DDL, rows=ROWS)
    before = fingerprint(db)
    src = open_source(db, scale="tiny", seed=5)
    assert isinstance(src, Snapshot)
    build = src.build()
    assert build.scale == "existing" and build.seed == 5 and build.source == str(db.resolve())
    assert build.path != db and _count(build.path, "posts") == 90
    # the working copy is itself a database path: it is found again, not copied again
    assert open_source(build.path).build().path == build.path
    assert fingerprint(db) == before


def test_the_spec_behind_either_kind_of_path(tmp_path, make_db):
    assert load_dataset_spec(_spec(tmp_path)).scales == {"tiny": {"users": 12, "posts": 40}}
    derived = load_dataset_spec(make_db(DDL, rows=ROWS))  # its schema, its row counts
    assert derived.scales["tiny"] == {"users": 30, "posts": 90}


def test_a_file_that_is_neither_is_refused_in_one_line_naming_it(tmp_path):
    bad = tmp_path / "data.db"
    bad.write_text("not: [a database")
    with pytest.raises(PerflabError, match=r"data\.db:\d+: YAML error"):
        open_source(bad)


def test_only_source_tells_a_database_from_a_spec():
    """The header sniff (`is_sqlite_file`) is called in database/source.py and nowhere else."""
    callers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name == "is_sqlite_file":
                    callers.add(str(path.relative_to(PACKAGE)))
    assert callers == {"database/source.py"}
