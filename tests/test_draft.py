"""`perflab workload init`: a workload drafted from any schema prepares and samples."""

from __future__ import annotations

import sqlite3

import yaml
from perflab.cli import main
from perflab.database.build import BuildRequest, build_database
from perflab.database.schemaspec import schema_spec
from perflab.database.snapshot import fingerprint
from perflab.database.spec import load_spec
from perflab.inputs.draft import draft_workload
from perflab.inputs.workload import ParamSampler, check_statement, load_workload

AWKWARD = """
CREATE TABLE "order" (
  id INTEGER PRIMARY KEY,
  "select" TEXT NOT NULL CHECK ("select" IN ('a', 'b', 'c')),
  payload TEXT CHECK (json_valid(payload)),
  amount REAL NOT NULL DEFAULT 0 CHECK (amount >= 0),
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  total REAL GENERATED ALWAYS AS (amount * 2) VIRTUAL
);
CREATE TABLE "my table" (
  "key" TEXT PRIMARY KEY,
  "order id" INTEGER REFERENCES "order"(id),
  "naïve" TEXT UNIQUE,
  "it's" INTEGER NOT NULL,
  parent TEXT REFERENCES "my table"("key")
) WITHOUT ROWID;
CREATE TABLE strict_t (
  id INTEGER PRIMARY KEY, n INTEGER NOT NULL, r REAL, t TEXT, b BLOB, a ANY,
  lower_t TEXT AS (lower(t)) STORED
) STRICT;
CREATE INDEX "idx on order" ON "order"(lower("select"), amount);
CREATE INDEX partial_big ON "order"(amount) WHERE amount > 100;
CREATE UNIQUE INDEX "naïve idx" ON "my table"("it's", "naïve");
CREATE VIEW "v orders" AS SELECT id, amount FROM "order";
CREATE VIRTUAL TABLE docs USING fts5(body);
"""


def test_draft_from_schema_runs_on_generated_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    ddl = tmp_path / "awk.sql"
    ddl.write_text(AWKWARD)
    text = draft_workload(schema=ddl)
    doc = yaml.safe_load(text)
    assert all(q["notes"] == "drafted" for q in doc["queries"])
    sqls = [q["sql"] for q in doc["queries"]]
    assert 'SELECT * FROM "order" WHERE (lower("select")) = ?' in sqls  # expression index
    assert 'SELECT * FROM "order" WHERE "amount" = ? AND (amount > 100)' in sqls  # partial
    assert 'SELECT * FROM "my table" WHERE "order id" = ?' in sqls  # foreign key
    assert 'SELECT * FROM "my table" WHERE "it\'s" = ? AND "naïve" = ?' in sqls
    assert "virtual tables (skipped" in text and "views (not drafted): v orders" in text
    wl_path = tmp_path / "wl.yaml"
    wl_path.write_text(text)
    wl = load_workload(wl_path)
    spec = load_spec(schema_spec(ddl))
    db = build_database(BuildRequest.of(spec, "tiny"), tmp_path / "awk.db", progress=False).path
    conn = sqlite3.connect(db)
    for q in wl.queries:
        params = ParamSampler(conn, q.params, seed=0, where=q.name).draw()
        check_statement(conn, q.sql, len(params), q.name)
    for w in wl.writes:
        st = w.statements[0]
        params = ParamSampler(conn, st.params, seed=0).draw()
        conn.execute(st.sql, params)
    conn.close()


def test_workload_init_cli_from_db(make_db, tmp_path, capsys):
    db = make_db(
        "CREATE TABLE a(id INTEGER PRIMARY KEY, code TEXT UNIQUE, v INT);"
        "CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INT REFERENCES a(id), w TEXT);"
        "CREATE TABLE empty(x INT);",
        rows="INSERT INTO a(code, v) VALUES ('x', 1), ('y', 2); INSERT INTO b(a_id, w) "
        "VALUES (1, 'p'), (2, 'q');",
    )
    before = fingerprint(db)
    assert main(["workload", "init", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    doc = yaml.safe_load(out)
    names = [q["name"] for q in doc["queries"]]
    assert "a_by_code" in names and "b_by_a_id" in names and "a_by_id" in names
    assert "empty tables (nothing to sample): empty" in out
    assert fingerprint(db) == before
    target = tmp_path / "drafted.yaml"
    assert main(["workload", "init", "--db", str(db), "--out", str(target)]) == 0
    assert load_workload(target).queries


def test_workload_init_errors(tmp_path, capsys):
    assert main(["workload", "init"]) == 2
    assert "exactly one of --db or --schema" in capsys.readouterr().err
    assert main(["workload", "init", "--schema", str(tmp_path / "none.sql")]) == 2
    assert "schema file not found" in capsys.readouterr().err
