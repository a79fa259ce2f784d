"""A run's inputs (`perflab.inputs.config.RunInputs`) are built once where they come in (the
command's options, the Python API's keywords, a notebook's parameters) and reach every layer
whole: nothing is dropped or renamed on the way down, and bring-your-own inputs are resolved
into files before a config is made of them."""

from __future__ import annotations

from pathlib import Path

import perflab
import pytest
from perflab import paths
from perflab.cli import main
from perflab.database.spec import load_spec
from perflab.errors import PerflabError
from perflab.inputs.config import RunConfig, RunInputs
from perflab.inputs.targets import load_targets
from perflab.inputs.userdb import resolve_inputs
from perflab.inputs.workload import load_workload
from perflab.run import runner
from perflab.run.runner import RunResult

DDL = (
    "CREATE TABLE owners(id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE items(id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners(id), n INT);\n"
    "CREATE INDEX items_owner ON items(owner_id);\n"
)


@pytest.fixture
def schema(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "app.sql"
    path.write_text(DDL)
    return path


@pytest.fixture
def heard(monkeypatch) -> dict:
    """`runner.run` replaced by one that records what it was given (no notebook runs)."""
    calls: dict = {}

    def fake_run(inputs, out=None, **options):
        calls.update(inputs=inputs, out=out, **options)
        return RunResult(Path("run"), Path("run/index.html"), {})

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def test_empty_and_none_mean_not_given_and_the_config_fills_defaults():
    inputs = RunInputs.create("quick", db="", dataset="", workload=None, seed=3, iterations=None)
    assert inputs == RunInputs("quick", seed=3)
    cfg = RunConfig.create(inputs)
    assert cfg.profile.name == "quick" and cfg.seed == 3
    assert (cfg.dataset, cfg.workload, cfg.targets) == (
        paths.DEFAULT_DATASET,
        paths.DEFAULT_WORKLOAD,
        paths.DEFAULT_TARGETS,
    )
    assert RunConfig.create(RunInputs("tiny", iterations=7)).profile.iterations == 7


def test_an_unknown_input_is_named():
    with pytest.raises(PerflabError, match=r"unknown run input 'dbb' \(known: profile, db, "):
        RunInputs.create("tiny", dbb="app.db")
    with pytest.raises(PerflabError, match="unknown run input 'sead'"):
        perflab.open_database("tiny", sead=3)  # before anything is read or built


def test_a_config_is_never_made_of_unresolved_inputs():
    """db / schema would be silently ignored by the config: that is refused."""
    with pytest.raises(ValueError, match="resolve"):
        RunConfig.create(RunInputs("tiny", schema="app.sql"))


def test_a_schema_resolves_into_files_and_keeps_every_other_input(schema):
    given = RunInputs("quick", schema=schema, seed=5, iterations=9)
    resolved = resolve_inputs(given)
    r = resolved.inputs
    assert (r.db, r.schema) == (None, None)
    assert (r.profile, r.seed, r.iterations) == ("quick", 5, 9)
    assert load_spec(Path(r.dataset)).schema_path == schema.resolve()
    assert [q.name for q in load_workload(Path(r.workload)).queries]  # drafted from the DDL
    assert load_targets(Path(r.targets), queries=set(), operations=set()).targets == ()
    assert any("drafted workload" in n for n in resolved.notes)
    assert RunConfig.create(r).dataset == Path(r.dataset).resolve()
    plain = RunInputs("tiny", dataset="spec.yaml")
    assert resolve_inputs(plain).inputs is plain  # nothing to resolve: as given


def test_open_database_resolves_a_schema_and_honours_every_input(schema, tmp_path):
    ctx = perflab.open_database("tiny", schema=schema, seed=5, iterations=9, run_dir=tmp_path)
    assert ctx.config.seed == 5 and ctx.build.seed == 5
    assert ctx.config.profile.iterations == 9 and ctx.run_dir == tmp_path
    assert set(ctx.build.row_counts) == {"owners", "items"}
    nb = perflab.open_database("tiny", schema=schema, dataset="", workload="", run_dir="")
    assert nb.run_dir is None and nb.config.seed is None  # a notebook's empty parameters


def test_every_run_option_of_the_command_reaches_the_runner(heard, schema):
    code = main(
        ["run", "--profile", "tiny", "--schema", str(schema), "--workload", "w.yaml"]
        + ["--targets", "t.yaml", "--seed", "4", "--iterations", "11", "--out", "o"]
        + ["--baseline", "b", "--min-effect", "0.1"]
    )
    assert code == 0
    assert heard["inputs"] == RunInputs(
        "tiny", schema=str(schema), workload="w.yaml", targets="t.yaml", seed=4, iterations=11
    )
    assert (heard["out"], heard["baseline"], heard["min_effect"]) == ("o", "b", 0.1)
    assert main(["run", "--db", "app.db", "--dataset", "d.yaml"]) == 0
    assert heard["inputs"] == RunInputs("quick", db="app.db", dataset="d.yaml")


def test_run_suite_passes_inputs_and_run_options_apart(heard):
    perflab.run_suite("tiny", "o", db="app.db", seed=2, notebooks=("01_query_plans",))
    assert heard["inputs"] == RunInputs("tiny", db="app.db", seed=2)
    assert heard["notebooks"] == ["01_query_plans"] and heard["baseline"] is None
    with pytest.raises(PerflabError, match="unknown run input 'iteration'"):
        perflab.run_suite("tiny", iteration=3)
