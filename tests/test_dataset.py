"""Data generation on small custom schemas (answers known) and the default spec at `tiny`."""

from __future__ import annotations

import hashlib
import sqlite3
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from perflab import paths
from perflab.database.build import BuildRequest, build_database, cache_key, cached_database
from perflab.database.generate import GeneratedTable, generate
from perflab.database.spec import load_spec
from perflab.errors import PerflabError
from perflab.sqlite.schema import load_ddl

DDL = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    "kind of user" TEXT NOT NULL CHECK ("kind of user" IN ('human', 'bot')),
    prefs TEXT NOT NULL CHECK (json_valid(prefs)),
    created_at TIMESTAMP NOT NULL,
    email TEXT UNIQUE
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id),
    parent_id INTEGER REFERENCES items(id),
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'gone')),
    closed_at TIMESTAMP,
    score REAL CHECK (score >= 0),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (ns, key, version)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    item_id INTEGER REFERENCES items(id) ON DELETE SET NULL,
    item_ns TEXT,
    tag TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX events_at ON events(at DESC);
CREATE INDEX items_ns ON items(ns, key, version DESC) WHERE status <> 'gone';
"""

SPEC = """
name: small
schema: schema.sql
seed: 7
scales:
  s: {users: 300, items: 3000, events: 4000}
  zero: {users: 10, items: 0, events: 5}
tables:
  users:
    columns:
      id: {kind: sequence, format: "u{i:05d}"}
      email: {kind: zipf, format: "e{k}@x.org", n: 500, s: 0.5}
  items:
    columns:
      user_id: {kind: fk, distribution: zipf, s: 1.2}
      ns:
        kind: template
        format: "user:{u}:{area}"
        parts:
          u: {kind: zipf, format: "n{k:03d}", n: 50, s: 1.3}
          area: {kind: choice, values: [prefs, history]}
      key: {kind: zipf, format: "pref_{k:04d}", n: 30, s: 1.2}
      version: {kind: counter, per: [ns, key]}
      status: {kind: choice, weights: {open: 0.5, done: 0.4, gone: 0.1}}
      closed_at:
        kind: timestamp
        after: created_at
        days: [0, 5]
        null_unless: {column: status, in: [done, gone]}
      parent_id: {kind: fk, null_fraction: 0.5}
  events:
    columns:
      item_id: {kind: fk, null_fraction: 0.3}
      item_ns: {kind: parent, via: item_id, column: ns}
      tag: {kind: choice, values: [a, b, c]}
