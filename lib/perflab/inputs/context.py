"""The front door of a run: what the user gave, resolved, fitted, validated, once.

`prepare` is the one function that turns `RunInputs` (the command's options, the Python
API's keywords, a notebook's parameters) into a `RunContext`: ``--db`` snapshotted or
``--schema`` given a dataset spec (`perflab.inputs.userdb`), every file parsed and
cross-checked, the database built or found in the cache (`perflab.database`), a captured
workload fitted to that database (`perflab.inputs.replay`), and every query's samplers
checked against it. `perflab run`, `perflab.open_database` and each notebook's first cell
all come through here, so the lab and the CLI measure the same statements.

It sits on the inputs floor, below `measure` and `stages`: a stage takes a `RunContext`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from perflab.database.ahead import build_ahead
from perflab.database.build import BuildReport
from perflab.database.sizes import sweep_specs
from perflab.database.source import Source, load_dataset_spec, open_source
from perflab.database.spec import DatasetSpec
from perflab.errors import PerflabError
from perflab.inputs.config import RunConfig, RunInputs
from perflab.inputs.replay import fit_workload
from perflab.inputs.targets import Targets, load_targets
from perflab.inputs.userdb import resolve_inputs
from perflab.inputs.workload import Workload, load_workload, sample_params
from perflab.paths import cache_file
from perflab.sqlite import engine

__all__ = ["RunContext", "load_inputs", "prepare"]


@dataclass(frozen=True)
class RunContext:
    """A run's inputs resolved, fitted and validated, and its database ready: what every
    stage reads (`perflab.stages`), made by `prepare` alone."""

    config: RunConfig
    build: BuildReport
    workload: Workload
    targets: Targets
    run_dir: Path | None
    source: Source | None = None  # where the database came from (`prepare` opened it)
    notes: tuple[str, ...] = ()  # what resolving and fitting the inputs did, to be said

    @property
    def inputs(self) -> RunInputs:
        """The resolved inputs as one record: what `perflab run` hands every notebook
        (`RunInputs.to_dict`), so a notebook opens exactly this run's files."""
        return RunInputs(
            self.config.profile.name,
            dataset=str(self.config.dataset),
            workload=str(self.config.workload),
            targets=str(self.config.targets),
            seed=self.build.seed,
            iterations=self.config.profile.iterations,
            milestone=self.config.milestone,
        )

    @property
    def db_path(self) -> Path:
        return self.build.path

    @cached_property
    def dataset_spec(self) -> DatasetSpec:
        """The dataset spec, once per context: the one `prepare` parsed, or (for a --db run)
        the one derived from the database on first use."""
        if self.source is not None:
            return self.source.dataset_spec()
        return load_dataset_spec(self.config.dataset)

    @cached_property
    def deployment_rows(self) -> dict[str, int]:
        """Rows per table at the spec's largest scale: the scale rule's horizon."""
        return self.dataset_spec.deployment_rows()

    def connect(self, *, readonly: bool = True) -> sqlite3.Connection:
        """A connection with the application's pragmas; read-only unless asked."""
        return engine.connect(self.db_path, readonly=readonly)

    def describe(self) -> str:
        """One Markdown line: which database, how big, analysed or not, which SQLite."""
        b = self.build
        if b.source:  # the user's own database (--db), measured on a working copy
            notes = "".join(f" **Note:** {n}." for n in b.notes)
            return (
                f"Database `{Path(b.source).name}` (the user's file, measured on a read-only "
                f"snapshot): {sum(b.row_counts.values()):,} rows; sqlite_stat1 present (ANALYZEd "
                f"by its owner): **{b.analyzed}**; SQLite {sqlite3.sqlite_version}.{notes}"
            )
        return (
            f"Database `{b.path.name}`: scale **{b.scale}**, seed {b.seed}, "
            f"{sum(b.row_counts.values()):,} rows; ANALYZE run after building: **{b.analyzed}**; "
            f"SQLite {sqlite3.sqlite_version}; {'reused from cache' if b.from_cache else 'built'}."
        )

    def database_info(self) -> dict:
        conn = self.connect()
        try:
            return {
                "path": str(self.db_path),
                "scale": self.build.scale,
                "seed": self.build.seed,
                "analyzed": bool(self.build.analyzed),
                "from_cache": bool(self.build.from_cache),
                "size_bytes": self.db_path.stat().st_size,
                "build_seconds": self.build.seconds,
                "tables": engine.row_counts(conn),
                **({"source": self.build.source} if self.build.source else {}),
                **({"notes": list(self.build.notes)} if self.build.notes else {}),
            }
        finally:
            conn.close()


