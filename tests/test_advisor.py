import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from perflab.analysis import advisor
from perflab.inputs.config import IndexSettings
from perflab.inputs.workload import QuerySpec, Workload
from perflab.measure import interleave, stats

DDL = """
CREATE TABLE o (id INTEGER PRIMARY KEY, cust INT, amt INT, note TEXT);
CREATE INDEX o_id ON o(id);
"""


@pytest.fixture
def db(make_db):
    rows = (
        "INSERT INTO o SELECT value, value % 300, value % 1000, 'n' FROM "
        "(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s "
        "WHERE value < 30000) SELECT value FROM s);"
    )
    return make_db(DDL, rows=rows)


def test_compare_rule():
    rng = np.random.default_rng(0)
    a = rng.normal(100, 3, 300)
    assert stats.compare(a, a * 0.5)["verdict"] == "improvement"
    assert stats.compare(a, a * 1.5)["verdict"] == "regression"
    assert stats.compare(a, rng.normal(100, 3, 300))["verdict"] == "unchanged"


def test_expert_advice_measured_and_db_untouched(db, tmp_path):
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    wl = Workload("w", (QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),))
    params = {"by_cust": [(i,) for i in range(20)]}
    conn = sqlite3.connect(db)
    health = __import__("perflab.analysis.indexes", fromlist=["health"]).health(conn)
    cands, tool, skipped = advisor.candidates(conn, db, wl, params, None, health)
    assert skipped == []
    assert any(c["source"] == "expert" and "cust" in c["ddl"] for c in cands), tool
    assert any(c["action"] == "drop" and "o_id" in c["ddl"] for c in cands)
    trial = advisor.Trial(db, wl, params, IndexSettings(rounds=2, executions=15, write_ops=30))
    ev = advisor.evaluate(trial, cands)
    create = ev[ev["source"] == "expert"].iloc[0]
    assert create["recommended"] and create["queries_changed"] == ["by_cust"]
    assert create["insert_us"] == create["insert_us"]  # measured, not NaN
    chosen = advisor.choose(ev)
    ba, after = advisor.before_after(trial, list(chosen["ddl"]))
    assert ba.loc[0, "verdict"] == "improvement" and ba.loc[0, "ci_hi"] < 1
    files = advisor.write_outputs(tmp_path / "run", chosen, after)
    after.unlink()
    assert files == {"migration": "advice/migration.sql", "after_schema": "advice/after_schema.sql"}
    mig = (tmp_path / "run" / files["migration"]).read_text()
    assert "CREATE INDEX" in mig and 'DROP INDEX "o_id"' in mig
    assert "INDEX o_id ON" not in (tmp_path / "run" / files["after_schema"]).read_text()
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before


def test_no_gain_is_not_recommended(db):
    wl = Workload("w", (QuerySpec("by_id", "SELECT * FROM o WHERE id = ?"),))
    params = {"by_id": [(i,) for i in range(1, 20)]}
    cand = {"action": "create", "table": "o", "source": "t", "ddl": "CREATE INDEX n ON o(note)"}
    trial = advisor.Trial(db, wl, params, IndexSettings(rounds=2, executions=10, write_ops=20))
    ev = advisor.evaluate(trial, [cand])
    assert not ev.loc[0, "recommended"] and "no workload query" in ev.loc[0, "why"]


def test_what_the_advisor_cannot_analyse_is_listed_with_the_reason(db, monkeypatch):
    wl = Workload(
        "w",
        (
            QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),
            QuerySpec("unparsed", "SELECT * FROM o WHERE cust = ? ORDER BY"),
        ),
    )
    params = {"by_cust": [(1,)], "unparsed": [(1,)]}
    conn = sqlite3.connect(db)
    cands, tool, skipped = advisor.candidates(conn, db, wl, params)
    assert [s["what"] for s in skipped] == ["expert on query unparsed"]
    assert "cannot parse" in skipped[0]["reason"]
    rec = advisor.advice_records(pd.DataFrame(), pd.DataFrame(), None, tool=tool, skipped=skipped)
    assert rec["skipped"] == skipped


