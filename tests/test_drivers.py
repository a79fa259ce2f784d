"""The same queries through sqlite3, aiosqlite and APSW; plans compared across engines."""

from __future__ import annotations

import asyncio

import pytest
from perflab.inputs.workload import QuerySpec, Workload
from perflab.measure import drivers

DDL = """CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v TEXT);
CREATE INDEX t_k ON t(k);"""
ROWS = "".join(f"INSERT INTO t (k, v) VALUES ('k{i % 10}', 'v{i}');" for i in range(300))
WL = Workload(
    "w",
    (
        QuerySpec("by_k", "SELECT * FROM t WHERE k = ?"),
        QuerySpec("by_id", "SELECT v FROM t WHERE id = ?"),
    ),
)
PARAMS = {"by_k": [(f"k{i % 10}",) for i in range(40)], "by_id": [(i,) for i in range(1, 41)]}


@pytest.fixture
def db(make_db):
    return make_db(DDL, rows=ROWS)


def test_every_installed_driver_returns_the_same_rows(db):
    frame = drivers.compare_drivers(db, WL, PARAMS, warmup=5, max_seconds=None, rounds=2)
    avail = [d for d, v in drivers.available().items() if v]
    assert set(frame["driver"]) == set(avail)
    assert frame["rows_match"].all()
    by_k = frame[frame["query"] == "by_k"]
    assert (by_k["rows_mean"] == 30).all()  # 300 rows, 10 keys
    assert (frame[frame["driver"] == "sqlite3"]["ratio_p50"] == 1).all()
    assert (frame["n"] == 2 * 35).all()  # (40 - 5 warm-up) per round
    # every median and ratio with its interval (each median's at 97.5%: >= 95% together)
    assert (frame["p50_lo"] <= frame["p50"]).all() and (frame["p50"] <= frame["p50_hi"]).all()
    assert (frame["ratio_lo"] <= frame["ratio_p50"]).all()
    assert (frame["ratio_p50"] <= frame["ratio_hi"]).all()
    if "aiosqlite" in avail:  # a thread hop per call: slower than stdlib beyond doubt
        slow = frame[(frame["driver"] == "aiosqlite") & (frame["query"] == "by_id")]
        assert float(slow["ratio_lo"].iloc[0]) > 1


def test_driver_versions_name_each_engine():
    v = drivers.driver_versions()
    assert v["sqlite3"]["sqlite_version"]
    if "apsw" in v:
        import apsw

        assert v["apsw"]["sqlite_version"] == apsw.sqlite_lib_version()


def test_plans_compared_across_engines(db):
    pytest.importorskip("apsw")
    plans = drivers.compare_plans(db, WL, PARAMS)
    assert list(plans["query"]) == ["by_k", "by_id"]
    assert "t_k" in plans.iloc[0]["sqlite3_plan"] and "t_k" in plans.iloc[0]["apsw_plan"]
    rec = drivers.driver_records(drivers.compare_drivers(db, WL, PARAMS, max_seconds=None), plans)
    assert rec["plan_differences"] == [
        q for q, s in zip(plans["query"], plans["same"], strict=True) if not s
    ]


def test_aiosqlite_path_works_inside_a_running_event_loop(db):
    pytest.importorskip("aiosqlite")

    async def inner():
        return drivers.time_aiosqlite(db, "SELECT * FROM t WHERE k = ?", PARAMS["by_k"], warmup=0)

    ns, rows = asyncio.run(inner())
    assert ns.size == 40 and (rows == 30).all()


def test_a_query_whose_one_execution_outlasts_the_budget_is_not_compared(db, monkeypatch):
    # one execution longer than a round's budget: the other drivers and rounds would each
    # time one or two executions, for a ratio that says nothing about per-call cost
    seen: list[tuple[str, str]] = []
    real = dict(drivers._TIMERS)

    def spy(d):
        def timer(path, sql, params, **budget):
            seen.append((d, sql))
            return real[d](path, sql, params, **budget)

        return timer

    monkeypatch.setattr(drivers, "_TIMERS", {d: spy(d) for d in real})
    use = ("sqlite3", "apsw") if drivers.available().get("apsw") else ("sqlite3", "aiosqlite")
    frame = drivers.compare_drivers(db, WL, PARAMS, drivers=use, warmup=3, max_seconds=1e-9)
    assert [d for d, _ in seen] == ["sqlite3", "sqlite3"]  # one call per query, then skipped
    assert frame.empty and set(frame.attrs["not_compared"]) == {"by_k", "by_id"}
    assert "not compared: one execution took" in frame.attrs["not_compared"]["by_k"]
    rec = drivers.driver_records(frame, drivers.compare_plans(db, WL, PARAMS))
    assert [r["query"] for r in rec["not_compared"]] == ["by_k", "by_id"]
    seen.clear()
    frame = drivers.compare_drivers(db, WL, PARAMS, drivers=use, warmup=3, max_seconds=30.0)
    assert len(seen) == 2 * 2 * 2 and not frame.attrs["not_compared"]
    assert len(frame) == 2 * 2 and frame["rows_match"].all()