"""


def _write(tmp_path: Path, spec: str = SPEC, ddl: str = DDL) -> Path:
    (tmp_path / "schema.sql").write_text(ddl)
    p = tmp_path / "spec.yaml"
    p.write_text(textwrap.dedent(spec))
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("small")
    spec = load_spec(_write(tmp))
    report = build_database(BuildRequest.of(spec, "s"), tmp / "db.sqlite", progress=False)
    return tmp / "db.sqlite", report


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _table_hash(chunks: list[GeneratedTable]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(repr((c.table, c.columns, c.rows)).encode())
    return h.hexdigest()


def test_foreign_keys_resolve_and_constraints_hold(built: tuple[Path, object]) -> None:
    db, report = built
    assert _rows(db, "PRAGMA foreign_key_check") == []
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert report.row_counts["users"] + report.dropped_duplicates["users"] == 300
    assert report.row_counts["items"] == 3000 and report.dropped_duplicates["items"] == 0
    kinds = {r[0] for r in _rows(db, 'SELECT DISTINCT "kind of user" FROM users')}
    assert kinds == {"human", "bot"}
    assert {r[0] for r in _rows(db, "SELECT DISTINCT status FROM items")} == {
        "open",
        "done",
        "gone",
    }
    assert _rows(db, "SELECT count(*) FROM users WHERE NOT json_valid(prefs)") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM items WHERE score < 0 OR version < 1") == [(0,)]
    # self-reference points at an earlier row, or is NULL
    assert _rows(db, "SELECT count(*) FROM items WHERE parent_id >= id") == [(0,)]
    frac = _rows(db, "SELECT avg(parent_id IS NULL) FROM items")[0][0]
    assert 0.4 < frac < 0.6  # null_fraction 0.5


def test_checks_enforced_by_sqlite_on_reinsert(built: tuple[Path, object], tmp_path: Path) -> None:
    """Re-inserting every generated row into a fresh copy of the schema with foreign_keys=ON
    succeeds: NOT NULL, CHECK, UNIQUE and FK constraints all hold."""
    db, _ = built
    fresh = sqlite3.connect(tmp_path / "fresh.sqlite")
    fresh.execute("PRAGMA foreign_keys=ON")
    fresh.executescript(DDL)
    fresh.execute(f"ATTACH '{db}' AS src")
    for t in ("users", "items", "events"):
        fresh.execute(f"INSERT INTO main.{t} SELECT * FROM src.{t}")
    fresh.commit()
    assert fresh.execute("PRAGMA foreign_key_check").fetchall() == []
    fresh.close()


def test_unique_holds_and_duplicates_dropped(built: tuple[Path, object]) -> None:
    db, report = built
    # email zipf over 500 values for 300 rows: duplicates happen and are dropped
    assert report.dropped_duplicates["users"] > 0
    assert _rows(db, "SELECT count(*) - count(DISTINCT email) FROM users") == [(0,)]
    assert _rows(
        db,
        "SELECT count(*) FROM (SELECT 1 FROM items GROUP BY ns, key, version HAVING count(*) > 1)",
    ) == [(0,)]


def test_counter_versions_are_1_to_k(built: tuple[Path, object]) -> None:
    db, _ = built
    groups = _rows(db, "SELECT count(*), min(version), max(version) FROM items GROUP BY ns, key")
    assert all(lo == 1 and hi == n for n, lo, hi in groups)
    assert max(n for n, _lo, _hi in groups) > 3  # some keys have several versions


def test_zipf_skew(built: tuple[Path, object]) -> None:
    db, _ = built
    counts = sorted(
        (r[0] for r in _rows(db, "SELECT count(*) FROM items GROUP BY user_id")), reverse=True
    )
    median = counts[len(counts) // 2]
    assert counts[0] > 10 * median


def test_null_unless_and_parent_copy(built: tuple[Path, object]) -> None:
    db, _ = built
    assert _rows(
        db, "SELECT count(*) FROM items WHERE status = 'open' AND closed_at IS NOT NULL"
    ) == [(0,)]
    assert _rows(db, "SELECT count(*) FROM items WHERE status <> 'open' AND closed_at IS NULL") == [
        (0,)
    ]
    assert _rows(db, "SELECT count(*) FROM items WHERE closed_at < created_at") == [(0,)]
    assert _rows(
        db,
        "SELECT count(*) FROM events e LEFT JOIN items i ON i.id = e.item_id "
        "WHERE e.item_ns IS NOT i.ns",
    ) == [(0,)]
    assert _rows(
        db, "SELECT count(*) FROM events WHERE item_id IS NULL AND item_ns IS NOT NULL"
    ) == [(0,)]
    ts = _rows(db, "SELECT created_at FROM users LIMIT 1")[0][0]
    assert len(ts) == 19 and ts[10] == " " and ts[4] == "-"


def test_determinism(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    ddl = load_ddl(spec.schema_path)
    a = _table_hash(list(generate(spec, ddl, "s")))
    b = _table_hash(list(generate(spec, ddl, "s")))
    c = _table_hash(list(generate(spec, ddl, "s", seed=8)))
    assert a == b
    assert a != c
    assert cache_key(spec, ddl, "s", 7) == cache_key(spec, ddl, "s", 7)
    assert cache_key(spec, ddl, "s", 7) != cache_key(spec, ddl, "s", 8)
    assert cache_key(spec, ddl, "s", 7) != cache_key(spec, ddl + "\n-- x", "s", 7)


def test_empty_parent_and_defaults(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    chunks = list(generate(spec, load_ddl(spec.schema_path), "zero"))
    by = {c.table: c for c in chunks}
    assert len(by["items"].rows) == 0
    ev = by["events"]
    assert all(r[ev.columns.index("item_id")] is None for r in ev.rows)  # nullable FK, no parents
    # dependency order: parents first
    order = [c.table for c in chunks]
    assert order.index("users") < order.index("items") < order.index("events")


@pytest.mark.parametrize(
    ("spec_text", "pattern"),
    [
        (
            SPEC.replace("kind: choice, values: [a, b, c]", "kind: chioce, values: [a]"),
            r"spec\.yaml:\d+: tables\.events\.columns\.tag\.kind: unknown kind 'chioce'",
        ),
        (
            SPEC.replace(
                "{kind: choice, values: [a, b, c]}", "{kind: choice, values: [a], wat: 1}"
            ),
            r"spec\.yaml:\d+: .*tag\.wat: unknown option 'wat'",
        ),
        (
            SPEC.replace("tag: {kind: choice", "nope: {kind: choice"),
            r"table 'events' has no column 'nope'",
        ),
        (
            SPEC.replace("open: 0.5", "opened: 0.5"),
            r"spec\.yaml:\d+: tables\.items\.columns\.status: value 'opened' is outside",
        ),
        (
            SPEC.replace(
                "  s: {users: 300, items: 3000, events: 4000}", "  s: {users: 300, items: 3}"
            ),
            r"scales\.s: missing row counts for tables: events",
        ),
        (
            SPEC.replace("      tag: {kind: choice", "      tag: {kind: [choice"),
            r"spec\.yaml:\d+: YAML error",
        ),
    ],
)
def test_bad_specs(tmp_path: Path, spec_text: str, pattern: str) -> None:
    with pytest.raises(PerflabError, match=pattern):
        load_spec(_write(tmp_path, spec_text))


def test_bad_yaml_line_number(tmp_path: Path) -> None:
    text = "name: x\nschema: schema.sql\nscales:\n  s: {users: 1\n  t: 2\n"
    with pytest.raises(PerflabError, match=r"spec\.yaml:5: YAML error"):
        load_spec(_write(tmp_path, text))


def test_unknown_scale(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    with pytest.raises(PerflabError, match=r"unknown scale 'huge' \(known scales: s, zero\)"):
        cached_database(spec, "huge", cache_dir=tmp_path)


def test_a_build_request_settles_seed_ddl_and_key_once(tmp_path: Path) -> None:
    """What `cached_database` names its file by is what `build_database` records: one
    request, read once; the seed is the spec's unless given, and it changes the key."""
    spec = load_spec(_write(tmp_path))
    req = BuildRequest.of(spec, "s")
    assert req.seed == 7 and req.ddl == load_ddl(spec.schema_path)
    assert BuildRequest.of(spec, "s", seed=8).key != req.key
    assert BuildRequest.of(spec, "s", seed=7).key == req.key
    report = cached_database(spec, "s", cache_dir=tmp_path / "c", progress=False)
    assert report.cache_key == req.key and report.seed == 7
    assert req.key[:16] in report.path.name
    with pytest.raises(PerflabError, match="unknown scale 'huge'"):
        BuildRequest.of(spec, "huge")