def test_the_expert_samples_a_large_table_and_still_proposes(db, monkeypatch):
    # 30,000 rows in `o`: above a threshold of 3,000 the expert reads 10% of them (it read
    # every row of every table per query by default: ~18 s a query at the full profile)
    assert advisor.expert_sample_percent(db) == 100
    monkeypatch.setattr(advisor, "EXPERT_SAMPLE_ROWS", 3000)
    assert advisor.expert_sample_percent(db) == 10
    calls = []
    real = advisor.subprocess.run
    monkeypatch.setattr(
        advisor.subprocess,
        "run",
        lambda cmd, **kw: (
            calls.append(" ".join(cmd) + " " + (kw.get("input") or "")) or real(cmd, **kw)
        ),
    )
    cands, tool = advisor.expert_candidates(db, {"q": "SELECT * FROM o WHERE cust = 1"})
    assert calls and all("-sample 10 " in c for c in calls)  # binary -sample, shell --sample
    assert "10% of the rows" in tool
    assert any("cust" in c["ddl"] for c in cands), tool


def test_a_missing_expert_says_why(db, monkeypatch):
    import apsw.sqlite_extra

    monkeypatch.setattr(apsw.sqlite_extra, "path", lambda name: None)
    monkeypatch.setattr(advisor.shutil, "which", lambda name: None)
    cands, tool = advisor.expert_candidates(db, {"q": "SELECT * FROM o WHERE cust = 1"})
    assert cands == [] and "not shipped" in tool and "expert not run" in tool

    def broken(name):
        raise OSError("cannot read the wheel")

    monkeypatch.setattr(apsw.sqlite_extra, "path", broken)
    assert "cannot read the wheel" in advisor.expert_candidates(db, {"q": "SELECT 1"})[1]


def test_a_write_cost_not_measured_is_said(db):
    wl = Workload("w", (QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),))
    trial = advisor.Trial(db, wl, {"by_cust": [(1,)]}, IndexSettings(rounds=1, executions=5))
    cand = {"action": "create", "table": None, "source": "t", "ddl": "CREATE INDEX x ON o(cust)"}
    ev = advisor.evaluate(trial, [cand])
    assert "write cost not measured" in ev.loc[0, "why"]


def test_compare_rule_says_inconclusive_for_a_large_but_uncertain_change():
    rng = np.random.default_rng(3)
    base = rng.lognormal(0, 1.0, 40)
    head = rng.lognormal(0, 1.0, 40) * 0.7  # 30% faster, but noise of a factor e
    c = stats.compare(base, head)
    assert c["verdict"] == "inconclusive"
    assert c["ci"][0] < 1 < c["ci"][1] and c["ratio"] <= 1 / 1.05


@pytest.mark.parametrize(
    ("action", "ddl", "why"),
    [
        ("drop", "DROP INDEX o_c", "rejected: a query may be slower (inconclusive)"),
        ("create", "CREATE INDEX o_a ON o(amt)", "rejected: no improvement beyond noise"),
    ],
)
def test_an_inconclusive_timing_is_never_recommended(db, monkeypatch, action, ddl, why):
    sqlite3.connect(db).execute("CREATE INDEX o_c ON o(cust)").connection.commit()
    wl = Workload(
        "w",
        (
            QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),
            QuerySpec("by_amt", "SELECT * FROM o WHERE amt = ?"),
        ),
    )
    params = {"by_cust": [(1,)], "by_amt": [(2,)]}
    monkeypatch.setattr(
        interleave,
        "compare",
        lambda a, b, **kw: {
            "verdict": "inconclusive",
            "ratio": 0.7,
            "ci": [0.4, 1.3],
            "conf": 0.99,
        },
    )
    cand = {"action": action, "table": "o", "source": "t", "ddl": ddl}
    trial = advisor.Trial(db, wl, params, IndexSettings(rounds=1, executions=5, write_ops=10))
    ev = advisor.evaluate(trial, [cand])
    assert ev.loc[0, "queries_changed"]  # the plan did change: the timing decided
    assert not ev.loc[0, "recommended"] and ev.loc[0, "why"].startswith(why)
    assert advisor.choose(ev).empty


