"""`perflab run`: database, notebooks through papermill, HTML, summary, index.

The run is assembled in a staging folder beside the destination and moved into
place at the end, so a failed or interrupted run never replaces a good report.
A failing notebook's partial output is still published (to the destination if
it is free, else beside it) with the failing cell named.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from perflab import paths
from perflab.errors import PerflabError
from perflab.fsio import share_mode
from perflab.inputs.config import RunInputs
from perflab.inputs.context import RunContext, prepare
from perflab.ownership import check_run_folder, publish_run_folder
from perflab.run.html_workers import Exports, executed_notebook, export_all
from perflab.run.kernel import SharedKernel, warm_code

NOTEBOOKS = ("01_query_plans", "02_latency")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    index: Path
    summary: dict


#: Notebooks for exploring by hand, not stages of a run (00_explore: the lab).
LAB_NOTEBOOKS = ("00_explore",)

#: Stages that time nothing (06 gathers the records, checks integrity and judges): while
#: one runs, the notebooks before it are exported to HTML in a thread beside it. Every
#: other stage measures, and nothing runs beside a measurement: the export of a measuring
#: notebook waits until no measuring notebook is left to run.
MEASURES_NOTHING = ("06_summary",)


def notebook_names() -> list[str]:
    """Every committed stage notebook, in order (NN_name.ipynb), without the lab's."""
    found = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    return [n for n in found if n not in LAB_NOTEBOOKS] or list(NOTEBOOKS)


def _check_writable(out: Path) -> None:
    check_run_folder(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".perflab-probe-"):
            pass
    except OSError as exc:
        raise PerflabError(f"{out}: output folder is not writable ({exc.strerror})") from None


def _publish(staging: Path, out: Path) -> Path:
    """Move the staging folder to `out`, replacing an earlier report only at the end, and
    only when perflab made it (perflab.ownership)."""
    return publish_run_folder(staging, out, out.name)


def _failure_dest(out: Path) -> Path:
    if not out.exists():
        return out
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return out.with_name(f"{out.name}-failed-{stamp}")


def _cell_error(exc: Exception) -> str:
    idx = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).splitlines()
    where = (
        f"executed cell {idx}" + (f" (In [{count}])" if count else "")
        if idx is not None
        else "a cell"
    )
    return f"{where}: {ename}: {evalue[0] if evalue else ''}"


class _Interrupts:
    """Ctrl-C stops the run even when a library swallows the KeyboardInterrupt it raised
    (seen under load: SIGINT while papermill starts a kernel, and the run went on to the
    end). The handler still raises at once; it also remembers, and `check` raises again
    between notebooks, so an interrupt is at worst one notebook late, never lost."""

    def __init__(self) -> None:
        self.seen = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        """The caller's own handler back (a Python API user's, or Python's default)."""
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum, frame) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt


def _source(name: str) -> Path:
    return paths.NOTEBOOKS_DIR / f"{name}.ipynb"


def execute_notebook(
    name: str, staging: Path, parameters: dict, kernel: SharedKernel | None = None
) -> float:
    """Run one notebook through papermill into `staging/notebooks/`, in the run's
    `kernel` (a kernel of its own when None); seconds taken."""
    import papermill as pm

    src, dst = _source(name), executed_notebook(staging, name)
    dst.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        if kernel is None:
            with SharedKernel(dst.with_suffix(".kernel.log")) as own:
                own.execute(src, dst, parameters, paths.NOTEBOOKS_DIR)
        else:
            kernel.execute(src, dst, parameters, paths.NOTEBOOKS_DIR)
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(name, _cell_error(exc)) from None
    return time.perf_counter() - t0


class NotebookFailed(PerflabError):
    exit_code = 1

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"notebook {name} failed in {detail}")
        self.notebook = name


