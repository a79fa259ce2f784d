"""Integrity checks taken once per database file perflab made and read back while the file
is unchanged (`perflab.database.checks`); notebook 06 says when they were taken."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from perflab import paths, stages
from perflab.database import checks
from perflab.database.build import BuildReport
from perflab.database.snapshot import snapshot
from perflab.inputs import config
from perflab.inputs.context import RunContext
from perflab.inputs.targets import Targets
from perflab.sqlite import engine
from test_stages import WORKLOAD, _Source

DDL = """
CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id), at TEXT);
CREATE INDEX c_p ON c(p);
"""
ROWS = "".join(f"INSERT INTO p VALUES ({i}, 'n{i}');" for i in range(1, 51)) + "".join(
    f"INSERT INTO c VALUES ({i}, {i % 50 + 1}, 't{i}');" for i in range(1, 201)
)


def _db(tmp_path: Path, orphans: int = 0) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.executescript(DDL + ROWS)
    for i in range(orphans):  # foreign_keys is off on this connection: orphans go in
        conn.execute("INSERT INTO c (p, at) VALUES (?, 'x')", (1000 + i,))
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return path


def test_a_check_is_kept_beside_the_file_and_read_back_while_the_file_is_unchanged(tmp_path):
    db = _db(tmp_path)
    first = checks.checked(db, store=True)
    assert first.integrity_ok and first.foreign_keys_ok and not first.reused
    again = checks.checked(db, store=True)
    assert again.reused and again.checked_at == first.checked_at and again.file == first.file
    # what the stages do to the file: read it, read-only or not, with the app's pragmas
    for readonly in (True, False):
        conn = engine.connect(db, readonly=readonly)
        conn.execute("SELECT count(*) FROM c JOIN p ON p.id = c.p").fetchone()
        conn.close()
    assert checks.checked(db).reused
    conn = engine.connect(db, readonly=False)  # a write (and its checkpoint on close)
    conn.execute("INSERT INTO p VALUES (999, 'new')")
    conn.close()
    fresh = checks.checked(db, store=True)
    assert not fresh.reused and fresh.file != first.file
    assert checks.checked(db).reused  # the new result is the one kept


def test_frames_in_the_wal_are_a_change_the_file_does_not_show(tmp_path):
    """A committed write that sits in the -wal leaves the database file's size and mtime
    as they were: the kept result must not be read back then."""
    db = _db(tmp_path)
    checks.checked(db, store=True)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO p VALUES (999, 'new')")
    try:
        assert Path(str(db) + "-wal").stat().st_size > 0
        assert checks.stored(db) is None and not checks.checked(db).reused
    finally:
        writer.close()


def test_no_result_is_kept_unless_asked_and_problems_are_kept_as_found(tmp_path):
    db = _db(tmp_path, orphans=3)
    res = checks.checked(db)
    assert not res.foreign_keys_ok and res.foreign_key_violations == 3 and res.integrity_ok
    assert checks.stored(db) is None and not list(tmp_path.glob("*.check.json"))
    checks.checked(db, store=True)
    kept = checks.stored(db)
    assert kept is not None and kept.foreign_key_violations == 3
    assert kept.foreign_key_problems[0].startswith("c: rowid 201 references missing row in p")


def test_a_snapshot_keeps_its_check_beside_the_copy_never_beside_the_users_file(tmp_path):
    src = _db(tmp_path, orphans=1)
    before = sorted(p.name for p in tmp_path.iterdir())
    rep = snapshot(src, tmp_path / "copies" / "w.sqlite")
    kept = checks.stored(rep.path)
    assert kept is not None and kept.method == "integrity_check"
    assert kept.foreign_key_violations == 1 and not rep.integrity
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "copies"])


def _ctx(db: Path, run_dir: Path, cache_key: str) -> RunContext:
    build = BuildReport(db, "tiny", 7, {"p": 50, "c": 200}, 0.0, 0.0, True, {}, cache_key, True)
    cfg = config.RunConfig(config.profile("tiny"))
    return RunContext(cfg, build, WORKLOAD, Targets(()), run_dir, _Source())


def test_the_summary_stage_says_when_the_check_was_taken(tmp_path):
    db = _db(tmp_path)
    ctx = _ctx(db, tmp_path / "run", "k")
    taken = checks.checked(db, store=True)  # as the database stage of `perflab run` does
    r = stages.summary.run(ctx)
    integ = r.integrity
    assert integ.check_reused and integ.checked_at == taken.checked_at
    assert "has not changed since" in integ.check_note
    assert stages.summary.load(ctx.run_dir).integrity == integ
    schema = json.loads(paths.SUMMARY_SCHEMA.read_text())
    part = {"type": "object", **schema["properties"]["integrity"]}
    jsonschema.validate(r.summary["integrity"], part)
    # not a file perflab made (no cache key, no snapshot source): checked now, nothing kept
    other = _db(tmp_path / "o")
    r2 = stages.summary.run(_ctx(other, tmp_path / "run2", ""))
    assert not r2.integrity.check_reused and r2.integrity.check_note.startswith("taken now")
    assert checks.stored(other) is None


@pytest.mark.parametrize("check_seconds", [0.0123, 41.2])
def test_the_note_names_the_time_and_the_duration(check_seconds):
    from perflab.analysis.integrity import check_note

    res = checks.CheckResult(
        True,
        (),
        True,
        0,
        (),
        "integrity_check",
        "2026-11-26T22:31:05Z",
        check_seconds,
        (1, 2, 3),
        reused=True,
    )
    note = check_note(res)
    assert "2026-11-26 22:31:05 UTC" in note
    assert ("12 ms" if check_seconds < 1 else "41.2 s") in note


def _broken_index(tmp_path: Path) -> Path:
    """A database whose index c_p no longer matches its table (its definition rewritten
    to another column behind SQLite's back), with two orphan rows too."""
    db = _db(tmp_path, orphans=2)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("UPDATE sqlite_schema SET sql = 'CREATE INDEX c_p ON c(at)' WHERE name = 'c_p'")
    conn.commit()
    conn.close()
    return db


def test_the_check_in_parts_finds_what_the_single_check_finds(tmp_path):
    db = _broken_index(tmp_path)
    whole = checks.checked(db)
    parts = checks.check_parts(db, {"c": 200, "p": 50})
    assert parts == ["c", "", "p"]  # c: 200 x (1 + 1 index); the file: 250 / 2; p: 50
    got = checks.combine(
        [checks.check_part(db, n) for n in parts],
        file=checks.identity(db),
        checked_at=checks.now_utc(),
        seconds=0.0,
        how="parts",
    )
    assert not whole.integrity_ok and not got.integrity_ok
    assert any("c_p" in p for p in got.integrity_problems)
    assert (got.foreign_key_violations, whole.foreign_key_violations) == (2, 2)
    assert got.foreign_key_problems == whole.foreign_key_problems
    clean = _db(tmp_path / "clean")
    ok = [checks.check_part(clean, n) for n in checks.check_parts(clean)]
    assert all(not r["problems"] and not r["fk"] for r in ok)
