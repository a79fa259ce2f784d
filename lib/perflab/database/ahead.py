"""The run's database stage: its database built in one process while the scale sweep's
sizes and the integrity check go ahead in the other, before anything is measured.

A scheduler of two processes (`concurrent.futures`), kept here on the database floor
because every task it runs is a database build or check; `perflab.inputs.context.prepare`
says which tasks a run needs.
"""

from __future__ import annotations

import contextlib
import sys
import time

from perflab.database import checks
from perflab.database.build import BuildReport, cached_database
from perflab.database.source import Source
from perflab.database.spec import DatasetSpec

__all__ = ["WORKERS", "build_ahead"]


#: Processes of the database stage: the machine's 2 cores (one build each).
WORKERS = 2


def _sweep_build(name: str, spec: DatasetSpec, seed: int | None) -> None:
    cached_database(spec, name, seed=seed, progress=False)


def build_ahead(
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
