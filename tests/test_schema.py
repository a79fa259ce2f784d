"""Schema introspection on small schemas where the answer is known, plus the default DDL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from perflab import paths
from perflab.errors import PerflabError
from perflab.sqlite.schema import (
    _checks_tokenizer,
    affinity,
    apply_ddl,
    introspect,
    introspect_ddl,
    load_ddl,
    quote_ident,
)


def _db(tmp_path: Path, ddl: str) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    apply_ddl(conn, ddl, "test.sql")
    return conn


QUOTED = """
CREATE TABLE "my table" (
    "a b" TEXT NOT NULL CHECK ("a b" IN ('x', 'y''s', 'z')),
    [br col] TEXT CHECK (json_valid([br col])),
    `bt` INTEGER CHECK (`bt` >= 0),
    plain REAL DEFAULT 1.5,
    name TEXT COLLATE NOCASE,
    n INTEGER,
    CHECK (n IN (1, 2, 3)),
    CONSTRAINT pos CHECK (plain > 0)
);
"""


def test_quote_ident() -> None:
    assert quote_ident("a") == '"a"'
    assert quote_ident('we"ird') == '"we""ird"'


def test_affinity_rules() -> None:
    assert affinity("INTEGER") == "INTEGER"
    assert affinity("BIGINT") == "INTEGER"
    assert affinity("VARCHAR(20)") == "TEXT"
    assert affinity("BLOB") == "BLOB"
    assert affinity("") == "BLOB"
    assert affinity("DOUBLE PRECISION") == "REAL"
    assert affinity("TIMESTAMP") == "NUMERIC"
    assert affinity("BOOLEAN") == "NUMERIC"


def test_checks_with_quoted_identifiers(tmp_path: Path) -> None:
    s = introspect(_db(tmp_path, QUOTED))
    t = s.table("my table")
    assert t.column("a b").check_in_values == ("x", "y's", "z")
    assert t.column("a b").notnull
    assert t.column("br col").json is True
    assert t.column("bt").check_min == 0 and t.column("bt").check_min_inclusive
    assert t.column("plain").check_min == 0 and not t.column("plain").check_min_inclusive
    assert t.column("n").check_in_values == (1, 2, 3)  # table-level CHECK
    assert t.column("name").collation == "NOCASE"
    assert t.column("plain").default == "1.5"
    assert t.column("plain").affinity == "REAL"


def test_tokenizer_fallback_matches() -> None:
    """The fallback parser finds the same facts (used when sqlglot cannot parse)."""
    facts = _checks_tokenizer(QUOTED)
    assert facts.in_values["a b"] == ("x", "y's", "z")
    assert facts.in_values["n"] == (1, 2, 3)
    assert facts.json == {"br col"}
    assert facts.bounds["bt"] == [(">=", 0)]
    assert facts.bounds["plain"] == [(">", 0)]
    assert facts.collations["name"] == "NOCASE"


def test_fallback_used_for_strict_without_rowid(tmp_path: Path) -> None:
    ddl = """CREATE TABLE k (id TEXT PRIMARY KEY, s TEXT CHECK (s IN ('a','b')),
             j TEXT CHECK (json_valid(j)) -- comment with ( paren
             , v INTEGER CHECK (v BETWEEN 1 AND 5)) WITHOUT ROWID, STRICT;"""
    t = introspect(_db(tmp_path, ddl)).table("k")
    assert t.without_rowid and t.strict
    assert t.rowid_alias is None
    assert t.column("s").check_in_values == ("a", "b")
    assert t.column("j").json
    assert t.column("v").check_min == 1 and t.column("v").check_max == 5


def test_rowid_alias_autoincrement_generated(tmp_path: Path) -> None:
    ddl = """CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, x INT,
             y INT GENERATED ALWAYS AS (x * 2) VIRTUAL);
             CREATE TABLE b (id INT PRIMARY KEY, z TEXT UNIQUE);
             CREATE VIEW v AS SELECT * FROM a;"""
    s = introspect(_db(tmp_path, ddl))
    a, b = s.table("a"), s.table("b")
    assert a.rowid_alias == "id" and a.autoincrement
    assert b.rowid_alias is None and not b.autoincrement  # INT is not INTEGER
    assert a.column("y").generated and not a.column("x").generated
    assert [c.name for c in a.insertable_columns] == ["id", "x"]
    assert b.unique_constraints == (("id",), ("z",))
    assert s.views == ("v",)


def test_foreign_keys_and_dependency_order(tmp_path: Path) -> None:
    ddl = """CREATE TABLE child (id INTEGER PRIMARY KEY, p INT REFERENCES parent ON DELETE CASCADE,
                                 up INT REFERENCES child(id));
             CREATE TABLE parent (id INTEGER PRIMARY KEY, g TEXT REFERENCES grand(k));
             CREATE TABLE grand (k TEXT PRIMARY KEY);
             CREATE TABLE lone (x);"""
    s = introspect(_db(tmp_path, ddl))
    fks = {fk.columns: fk for fk in s.table("child").foreign_keys}
    assert fks[("p",)].parent == "parent"
    assert fks[("p",)].parent_columns == ("id",)  # implicit -> parent's PK
    assert fks[("p",)].on_delete == "CASCADE"
    assert fks[("up",)].parent == "child"
    order = s.dependency_order()
    assert order.index("grand") < order.index("parent") < order.index("child")
    assert set(order) == {"child", "parent", "grand", "lone"}


def test_fk_cycle_is_an_error(tmp_path: Path) -> None:
    ddl = """CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INT REFERENCES b(id));
             CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INT REFERENCES a(id));
             CREATE TABLE c (id INTEGER PRIMARY KEY);"""
    s = introspect(_db(tmp_path, ddl))
    with pytest.raises(PerflabError, match=r"cycle.*a, b"):
        s.dependency_order()


def test_index_introspection(tmp_path: Path) -> None:
    ddl = """CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT, b INT, c TEXT, UNIQUE (a, b));
             CREATE INDEX i_desc ON t(a DESC, b COLLATE NOCASE);
             CREATE INDEX i_part ON t(b) WHERE c IN ('x', 'y') AND b > 0;
             CREATE INDEX i_expr ON t(lower(c), b DESC);
             CREATE UNIQUE INDEX i_u ON t(c);"""
    s = introspect(_db(tmp_path, ddl))
    ix = {i.name: i for i in s.indexes}
    assert len(ix) == 6
    autos = {i.name: i.origin for i in s.indexes if i.automatic}
    assert sorted(autos.values()) == ["pk", "u"]
    d = ix["i_desc"]
    assert [(c.name, c.desc, c.collation) for c in d.key_columns] == [
        ("a", True, "BINARY"),
        ("b", False, "NOCASE"),
    ]
    assert d.columns[-1].is_key is False  # the rowid SQLite appends
    p = ix["i_part"]
    assert p.partial and p.where_sql == "c IN ('x', 'y') AND b > 0"
    e = ix["i_expr"]
    assert e.key_columns[0].name is None and e.key_columns[0].expression == "lower(c)"
    assert e.key_columns[1].name == "b" and e.key_columns[1].desc
    assert ix["i_u"].unique and ix["i_u"].origin == "c" and ix["i_u"].where_sql is None
    t = s.table("t")
    assert t.unique_constraints == (("id",), ("a", "b"), ("c",))


def test_load_and_apply_errors(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="missing.sql"):
        load_ddl(tmp_path / "missing.sql")
    conn = sqlite3.connect(":memory:")
    with pytest.raises(PerflabError, match=r"bad\.sql: SQLite error"):
        apply_ddl(conn, "CREATE TABLE x (a); CREATE TABLE oops (", "bad.sql")


def test_default_ddl_inventory() -> None:
    s = introspect_ddl(load_ddl(paths.DEFAULT_SCHEMA))
    assert len(s.tables) == 9
    assert len(s.indexes) == 39
    assert sum(i.automatic for i in s.indexes) == 7
    assert s.table("sessions").column("status").check_in_values == (
        "created",
        "active",
        "paused",
        "terminated",
        "archived",
    )
    assert s.table("memory_entries").rowid_alias == "id"
    assert s.table("memory_entries").autoincrement
    assert ("namespace", "key", "version") in s.table("memory_entries").unique_constraints
    assert s.table("checkpoints").primary_key == ("task_id", "iteration")
    order = s.dependency_order()
    assert order.index("sessions") < order.index("tasks") < order.index("agents")
    assert order.index("agents") < order.index("audit")
    assert order.index("memory_entries") < order.index("audit")
    ttl = next(i for i in s.indexes if i.name == "idx_memory_episodic_ttl")
    assert ttl.where_sql == "memory_type = 'episodic' AND is_deleted = 0"


def test_names_are_looked_up_as_sqlite_compares_them():
    """Case-insensitively, and a missing name is one error naming it."""
    s = introspect_ddl("CREATE TABLE Users (Id INTEGER PRIMARY KEY, Email TEXT);")
    assert s.table("USERS").column("email").name == "Email"
    assert s.has_table("users") and s.table("users").has_column("ID")
    assert not s.has_table("user") and not s.table("Users").has_column("mail")
    with pytest.raises(PerflabError, match="no table 'posts'"):
        s.table("posts")
    with pytest.raises(PerflabError, match="'Users' has no column 'mail'"):
        s.table("Users").column("mail")
