"""One kernel for all of a run's notebooks.

Each notebook used to get its own kernel: ~1.2 s to start it and ~1.6 s for the first
cell's imports (numpy, pandas, plotly, perflab), six times a run; a third of the quick
profile's wall time went there (issue 9). The run now starts one kernel, executes the
notebooks in it one after another, and between two notebooks clears what the previous one
left: its variables (`%reset -f`), the garbage they held, and the execution counter, so
each executed notebook reads as if it had run alone. What stays is what an import leaves
(sys.modules), which is the saving.

Nothing runs in the kernel between notebooks but that reset, and nothing runs beside a
notebook: the order and the isolation of the measurements are those of separate kernels.
nbval still executes every notebook in a fresh kernel of its own, so a notebook that only
works after another one fails there.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from jupyter_client.manager import AsyncKernelManager

#: What runs in the kernel before every notebook but the first.
RESET = (
    "get_ipython().run_line_magic('reset', '-f')\n"
    "import gc as _gc; _gc.collect(); del _gc\n"
    "get_ipython().execution_count = 1\n"
)


class _LoggedKernelManager(AsyncKernelManager):
    """A kernel whose stderr goes to a file, not the terminal: on Ctrl-C the kernel is
    shut down mid-cell and would print a traceback there."""

    log_path: Path | None = None
    opened: list = []  # noqa: RUF012 (set per instance in SharedKernel)

    def client(self, **kw):
        kc = super().client(**kw)
        self.opened.append(kc)
        return kc

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        assert self.log_path is not None
        kw["stderr"] = self.log_path.open("ab")
        try:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            kw["stderr"].close()  # the child keeps its own descriptor


class SharedKernel:
    """``with SharedKernel(log) as k: k.execute(src, dst, parameters, cwd)`` per notebook.

    The kernel starts with the first notebook (papermill's client starts it, with the
    notebook's working directory) and is shut down when the block ends, failure or not."""

    def __init__(self, log: Path, kernel_name: str = "python3") -> None:
        self.km = _LoggedKernelManager(kernel_name=kernel_name)
        self.km.log_path = log
        self.km.opened = []
        self.executed = 0

    def __enter__(self) -> SharedKernel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    def execute(self, src: Path, dst: Path, parameters: dict, cwd: Path) -> None:
        """papermill's execute_notebook in this kernel (PapermillExecutionError on a
        failing cell, as before)."""
        import papermill as pm

        # every notebook but the first starts with the reset, through the client papermill
        # has just connected (nbclient's on_notebook_start hook runs before the first cell)
        reset = self._reset if self.executed and self.km.has_kernel else None
        self.executed += 1
        pm.execute_notebook(
            str(src),
            str(dst),
            parameters=parameters,
            kernel_name=self.km.kernel_name,
            progress_bar=False,
            # papermill otherwise rewrites the whole notebook, outputs so far included, at
            # every cell's start and end (06: 76 writes); a failing cell's notebook is
            # still written before PapermillExecutionError is raised, and nobody reads the
            # staging copy while it runs
            request_save_on_cell_execute=False,
            cwd=str(cwd),
            km=self.km,
            on_notebook_start=reset,
        )
        self._close_clients()

    async def _reset(self, notebook=None) -> None:
        kc = self.km.opened[-1]  # the client nbclient made for this notebook
        reply = await kc.execute_interactive(
            RESET, store_history=False, timeout=120, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"resetting the kernel between notebooks failed: {reply['content']}")

    def _close_clients(self) -> None:
        """nbclient leaves connected a client whose kernel it does not own; close it."""
        for kc in self.km.opened:
            kc.stop_channels()
        self.km.opened.clear()

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=True)
