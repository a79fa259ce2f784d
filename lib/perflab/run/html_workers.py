"""The run's HTML: each executed notebook's page and its section of report.html, made in
forked processes beside the last notebook (which measures nothing) and the rest at the end.

Kept apart from the runner's orchestration (`perflab.run.runner`) because it is its own
small scheduler: processes, pipes, a timeout, and a fallback that makes in the run's own
process whatever a worker did not send.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perflab.present.report_page import Section

__all__ = ["EXPORT_PROCESSES", "EXPORT_TIMEOUT", "Exports", "executed_notebook", "export_all"]


def executed_notebook(staging: Path, name: str) -> Path:
    """Where notebook `name` of the run is executed to."""
    return staging / "notebooks" / f"{name}.ipynb"


def export_all(
    staging: Path, names: list[str], sections: bool = True, exporters: tuple | None = None
) -> tuple[dict[str, float], dict[str, Section]]:
    """Each executed notebook's HTML page and, with `sections`, its section of report.html;
    the seconds of both per notebook (bench_run.py prints them) and the sections.
    `exporters`: (page, section) exporters to use, from `exporters`."""
    from perflab.present.htmlexport import export_notebook_html
    from perflab.present.report_page import render_section

    page, part = exporters or _exporters()
    secs: dict[str, float] = {}
    made: dict[str, Section] = {}
    for name in names:
        nb = executed_notebook(staging, name)
        if nb.exists():
            t0 = time.perf_counter()
            export_notebook_html(nb, nb.with_suffix(".html"), page)
            if sections:
                made[name] = render_section(nb, name, part)
            secs[name] = time.perf_counter() - t0
    return secs, made


def _exporters(warm: bool = False) -> tuple:
    """An exporter of pages and one of report sections, for several notebooks; with `warm`,
    each has rendered a small notebook once (`htmlexport.warm_up`: a first rendering costs
    ~0.45 s more than the next)."""
    from perflab.present.htmlexport import make_exporter, warm_up
    from perflab.present.report_page import section_exporter

    page, part = make_exporter(), section_exporter()
    if warm:
        warm_up(page, part)
    return page, part


def _export_worker(conn, staging: Path, names: list[str], exporters: tuple | None) -> None:
    """In a forked process: make, send, exit. A failure sends nothing; the run then
    makes those itself, and raises there what is wrong. `exporters` are the run's, warm
    (a forked process inherits them as they are)."""
    try:
        conn.send(export_all(staging, names, exporters=exporters))
    finally:
        conn.close()


#: How long the run waits for the HTML made beside 06 before it kills the processes and
#: makes it itself (a process that hangs must not hang the run).
EXPORT_TIMEOUT = 300.0
#: Processes making HTML beside 06 (the machines have 2 cores; 06 keeps one busy briefly).
EXPORT_PROCESSES = 2


class Exports:
    """The HTML pages and report sections of the notebooks done, made while a notebook that
    measures nothing runs (`MEASURES_NOTHING`), the rest when `finish` is called; each
    notebook made once.

    Beside that notebook they are made in forked processes (Linux), on the core the kernel
    does not use and, once it is done, on both; the run then makes that notebook's own page
    and section while they go on. Elsewhere all are made at `finish`. `warm` makes the
    exporters warm now, before anything is measured (`exporters`), so that the processes
    forked later inherit them warm."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.started: list[str] = []
        self.workers: list = []  # (process, connection)
        self.exporters: tuple | None = None  # (page, section), from `warm`

    def warm(self) -> None:
        self.exporters = _exporters(warm=True)

    def start(self, names: list[str]) -> None:
        if not sys.platform.startswith("linux") or not names:
            return
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        sizes = {n: executed_notebook(self.staging, n).stat().st_size for n in names}
        groups: list[list[str]] = [[] for _ in range(min(EXPORT_PROCESSES, len(names)))]
        for n in sorted(names, key=lambda n: -sizes[n]):  # largest first, to the lightest
            min(groups, key=lambda g: sum(sizes[x] for x in g)).append(n)
        for group in groups:
            conn, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_export_worker,
                args=(child, self.staging, group, self.exporters),
                daemon=True,
            )
            proc.start()
            child.close()
            self.workers.append((proc, conn))
        self.started = list(names)

    def wait(self) -> tuple[dict[str, float], dict[str, Section]]:
        """What the processes made; nothing from one that failed or timed out (it is
        killed)."""
        secs: dict[str, float] = {}
        made: dict[str, Section] = {}
        deadline = time.monotonic() + EXPORT_TIMEOUT
        for _proc, conn in self.workers:
            try:
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    got_secs, got = conn.recv()
                    secs.update(got_secs)
                    made.update(got)
            except (EOFError, OSError):  # it died without sending
                pass
        self.cancel()
        return secs, made

    def cancel(self) -> None:
        """Stop the processes (those that sent are done already); drop what is unsent."""
        for proc, conn in self.workers:
            if proc.is_alive():
                proc.kill()
            proc.join()
            conn.close()
        self.workers = []

    def finish(self, names: list[str]) -> tuple[dict[str, float], dict[str, Section]]:
        """Every notebook's page and section: those the processes were not given here, while
        they go on; then theirs, and any they did not make."""
        mine = [n for n in names if n not in self.started]
        secs, made = export_all(self.staging, mine, exporters=self.exporters)
        theirs_secs, theirs = self.wait()
        secs.update(theirs_secs)
        made.update(theirs)
        rest = [n for n in names if n not in secs]
        if rest:
            late_secs, late = export_all(self.staging, rest, exporters=self.exporters)
            secs.update(late_secs)
            made.update(late)
        return secs, made
