"""What every notebook starts from: the inputs loaded and the database ready.

`prepare` is what a notebook's first code cell calls (through `perflab.open_database`).
Inside `perflab run` the database was built before the notebooks started, so this finds
it in the cache; run by hand (JupyterLab, nbval) it builds it on first use.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from perflab.database import checks
from perflab.database.build import BuildReport, cached_database
from perflab.database.source import Source, load_dataset_spec, open_source
from perflab.database.spec import DatasetSpec
from perflab.errors import PerflabError
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
    inputs: RunInputs,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    notebooks: Sequence[str] = (),
) -> RunContext:
    """Load and cross-check the inputs and ready the database: built (or found in the cache)
    from a spec, or a snapshot of the user's. ``db`` / ``schema`` are resolved first
    (`perflab.inputs.userdb.resolve_inputs`); `perflab run` resolves them before, to say
    its notes, and passes the result.

    ``notebooks``: the notebooks the run will execute (`perflab run` passes them). What they
    need from the database is then made here, beside the run's own build, in `WORKERS`
    processes: 05's sweep sizes (`perflab.measure.scale.sweep_specs`) and 06's integrity
    check (`perflab.database.checks`). Nothing is measured while they run: this returns only
    once every process has finished, and the runner starts the first notebook after it."""
    inputs = resolve_inputs(inputs).inputs
    cfg = RunConfig.create(inputs)
    source, wl, tg = load_inputs(cfg)
    wants = {str(n).split("_", 1)[-1] for n in notebooks}
    if wants & {"scale", "summary"}:
        sizes = _sweep_sizes(source, cfg) if "scale" in wants else []
        build = _build_ahead(source, sizes, check="summary" in wants, progress=progress)
    else:
        build = source.build(progress=progress)
    return RunContext(cfg, build, wl, tg, Path(run_dir) if run_dir else None, source)


#: Processes of the database stage: the machine's 2 cores (one build each).
WORKERS = 2


def _sweep_sizes(source: Source, cfg: RunConfig) -> list[tuple[str, DatasetSpec, int | None]]:
    """(scale name, spec, seed) of each sweep size 05 builds at the profile's factors,
    largest first (the longest build starts first), without the run's own database."""
    from perflab.measure.scale import sweep_specs

    try:
        spec = source.dataset_spec()
        sizes = sweep_specs(spec, cfg.profile.scale, cfg.profile.scale_sweep.factors)
    except (PerflabError, KeyError):  # left to notebook 05, which says what is wrong
        return []
    return [(name, s, cfg.seed) for name, s in reversed(sizes) if s is not None]


def _sweep_build(name: str, spec: DatasetSpec, seed: int | None) -> None:
    cached_database(spec, name, seed=seed, progress=False)


def _build_ahead(
    source: Source,
    sizes: list[tuple[str, DatasetSpec, int | None]],
    *,
    check: bool,
    progress: bool,
) -> BuildReport:
    """The run's database in one process, the sweep sizes in the other; once the database
    is built, its check in parts (`perflab.database.checks.check_parts`) goes ahead of the
    sizes not yet started, so the longest tasks start first and both processes finish
    together. At most `WORKERS` tasks run at a time; all have ended when this returns.

    A sweep size or a check part that fails is not an error here: notebook 05 builds the
    size again, notebook 06 runs the check again, and each reports what went wrong."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    if progress:
        what = [f"{len(sizes)} sizes of the scale sweep"] if sizes else []
        what += ["the integrity check"] if check else []
        print(
            f"perflab: beside the run's database, in {WORKERS} processes: {' and '.join(what)}",
            file=sys.stderr,
            flush=True,
        )
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    pending: list[tuple] = [(_sweep_build, *size) for size in sizes]
    parts: list = []
    build: BuildReport | None = None
    t_check = 0.0
    started = ""
    ident = None
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=mp.get_context(method)) as pool:
        main = pool.submit(source.build, progress=progress)
        running = {main}
        try:
            while running or pending:
                while pending and len(running) < WORKERS:
                    fn, *args = pending.pop(0)
                    f = pool.submit(fn, *args)
                    running.add(f)
                    if fn is checks.check_part:
                        parts.append(f)
                done, running = wait(running, return_when=FIRST_COMPLETED)
                if main in done:
                    build = main.result()  # the run's own database: its error is the run's
                    if check and checks.stored(build.path) is None:
                        t_check, started = time.perf_counter(), checks.now_utc()
                        ident = checks.identity(build.path)  # keep() stores only if unchanged
                        names = checks.check_parts(build.path, build.row_counts)
                        pending[:0] = [(checks.check_part, build.path, n) for n in names]
        except BaseException:
            for f in running:
                f.cancel()
            raise
    assert build is not None
    if parts and ident is not None:
        with contextlib.suppress(Exception):
            results = [f.result() for f in parts]
            took = time.perf_counter() - t_check
            checks.keep(
                build.path,
                checks.combine(
                    results,
                    file=ident,
                    checked_at=started,
                    seconds=took,
                    how=f"quick_check of the file and integrity_check of each of its "
                    f"{len(results) - 1} tables, in {WORKERS} processes",
                ),
            )
    return build
