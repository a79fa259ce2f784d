"""One kernel for all of a run's notebooks, started before the first one is needed.

Each notebook used to get its own kernel: ~1.2 s to start it and ~1.6 s for the first
cell's imports (numpy, pandas, plotly, perflab), six times a run; a third of the quick
profile's wall time went there (issue 9). The run now starts one kernel, executes the
notebooks in it one after another, and between two notebooks clears what the previous one
left: its variables (`%reset -f`), the garbage they held, and the execution counter, so
each executed notebook reads as if it had run alone. What stays is what an import leaves
(sys.modules), which is the saving.

The kernel is started, and the notebooks' imports sent to it (`warm_code`), while the run
still checks its inputs and prepares the database; nothing is measured then. What those
imports loaded is then frozen for the garbage collector, so the reset's collections walk
only what the notebooks made. One client stays connected for the whole run: nbclient asks
for a client per notebook and waits for it to be ready, 0.2 s of which is a fixed wait for
IOPub to fall silent.

Nothing runs in the kernel between notebooks but that reset, and nothing runs beside a
notebook: the kernel executes one request at a time, so the imports have finished before
the first notebook's first cell, and the order and the isolation of the measurements are
those of separate kernels. nbval still executes every notebook in a fresh kernel of its
own, so a notebook that only works after another one fails there.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import TracebackType

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

#: What runs in the kernel before every notebook but the first.
RESET = (
    "get_ipython().run_line_magic('reset', '-f')\n"
    "import gc as _gc; _gc.collect(); del _gc\n"
    "get_ipython().execution_count = 1\n"
)


#: What a notebook imports without an import statement: plotly's renderer setter
#: (`pio.renderers.default = ...`) loads nbformat, 1.2 s of the first notebook's first cell
#: (jsonschema's format checkers compile their grammars when imported).
LAZY_IMPORTS = ("import nbformat",)


#: After the imports: what they loaded lives as long as the kernel, so the cyclic garbage
#: collector is told to stop walking it (gc.freeze). Each reset between notebooks makes
#: three full collections (two are IPython's); over the ~290k objects of numpy, pandas,
#: plotly and perflab they took 0.45-0.55 s per notebook, after the freeze 0.03-0.08 s.
#: Refcounting still frees everything; only those objects' cycles are never collected.
FREEZE = "import gc as _gc; _gc.collect(); _gc.freeze(); del _gc\n"


def warm_code(notebooks: list[Path]) -> str:
    """The top-level import statements of `notebooks`' code cells and `LAZY_IMPORTS`, run
    inside a function that is deleted after: the modules load, no name is left in the
    namespace; then `FREEZE`. An import that fails here is skipped; the notebook's own
    cell reports it."""
    seen: list[str] = []
    for path in notebooks:
        if not path.is_file():  # executing it names what is missing
            continue
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = cell["source"]
            try:
                tree = ast.parse(source if isinstance(source, str) else "".join(source))
            except SyntaxError:  # IPython magics: the notebook runs them itself
                continue
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    stmt = ast.unparse(node)
                    if stmt not in seen:
                        seen.append(stmt)
    if not seen:
        return ""
    seen += [s for s in LAZY_IMPORTS if s not in seen]
    body = "".join(f"    try:\n        {s}\n    except Exception:\n        pass\n" for s in seen)
    return f"def _perflab_warm():\n{body}\n_perflab_warm()\ndel _perflab_warm\n{FREEZE}"


#: Arguments of the run's kernel (`_LoggedKernelManager.format_kernel_cmd`).
KERNEL_ARGS = ("--HistoryManager.enabled=False",)


class _OneClient(AsyncKernelClient):
    """The run's client. Its channels are started once and stay up; it is waited for
    once (kernel_info answered, IOPub connected), not once per notebook."""

    ready = False

    def start_channels(self, *args, **kw) -> None:
        # no heartbeat: its thread makes its socket late, and a run that fails at once (bad
        # input) closed the context under it ("Too many open files" printed from the
        # thread); the manager is the parent, so liveness is its process's, not a ping's
        if not self.channels_running:
            super().start_channels(*args, **{**kw, "hb": False})

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        if not self.ready:
            await super().wait_for_ready(timeout=timeout)
            self.ready = True

    def stop_channels(self) -> None:
        """Kept up for the next notebook; `close` stops them."""

    def close(self) -> None:
        super().stop_channels()


class _LoggedKernelManager(AsyncKernelManager):
    """A kernel whose stderr goes to a file, not the terminal (on Ctrl-C the kernel is
    shut down mid-cell and would print a traceback there), with one client for all."""

    log_path: Path | None = None
    one: _OneClient | None = None

    def client(self, **kw) -> _OneClient:
        if self.one is None:
            self.one = _OneClient(
                **{**kw, **self.get_connection_info(session=True)},
                connection_file=self.connection_file,
                parent=self,
            )
        return self.one

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # No IPython history: the reset between notebooks sets the execution counter back
        # to 1, and the history database (the user's ~/.ipython, not perflab's to write)
        # then refused the same (session, line) and printed "ERROR! Session/line number
        # was not unique in database" into whatever cell ran when it saved.
        return super().format_kernel_cmd([*(extra_arguments or []), *KERNEL_ARGS])

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        assert self.log_path is not None
        kw["stderr"] = self.log_path.open("ab")
        try:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            kw["stderr"].close()  # the child keeps its own descriptor


class SharedKernel:
    """``with SharedKernel(log) as k: k.execute(src, dst, parameters, cwd)`` per notebook.

    `start` starts the kernel early; else the first notebook starts it (papermill's
    client, with the notebook's working directory). It is shut down when the block ends,
    failure or not."""

    def __init__(self, log: Path, kernel_name: str = "python3") -> None:
        self.km = _LoggedKernelManager(kernel_name=kernel_name)
        self.km.log_path = log
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

    def start(self, cwd: Path, warm: str = "") -> None:
        """Launch the kernel in `cwd` and queue `warm` (run silently, nothing kept in
        history or counted) without waiting for either: the caller goes on while the
        kernel boots; the first notebook's requests queue behind these."""
        from jupyter_core.utils import run_sync

        run_sync(self.km.start_kernel)(cwd=str(cwd))
        kc = self.km.client()
        kc.start_channels()
        if warm:
            kc.execute(warm, silent=True, store_history=False)
        import papermill  # noqa: F401  (loaded here, ~1 s, while the kernel boots)

    def execute(self, src: Path, dst: Path, parameters: dict, cwd: Path) -> None:
        """papermill's execute_notebook in this kernel (PapermillExecutionError on a
        failing cell, as before)."""
        import papermill as pm

        # every notebook but the first starts with the reset, through the run's client
        # (nbclient's on_notebook_start hook runs before the first cell)
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

    async def _reset(self, notebook=None) -> None:
        reply = await self.km.client().execute_interactive(
            RESET, store_history=False, timeout=120, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"resetting the kernel between notebooks failed: {reply['content']}")

    def shutdown(self) -> None:
        """Stop the kernel. A notebook interrupted mid-cell leaves nbclient's tasks pending
        on this thread's loop; they are cancelled first, or they would end in "Kernel
        died" once the kernel is gone, and print it when collected."""
        import asyncio

        from jupyter_core.utils import ensure_event_loop, run_sync

        try:
            asyncio.get_running_loop()  # inside a running loop (a notebook): run_sync's own
        except RuntimeError:
            loop = ensure_event_loop()  # the loop papermill ran this thread's notebooks on
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        if self.km.one is not None:
            self.km.one.close()
            self.km.one = None
        if self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=True)
