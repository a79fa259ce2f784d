"""Parameters that look like production (issue 10 item 4): a captured query's parameters
compared with columns are drawn from the database's rows, parameters from one row together;
the captured values stay available (`sampler: captured`); pools are deterministic whatever
indexes exist; each query says where its parameters came from."""

from __future__ import annotations

import sqlite3

import pytest
from perflab.inputs.replay import fit_workload
from perflab.inputs.workload import ParamSampler, ParamSpec, dump_typed, load_workload
from perflab.measure.latency import latency_records, measure_workload
from perflab.measure.timing import Budget
from perflab.sqlite.querymodel import ParamColumn, param_columns, parse_query

KV = [(f"ns{i % 4}", f"key{i:03d}", i * 1.5) for i in range(200)]


@pytest.fixture()
def db(tmp_path):
    p = tmp_path / "app.db"
    c = sqlite3.connect(p)
    c.executescript(
        """
        CREATE TABLE kv(id INTEGER PRIMARY KEY, namespace TEXT, key TEXT, expire REAL,
                        UNIQUE(namespace, key));
        CREATE TABLE tag(id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE empty(a TEXT);
        CREATE TABLE wr(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
        """
    )
    c.executemany("INSERT INTO kv(namespace, key, expire) VALUES (?, ?, ?)", KV)
    c.executemany("INSERT INTO tag(name) VALUES (?)", [(f"t{i}",) for i in range(10)])
    c.executemany("INSERT INTO wr VALUES (?, ?)", [(f"w{i}", i) for i in range(30)])
    c.commit()
    c.close()
    return p


def _fit(tmp_path, db, queries, **doc):
    p = tmp_path / "cap.yaml"
    p.write_text(
        dump_typed({"name": "cap", "origin": "capture", "queries": queries, **doc}),
        encoding="utf-8",
    )
    fit = fit_workload(db, p)
    out = tmp_path / "fitted.yaml"
    out.write_text(fit.text, encoding="utf-8")
    return load_workload(out)


PAIR = {
    "name": "by_pair",
    "sql": "SELECT expire FROM kv WHERE namespace = ? AND key = ?",
    "params": [{"rows": [["ns0", "key000"], ["ns1", "key001"]]}],
}


def test_param_columns_name_the_column_each_placeholder_is_compared_with():
    cols = {"kv": {"id", "namespace", "key", "expire"}, "tag": {"id", "name"}}
    sql = (
        "SELECT * FROM kv k JOIN tag t ON t.id = k.id WHERE ? < k.expire AND t.name IN (?, ?)"
        " AND key LIKE ? AND k.expire BETWEEN ? AND ? AND length(key) = ? LIMIT ?"
    )
    got = param_columns(parse_query(sql), lambda t: cols.get(t, set()))
    assert got == [
        ParamColumn("kv", "expire", "range"),
        ParamColumn("tag", "name", "in"),
        ParamColumn("tag", "name", "in"),
        ParamColumn("kv", "key", "like"),
        ParamColumn("kv", "expire", "between"),
        ParamColumn("kv", "expire", "between"),
        None,  # compared with an expression, not a column
        None,  # LIMIT
    ]


def test_parameters_of_one_row_are_drawn_together_from_the_table(tmp_path, db):
    wl = _fit(tmp_path, db, [PAIR])
    q = wl.query("by_pair")
    assert q.sampler == "column"
    assert q.params_source == ("column kv.namespace", "column kv.key")
    c = sqlite3.connect(db)
    draws = ParamSampler(c, q.params, seed=1).draw_many(300)
    rows = {(ns, k) for ns, k, _ in KV}
    assert all(d in rows for d in draws)  # every tuple is a real row's pair
    assert len(set(draws)) > 100  # production's keys, not the two captured ones


def test_a_range_bound_is_drawn_from_its_column_not_from_the_equalitys_row(tmp_path, db):
    q = {
        "name": "live",
        "sql": "SELECT key FROM kv WHERE namespace = ? AND key = ? AND expire > ?",
        "params": [{"rows": [["ns0", "key000", 3.0]]}],
    }
    p = _fit(tmp_path, db, [q]).query("live").params
    assert [(s.kind, s.arg[1]) for s in p] == [
        ("column", ("namespace", "key")),
        ("column", ("expire",)),
    ]


def test_sampler_captured_keeps_the_captured_tuples(tmp_path, db):
    wl = _fit(tmp_path, db, [{**PAIR, "sampler": "captured"}])
    q = wl.query("by_pair")
    assert q.params_source == ("captured", "captured")
    draws = ParamSampler(sqlite3.connect(db), q.params, seed=1).draw_many(50)
    assert set(draws) == {("ns0", "key000"), ("ns1", "key001")}
    # the same as a workload-wide default
    wl = _fit(tmp_path, db, [PAIR], sampler="captured")
    assert wl.query("by_pair").params_source == ("captured", "captured")


