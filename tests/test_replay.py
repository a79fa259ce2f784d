"""Captured writes replay on any schema: keys that respect PRIMARY KEY / UNIQUE (composite
too), INTEGER PRIMARY KEY left to SQLite, FOREIGN KEY parents that exist, UPDATE/DELETE
aimed at existing rows; what still fails is listed and the run goes on."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from perflab.inputs.replay import fit_workload
from perflab.inputs.workload import dump_typed, load_workload
from perflab.measure.throughput import measure_writes, not_replayed
from perflab.measure.timing import Budget

DDL = """
PRAGMA journal_mode = WAL;
CREATE TABLE trial(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE param(trial_id INTEGER NOT NULL REFERENCES trial(id), param_name TEXT NOT NULL,
                   value BLOB, UNIQUE(trial_id, param_name));
CREATE TABLE tag(code TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
CREATE TABLE strict_t(id INTEGER PRIMARY KEY, v INTEGER CHECK (v < 0));
"""


@pytest.fixture()
def db(tmp_path):
    p = tmp_path / "app.db"
    c = sqlite3.connect(p)
    c.executescript(DDL)
    c.executemany("INSERT INTO trial(id, name) VALUES (?, ?)", [(i, f"t{i}") for i in range(1, 6)])
    c.executemany(
        "INSERT INTO param VALUES (?, ?, ?)",
        [(t, f"p{k}", bytes([k])) for t in range(1, 6) for k in range(3)],
    )
    c.executemany("INSERT INTO tag VALUES (?, ?)", [("a", 1), ("b", 2)])
    c.execute("INSERT INTO strict_t VALUES (1, -1)")
    c.commit()
    c.close()
    return p


def _captured(tmp_path, writes):
    doc = {
        "name": "cap",
        "origin": "capture",
        "queries": [
            {
                "name": "q",
                "sql": "SELECT * FROM trial WHERE id = ?",
                "params": [{"rows": [[1], [2]]}],
            },
            {
                "name": "gone",
                "sql": "SELECT * FROM missing WHERE id = ?",
                "params": [{"rows": [[1]]}],
            },
        ],
        "writes": writes,
    }
    p = tmp_path / "cap.yaml"
    p.write_text(dump_typed(doc), encoding="utf-8")
    return p


def _w(name, sql, rows):
    return {
        "name": name,
        "begin": "DEFERRED",
        "statements": [{"sql": sql, "params": [{"rows": rows}]}],
    }


def test_captured_inserts_fit_keys_and_parents(db, tmp_path):
    wl = _captured(
        tmp_path,
        [
            # the captured values collide with the rows they created
            _w("ins_trial", "INSERT INTO trial(id, name) VALUES (?, ?)", [[1, "t1"], [2, "t2"]]),
            _w(
                "ins_param",
                "INSERT INTO param(trial_id, param_name, value) VALUES (?, ?, ?)",
                [[1, "p0", b"\x00"], [99, "p1", b"\x01"]],
            ),  # 99: a parent that is gone
            _w("ins_tag", "INSERT INTO tag(code, n) VALUES (?, ?)", [["a", 1]]),
            _w(
                "upd_param",
                "UPDATE param SET value = ? WHERE trial_id = ? AND param_name = ?",
                [[b"\xff", 1, "p0"]],
            ),
            _w("del_tag", "DELETE FROM tag WHERE code = ?", [["zzz"]]),
            _w("bad_check", "INSERT INTO strict_t(id, v) VALUES (?, ?)", [[2, 5]]),
        ],
    )
    before = db.read_bytes()
    fit = fit_workload(db, wl)
    assert db.read_bytes() == before  # trials run on a copy
    skipped = {s.name: s for s in fit.not_replayed}
    assert set(skipped) == {"gone", "bad_check"}
    assert skipped["bad_check"].reason.startswith("CHECK")
    assert "no such table" in skipped["gone"].reason
    out = tmp_path / "fitted.yaml"
    out.write_text(fit.text, encoding="utf-8")
    fitted = load_workload(out)
    assert [q.name for q in fitted.queries] == ["q"]
    kinds = {w.name: [p.kind for p in w.statements[0].params] for w in fitted.writes}
    assert kinds["ins_trial"] == ["value", "unique"]  # rowid left to SQLite, UNIQUE fresh
    assert kinds["ins_param"] == ["column", "unique", "values"]  # parent drawn, key fresh
    assert kinds["ins_tag"][0] == "unique"  # WITHOUT ROWID primary key
    assert kinds["upd_param"] == ["values", "column"]  # aimed at existing rows
    recs = measure_writes(db, fitted.writes, Budget(iterations=40, warmup=2), batch_sizes=(1, 10))
    assert {r["status"] for r in recs} == {"ok"}, not_replayed(recs)
    assert db.read_bytes() == before


def test_a_write_that_cannot_run_is_listed_not_fatal(db, tmp_path):
    """A hand-written write that collides: the run records it as not replayed."""
    wl = tmp_path / "w.yaml"
    wl.write_text(
        dump_typed(
            {
                "name": "h",
                "queries": [{"name": "q", "sql": "SELECT 1"}],
                "writes": [
                    _w("dup", "INSERT INTO param(trial_id, param_name) VALUES (?, ?)", [[1, "p0"]])
                ],
            }
        ),
        encoding="utf-8",
    )
    recs = measure_writes(
        db, load_workload(wl).writes, Budget(iterations=5, warmup=1), batch_sizes=(1,)
    )
    assert recs[0]["status"] == "not_replayed"
    assert not_replayed(recs) == ["dup: not replayed: UNIQUE(trial_id, param_name)"]


def _schema_file(tmp_path) -> Path:
    """The test's DDL as a --schema file (no PRAGMA; no CHECK table generation can't fill)."""
    ddl = tmp_path / "app.sql"
    keep = [s for s in DDL.splitlines() if not s.startswith(("PRAGMA", "CREATE TABLE strict_t"))]
    ddl.write_text("\n".join(keep))
    return ddl


def test_schema_run_fits_a_captured_workload_before_the_notebooks(tmp_path, monkeypatch):
    """--schema with a captured workload: the front door (`prepare`) fits it to the
    generated database; a captured query that cannot run there is listed, not fatal."""
    from perflab.database.schemaspec import schema_spec
    from perflab.inputs.config import RunInputs
    from perflab.inputs.context import prepare
    from perflab.inputs.userdb import empty_targets

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    ddl = _schema_file(tmp_path)
    wl = _captured(
        tmp_path,
        [
            _w(
                "ins_param",
                "INSERT INTO param(trial_id, param_name, value) VALUES (?, ?, ?)",
                [[1, "p0", b"\x00"]],
            )
        ],
    )
    inputs = RunInputs(
        "tiny", dataset=schema_spec(ddl, rows={"tiny": 50}), workload=wl, targets=empty_targets()
    )
    fitted = prepare(inputs, progress=False)
    assert fitted.workload.origin == "capture-fitted"
    assert fitted.config.workload != Path(wl)
    assert any(n.startswith("not replayed: query gone") for n in fitted.notes)
    assert [(s.name, s.kind) for s in fitted.workload.not_replayed] == [("gone", "query")]
    assert [q.name for q in fitted.workload.queries] == ["q"]
    kinds = [p.kind for p in fitted.workload.writes[0].statements[0].params]
    assert kinds == ["column", "unique", "values"]


def _statements(ctx) -> list:
    """What a run measures: every query's and write's SQL and parameter specs."""
    wl = ctx.workload
    return [(q.name, q.sql, q.params) for q in wl.queries] + [
        (w.name, [(st.sql, st.params) for st in w.statements]) for w in wl.writes
    ]


def test_the_lab_and_the_cli_measure_the_same_fitted_statements(tmp_path, monkeypatch):
    """Issue 22: `open_database(schema=..., workload=captured)` in JupyterLab measured the
    captured workload unfitted while `perflab run` fitted it. Both now come through one
    front door (`prepare`): the notebook `perflab run` executes opens the record it was
    handed, and that record gives the lab's statements exactly."""
    import json

    import perflab
    from perflab.inputs.config import RunInputs
    from perflab.run.runner import run

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    ddl = _schema_file(tmp_path)
    wl = _captured(
        tmp_path,
        [_w("ins_tag", "INSERT INTO tag(code, n) VALUES (?, ?)", [["zz", 1]])],
    )
    lab = perflab.open_database("tiny", schema=ddl, workload=wl)
    assert lab.workload.origin == "capture-fitted"  # fitted in the lab too
    res = run(
        RunInputs("tiny", schema=ddl, workload=wl),
        tmp_path / "out",
        notebooks=["01_query_plans", "02_latency"],
    )
    nb = json.loads((res.run_dir / "notebooks" / "02_latency.ipynb").read_text())
    injected = next(
        "".join(c["source"])
        for c in nb["cells"]
        if "injected-parameters" in c["metadata"].get("tags", [])
    )
    handed = {}
    exec(injected, {}, handed)  # the record papermill handed the notebook
    cli = perflab.open_database(**handed["inputs"])
    assert _statements(cli) == _statements(lab)
    assert [q.name for q in cli.workload.queries] == ["q"]  # 'gone' not replayed, in both


def test_join_table_inserts_draw_unused_parent_pairs(tmp_path):
    """A UNIQUE key made only of foreign keys: replay draws parent pairs no row holds yet,
    each once; when they run out, the write is listed (not a failed run)."""
    db = tmp_path / "j.db"
    c = sqlite3.connect(db)
    c.executescript(
        "CREATE TABLE u(id INTEGER PRIMARY KEY); CREATE TABLE trial(id INTEGER PRIMARY KEY);"
        "CREATE TABLE follow(a INTEGER NOT NULL REFERENCES u(id),"
        " b INTEGER NOT NULL REFERENCES u(id), UNIQUE(a, b));"
    )
    c.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(1, 6)])  # 25 pairs
    c.executemany("INSERT INTO follow VALUES (?, ?)", [(1, 2), (2, 3), (3, 4), (4, 5), (5, 1)])
    c.commit()
    c.close()
    wl = _captured(tmp_path, [_w("follow", "INSERT INTO follow(a, b) VALUES (?, ?)", [[1, 2]])])
    fit = fit_workload(db, wl)
    assert [s.name for s in fit.not_replayed] == ["gone"]
    out = tmp_path / "f.yaml"
    out.write_text(fit.text, encoding="utf-8")
    (w,) = load_workload(out).writes
    assert [p.kind for p in w.statements[0].params] == ["unused"]
    # 17 of 20 pairs
    ok = measure_writes(db, [w], Budget(iterations=15, warmup=2), batch_sizes=(1,))
    assert ok[0]["status"] == "ok" and ok[0]["ops"] == 15
    short = measure_writes(db, [w], Budget(iterations=30, warmup=2), batch_sizes=(1,))
    assert short[0]["status"] == "not_replayed"
    assert "no unused key left" in short[0]["error"]