def test_the_trial_measures_as_its_settings_and_seed_say(db, monkeypatch):
    """One `Trial` carries the profile's settings to every measurement: executions per
    round and rounds (after a warm-up of 5 on each side), the effect floor and seed of the
    99% comparison, and the writes per write-cost variant."""
    wl = Workload("w", (QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),))
    settings = IndexSettings(rounds=3, executions=7, min_effect=0.2, write_ops=9)
    trial = advisor.Trial(db, wl, {"by_cust": [(1,)]}, settings, seed=4)
    timed, compared, written = [], [], []
    real_time, real_writes = interleave.Side.time, advisor.index_write_statements

    def time(side, n, start=0, max_seconds=None):
        timed.append(n)
        return real_time(side, n, start, max_seconds)

    def write_statements(conn, table, schema, n, seed):
        written.append((n, seed))
        return real_writes(conn, table, schema, n, seed)

    def compare(a, b, **kw):
        compared.append(kw)
        return stats.compare(a, b, **kw)

    monkeypatch.setattr(interleave.Side, "time", time)
    monkeypatch.setattr(advisor, "index_write_statements", write_statements)
    monkeypatch.setattr(interleave, "compare", compare)
    cand = {"action": "create", "table": "o", "source": "t", "ddl": "CREATE INDEX c ON o(cust)"}
    ev = advisor.evaluate(trial, [cand])
    assert ev.loc[0, "queries_changed"] == ["by_cust"]
    ba, after = advisor.before_after(trial, [cand["ddl"]])
    after.unlink()
    assert timed == ([5, 5] + [7] * 6) * 2  # evaluate, then before/after: 3 rounds A and B
    assert compared == [{"min_effect": 0.2, "boot": stats.Bootstrap(conf=0.99, seed=4)}] * 2
    assert written == [(9, 4)]


def test_before_after_times_only_the_queries_whose_plan_changes(db, monkeypatch):
    wl = Workload(
        "w",
        (
            QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),
            QuerySpec("by_amt", "SELECT count(*) FROM o WHERE amt = ?"),  # a scan either way
        ),
    )
    params = {"by_cust": [(i,) for i in range(20)], "by_amt": [(i,) for i in range(20)]}
    timed = []
    ab = interleave.ab
    monkeypatch.setattr(
        interleave,
        "ab",
        lambda before, after, **kw: timed.append(before.sql) or ab(before, after, **kw),
    )
    trial = advisor.Trial(db, wl, params, IndexSettings(rounds=2, executions=15))
    ba, after = advisor.before_after(trial, ["CREATE INDEX o_cust ON o(cust)"])
    after.unlink()
    rows = ba.set_index("query")
    assert timed == [wl.queries[0].sql]
    assert rows.loc["by_cust", "verdict"] == "improvement"
    assert rows.loc["by_cust", "plan_before"] != rows.loc["by_cust", "plan_after"]
    same = rows.loc["by_amt"]
    assert same["verdict"] == "same plan" and same["plan_before"] == same["plan_after"]
    assert all(pd.isna(same[k]) for k in ("p50_before_ms", "p50_after_ms", "ratio", "ci_lo"))
    counts = {r["query"]: r["executions"] for r in advisor.frame_records(ba)}
    assert counts == {"by_cust": 30, "by_amt": None} and type(counts["by_cust"]) is int


def test_a_comparison_cut_by_the_time_budget_says_so(db):
    """`ab_seconds` reaches every comparison: past it the executions are cut (never below
    the floor), and the candidate's verdicts, its why and the before/after say so, in the
    shape summary.json's schema describes."""
    import json

    import jsonschema
    from perflab import paths
    from perflab.results import to_jsonable

    wl = Workload("w", (QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),))
    params = {"by_cust": [(i,) for i in range(40)]}
    cand = {"action": "create", "table": "o", "source": "t", "ddl": "CREATE INDEX c ON o(cust)"}
    tight = IndexSettings(rounds=2, executions=50, write_ops=10, ab_seconds=1e-6)
    trial = advisor.Trial(db, wl, params, tight)
    ev = advisor.evaluate(trial, [cand])
    v = ev.loc[0, "verdicts"]["by_cust"]
    assert v["budget_cut"] and v["executions"] == 2 * interleave.MIN_EXECUTIONS
    assert "time budget: by_cust 10 executions per side" in ev.loc[0, "why"]
    ba, after = advisor.before_after(trial, [cand["ddl"]])
    after.unlink()
    assert ba.loc[0, "budget_cut"] and ba.loc[0, "executions"] == 10
    roomy = advisor.Trial(db, wl, params, IndexSettings(rounds=2, executions=50, write_ops=10))
    v = advisor.evaluate(roomy, [cand]).loc[0, "verdicts"]["by_cust"]
    assert not v["budget_cut"] and v["executions"] == 100
    rec = advisor.advice_records(ev, advisor.choose(ev), ba)
    schema = json.loads(paths.SUMMARY_SCHEMA.read_text())
    jsonschema.validate(to_jsonable(rec), schema["properties"]["advice"])


