import hashlib
import sqlite3
from pathlib import Path

import pytest
from perflab.analysis.indexes import health, hypothetical, inventory, write_cost
from perflab.sqlite.plans import explain

DDL = """
CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT);
CREATE UNIQUE INDEX p_id_u ON p(id);
CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b INT, c TEXT, pid TEXT REFERENCES p(id));
CREATE INDEX t_id ON t(id);
CREATE INDEX t_a ON t(a);
CREATE INDEX t_ab ON t(a, b);
CREATE INDEX t_ab2 ON t(a, b);
CREATE UNIQUE INDEX t_c_u ON t(c);
CREATE INDEX t_c_b ON t(c, b);
CREATE INDEX t_b_p ON t(b) WHERE b > 3;
CREATE INDEX t_b_c ON t(b, c);
CREATE INDEX t_pid ON t(pid);
CREATE INDEX t_expr ON t(lower(c));
CREATE INDEX t_pid_a ON t(pid, a) WHERE a > 5;
"""


@pytest.fixture
def db(make_db):
    rows = "INSERT INTO p VALUES ('p1', 'x'), ('p2', 'y');" + "".join(
        f"INSERT INTO t VALUES ({i}, {i % 9}, {i % 5}, 'c{i}', 'p{1 + i % 2}');"
        for i in range(1, 301)
    )
    return make_db(DDL, rows=rows)


def issues(db, plans=None):
    h = health(sqlite3.connect(db), plans)
    return {r["index"]: r for r in h.to_dict(orient="records")}


def test_redundancy_rules(db):
    h = issues(db)
    assert h["p_id_u"]["issue"] == "duplicate_of_constraint"
    assert h["t_id"]["issue"] == "rowid_alias"
    assert h["t_ab2"]["issue"] == "duplicate" and h["t_ab2"]["covered_by"] == "t_ab"
    assert h["t_a"]["issue"] == "left_prefix" and h["t_a"]["covered_by"] == "t_ab"
    # a UNIQUE prefix enforces a constraint: not redundant
    assert "t_c_u" not in h
    # a partial prefix of a full index is served by it; a full prefix of a partial one is not
    assert h["t_b_p"]["issue"] == "left_prefix" and h["t_b_p"]["covered_by"] == "t_b_c"
    assert "t_pid" not in h and "t_ab" not in h


def test_unused_and_fk_index(db):
    c = sqlite3.connect(db)
    plans = {"q": explain(c, "SELECT * FROM t WHERE a = 1 AND b = 2")}
    h = issues(db, plans)
    assert h["t_b_c"]["issue"] == "unused" and h["t_b_c"]["droppable"]
    assert h["t_pid"]["issue"] == "unused" and not h["t_pid"]["droppable"]
    assert "foreign key" in h["t_pid"]["reason"]
    assert h["t_c_u"]["issue"] == "unused" and not h["t_c_u"]["droppable"]


def test_inventory_sizes_usage_expression(db):
    c = sqlite3.connect(db)
    plans = {"q": explain(c, "SELECT * FROM t WHERE a = 1 AND b = 2")}
    inv = inventory(c, plans).set_index("index")
    assert inv.loc["sqlite_autoindex_p_1", "automatic"]
    assert inv.loc["sqlite_autoindex_p_1", "origin"] == "pk"
    assert inv.loc["t_b_p", "partial_where"] == "b > 3"
    assert inv.loc["t_expr", "expression"] and "lower(c)" in inv.loc["t_expr", "columns"]
    assert inv.loc["t_ab", "size_bytes"] > 0 and inv.loc["t_ab", "pages"] >= 1
    assert inv["uses"].sum() == 1


def test_virtual_table_reported(make_db):
    db = make_db("CREATE VIRTUAL TABLE v USING fts5(body); CREATE TABLE t (a);", name="v.db")
    h = health(sqlite3.connect(db))
    assert h.loc[0, "issue"] == "not_analysed" and h.loc[0, "table"] == "v"


def test_hypothetical_plans_like_the_real_db(db):
    c = sqlite3.connect(db)
    h = hypothetical(c)
    sql = "SELECT * FROM t WHERE a = 1 AND b = 2"
    assert [n.detail for n in explain(h, sql)] == [n.detail for n in explain(c, sql)]


def test_write_cost_on_copy_leaves_db_unchanged(db):
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    wc = write_cost(db, writes=40, rounds=2)
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before
    t = wc[wc["table"] == "t"]
    assert set(t["op"]) == {"insert", "update"}
    assert set(t["index"].dropna()) >= {"t_a", "t_ab", "t_id", "t_expr"}
    assert (t[t["index"].isna()]["us_per_write"] > 0).all()
    assert "sqlite_autoindex_p_1" in wc[wc["table"] == "p"]["note"].iloc[0]