# ----------------------------------------------------------------- replay fidelity (issue 21)

NOW = 1_796_000_000.0  # the application's "now" at capture (epoch seconds)


def _scheduler_db(path, *, later: float = 0.0, text: bool = False):
    """A job store: 150 recurring jobs due in the future, one one-off job that fell due
    20 minutes before the capture ended; `later` moves every job (the database is that
    much younger than the capture); `text`: ISO timestamps instead of epoch seconds."""

    def ts(v: float):
        if not text:
            return v
        return dt.datetime.fromtimestamp(v, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    c = sqlite3.connect(path)
    c.execute(
        "CREATE TABLE jobs(id TEXT PRIMARY KEY, next_run_time "
        + ("TEXT" if text else "REAL")
        + ", job_state BLOB)"
    )
    c.execute("CREATE INDEX jobs_next ON jobs(next_run_time)")
    jobs = [(f"report-{i}", ts(NOW + later + 300 + 240 * i), b"\x80state") for i in range(150)]
    jobs.append(("once-1", ts(NOW + later - 1200), b"\x80once"))
    c.executemany("INSERT INTO jobs VALUES (?, ?, ?)", jobs)
    c.commit()
    c.close()
    return path


def _due_poll(text: bool = False):
    """The scheduler's "which jobs are due" poll as captured: 60 polls an hour long, one
    a minute, 20 rows in all (the one-off job was due for the last 20 of them)."""

    def ts(v: float):
        if not text:
            return v
        return dt.datetime.fromtimestamp(v, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    nows = [NOW - 3600 + 60 * k + 0.25 for k in range(1, 61)]
    return {
        "name": "due",
        "sql": "SELECT id, job_state FROM jobs WHERE next_run_time <= ? ORDER BY next_run_time",
        "params": [{"rows": [[ts(v)] for v in nows[::3]]}],  # the capture's 20 kept
        "captured": {"calls": 60, "rows": 20, "total_ms": 1.2, "mean_ms": 0.02, "p95_ms": 0.04},
    }


BLOG = """
CREATE TABLE post(id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT,
                  publish TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199)
INSERT INTO post(slug, title, publish)
SELECT 'post-' || i, 'Post ' || i, datetime('2025-01-01', '+' || (i * 37) || ' hours') FROM n;
"""


def _by_slug():
    """Django's blog detail view (`get_object_or_404(Post, slug=slug, publish__year=y,
    publish__month=m)`) as captured: every lookup a hit, 1.0 rows per execution."""
    c = sqlite3.connect(":memory:")
    c.executescript(BLOG)
    rows = c.execute(
        "SELECT slug, strftime('%Y', publish), strftime('%m', publish) FROM post WHERE id % 10 = 3"
    ).fetchall()
    c.close()
    tuples = [[s, f"{y}-01-01 00:00:00", f"{y}-12-31 23:59:59.999999", m] for s, y, m in rows]
    return {
        "name": "post_by_slug",
        "sql": "SELECT id, title FROM post WHERE slug = ? AND publish BETWEEN ? AND ?"
        " AND strftime('%m', publish) = ? LIMIT 21",
        "params": [{"rows": tuples}],
        "captured": {"calls": 80, "rows": 80, "total_ms": 2.0, "mean_ms": 0.025, "p95_ms": 0.05},
    }


def _replayed(tmp_path, db, queries, **doc):
    """Fit the captured queries to `db`, time them as the latency stage does, and return
    each query's replay record (captured vs replayed rows per execution)."""
    from perflab.measure.latency import latency_records, measure_workload

    p = tmp_path / "cap.yaml"
    p.write_text(
        dump_typed({"name": "cap", "origin": "capture", "queries": queries, **doc}),
        encoding="utf-8",
    )
    fit = fit_workload(db, p)
    out = tmp_path / "fitted.yaml"
    out.write_text(fit.text, encoding="utf-8")
    wl = load_workload(out)
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        frame, _, params = measure_workload(c, wl, Budget(iterations=40, warmup=2), count=False)
    finally:
        c.close()
    return wl, {r["name"]: r for r in latency_records(frame, wl, params)}


def test_a_due_poll_keeps_its_captured_now_instead_of_a_value_drawn_from_the_column(tmp_path):
    """Issue 21: a scheduler's "due" poll returned 0.3 rows per execution in the
    application and thousands in the replay, its "now" re-drawn from the column."""
    db = _scheduler_db(tmp_path / "jobs.db")
    wl, recs = _replayed(tmp_path, db, [_due_poll()])
    rp = recs["due"]["replay"]
    assert rp["captured_rows_per_exec"] == pytest.approx(1 / 3)
    assert rp["status"] == "same", rp
    assert 1 / 6 <= rp["replayed_rows_per_exec"] <= 2 / 3
    assert wl.query("due").params_source == ("captured",)


@pytest.mark.parametrize("text", [False, True], ids=["epoch", "iso-text"])
def test_a_due_poll_on_a_younger_database_shifts_now_along_the_data(tmp_path, text):
    """The database moved on a day since the capture: the captured "now" finds nothing
    due (misses against the application's hits); the fit moves the captured values
    together along the column until the poll returns the application's rows again."""
    db = _scheduler_db(tmp_path / "jobs.db", later=86400.0, text=text)
    wl, recs = _replayed(tmp_path, db, [_due_poll(text)])
    rp = recs["due"]["replay"]
    assert rp["status"] == "same", rp
    q = wl.query("due")
    assert "shifted by" in q.notes and "along next_run_time" in q.notes
    (spec,) = q.params
    first = spec.arg[0][0]
    moved = (first - (NOW - 3600 + 60.25)) if not text else None
    if text:
        got = dt.datetime.fromisoformat(first).replace(tzinfo=dt.UTC).timestamp()
        moved = got - (NOW - 3600 + 60.25)
        assert len(first) == len("2026-12-01 00:00:00.000000")  # its own format kept
    assert 86400 - 3600 <= moved <= 86400 + 3600  # "now" stays "now" relative to the data


def test_a_slug_lookup_replays_hits_as_the_application_did(tmp_path):
    """Issue 21: a web application's get-by-slug returned 1.0 rows per execution in the
    application and 0.0 in the replay (slugs drawn from the column, the year and month
    kept from the capture: another post's date)."""
    db = tmp_path / "blog.db"
    c = sqlite3.connect(db)
    c.executescript(BLOG)
    c.close()
    wl, recs = _replayed(tmp_path, db, [_by_slug()])
    rp = recs["post_by_slug"]["replay"]
    assert (rp["captured_rows_per_exec"], rp["status"]) == (1.0, "same"), rp
    assert rp["replayed_rows_per_exec"] == 1.0
    assert wl.query("post_by_slug").sampler == "captured"


def test_a_replay_that_cannot_match_is_labelled_and_decides_no_target(tmp_path):
    """The slugs the application looked up are not in this database and the lookup's
    parameter is not compared with a column: misses against hits. The query is labelled,
    its latency target is undecided with the reason, until the workload accepts it."""
    from perflab.inputs.targets import Target, Targets
    from perflab.judge import verdict
    from perflab.present.views import application_view

    db = tmp_path / "blog.db"
    c = sqlite3.connect(db)
    c.executescript(BLOG)
    c.close()
    gone = {
        "name": "by_upper_slug",
        "sql": "SELECT id FROM post WHERE slug = lower(?)",
        "params": [{"rows": [["GONE-1"], ["GONE-2"]]}],
        "captured": {"calls": 10, "rows": 10, "total_ms": 0.1, "mean_ms": 0.01, "p95_ms": 0.01},
    }
    targets = Targets((Target("latency_p50_ms", "<", 1e6, query="by_upper_slug"),))
    for accept, status in ((False, "differs"), (True, "accepted")):
        _wl, recs = _replayed(tmp_path, db, [{**gone, "accept_replay": accept}])
        rp = recs["by_upper_slug"]["replay"]
        assert rp["status"] == status
        assert rp["note"].endswith("captured 1.0 rows/exec, replayed 0.0")
        summary = {"queries": list(recs.values())}
        (t,) = verdict.evaluate_targets(summary, targets)
        view = application_view(summary)
        if accept:
            assert t.status == "pass"  # the user accepted the replay: its figures decide
            assert view.loc[0, "replay"].startswith("replay differs, accepted:")
        else:
            assert t.status == "inconclusive" and t.status_reason.startswith("undecided")
            assert "replay differs: captured 1.0 rows/exec, replayed 0.0" in t.status_reason
            a = verdict.assess(summary, targets)
            assert a["decision"]["decision"] != "APPROVED"
            assert any(
                i["title"].startswith("target undecided (replay differs)") for i in a["issues"]
            )
            assert view.loc[0, "replay"] == "replay differs: captured 1.0 rows/exec, replayed 0.0"
            assert (view.loc[0, "app rows/exec"], view.loc[0, "replayed rows/exec"]) == (1.0, 0.0)


SCHEDULER_APP = '''
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE jobs(id TEXT PRIMARY KEY, next_run_time REAL, job_state BLOB);
CREATE INDEX jobs_next ON jobs(next_run_time);
CREATE TABLE post(id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT, publish TEXT);
""")
now = time.time()
with c:
    c.executemany("INSERT INTO jobs VALUES (?, ?, ?)",
                  [(f"report-{i}", now + 300 + 240 * i, b"\\x80job") for i in range(150)])
    c.executemany("INSERT INTO post(slug, title, publish) VALUES (?, ?, datetime('2025-01-01', ?))",
                  [(f"post-{i}", f"Post {i}", f"+{i * 37} hours") for i in range(200)])
for t in range(60):
    if t % 3 == 0:  # a one-off job that fell due a moment ago
        with c:
            c.execute("INSERT INTO jobs VALUES (?, ?, ?)", (f"once-{t}", time.time() - 1, b"o"))
    due = c.execute("SELECT id, job_state FROM jobs WHERE next_run_time <= ? "
                    "ORDER BY next_run_time", (time.time(),)).fetchall()
    with c:  # run them: a one-off job has no next run once run
        c.executemany("UPDATE jobs SET next_run_time = NULL WHERE id = ?", [(j,) for j, _ in due])
    slug = f"post-{(t * 7) % 200}"
    y, m = c.execute("SELECT strftime('%Y', publish), strftime('%m', publish) FROM post "
                     "WHERE slug = ?", (slug,)).fetchone()
    got = c.execute("SELECT id, title FROM post WHERE slug = ? AND publish BETWEEN ? AND ? "
                    "AND strftime('%m', publish) = ? LIMIT 21",
                    (slug, f"{y}-01-01 00:00:00", f"{y}-12-31 23:59:59.999999", m)).fetchall()
    assert len(got) == 1
    time.sleep(0.002)
c.close()
'''


def test_capture_then_run_replays_the_applications_rows_and_shows_them(tmp_path):
    """The real CLI path: `perflab capture` a scheduler's due poll and a blog's
    get-by-slug, `perflab run --profile tiny --db` the application's file: summary.json and
    the application's view carry captured vs replayed rows per execution, both the same
    workload as the application's, and their targets are decided."""
    import json
    import os
    import subprocess
    import sys

    from perflab.run.summary import validate_summary

    env = {**os.environ, "PERFLAB_CACHE_DIR": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "perflab.cli"]
    (tmp_path / "app.py").write_text(SCHEDULER_APP)
    db, wl, out = tmp_path / "app.db", tmp_path / "w.yaml", tmp_path / "out"
    app = [sys.executable, str(tmp_path / "app.py"), str(db)]
    cap = subprocess.run(
        [*cli, "capture", "--out", str(wl), "--", *app], env=env, text=True, capture_output=True
    )
    assert cap.returncode == 0, cap.stderr
    due, slug = "select_jobs_by_next_run_time", "select_post_by_slug_publish"
    targets = tmp_path / "t.yaml"
    targets.write_text(
        "targets:\n"
        + "".join(
            f"  - {{metric: latency_p50_ms, query: {q}, comparator: '<', threshold: 1000}}\n"
            for q in (due, slug)
        )
    )
    before = db.read_bytes()
    run = subprocess.run(
        [*cli, "run", "--profile", "tiny", "--db", str(db), "--workload", str(wl)]
        + ["--targets", str(targets), "--out", str(out)],
        env=env,
        text=True,
        capture_output=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert db.read_bytes() == before
    summary = json.loads((out / "summary.json").read_text())
    validate_summary(summary)
    replay = {q["name"]: q["replay"] for q in summary["queries"]}
    assert replay[due]["captured_rows_per_exec"] == pytest.approx(20 / 60)
    assert replay[slug]["captured_rows_per_exec"] == 1.0
    assert {replay[due]["status"], replay[slug]["status"]} == {"same"}, replay
    assert replay[slug]["replayed_rows_per_exec"] == 1.0
    assert {t["subject"]: t["status"] for t in summary["targets"]} == {due: "pass", slug: "pass"}
    page = (out / "index.html").read_text()
    assert "replayed rows/exec" in page and "app rows/exec" in page


def test_an_in_list_length_is_compared_with_what_that_length_returned(tmp_path):
    """A folded IN-list shape (peewee's `Tweet.user_id.in_([...])`, mostly one id) used to
    be 'not compared': the capture kept rows for the whole shape. Each replayed length now
    carries its own calls and rows, and the replay is held to them."""
    db = tmp_path / "tweets.db"
    c = sqlite3.connect(db)
    c.executescript(
        """
        CREATE TABLE tweet(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, content TEXT);
        CREATE INDEX tweet_user ON tweet(user_id);
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 399)
        INSERT INTO tweet(user_id, content) SELECT 1 + i % 20, 'x' || i FROM n;
        """
    )
    c.close()
    # the application asked for users with no tweets, and one that has 20: 5 rows in 39
    ids = [[100 + k] for k in range(19)] + [[3]]
    entry = {
        "name": "tweets_of",
        "sql": "SELECT id FROM tweet WHERE user_id IN (?) ORDER BY id DESC LIMIT 20",
        "params": [{"rows": ids}],
        "captured": {
            "calls": 40,
            "rows": 25,
            "total_ms": 0.4,
            "mean_ms": 0.01,
            "p95_ms": 0.02,
            "in_lengths": {1: 39, 2: 1},
            "in_list": {"length": 1, "calls": 39, "rows": 5},
        },
    }
    _wl, recs = _replayed(tmp_path, db, [entry])
    rp = recs["tweets_of"]["replay"]
    assert rp["captured_rows_per_exec"] == pytest.approx(5 / 39), rp
    assert rp["status"] in {"same", "differs"}, rp
    assert rp["note"].startswith(("captured", "replay differs")), rp