def test_default_spec_tiny_and_cache(tmp_path: Path) -> None:
    spec = load_spec(paths.DEFAULT_DATASET)
    r1 = cached_database(spec, "tiny", cache_dir=tmp_path, progress=False)
    assert not r1.from_cache and r1.path.exists()
    for t, n in spec.scales["tiny"].items():
        assert r1.row_counts[t] == n - r1.dropped_duplicates[t]
    db = r1.path
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "PRAGMA foreign_key_check") == []
    assert _rows(db, "PRAGMA journal_mode") == [("wal",)]
    assert _rows(db, "SELECT count(*) > 0 FROM sqlite_stat1") == [(1,)]
    assert r1.analyzed
    for t, n in r1.row_counts.items():
        assert _rows(db, f'SELECT count(*) FROM "{t}"') == [(n,)]
    # all 39 indexes exist (explicit ones are created after the data)
    assert _rows(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'") == [(39,)]
    # realistic shape
    statuses = Counter(dict(_rows(db, "SELECT status, count(*) FROM sessions GROUP BY 1")))
    assert statuses["terminated"] + statuses["archived"] > statuses["active"] + statuses["paused"]
    ns = [r[0] for r in _rows(db, "SELECT DISTINCT namespace FROM memory_entries")]
    assert any(n.startswith("user:") and n.endswith(":preferences") for n in ns)
    assert _rows(db, "SELECT max(version) > 1 FROM memory_entries") == [(1,)]
    assert _rows(
        db,
        "SELECT count(*) FROM audit a JOIN memory_entries m ON m.id = a.memory_entry_id "
        "WHERE a.memory_namespace IS NOT m.namespace",
    ) == [(0,)]
    assert _rows(db, "SELECT count(*) > (SELECT count(*) FROM memory_entries) FROM audit") == [(1,)]
    r2 = cached_database(spec, "tiny", cache_dir=tmp_path, progress=False)
    assert r2.from_cache and r2.path == r1.path and r2.cache_key == r1.cache_key
    assert r2.row_counts == r1.row_counts
    assert not list(tmp_path.glob("*.tmp"))


def _one_table(tmp_path: Path, columns: str):
    """A --schema dataset spec for CREATE TABLE t(id INTEGER PRIMARY KEY, <columns>)."""
    from perflab.database.schemaspec import schema_spec

    schema = tmp_path / "s.sql"
    schema.write_text(f"CREATE TABLE t(id INTEGER PRIMARY KEY, {columns});")
    return schema, load_spec(schema_spec(schema, rows={"tiny": 40}))


@pytest.mark.parametrize(
    ("ddl", "sql", "expected"),
    [
        ("v INTEGER CHECK (v < 0)", "SELECT max(v) < 0 AND count(*) = 40 FROM t", 1),
        ("v INTEGER CHECK (v >= 10)", "SELECT min(v) >= 10 FROM t", 1),
        ("v INTEGER CHECK (v BETWEEN 5 AND 7)", "SELECT min(v) >= 5 AND max(v) <= 7 FROM t", 1),
        ("r REAL CHECK (r < -5)", "SELECT max(r) < -5 FROM t", 1),
        ("r REAL CHECK (r > 2.5 AND r <= 3)", "SELECT min(r) > 2.5 AND max(r) <= 3 FROM t", 1),
        ("x TEXT CHECK (length(x) <= 3)", "SELECT max(length(x)) <= 3 AND count(*) = 40 FROM t", 1),
        ('"x y" TEXT CHECK (length("x y") < 2)', 'SELECT max(length("x y")) FROM t', 1),
    ],
)
def test_one_sided_and_length_checks_are_honoured(tmp_path: Path, ddl, sql, expected) -> None:
    schema, spec = _one_table(tmp_path, ddl)
    build_database(BuildRequest.of(spec, "tiny"), tmp_path / "t.db", progress=False)
    with sqlite3.connect(tmp_path / "t.db") as c:
        assert c.execute(sql).fetchone()[0] == expected


@pytest.mark.parametrize(
    ("ddl", "cols"),
    [
        ("a INTEGER, b INTEGER, CHECK (a < b)", "a, b"),
        ("x TEXT CHECK (x GLOB '[0-9]*')", "x"),
    ],
)
def test_a_check_no_rule_satisfies_is_one_line_naming_table_and_column(tmp_path, ddl, cols):
    schema, spec = _one_table(tmp_path, ddl)
    with pytest.raises(PerflabError, match=rf"s\.sql: table t on column {cols}: .*CHECK \(") as e:
        build_database(BuildRequest.of(spec, "tiny"), tmp_path / "t.db", progress=False)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == [schema]  # nothing half-written


def test_timestamps_are_written_as_sqlite_reads_them():
    import datetime as dt

    import numpy as np
    from perflab.database.generate import _fmt_ts

    # leap day, end of day, the epoch, a year with fewer than four digits, the last second
    sec = np.array([951782400, 86399, 0, -59011459200, 253402300799, 1700000000])
    want = [(dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(s))).isoformat(" ") for s in sec]
    assert _fmt_ts(sec, "datetime") == want
    assert _fmt_ts(sec, "date") == [w[:10] for w in want]
    assert want[0] == "2000-02-29 00:00:00" and want[3] == "0100-01-01 00:00:00"


def test_rows_go_in_many_to_a_statement_and_the_file_is_byte_for_byte_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk load's many-rows INSERT (ROWS_PER_INSERT, with a remainder one by one)
    builds exactly the file one row per statement builds."""
    from perflab.database import build

    spec = load_spec(_write(tmp_path))
    digests = []
    for k in (1, 7, build.ROWS_PER_INSERT):
        monkeypatch.setattr(build, "ROWS_PER_INSERT", k)
        dest = tmp_path / f"k{k}.sqlite"
        build_database(BuildRequest.of(spec, "s"), dest, progress=False)
        digests.append(hashlib.sha256(dest.read_bytes()).hexdigest())
    assert digests[0] == digests[1] == digests[2]
