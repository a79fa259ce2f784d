"""One timing loop (`measure.timing.timed_calls`) behind every driver, sync and async."""

from __future__ import annotations

import asyncio
import time

import pytest
from perflab.measure import drivers
from perflab.measure.timing import run_calls, run_calls_async

SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000 + ?)"
    " SELECT count(*) FROM c"
)


class _Call:
    """A call that takes `seconds` and returns a known row count; counts how often it ran."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.calls = 0

    def __call__(self, p: tuple) -> int:
        self.calls += 1
        if self.seconds:
            time.sleep(self.seconds)
        return p[0] % 7


def _async(call: _Call):
    async def acall(p: tuple) -> int:
        return call(p)

    return acall


def _both(call: _Call, params, **kw):
    sync = run_calls(call, params, **kw)
    asyn = asyncio.run(run_calls_async(_async(call), params, **kw))
    return sync, asyn


def test_sync_and_async_loops_record_the_rows_each_call_returned():
    params = [(i,) for i in range(30)]
    for s in _both(_Call(), params, warmup=5):
        assert s.warmup == 5 and not s.truncated
        assert list(s.rows) == [i % 7 for i in range(5, 30)]
        assert s.ns.size == 25 and (s.ns > 0).all()


def test_the_time_budget_stops_the_timed_loop_in_both_loops():
    params = [(i,) for i in range(200)]
    for s in _both(_Call(0.005), params, warmup=0, max_seconds=0.05):
        assert s.truncated
        assert 5 <= s.ns.size < 40


def test_a_slow_call_does_not_warm_up_past_a_quarter_of_the_budget():
    call = _Call(0.01)
    s = run_calls(call, [(i,) for i in range(300)], warmup=100, max_seconds=0.2)
    assert s.warmup < 20  # 100 requested; a quarter of 0.2 s holds about 5 calls of 10 ms
    asyn = asyncio.run(
        run_calls_async(
            _async(_Call(0.01)), [(i,) for i in range(300)], warmup=100, max_seconds=0.2
        )
    )
    assert asyn.warmup < 20


def test_no_parameters_gives_empty_samples():
    for s in _both(_Call(), [], warmup=5):
        assert s.ns.size == 0 and s.warmup == 0 and not s.truncated


@pytest.mark.parametrize("driver", drivers.DRIVERS)
def test_every_driver_warms_up_and_stops_within_its_budget(make_db, driver):
    if not drivers.available().get(driver):
        pytest.skip(f"{driver} not installed")
    db = make_db("CREATE TABLE t (x);")
    params = [(i,) for i in range(400)]
    ns, rows = drivers._TIMERS[driver](db, SLOW, params, warmup=100, max_seconds=0.3)
    assert 0 < ns.size < 300  # 100 warm-up calls not all run, the timed loop cut short
    assert (rows == 1).all()
