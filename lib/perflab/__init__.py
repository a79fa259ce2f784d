"""perflab: performance analysis and validation for SQLite schemas.

The public Python API: what the command line does, as functions (the way sqlite-utils'
CLI mirrors its Python API). Each is a thin wrapper over the library module that does
the work, imported when first called, so ``import perflab`` stays fast.

========================  ===============================================================
``perflab run``           `run_suite` (a `perflab.run.runner.RunResult`: folder, index, summary)
``perflab sweep MATRIX``  `sweep` (a `perflab.run.sweep.SweepResult`: cells, sweep.json, page)
``perflab compare A B``   `compare_runs` (the comparison dict; `perflab.judge.compare` renders it)
``perflab history RUNS``  `history` (a `perflab.judge.history.History`; ``out=``: its page and JSON)
``perflab capture``       `capture_workload` (the workload YAML text; written with ``out=``)
``perflab workload init`` `draft_workload` (the same, drafted from a database or DDL)
``perflab notebooks DIR`` `copy_notebooks` (the folder, to open in JupyterLab)
(notebooks' first cell)   `open_database` -> a `perflab.inputs.context.RunContext`
(the data, read-only)     `browse` (a sqlite-utils Database on the snapshot)
(a query at a time)       `explain`, `time_query`, `count_work` on a context or connection
(what if, on a copy)      `try_index`, `try_rewrite`; `query_box` (a JupyterLab widget)
========================  ===============================================================

The query-at-a-time functions live in `perflab.lab`; their results draw themselves in
JupyterLab (plan trees, percentiles with intervals, before/after side by side).

No public name equals a floor's (``perflab.run``, ``perflab.measure``...): importing the
package ``perflab.run`` would otherwise replace a function ``perflab.run`` with it.
"""

from __future__ import annotations

from perflab.errors import PerflabError

#: Not ``typing.TYPE_CHECKING``: importing typing cost several times the rest of
#: ``import perflab`` (benchmarks/bench_import.py); type checkers treat both alike.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any

    from perflab.inputs.context import RunContext
    from perflab.judge.history import History
    from perflab.lab.explore import Experiment, Plan, Timing
    from perflab.run.runner import RunResult
    from perflab.run.sweep import SweepResult

__version__ = "0.1.0"

__all__ = [
    "PerflabError",
    "__version__",
    "browse",
    "capture_workload",
    "compare_runs",
    "copy_notebooks",
    "count_work",
    "draft_workload",
    "explain",
    "history",
    "open_database",
    "query_box",
    "run_suite",
    "sweep",
    "time_query",
    "try_index",
    "try_rewrite",
]


def run_suite(
    profile: str = "quick",
    out: str | Path | None = None,
    *,
    notebooks: Sequence[str] | None = None,
    baseline: str | Path | None = None,
    min_effect: float | None = None,
    **inputs: Any,
) -> RunResult:
    """`perflab run`: build or reuse the database, run every notebook, publish the run folder.

    ``inputs`` are the run's, as the command's options: ``db``, ``schema``, ``dataset``,
    ``workload``, ``targets``, ``seed``, ``iterations``, ``milestone``
    (`perflab.inputs.config.RunInputs`). ``notebooks`` (names) runs only some;
    ``baseline`` and ``min_effect`` compare with an earlier run. Progress goes to stderr,
    as on the command line.
    """
    from perflab.inputs.config import RunInputs
    from perflab.run.runner import run

    return run(
        RunInputs.create(profile, **inputs),
        out,
        notebooks=list(notebooks) if notebooks else None,
        baseline=baseline,
        min_effect=min_effect,
    )


def sweep(
    matrix: str | Path,
    out: str | Path | None = None,
    *,
    scheduler: str | None = None,
    shared_dir: str | Path | None = None,
    progress: bool = True,
) -> SweepResult:
    """`perflab sweep MATRIX.yaml`: every cell of the matrix one complete run on Dask
    distributed (a local cluster of one worker and one thread, or ``scheduler``'s workers),
    cells already finished in ``out`` reused, then compared into ``sweep.json`` and
    ``sweep.html``. Ctrl-C cancels the cells left and raises KeyboardInterrupt after
    writing sweep.json from the finished ones."""
    from perflab.run.sweep import sweep as run_sweep

    return run_sweep(matrix, out, scheduler=scheduler, shared_dir=shared_dir, progress=progress)


def compare_runs(base: str | Path, head: str | Path, min_effect: float | None = None) -> dict:
    """`perflab compare BASE HEAD`: two run folders or summary.json files, compared."""
    from perflab.judge.compare import DEFAULT_MIN_EFFECT, compare, load_summary

    effect = DEFAULT_MIN_EFFECT if min_effect is None else min_effect
    return compare(load_summary(base), load_summary(head), effect)


def history(
    paths: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    *,
    min_effect: float | None = None,
) -> History:
    """`perflab history RUNS...`: run folders or summary.json files (or folders of them),
    ordered by commit and time, with each query's and write's timings and work as series
    and their change points; with ``out``, history.html and history.json written there
    (a new folder or one perflab wrote). A path that is no run is an error, nothing written."""
    from pathlib import Path as _Path

    from perflab.judge.history import history as build
    from perflab.present.history_page import write_history

    h = build([paths] if isinstance(paths, (str, _Path)) else list(paths), min_effect)
    if out is not None:
        write_history(h, out)
    return h


