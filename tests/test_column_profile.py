"""perflab.analysis.column_profile: selectivity from sqlite-utils' analyze_column, on a
schema built here where the answer is known, read-only and capped."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.analysis.column_profile import ColumnProfile, index_leading_column, profile_columns
from perflab.database.snapshot import fingerprint


@pytest.fixture()
def db(tmp_path):
    p = tmp_path / "app.db"
    c = sqlite3.connect(p)
    c.executescript(
        """
        CREATE TABLE t(id INTEGER PRIMARY KEY, code TEXT, status TEXT, gone TEXT);
        CREATE TABLE empty(id INTEGER PRIMARY KEY, v TEXT);
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 399)
        INSERT INTO t(code, status, gone)
        SELECT 'c' || i, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'done' END, NULL FROM n;
        """
    )
    c.commit()
    c.close()
    return p


def _profiles(db, named, **kw):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {(p.table, p.column): p for p in profile_columns(conn, named, **kw)}
    finally:
        conn.close()


def test_selective_and_unselective_columns_are_told_apart(db):
    before = fingerprint(db)
    got = _profiles(
        db, [("t", "code", "x"), ("t", "status", "y"), ("t", "gone", "z"), ("t", "code", "again")]
    )
    assert fingerprint(db) == before  # read, never written
    assert len(got) == 3  # a column named twice is profiled once
    code, status, gone = got["t", "code"], got["t", "status"], got["t", "gone"]
    assert (code.rows, code.distinct, code.nulls, code.rows_per_value) == (400, 400, 0, 1.0)
    assert code.sentence.startswith("selective: an equality matches 1.0 of 400 rows")
    assert (status.distinct, status.rows_per_value) == (2, 200.0)
    assert status.most_common[0] == ("done", 360) and status.top_share == 0.9
    assert status.sentence.startswith("not selective") and "'done' is 90% of the rows" in (
        status.sentence
    )
    assert gone.rows_per_value is None and gone.sentence.startswith("every row is NULL")


def test_what_cannot_be_profiled_says_why(db):
    got = _profiles(
        db,
        [("empty", "v", "a"), ("nope", "v", "b"), ("t", "nope", "c"), ("t", "code", "d")],
        max_rows=100,
    )
    assert got["empty", "v"].sentence == "not analysed: the table is empty"
    assert got["nope", "v"].reason == "no table 'nope'"
    assert got["t", "nope"].reason == "no column 'nope'"
    assert got["t", "code"].reason == "400 rows, above the profile's cap of 100"
    spent = _profiles(db, [("t", "code", "a"), ("t", "status", "b")], budget=0.0)
    assert all(p.reason.startswith("the profiles' time budget") for p in spent.values())


@pytest.mark.parametrize(
    ("ddl", "lead"),
    [
        ("CREATE INDEX i ON t(status, code)", ("t", "status")),
        ('CREATE INDEX "i" ON "t" ("code" COLLATE NOCASE)', ("t", "code")),
        ("CREATE INDEX i ON t(lower(code))", None),  # an expression: no column to profile
        ("CREATE INDEX i ON t((code || status))", None),
    ],
)
def test_the_leading_column_of_an_index(ddl, lead):
    assert index_leading_column(ddl) == lead


def test_a_record_row_carries_the_sentence():
    p = ColumnProfile("t", "c", "why", 10, 5, 0, (("a", 2),), 0.01)
    row = p.to_dict()
    assert row["rows_per_value"] == 2.0 and row["profile"] == p.sentence


def test_the_view_shows_the_share_as_a_percentage():
    """The report's "(%)" columns hold percentages: a 44% share is 44, not 0.44 (seen in
    the quick run's report as "0.44%")."""
    from perflab.present.views import column_profiles

    p = ColumnProfile("t", "c", "why", 100, 5, 0, (("a", 44),), 0.01)
    frame = column_profiles([p.to_dict()])
    assert frame.loc[0, "most common share"] == 44.0
    assert column_profiles([]).empty