def default_out(profile: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return paths.runs_dir() / f"{stamp}-{profile}"


def run(
    inputs: RunInputs,
    out: str | Path | None = None,
    *,
    notebooks: list[str] | None = None,
    baseline: str | Path | None = None,
    min_effect: float | None = None,
) -> RunResult:
    """Run ``inputs`` into the run folder ``out``: ``notebooks`` (default: every stage),
    compared with ``baseline`` when given."""
    t_start = time.perf_counter()
    stages: dict[str, float] = {}
    profile = inputs.profile
    out = Path(out).expanduser().resolve() if out else default_out(profile)
    run_id = out.name
    _check_writable(out)  # before anything is read or copied: never touch what is not ours
    names = notebooks or notebook_names()
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    share_mode(staging, folder=True)
    (staging / "notebooks").mkdir()
    done: list[dict] = []
    interrupts = _Interrupts()
    kernel = SharedKernel(staging / "notebooks" / "kernel.log")
    exports = Exports(staging)
    try:
        # the kernel boots and imports what the notebooks import while the inputs are
        # checked and the database prepared; the first notebook's cells queue behind that
        kernel.start(paths.NOTEBOOKS_DIR, warm_code([_source(n) for n in names]))
        # what the end of the run needs (nbconvert, ~0.4 s) loads beside the kernel's boot
        from perflab.present.pages import write_index
        from perflab.present.report_page import write_report
        from perflab.run.summary import build_summary, write_summary

        base_summary = None
        if baseline:
            from perflab.judge.compare import load_summary

            base_summary = load_summary(baseline)

        _say(f"perflab: profile {profile}: preparing the database")
        t0 = time.perf_counter()
        # the front door, once: inputs resolved, checked and fitted, the database ready
        ctx: RunContext = prepare(inputs, progress=True, notebooks=names)
        stages["database"] = time.perf_counter() - t0
        for note in ctx.notes:
            _say(f"perflab: {note}")
        _say(
            f"perflab: database "
            f"{'snapshot' if ctx.build.source else 'reused' if ctx.build.from_cache else 'built'}: "
            f"{sum(ctx.build.row_counts.values()):,} rows ({ctx.db_path})"
        )

        # the HTML exporters warm up while the kernel ends its imports, before anything is
        # measured: the processes that make 01-05's pages beside 06 are forked warm
        exports.warm()
        params = {"run_dir": str(staging), "inputs": ctx.inputs.to_dict()}
        for i, name in enumerate(names, 1):
            interrupts.check()
            _say(f"perflab: [{i}/{len(names)}] {name} ...")
            if name in MEASURES_NOTHING and all(n in MEASURES_NOTHING for n in names[i:]):
                exports.start([d["name"] for d in done])
            try:
                secs = execute_notebook(name, staging, params, kernel)
            except NotebookFailed:
                kernel.shutdown()
                done.append({"name": name, "status": "failed"})
                exports.cancel()
                export_all(staging, [d["name"] for d in done], sections=False)
                dest = _publish(staging, _failure_dest(out))
                _say(f"perflab: partial results in {dest}")
                raise
            stages[f"notebook:{name}"] = secs
            done.append(
                {
                    "name": name,
                    "status": "ok",
                    "seconds": round(secs, 3),
                    "ipynb": f"notebooks/{name}.ipynb",
                    "html": f"notebooks/{name}.html",
                }
            )
            _say(f"perflab: [{i}/{len(names)}] {name} ok ({secs:.1f} s)")
        kernel.shutdown()
        interrupts.check()
        t0 = time.perf_counter()
        html_secs, rendered = exports.finish(names)
        stages["html_export"] = time.perf_counter() - t0  # what the run waited for
        for d in done:
            if d["name"] in html_secs:
                d["html_seconds"] = round(html_secs[d["name"]], 3)
        stages["total"] = time.perf_counter() - t_start
        summary = build_summary(staging, ctx, run_id=run_id, notebooks=done, stages=stages)
        if base_summary is not None:
            _add_comparison(staging, base_summary, summary, min_effect)
        write_summary(staging, summary)
        write_report(staging, summary, rendered)  # report.html: the whole run in one file
        write_index(staging, summary)
        dest = _publish(staging, out)
    except BaseException:
        kernel.shutdown()
        exports.cancel()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        interrupts.restore()
    return RunResult(dest, dest / "index.html", summary)


def _add_comparison(
    staging: Path, base: dict, summary: dict, min_effect: float | None = None
) -> None:
    """Compare against the baseline; the page and the summary's `comparison` key."""
    from perflab.fsio import atomic_write_text
    from perflab.judge.compare import DEFAULT_MIN_EFFECT, compare
    from perflab.present.comparison import html_report

    cmp = compare(base, summary, DEFAULT_MIN_EFFECT if min_effect is None else min_effect)
    summary["comparison"] = cmp
    atomic_write_text(staging / "comparison.html", html_report(cmp))
    _say(
        f"perflab: against baseline {cmp['base_run']}: {cmp['regressions']} regression(s), "
        f"{cmp['plan_regressions']} plan regression(s), {cmp['improvements']} improvement(s)"
        + (f"; warning: {cmp['machine']['warning']}" if cmp["machine"]["warning"] else "")
    )
