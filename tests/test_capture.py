"""Workload capture: sqlglot normalization, the sqlite3 hook, logs, the CLI."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
import yaml
from perflab.cli import main
from perflab.errors import PerflabError
from perflab.inputs.capture import build_workload, capture_command, group, read_log
from perflab.inputs.workload import ParamSampler, check_statement, load_workload
from perflab.sqlite.normalize import normalize

APP = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.executescript('''
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT);
CREATE TABLE "order"(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id),
                     total REAL, status TEXT);
CREATE INDEX order_user ON "order"(user_id);
''')
for i in range(1, 31):
    conn.execute("INSERT INTO users(email, name) VALUES (?, ?)", (f"u{i}@x.org", f"n{i}"))
conn.executemany('INSERT INTO "order"(user_id, total, status) VALUES (?, ?, ?)',
                 [(i % 30 + 1, i * 1.5, "open" if i % 3 else "paid") for i in range(60)])
conn.commit()
for i in range(1, 8):
    conn.execute("SELECT * FROM users WHERE email = ?", (f"u{i}@x.org",)).fetchall()
for i in range(1, 4):
    conn.execute(f'SELECT id, total FROM "order" WHERE user_id = {i} AND status = \\'open\\' '
                 'ORDER BY total DESC LIMIT 5').fetchall()
cur = conn.cursor()
cur.execute("UPDATE users SET name = 'x' WHERE id = 3")
conn.commit()
"""


def test_normalize_replaces_value_literals_only():
    n = normalize(
        "SELECT * FROM \"my table\" WHERE \"naïve\" = 'it''s' AND n > -5 AND a IN (1, 2) "
        "AND json_extract(data, '$.k') = 7 AND 1 = 1 ORDER BY 1 LIMIT 10"
    )
    assert n.kind == "query" and n.table == "my table"
    assert n.sql == (
        'SELECT * FROM "my table" WHERE "naïve" = ? AND n > ? AND a IN (?, ?) '
        "AND json_extract(data, '$.k') = ? AND 1 = 1 ORDER BY 1 LIMIT ?"
    )
    assert n.values == ("it's", -5, 1, 2, 7, 10)
    same = normalize(
        'select *  from "my table" where "naïve" = \'b\' and n > 3 and a in (5,6) '
        "and json_extract(data, '$.k') = 1 and 1 = 1 order by 1 limit 3"
    )
    assert same.shape == n.shape  # whitespace, case and values do not make a new shape


@pytest.mark.parametrize(
    ("sql", "kind", "nvalues"),
    [
        ("INSERT INTO t(a, b) VALUES (1, 'x')", "write", 2),
        ("UPDATE t SET a = 5 WHERE id = 3", "write", 2),
        ("DELETE FROM t WHERE created < '2026-01-01'", "write", 1),
        ("INSERT INTO t(a) VALUES (1) ON CONFLICT(a) DO UPDATE SET n = n + 1", "write", 1),
        ("REPLACE INTO t(key, value) VALUES ('k', x'00ff')", "write", 2),
        ("WITH x AS (SELECT 1 AS v) SELECT * FROM x WHERE v = 2", "query", 1),
        ("BEGIN", "other", 0),
        ("PRAGMA foreign_keys = ON", "other", 0),
        ("selec x", "unparsed", 0),
        ("SELECT * FROM t WHERE x = 'unterminated", "unparsed", 0),
    ],
)
def test_normalize_kinds(sql, kind, nvalues):
    n = normalize(sql)
    assert n.kind == kind and len(n.values) == nvalues
    assert n.sql.count("?") == nvalues or kind == "unparsed"


