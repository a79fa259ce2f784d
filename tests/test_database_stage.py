"""The database stage of a run (`perflab.inputs.context.prepare` with the run's notebooks): the
run's database, 05's sweep sizes and 06's integrity check made there, in parallel processes,
and nothing more when a notebook prepares on its own."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from perflab import paths
from perflab.database import checks
from perflab.database.build import cached_database
from perflab.database.source import load_dataset_spec
from perflab.errors import PerflabError
from perflab.inputs import config
from perflab.inputs.config import RunInputs
from perflab.inputs.context import prepare
from perflab.measure import scale
from test_dataset import _write

#: Two sweep sizes below tiny and tiny itself: quick to build, and one is the run's own.
FACTORS = (0.25, 0.5, 1.0)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    prof = config.PROFILES["tiny"]
    small = config.ScaleSettings(factors=FACTORS)
    monkeypatch.setitem(config.PROFILES, "tiny", replace(prof, scale_sweep=small))
    return tmp_path / "cache"


def test_with_05_and_06_in_the_run_the_sizes_and_the_check_are_ready_before_notebooks(cache):
    ctx = prepare(RunInputs.create("tiny"), progress=False, notebooks=["05_scale", "06_summary"])
    assert checks.stored(ctx.db_path) is not None  # 06 reads it back
    spec = load_dataset_spec(paths.DEFAULT_DATASET)
    builds = scale.build_sweep(spec, "tiny", FACTORS, seed=ctx.config.seed)
    assert [b.from_cache for b in builds] == [True, True, True]  # 05 builds nothing
    assert builds[-1].path == ctx.db_path
    assert len(list(cache.glob("*.sqlite"))) == 3
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_a_notebook_preparing_alone_builds_only_the_runs_database(cache):
    ctx = prepare(RunInputs.create("tiny"), progress=False)
    assert [p.name for p in cache.glob("*.sqlite")] == [ctx.db_path.name]
    assert checks.stored(ctx.db_path) is None
    ctx = prepare(RunInputs.create("tiny"), progress=False, notebooks=["06_summary"])
    assert checks.stored(ctx.db_path) is not None  # the check alone, no sweep sizes
    assert [p.name for p in cache.glob("*.sqlite")] == [ctx.db_path.name]


def test_a_build_that_fails_in_the_pool_is_the_same_one_line_error(tmp_path, cache):
    ddl = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL CHECK (v > 5 AND v < 3));"
    spec_text = "name: bad\nschema: schema.sql\nseed: 1\nscales:\n  tiny: {t: 10}\n"
    spec = _write(tmp_path, spec_text, ddl)
    inputs = RunInputs.create("tiny", dataset=spec, workload=None)
    with pytest.raises(PerflabError) as alone:
        prepare(inputs, progress=False)
    with pytest.raises(PerflabError) as pooled:
        prepare(inputs, progress=False, notebooks=["05_scale", "06_summary"])
    assert str(pooled.value) == str(alone.value)
    assert not list(cache.glob("*.sqlite"))


def _build(spec_path: str, cache_dir: str) -> tuple[str, bool]:
    from perflab.database.spec import load_spec

    spec = load_spec(Path(spec_path))
    rep = cached_database(spec, "s", cache_dir=Path(cache_dir), progress=False)
    return str(rep.path), rep.from_cache


def test_two_processes_building_the_same_database_leave_one_whole_file(tmp_path):
    spec = _write(tmp_path)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        got = list(pool.map(_build, [str(spec)] * 2, [str(tmp_path / "c")] * 2))
    assert got[0][0] == got[1][0]
    db = Path(got[0][0])
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted(
        [db.name, db.with_suffix(".json").name]
    )
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = json.loads(db.with_suffix(".json").read_text())["row_counts"]
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == rows["items"] > 0
    finally:
        conn.close()
