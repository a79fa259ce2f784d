"""What every notebook starts from: the inputs loaded and the database ready.

`prepare` is what a notebook's first code cell calls (through `perflab.open_database`).
Inside `perflab run` the database was built before the notebooks started, so this finds
it in the cache; run by hand (JupyterLab, nbval) it builds it on first use.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from perflab.database.build import BuildReport
from perflab.database.source import Source, load_dataset_spec, open_source
from perflab.database.spec import DatasetSpec
from perflab.inputs.config import RunConfig, RunInputs
from perflab.inputs.targets import Targets, load_targets
from perflab.inputs.userdb import resolve_inputs
from perflab.inputs.workload import Workload, load_workload
from perflab.sqlite import engine


@dataclass(frozen=True)
class RunContext:
    config: RunConfig
    build: BuildReport
    workload: Workload
    targets: Targets
    run_dir: Path | None
    source: Source | None = None  # where the database came from (`prepare` opened it)

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


def load_inputs(cfg: RunConfig) -> tuple[Source, Workload, Targets]:
    """Parse and cross-check every input file; errors name the file and entry."""
    source = open_source(cfg.dataset, scale=cfg.profile.scale, seed=cfg.seed)
    wl = load_workload(cfg.workload)
    tg = load_targets(
        cfg.targets,
        queries={q.name for q in wl.queries},
        operations={w.name for w in wl.writes} | {c.name for c in wl.concurrency},
    )
    return source, wl, tg


def prepare(
    inputs: RunInputs, *, run_dir: str | Path | None = None, progress: bool = True
) -> RunContext:
    """Load and cross-check the inputs and ready the database: built (or found in the cache)
    from a spec, or a snapshot of the user's. ``db`` / ``schema`` are resolved first
    (`perflab.inputs.userdb.resolve_inputs`); `perflab run` resolves them before, to say
    its notes, and passes the result."""
    inputs = resolve_inputs(inputs).inputs
    cfg = RunConfig.create(inputs)
    source, wl, tg = load_inputs(cfg)
    build = source.build(progress=progress)
    return RunContext(cfg, build, wl, tg, Path(run_dir) if run_dir else None, source)