def load_inputs(cfg: RunConfig, notes: list[str] | None = None) -> tuple[Source, Workload, Targets]:
    """Parse and cross-check every input file; errors name the file and entry. Queries of a
    later milestone than ``cfg.milestone`` wait, named in ``notes``."""
    source = open_source(cfg.dataset, scale=cfg.profile.scale, seed=cfg.seed)
    wl, waiting = load_workload(cfg.workload).at_milestone(cfg.milestone)
    if not wl.queries:
        raise PerflabError(
            f"{cfg.workload}: no query at milestone {cfg.milestone} "
            f"(every query waits for a later one; try --milestone)"
        )
    if waiting and notes is not None:
        notes.append(
            f"{len(waiting)} queries of a later milestone than {cfg.milestone} not run "
            f"(--milestone runs them): {', '.join(waiting)}"
        )
    tg = load_targets(
        cfg.targets,
        queries={q.name for q in wl.queries},
        operations={w.name for w in wl.writes} | {c.name for c in wl.concurrency},
        milestone=cfg.milestone,
        waiting=waiting,
    )
    return source, wl, tg


def prepare(
    inputs: RunInputs,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    notebooks: Sequence[str] = (),
) -> RunContext:
    """Resolve, check and fit ``inputs`` and ready the database (the module says why here).

    ``notebooks``: the notebooks the run will execute (`perflab run` passes them). What they
    need from the database is then made here, beside the run's own build
    (`perflab.database.ahead`): 05's sweep sizes and 06's integrity check. Nothing is
    measured while they run: this returns only once every process has finished."""
    resolved = resolve_inputs(inputs)
    cfg = RunConfig.create(resolved.inputs)
    notes = list(resolved.notes)
    source, wl, tg = load_inputs(cfg, notes)  # every file checked before the database is built
    wants = {str(n).split("_", 1)[-1] for n in notebooks}
    if wants & {"scale", "summary"}:
        sizes = _sweep_sizes(source, cfg) if "scale" in wants else []
        build = build_ahead(source, sizes, check="summary" in wants, progress=progress)
    else:
        build = source.build(progress=progress)
    if wl.origin == "capture":  # fitted to the database it will run on, here alone
        cfg, wl = _fit_captured(build.path, cfg, wl, notes)
    conn = engine.connect(build.path, readonly=True)
    try:
        sample_params(conn, wl, 1, seed=0)  # every query prepares and its samplers find rows
    finally:
        conn.close()
    return RunContext(cfg, build, wl, tg, Path(run_dir) if run_dir else None, source, tuple(notes))


def _fit_captured(
    db: Path, cfg: RunConfig, wl: Workload, notes: list[str]
) -> tuple[RunConfig, Workload]:
    """A captured workload fitted to ``db`` (keys that respect its constraints, parameters
    whose result sizes match the application's); what still cannot run is noted, not fatal."""
    fit = fit_workload(db, cfg.workload)
    path = cache_file("workloads", cfg.workload.stem + "-fitted", fit.text, ".yaml")
    if fit.rewritten:
        notes.append(
            "captured writes fitted to the schema (keys, parents, existing rows): "
            + ", ".join(fit.rewritten)
        )
    notes.extend(f"not replayed: {s.kind} {s.name}: {s.reason}" for s in fit.not_replayed)
    return replace(cfg, workload=path), load_workload(path)


def _sweep_sizes(source: Source, cfg: RunConfig) -> list[tuple[str, DatasetSpec, int | None]]:
    """(scale name, spec, seed) of each sweep size 05 builds at the profile's factors,
    largest first (the longest build starts first), without the run's own database."""
    try:
        spec = source.dataset_spec()
        sizes = sweep_specs(spec, cfg.profile.scale, cfg.profile.scale_sweep.factors)
    except (PerflabError, KeyError):  # left to notebook 05, which says what is wrong
        return []
    return [(name, s, cfg.seed) for name, s in reversed(sizes) if s is not None]