def test_capture_small_script(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    db = tmp_path / "shop.db"
    records, code = capture_command([sys.executable, str(app), str(db)])
    assert code == 0
    res = group(records)
    shapes = {s.sql: s for s in res.shapes}
    users = shapes["SELECT * FROM users WHERE email = ?"]
    assert users.count == 7 and len(users.ms) == 7 and all(m >= 0 for m in users.ms)
    assert sorted(v[0] for v in users.samples) == sorted(f"u{i}@x.org" for i in range(1, 8))
    order = shapes[
        'SELECT id, total FROM "order" WHERE user_id = ? AND status = ? ORDER BY total DESC LIMIT ?'
    ]
    assert order.count == 3 and {v[1] for v in order.samples} == {"open"}
    assert shapes["INSERT INTO users(email, name) VALUES (?, ?)"].count == 30
    assert shapes['INSERT INTO "order"(user_id, total, status) VALUES (?, ?, ?)'].count == 60
    assert shapes["UPDATE users SET name = ? WHERE id = ?"].count == 1
    assert res.other["create"] == 3
    # transactions as the application ran them: 30 autocommit-free inserts + executemany in
    # one implicit (DEFERRED) transaction, committed by commit()
    modes = {p.mode for p in res.patterns}
    assert "DEFERRED" in modes
    first = res.patterns[0]
    assert first.count >= 1 and len(first.shapes) == 2

    out = tmp_path / "app.yaml"
    out.write_text(build_workload(res, name="shop", source="app.py"))
    wl = load_workload(out)
    assert len(wl.queries) == 2 and len(wl.writes) == 2 and wl.concurrency
    assert wl.origin == "capture"
    batch = next(w for w in wl.writes if len(set(st.sql for st in w.statements)) == 2)
    assert batch.begin == "DEFERRED" and len(batch.statements) == 90  # 30 + 60 rows
    conn = sqlite3.connect(db)
    for q in wl.queries:
        params = ParamSampler(conn, q.params, seed=1).draw()
        check_statement(conn, q.sql, len(params), q.name)
        assert conn.execute(q.sql, params).fetchall()
    conn.close()


def test_capture_cli_and_from_log(tmp_path, capsys):
    app = tmp_path / "app.py"
    app.write_text(APP)
    out = tmp_path / "cap.yaml"
    argv = ["capture", "--out", str(out), "--", sys.executable, str(app), str(tmp_path / "a.db")]
    assert main(argv) == 0
    assert "captured" in capsys.readouterr().err
    assert len(load_workload(out).queries) == 2

    log = tmp_path / "stmts.sql"
    log.write_text(
        "SELECT * FROM t WHERE id = 1;\nSELECT * FROM t\n  WHERE id = 2;\n"
        "INSERT INTO t(v) VALUES ('a');\n-- a comment\nBEGIN;\n"
    )
    out2 = tmp_path / "log.yaml"
    assert main(["capture", "--out", str(out2), "--from-log", str(log)]) == 0
    wl = load_workload(out2)
    assert [q.sql for q in wl.queries] == ["SELECT * FROM t WHERE id = ?"]
    assert wl.queries[0].params[0].arg == ((1,), (2,))
    assert wl.writes[0].statements[0].sql == "INSERT INTO t(v) VALUES (?)"

    lines = tmp_path / "lines.log"
    lines.write_text("SELECT a FROM t WHERE b = 'x'\nSELECT a FROM t WHERE b = 'y'\n")
    assert [r.sql for r in read_log(lines)] == [
        "SELECT a FROM t WHERE b = 'x'",
        "SELECT a FROM t WHERE b = 'y'",
    ]


def test_capture_errors(tmp_path, capsys):
    assert (
        main(
            [
                "capture",
                "--out",
                str(tmp_path / "x.yaml"),
                "--from-log",
                str(tmp_path / "missing.sql"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.sql: log file not found" in err
    only_writes = tmp_path / "w.sql"
    only_writes.write_text("INSERT INTO t VALUES (1);")
    assert main(["capture", "--out", str(tmp_path / "x.yaml"), "--from-log", str(only_writes)]) == 2
    assert "no SELECT statements" in capsys.readouterr().err
    quiet = tmp_path / "quiet.py"
    quiet.write_text("print('no sqlite here')")
    with pytest.raises(PerflabError, match="no SQLite statements"):
        main_raise(["capture", "--out", str(tmp_path / "x.yaml"), "--", sys.executable, str(quiet)])
    assert not (tmp_path / "x.yaml").exists()


def main_raise(argv):
    from perflab.cli import cli

    cli.main(args=argv, prog_name="perflab", standalone_mode=False)


def test_unbound_placeholders_are_left_out(tmp_path):
    log = tmp_path / "p.sql"
    log.write_text("SELECT * FROM t WHERE id = ?;\nSELECT * FROM t WHERE v = 'a';\n")
    res = group(read_log(log))
    text = build_workload(res, name="p", source=str(log))
    doc = yaml.safe_load(text)
    assert [q["sql"] for q in doc["queries"]] == ["SELECT * FROM t WHERE v = ?"]
    assert "values were not recorded" in text
    assert Path(log).read_text().startswith("SELECT")


def test_normalize_folds_constants_of_every_kind():
    """The DB-API text and SQLite's expanded text of one statement share a shape; BLOB,
    hex, negative and NULL constants are parameters; IN lists of any length fold."""
    api = normalize("INSERT INTO t(a, b, c) VALUES (?, ?, ?)")
    for expanded, values in [
        ("insert into t(a, b, c) values (1, x'8005616263', NULL)", (1, b"\x80\x05abc", None)),
        ("INSERT INTO t(a,b,c) VALUES (-7, X'', 'x')", (-7, b"", "x")),
        ("INSERT INTO t(a, b, c) VALUES (0x1F, 0xFFFFFFFFFFFFFFFF, 2.5e3)", (31, -1, 2500.0)),
        (
            "INSERT INTO t(a, b, c) VALUES (9223372036854775807, -9223372036854775808, TRUE)",
            (2**63 - 1, -(2**63), 1),
        ),
    ]:
        n = normalize(expanded)
        assert n.shape == api.shape and n.values == values, expanded
    assert api.unbound == 3 and api.bind((1, 2, 3)) == (1, 2, 3)
    shapes = set()
    for k in range(1, 6):
        lst = ", ".join(str(i) for i in range(k))
        n = normalize(f"SELECT * FROM t WHERE a IN ({lst}) AND b IS NULL AND c = :c")
        assert n.in_lists == (k,) and n.sql.count("?") == k + 1
        assert n.bind({"c": "z"})[-1] == "z"
        shapes.add(n.shape)
    assert len(shapes) == 1
    assert normalize("SELECT * FROM t WHERE b IS NULL").values == ()  # IS NULL stays


DOORS = r"""
import sqlite3, sys
from sqlite3 import dbapi2
conn = dbapi2.connect(sys.argv[1], isolation_level=None)  # SQLAlchemy's door
conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB)")
conn.execute("BEGIN IMMEDIATE")
conn.executemany("INSERT INTO t(k, v) VALUES (?, ?)",
                 [(i % 7, memoryview(bytes([i % 256, 1]))) for i in range(50)])
conn.execute("UPDATE t SET v = ? WHERE id = ?", (b"\xff", 3))
conn.execute("COMMIT")
class Cur(sqlite3.Cursor):
    pass
cur = conn.cursor(Cur)
for k in (1, 2, 3, 3, 3):
    ph = ", ".join("?" * k)
    rows = cur.execute(f"SELECT id FROM t WHERE k IN ({ph})", tuple(range(k)))
    n = sum(1 for _ in rows)
other = sqlite3.connect(sys.argv[1])
other.execute("SELECT count(*) FROM t WHERE k = 1").fetchone()
try:
    other.execute("SELECT nope FROM t")
except sqlite3.OperationalError:
    pass
"""


def _grouped(tmp_path, source: str):
    """Run an application script under capture (its db in tmp_path) and group its calls."""
    app = tmp_path / "app_script.py"
    app.write_text(source)
    events, code = capture_command([sys.executable, str(app), str(tmp_path / "app.db")])
    assert code == 0
    return group(events)


def test_capture_records_every_door_rows_and_transactions(tmp_path):
    res = _grouped(tmp_path, DOORS)
    by_sql = {s.sql: s for s in res.shapes}
    ins = by_sql["INSERT INTO t(k, v) VALUES (?, ?)"]
    assert ins.calls == 50 and ins.rows == 50  # executemany: one call per row
    assert {bytes(r[1]) for r in ins.samples} <= {bytes([i % 256, 1]) for i in range(50)}
    sel = next(s for s in res.shapes if s.sql.startswith("SELECT id FROM t WHERE k IN"))
    assert sel.calls == 5 and sel.stats()["in_lengths"] == {1: 1, 2: 1, 3: 3}
    assert sel.rows == sum(sum(1 for i in range(50) if i % 7 in range(k)) for k in (1, 2, 3, 3, 3))
    assert by_sql["SELECT count(*) FROM t WHERE k = ?"].calls == 1  # constants folded too
    assert res.failed == 1
    (pattern,) = res.patterns
    assert pattern.mode == "IMMEDIATE" and pattern.count == 1 and len(pattern.shapes) == 2
    assert pattern.statements == [51]
    text = build_workload(res, name="doors", source="doors.py")
    out = tmp_path / "doors.yaml"
    out.write_text(text)
    wl = load_workload(out)
    (w,) = wl.writes
    assert w.begin == "IMMEDIATE" and len(w.statements) == 51  # 50 rows, then the UPDATE
    names = [q.name for q in wl.queries]
    assert any(n.endswith("_in1") or n.endswith("_in2") for n in names)  # lengths replayed
    main_q = next(q for q in wl.queries if q.captured and q.captured.get("in_lengths"))
    assert main_q.sql.count("?") == 3  # the most frequent length
    # each replayed length carries its own rows, which replay fidelity compares with
    own = {
        q.captured["in_list"]["length"]: q.captured["in_list"]
        for q in wl.queries
        if q.captured and "in_list" in q.captured
    }
    assert own[3] == {"length": 3, "calls": 3, "rows": 66}
    assert own[1]["rows"] == 8 and own[2]["rows"] == 15  # k in (0,) / (0, 1) of i % 7


MANY = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
for i in range(9000):
    conn.execute("INSERT INTO t(v) VALUES (?)", (f"v{i}",))
conn.commit()
cur = conn.execute("SELECT id, v FROM t WHERE id > ?", (0,))
first = cur.fetchone()
for i in range(5000):  # other statements while the cursor is still being read
    conn.execute("SELECT v FROM t WHERE id = ?", (i,)).fetchall()
rest = list(cur)
assert len(rest) + 1 == 9000
"""


def test_capture_streams_chunks_while_the_application_runs(tmp_path):
    """The recorder hands events over in chunks of 4,096; a cursor still being read after
    its call was handed over (5,000 statements later) still has all its rows counted."""
    from perflab.inputs.capture import Grouper

    app = tmp_path / "many.py"
    app.write_text(MANY)
    grouper, chunks = Grouper(), []

    def feed(evs):
        chunks.append(len(evs))
        grouper.feed(evs)

    events, code = capture_command(
        [sys.executable, str(app), str(tmp_path / "m.db")], on_events=feed
    )
    assert code == 0 and events == []
    assert sum(chunks) > 14000
    res = grouper.result()
    by_sql = {s.sql: s for s in res.shapes}
    assert by_sql["INSERT INTO t(v) VALUES (?)"].calls == 9000
    scan = by_sql["SELECT id, v FROM t WHERE id > ?"]
    assert scan.calls == 1 and scan.rows == 9000
    assert scan.main_variant[3] == 9000  # the late rows reach the IN-list length's count too
    assert by_sql["SELECT v FROM t WHERE id = ?"].calls == 5000
    (pattern,) = res.patterns
    assert pattern.count == 1 and pattern.statements == [9000]


THREADS = r"""
import os, sqlite3, sys, threading
path = sys.argv[1]
sqlite3.connect(path).execute("CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER)")
def work(w):
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    for i in range(3000):
        conn.execute("SELECT count(*) FROM t WHERE w = ?", (w,)).fetchone()
threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if os.fork() == 0:  # a forked child records its own calls, not its parent's again
    sqlite3.connect(path).execute("SELECT count(*) FROM t WHERE w = ?", (9,)).fetchone()
    sys.exit(0)
os.wait()
"""


def test_capture_is_exact_across_threads_and_a_fork(tmp_path):
    res = _grouped(tmp_path, THREADS)
    (sel,) = [s for s in res.shapes if s.kind == "query"]
    assert sel.calls == 4 * 3000 + 1 and sel.rows == sel.calls


FETCHES = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
conn.executemany("INSERT INTO t(id) VALUES (?)", [(i,) for i in range(1, 21)])
c = conn.execute("SELECT id FROM t WHERE id <= 10")
c.fetchone(); c.fetchmany(3); c.fetchall()
sum(1 for _ in conn.execute("SELECT id FROM t WHERE id > 15"))
conn.execute("SELECT id FROM t WHERE id = 100").fetchone()
"""


def test_capture_counts_rows_from_every_fetch_method(tmp_path):
    res = _grouped(tmp_path, FETCHES)
    rows = {s.sql: s.rows for s in res.shapes if s.sql.startswith("SELECT")}
    assert rows == {
        "SELECT id FROM t WHERE id <= ?": 10,  # fetchone 1 + fetchmany 3 + fetchall 6
        "SELECT id FROM t WHERE id > ?": 5,  # iterated
        "SELECT id FROM t WHERE id = ?": 0,  # fetchone found nothing
    }
