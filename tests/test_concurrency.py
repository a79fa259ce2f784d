"""Real concurrent readers (threads and processes) and a writer on a WAL copy."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from perflab.errors import PerflabError
from perflab.inputs.workload import ParamSpec, StatementSpec, VerifySpec, WriteSpec
from perflab.measure import concurrency
from perflab.measure.throughput import DataCheckError

DDL = "CREATE TABLE s (id TEXT PRIMARY KEY, body TEXT);"
ROWS = "".join(f"INSERT INTO s VALUES ('s{i}', '{'x' * 50}');" for i in range(200))
SQL = "SELECT * FROM s WHERE id = ?"
PARAMS = [(f"s{i}",) for i in range(200)]
WRITE = WriteSpec(
    "insert_s",
    (StatementSpec("INSERT INTO s VALUES (?, 'w')", (ParamSpec("format", "w_{run}_{n}"),)),),
    verify=VerifySpec("SELECT count(*) FROM s", 1),
)


@pytest.fixture
def db(make_db) -> Path:
    return make_db(DDL, rows=ROWS)


def test_threads_and_processes_each_read_on_their_own_connection(db):
    recs = concurrency.reader_sweep(
        db,
        SQL,
        PARAMS,
        readers=(1, 3),
        modes=("thread", "process"),
        writer=(False,),
        duration_s=0.05,
    )
    assert [(r["mode"], r["readers"]) for r in recs] == [
        ("thread", 1),
        ("thread", 3),
        ("process", 1),
        ("process", 3),
    ]
    for r in recs:
        assert r["reads"] > 0 and r["errors"] == 0
        assert r["latency_kind"] == "service time"  # closed loop is labelled as such
        lo, hi = r["reads_per_s_ci"]
        assert lo <= hi
    assert recs[3]["processes"] == 3 and recs[1]["processes"] == 1


def test_fixed_reads_per_reader_and_barrier_total(db):
    res = concurrency.concurrent_reads(
        db, SQL, PARAMS, readers=10, reads_per_reader=2, mode="thread", repeats=2
    )
    assert res["errors"] == 0 and res["readers"] == 10
    assert len(res["total_ms_runs"]) == 2 and res["total_ms"] > 0
    assert res["repeatability"]["n"] == 2


def test_fixed_reads_in_processes(db):
    res = concurrency.concurrent_reads(
        db, SQL, PARAMS, readers=4, reads_per_reader=3, mode="process", repeats=1
    )
    assert res["errors"] == 0 and res["total_ms"] > 0


def test_writer_beside_readers_is_verified_and_wal_is_watched(db):
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    recs = concurrency.reader_sweep(
        db,
        SQL,
        PARAMS,
        readers=(2,),
        modes=("thread",),
        writer=(True,),
        write=WRITE,
        duration_s=0.15,
    )
    r = recs[0]
    ws = r["writer_stats"]
    assert ws["ops"] > 0 and ws["errors"] == 0
    assert ws["verify"]["expected_delta"] == ws["verify"]["actual_delta"] == ws["ops"]
    assert r["wal"]["max_bytes"] > 0 and r["wal"]["series"]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # writes went to a copy


def test_a_lost_concurrent_write_is_a_failure(db):
    lost = WriteSpec(
        "lost",
        (StatementSpec("UPDATE s SET body = 'y' WHERE id = 'nope'"),),
        verify=VerifySpec("SELECT count(*) FROM s WHERE body = 'y'", 1),
    )
    with pytest.raises(DataCheckError):
        concurrency.reader_sweep(
            db,
            SQL,
            PARAMS,
            readers=(1,),
            modes=("thread",),
            writer=(True,),
            write=lost,
            duration_s=0.05,
        )


def test_open_loop_readers_time_from_the_schedule(db, tmp_path):
    p = tmp_path / "ol.db"
    with sqlite3.connect(db) as src, sqlite3.connect(p) as dst:
        src.backup(dst)
    cfg = concurrency.ConcurrencyConfig("thread", 1, False, 0.1, interval_s=0.01)
    r = concurrency.run_config(p, SQL, PARAMS, cfg)
    assert r["loop"] == "open" and r["latency_kind"] == "latency from scheduled start"
    assert 5 <= r["reads"] <= 15  # ~10 reads at 100/s in 0.1 s


def test_windowed_rate_ci_brackets_the_rate():
    ends = [np.linspace(0, 1e9, 1001, dtype=np.int64)]
    lo, hi = concurrency._windowed_rate_ci(ends, 0, int(1e9))
    assert lo <= 1001 <= hi * 1.01


def test_bad_mode_is_one_clear_error(db):
    with pytest.raises(Exception, match="mode must be"):
        concurrency.reader_sweep(
            db, SQL, PARAMS, readers=(1,), modes=("fiber",), writer=(False,), duration_s=0.01
        )


def test_wal_header_reads_size_and_sequence(tmp_path):
    wal = tmp_path / "x.db-wal"
    wal.write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 8 + (7).to_bytes(4, "big") + b"\0" * 16)
    assert concurrency._wal_header(wal) == (32, 7)
    assert concurrency._wal_header(tmp_path / "none") is None


FAILING_SQL = "SELECT abs(?)"  # abs(-2**63) raises "integer overflow" at run time
FAILING_PARAMS = [(1,), (-(2**63),)]


def test_failed_reads_are_counted_and_kept_out_of_the_latencies(db):
    cfg = concurrency.ConcurrencyConfig("thread", 1, False, 0.05)
    rec = concurrency.run_config(db, FAILING_SQL, FAILING_PARAMS, cfg)
    # one reader alternates a good read and a failing one: `reads` (and the latencies)
    # are the good ones only, `errors` the others
    assert rec["errors"] > 0 and abs(rec["reads"] - rec["errors"]) <= 1


def test_concurrent_reads_count_errors_and_time_only_successful_reads(db):
    res = concurrency.concurrent_reads(
        db, FAILING_SQL, FAILING_PARAMS * 4, readers=4, reads_per_reader=2, mode="thread", repeats=2
    )
    # each reader gets params[i::4]: readers 0 and 2 read (1,),(1,); 1 and 3 overflow twice
    assert res["errors"] == 2 * 2 * 2
    assert res["reads"] == 2 * 2 * 2  # the good ones: 2 readers x 2 reads x 2 repeats


def test_concurrent_reads_total_has_an_order_statistic_interval_only_with_enough_repeats(db):
    few = concurrency.concurrent_reads(db, SQL, PARAMS, readers=3, mode="thread", repeats=3)
    assert few["total_ms_ci"] == [None, None]
    many = concurrency.concurrent_reads(db, SQL, PARAMS, readers=3, mode="thread", repeats=6)
    runs = sorted(many["total_ms_runs"])
    # the median's 95% interval from 6 values is ranks 1..6 (binomial coverage 96.9%)
    assert many["total_ms_ci"] == [runs[0], runs[-1]]
    assert many["total_ms"] == pytest.approx(float(np.median(runs)))
    # the repeatability figure is the spread of these very runs, not any non-negative number
    rep = many["repeatability"]
    assert rep["n"] == 6 and rep["values"] == many["total_ms_runs"]
    assert rep["spread_pct"] == pytest.approx((runs[-1] - runs[0]) / np.median(runs) * 100)


def test_pooled_workers_are_forked_once_and_reused_across_groups(db):
    # process mode reuses its workers (a fork per reader per configuration cost more than
    # the reading): two groups through one pool run in the same processes, each reader on
    # its own process, each released together at the group's barrier
    task = concurrency.ReaderTask(str(db), SQL, tuple(PARAMS), None, 5)
    with concurrency.WorkerPool() as pool:
        first = pool.run([("r", task)] * 3)
        second = pool.run([("r", task)] * 2)
        assert len(pool.workers) == 3
    assert len({r["pid"] for r in first}) == 3
    assert {r["pid"] for r in second} <= {r["pid"] for r in first}
    assert all(r["lat_ns"].size == 5 for r in first + second)
    assert all(not p.is_alive() for p, _ in pool.workers) and not pool.workers


@pytest.mark.timeout(60)
def test_a_worker_failing_before_the_barrier_does_not_hang_the_group(db, tmp_path):
    good = concurrency.ReaderTask(str(db), SQL, tuple(PARAMS), None, 2)
    bad = replace(good, db_path=str(tmp_path / "missing.db"))  # connect fails, no ready
    with concurrency.WorkerPool() as pool, pytest.raises(PerflabError, match="worker process"):
        pool.run([("r", good), ("r", bad), ("r", good)])


def test_a_given_pool_serves_the_concurrent_reads_and_the_sweep_and_stays_open(db):
    # the stage forks its workers once for both: neither function closes a pool it did
    # not make, and both run their process readers in its processes
    with concurrency.WorkerPool() as pool:
        reads = concurrency.concurrent_reads(
            db, SQL, PARAMS, readers=3, mode="process", repeats=2, pool=pool
        )
        pids = {p.pid for p, _ in pool.workers}
        recs = concurrency.reader_sweep(
            db, SQL, PARAMS, readers=(2,), modes=("process",), duration_s=0.05, pool=pool
        )
        assert len(pids) == 3 and all(p.is_alive() for p, _ in pool.workers)
        assert {p.pid for p, _ in pool.workers} == pids  # no new fork for 2 readers
    assert reads["reads"] == 3 * 2 and recs[0]["processes"] == 2