def test_a_trial_with_copies_measures_on_them_and_copies_nothing_more(db, tmp_path, monkeypatch):
    """03 makes two copies once (at full one took ~10 s, and 03 made six): the expert reads
    B, each candidate is tried on B and rolled back, the before/after leaves A as it was
    and gives the advice to B, whose path it returns."""
    from perflab.sqlite.engine import copy_database

    def sha(p):
        return hashlib.sha256(Path(p).read_bytes()).hexdigest()

    pa, pb = copy_database(db, tmp_path / "a.db"), copy_database(db, tmp_path / "b.db")
    a0, b0 = sha(pa), sha(pb)

    def copied(*args, **kwargs):
        raise AssertionError("copied the database again")

    monkeypatch.setattr(advisor, "working_copy", copied)
    monkeypatch.setattr(advisor, "copy_database", copied)
    wl = Workload("w", (QuerySpec("by_cust", "SELECT * FROM o WHERE cust = ?"),))
    params = {"by_cust": [(i,) for i in range(20)]}
    conn = sqlite3.connect(db)
    cands, tool, _ = advisor.candidates(conn, db, wl, params, scratch=pb)
    conn.close()
    assert any(c["source"] == "expert" for c in cands), tool
    assert sha(pb) == b0  # the expert only read it
    settings = IndexSettings(rounds=2, executions=10, write_ops=10)
    trial = advisor.Trial(db, wl, params, settings, copies=(pa, pb))
    ev = advisor.evaluate(trial, cands)
    assert ev["recommended"].any()
    ba, after = advisor.before_after(trial, list(advisor.choose(ev)["ddl"]))
    assert after == pb and sha(pa) == a0 and ba.loc[0, "verdict"] == "improvement"
    with sqlite3.connect(pb) as b:
        advised = "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%(cust)%'"
        assert b.execute(advised).fetchone()[0] == 1


def _create(ddl: str, gain: float, ci: list[float]) -> dict:
    v = {"verdict": "improvement", "p50_before_ms": 100.0, "p50_after_ms": 100.0 - gain}
    return {
        "action": "create",
        "ddl": ddl,
        "source": "t",
        "recommended": True,
        "verdicts": {"q": {**v, "ci99": ci}},
        "why": "measured gain",
    }


@pytest.mark.parametrize("gains", [(39.4, 38.0), (38.0, 39.4)])
def test_equivalent_creates_give_the_same_pick_whatever_their_point_gains(gains):
    # two improvements of one query whose 99% intervals overlap cannot be ranked: the pick
    # must not follow the point gains (it flipped between two full runs), but a stable rule
    wide = _create("CREATE INDEX a ON t(x COLLATE NOCASE, y, z)", gains[0], [0.67, 0.82])
    narrow = _create("CREATE INDEX b ON t(w, x COLLATE NOCASE)", gains[1], [0.67, 0.76])
    ev = pd.DataFrame([wide, narrow])
    chosen = advisor.choose(ev)
    assert list(chosen["ddl"]) == [narrow["ddl"]]
    cands = advisor.advice_records(ev, chosen, None)["candidates"]  # as summary.json says it
    assert [c["why"].startswith("measured gain; as good as CREATE INDEX a") for c in cands] == [
        False,
        True,
    ]


def test_a_clearly_better_create_is_kept_even_with_more_keys():
    big = _create("CREATE INDEX a ON t(x, y, z)", 60.0, [0.35, 0.45])
    small = _create("CREATE INDEX b ON t(x)", 10.0, [0.85, 0.95])
    chosen = advisor.choose(pd.DataFrame([big, small]))
    assert list(chosen["ddl"]) == [big["ddl"]] and chosen.iloc[0]["why"] == "measured gain"