def test_in_lists_like_prefixes_and_uncomparable_parameters(tmp_path, db):
    q = {
        "name": "mixed",
        "sql": "SELECT id FROM kv WHERE key IN (?, ?) AND key LIKE ? AND expire BETWEEN ? AND ?"
        " LIMIT ?",
        "params": [{"rows": [["key001", "key002", "key1%", 1.0, 9.0, 5]]}],
    }
    wl = _fit(tmp_path, db, [q])
    src = wl.query("mixed").params_source
    assert src == (
        "column kv.key",
        "column kv.key",
        "column kv.key (LIKE prefix)",
        "captured",
        "captured",
        "captured",
    )
    draws = ParamSampler(sqlite3.connect(db), wl.query("mixed").params, seed=3).draw_many(100)
    keys = {k for _, k, _ in KV}
    assert all(d[0] in keys and d[1] in keys for d in draws)
    assert {d[2] for d in draws} <= {k[:4] + "%" for k in keys}  # 4: the captured prefix
    assert len({d[2] for d in draws}) > 1
    assert {d[3:] for d in draws} == {(1.0, 9.0, 5)}
    exact = {
        "name": "x",
        "sql": "SELECT id FROM kv WHERE key LIKE ?",
        "params": [{"rows": [["key5"]]}],
    }
    assert _fit(tmp_path, db, [exact]).query("x").params_source == ("column kv.key",)


def test_an_empty_table_falls_back_to_the_captured_values_and_says_so(tmp_path, db):
    q = {"name": "e", "sql": "SELECT 1 FROM empty WHERE a = ?", "params": [{"rows": [["x"]]}]}
    wl = _fit(tmp_path, db, [q, PAIR])
    e = wl.query("e")
    assert e.params_source == ("captured",) and e.sampler == "captured"
    assert "column sampler failed" in e.notes and "no rows" in e.notes
    assert wl.query("by_pair").sampler == "column"


def _reversed_db(path, index: bool):
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    c.executemany("INSERT INTO t(b, c) VALUES (?, ?)", [(100 - i, f"c{i}") for i in range(100)])
    if index:
        c.execute("CREATE INDEX t_b ON t(b, c)")  # covering: every pool query may use it
    c.commit()
    return c


@pytest.mark.parametrize(
    "spec",
    [
        ParamSpec("sample", "SELECT b FROM t WHERE b > 10"),  # index order vs rowid order
        ParamSpec("column", ("t", ("b", "c"), None)),
    ],
)
def test_one_seed_draws_the_same_parameters_with_or_without_an_index(tmp_path, spec):
    with_index = _reversed_db(tmp_path / "a.db", True)
    without = _reversed_db(tmp_path / "b.db", False)
    for sql in ("SELECT b FROM t WHERE b > 10", "SELECT b, c FROM t WHERE b IS NOT NULL"):
        plan = with_index.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        assert "t_b" in str(plan)  # the plan differs, so the rows come in another order
    a = ParamSampler(with_index, [spec], seed=7).draw_many(50)
    b = ParamSampler(without, [spec], seed=7).draw_many(50)
    assert a == b and len(set(a)) > 10


def test_a_without_rowid_table_is_pooled_by_its_columns(tmp_path, db):
    c = sqlite3.connect(db)
    s = ParamSampler(c, [ParamSpec("column", ("wr", ("k",), None))], seed=0)
    assert {d[0] for d in s.draw_many(200)} <= {f"w{i}" for i in range(30)}


def test_latency_records_say_where_each_parameter_came_from(tmp_path, db):
    wl = _fit(tmp_path, db, [PAIR, {**PAIR, "name": "cap", "sampler": "captured"}])
    c = sqlite3.connect(db)
    frame, _, params = measure_workload(c, wl, Budget(iterations=5, warmup=1), count=False)
    recs = {r["name"]: r for r in latency_records(frame, wl, params)}
    assert recs["by_pair"]["params_source"] == ["column kv.namespace", "column kv.key"]
    assert recs["cap"]["params_source"] == ["captured", "captured"]


def test_a_sampler_reads_its_table_once_per_database_state(db):
    # every stage of a run draws from the same read-only database in one kernel: the
    # sampler's rows are read once, and again only when the file has changed
    sql = "SELECT DISTINCT namespace FROM kv"
    spec = ParamSpec("sample", sql)
    seen: list[str] = []
    c = sqlite3.connect(db)
    c.set_trace_callback(seen.append)
    first = [ParamSampler(c, [spec], seed=3).draw() for _ in range(5)]
    again = [ParamSampler(c, [spec], seed=3).draw() for _ in range(5)]
    assert first == again and seen.count(sql) == 1
    c.execute("INSERT INTO kv(namespace, key) VALUES ('fresh', 'k')")  # not committed yet
    ParamSampler(c, [spec], seed=3).draw()
    assert seen.count(sql) == 2  # an open transaction: read, not kept
    c.commit()
    drawn = {ParamSampler(c, [spec], seed=s).draw() for s in range(40)}
    assert seen.count(sql) == 3  # committed: the file changed, read once more
    assert ("fresh",) in drawn
    c.close()