def capture_workload(
    command: Sequence[str] | None = None,
    *,
    from_log: str | Path | None = None,
    name: str = "captured",
    out: str | Path | None = None,
    max_values: int | None = None,
    warn: Callable[[str], object] | None = None,
) -> str:
    """`perflab capture`: run ``command`` (or read ``from_log``) and return the workload YAML;
    with ``out``, also write it there (only over a file perflab wrote and nobody edited).
    ``max_values``: parameter tuples kept per shape; ``warn`` hears about a command that
    exited non-zero. No statement recorded is an error, as on the command line."""
    from perflab.inputs import capture

    return capture.capture(
        tuple(command or ()),
        from_log=from_log,
        out=out,
        name=name,
        max_values=capture.MAX_VALUES if max_values is None else max_values,
        warn=warn or (lambda _msg: None),
    ).text


def draft_workload(db: str | Path | None = None, schema: str | Path | None = None) -> str:
    """`perflab workload init`: a workload drafted from a database (read on a snapshot) or
    a DDL file, as YAML text."""
    from perflab.inputs.draft import draft_workload as draft

    return draft(db=db, schema=schema)


def copy_notebooks(dest: str | Path) -> Path:
    """`perflab notebooks DIR`: the notebooks copied into a new folder (or a copy perflab
    made and nobody changed since), to open and edit in JupyterLab."""
    from perflab.run.notebook_copy import copy_notebooks as copy

    return copy(dest)


def open_database(
    profile: str = "tiny", *, run_dir: str | Path | None = None, **inputs: Any
) -> RunContext:
    """The inputs loaded and the database ready, as a notebook starts: the embedded example
    built at ``profile`` (cached), a snapshot of your ``db``, or data generated for your
    ``schema``. ``inputs`` are `perflab run`'s: ``db``, ``schema``, ``dataset``,
    ``workload``, ``targets``, ``seed``, ``iterations``, ``milestone`` (None or "": not
    given). With
    ``run_dir`` the stages save their records there. ``ctx.connect()`` gives a read-only
    connection with the run's pragmas."""
    from perflab.inputs.config import RunInputs
    from perflab.inputs.context import prepare

    return prepare(RunInputs.create(profile, **inputs), run_dir=run_dir, progress=False)


def browse(target: RunContext | sqlite3.Connection) -> Any:
    """A `sqlite_utils.Database` on the run's snapshot, opened read-only, for exploring the
    data by hand (tables, rows, ``analyze_column``); your own connection is used as is."""
    from perflab.lab.explore import browse as browse_db

    return browse_db(target)


def explain(
    target: RunContext | sqlite3.Connection,
    sql: str,
    params: Sequence = (),
    *,
    diagnose: bool = False,
) -> Plan:
    """The query's plan with these parameter values: a list of steps, each classified
    (``kind``: search, covering index, scan, temp B-tree, ...), with ``findings``,
    ``counters`` (SQLite's work per execution) and, with ``diagnose=True``, why-not
    ``diagnostics``; ``.text`` draws it as the sqlite3 shell does, JupyterLab as a tree."""
    from perflab.lab.explore import explain as explain_query

    return explain_query(target, sql, params, diagnose=diagnose)


def time_query(
    target: RunContext | sqlite3.Connection,
    sql: str,
    params: Sequence = (),
    *,
    iterations: int = 1000,
    warmup: int = 50,
) -> Timing:
    """Time ``iterations`` executions (each with its fetch) after ``warmup`` untimed ones;
    ``params`` is one tuple or a list of tuples, cycled. Returns ``latency_ms`` (p50, p95,
    p99, p999, max, min, mean), ``latency_ci_ms`` (95% intervals), ``ops_per_s``, ``n``,
    and ``counters`` (SQLite's work per execution, from a separate untimed pass)."""
    from perflab.lab.explore import time_query as time_it

    return time_it(target, sql, params, iterations=iterations, warmup=warmup)


def count_work(
    target: RunContext | sqlite3.Connection,
    sql: str,
    params: Sequence = (),
    *,
    executions: int = 100,
) -> dict:
    """SQLite's own work counters per execution (VM steps, full-scan steps, sorts,
    automatic-index rows, rows), untimed: the ``counters`` record of summary.json, with
    its ``sentence``. Where this SQLite lacks ``sqlite_stmt``, ``source`` is None and
    ``reason`` says why."""
    from perflab.lab.explore import connection, param_rows
    from perflab.sqlite.counters import count_work as count
    from perflab.sqlite.counters import counter_record, unavailable_reason

    with connection(target) as conn:
        return counter_record(
            count(conn, sql, param_rows(params, executions)), unavailable_reason(conn)
        )


def try_index(
    target: RunContext | sqlite3.Connection, ddl: str, sql: str, params: Sequence = (), **opts
) -> Experiment:
    """``ddl`` applied to a copy, the query timed before and after interleaved: the ratio
    of medians with its 99% interval, a verdict (faster, not faster, inconclusive), both
    plans and both work counts. ``opts``: ``rounds``, ``executions``, ``min_effect``."""
    from perflab.lab.explore import try_index as try_it

    return try_it(target, ddl, sql, params, **opts)


def try_rewrite(
    target: RunContext | sqlite3.Connection,
    sql: str,
    rewritten: str,
    params: Sequence = (),
    **opts,
) -> Experiment:
    """The query and a rewrite of it, timed interleaved on the same read-only database, with
    ``equivalent`` saying whether they return the same rows for every parameter set."""
    from perflab.lab.explore import try_rewrite as try_it

    return try_it(target, sql, rewritten, params, **opts)


def query_box(target: RunContext | sqlite3.Connection, sql: str = "", params: Sequence = ()):
    """An ipywidgets box for JupyterLab: edit the SQL and parameters, press Run, read the
    plan tree and the timing side by side."""
    from perflab.lab.widgets import query_box as box

    return box(target, sql, params)