def _db_with_app_function_index(tmp_path):
    """An index on an application-defined function: the what-if database (a fresh
    connection without that function) cannot create it."""
    path = tmp_path / "fn.db"
    c = sqlite3.connect(path)
    c.create_function("norm", 1, lambda s: (s or "").lower(), deterministic=True)
    c.executescript(
        "CREATE TABLE u (id INTEGER PRIMARY KEY, e TEXT);"
        "CREATE INDEX u_norm ON u(norm(e)); CREATE INDEX u_e ON u(e);"
        "CREATE VIRTUAL TABLE f USING fts5(body);"
    )
    c.commit()
    c.close()
    return path


def test_hypothetical_lists_what_it_could_not_create(tmp_path):
    h = hypothetical(sqlite3.connect(_db_with_app_function_index(tmp_path)))
    by = {s["name"]: s for s in h.skipped}
    assert set(by) == {"u_norm", "f"}
    assert by["u_norm"]["type"] == "index" and "norm" in by["u_norm"]["reason"]
    assert by["f"]["type"] == "table" and "virtual" in by["f"]["reason"]
    # what it could create is there
    assert h.execute("SELECT name FROM sqlite_schema WHERE name = 'u_e'").fetchone()


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE w (id INTEGER PRIMARY KEY, a INT, s TEXT)",
        "CREATE TABLE w (g TEXT, k INT, a INT, s TEXT, PRIMARY KEY (g, k)) WITHOUT ROWID",
        "CREATE TABLE w (s TEXT COLLATE NOCASE PRIMARY KEY, a INT) WITHOUT ROWID",
    ],
)
def test_the_write_cost_rows_are_the_ones_a_whole_table_read_picks(tmp_path, ddl):
    """The rows copied for the write-cost statements are read by key (a full table's every
    column was fetched to keep 100 rows): the same rows, in the same order, as picking
    positions out of the whole table read in key order."""
    from perflab.analysis import indexes
    from perflab.sqlite.schema import introspect

    c = sqlite3.connect(tmp_path / "w.db")
    c.execute(ddl)
    cols = [r[1] for r in c.execute("PRAGMA table_info(w)")]
    vals = {"id": lambda i: i * 3, "g": lambda i: f"G{i % 7}", "k": lambda i: i, "a": int}
    vals["s"] = lambda i: f"{'Ab'[i % 2]}{i:04d}"
    c.executemany(
        f"INSERT INTO w ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [tuple(vals[n](i) for n in cols) for i in range(1500)],
    )
    t = introspect(c).table("w")
    key = "rowid" if not t.without_rowid else ", ".join(t.primary_key)
    sel = ", ".join(x.name for x in t.insertable_columns)
    picks = sorted({3, 0, 999, 1499, 1000, 42} | set(range(100, 1100, 7)))
    whole = c.execute(f"SELECT {sel}, {key} FROM w ORDER BY {key}").fetchall()
    assert indexes._rows_at(c, "w", sel, key, picks) == [whole[i] for i in picks]
    c.close()


def test_write_cost_in_place_leaves_the_copy_as_it_was(db, tmp_path):
    """03 measures the write cost on its scratch copy, not on a copy of its own: every
    write rolled back, and the journal mode put back (the advisor measures there next)."""
    from perflab.sqlite.engine import copy_database

    scratch = copy_database(db, tmp_path / "scratch.db")
    with sqlite3.connect(scratch) as c:
        before = list(c.iterdump())
    wc = write_cost(scratch, writes=20, rounds=1, in_place=True)
    assert not wc.empty and wc["us_per_write"].notna().any()
    c = sqlite3.connect(scratch)
    assert list(c.iterdump()) == before
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    c.close()


def test_write_cost_drops_each_index_once_per_round(db, monkeypatch):
    """Dropping an index and rolling the drop back cost more than the writes at full: one
    DROP per variant and round serves both the inserts and the updates."""
    from perflab.analysis import indexes

    statements: list[str] = []
    real = sqlite3.connect

    def traced(*args, **kwargs):
        c = real(*args, **kwargs)
        c.set_trace_callback(statements.append)
        return c

    monkeypatch.setattr(indexes.sqlite3, "connect", traced)
    wc = write_cost(db, tables=["t"], writes=10, rounds=2)
    monkeypatch.undo()
    dropped = [s for s in statements if s.startswith("DROP INDEX")]
    measured = set(wc.loc[wc["index"].notna(), "index"])
    assert {"insert", "update"} <= set(wc["op"]) and measured
    assert len(dropped) == 2 * len(measured)
