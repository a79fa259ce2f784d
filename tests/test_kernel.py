"""One kernel runs all of a run's notebooks, each as if it ran alone."""

from __future__ import annotations

import nbformat
import papermill as pm
import pytest
from perflab.run.kernel import SharedKernel, warm_code


def _notebook(path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = spec
    nbformat.write(nb, path)


def _stdout(path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [o["text"].strip() for c in nb.cells for o in c.get("outputs", []) if "text" in o]


def test_notebooks_share_one_process_but_not_their_variables(tmp_path):
    _notebook(
        tmp_path / "a.ipynb",
        "import os\nleft_over = 42\nprint(os.getpid(), x)",
        "import sys\nsys.modules.setdefault('perflab_kernel_probe', sys)",
    )
    _notebook(
        tmp_path / "b.ipynb",
        "import os, sys\nprint(os.getpid(), x, 'left_over' in globals(), "
        "'perflab_kernel_probe' in sys.modules)",
    )
    with SharedKernel(tmp_path / "kernel.log") as k:
        k.execute(tmp_path / "a.ipynb", tmp_path / "a.out.ipynb", {"x": 1}, tmp_path)
        client = k.km.one
        k.execute(tmp_path / "b.ipynb", tmp_path / "b.out.ipynb", {"x": 2}, tmp_path)
        assert k.km.has_kernel
        # one client, connected and waited for once, serves every notebook
        assert k.km.one is client and client.channels_running
    assert not k.km.has_kernel  # shut down when the block ends
    pid_a, x_a = _stdout(tmp_path / "a.out.ipynb")[0].split()
    pid_b, x_b, leaked, imported = _stdout(tmp_path / "b.out.ipynb")[0].split()
    assert pid_a == pid_b  # one kernel: the imports of the first serve the second
    assert (x_a, x_b) == ("1", "2")  # each notebook gets its own parameters
    assert leaked == "False"  # the first notebook's variables are gone
    assert imported == "True"  # what stays is sys.modules
    b = nbformat.read(tmp_path / "b.out.ipynb", as_version=4)
    counts = [c.execution_count for c in b.cells if c.cell_type == "code"]
    assert counts[0] == 1  # numbered as if it had run alone (a failing cell is named so)


def test_the_shared_kernel_keeps_no_history_and_prints_no_history_error(tmp_path, monkeypatch):
    # the reset between notebooks numbers cells from 1 again; with IPython's history on,
    # its database (the user's ~/.ipython) refused the repeated (session, line) and
    # "ERROR! Session/line number was not unique" landed in a cell of the next notebooks
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    for name in ("a", "b", "c"):
        _notebook(tmp_path / f"{name}.ipynb", "y = 1", "print('ok', y)")
    with SharedKernel(tmp_path / "kernel.log") as k:
        k.start(tmp_path, "import os")  # as a run starts it
        for name in ("a", "b", "c"):
            k.execute(tmp_path / f"{name}.ipynb", tmp_path / f"{name}.out.ipynb", {}, tmp_path)
    for name in ("a", "b", "c"):
        assert _stdout(tmp_path / f"{name}.out.ipynb") == ["ok 1"]
    assert (tmp_path / "ipython" / "profile_default").is_dir()  # the kernel used this dir
    assert not list((tmp_path / "ipython").rglob("history.sqlite"))


def test_a_failing_notebook_raises_and_the_kernel_still_shuts_down(tmp_path):
    _notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    with pytest.raises(pm.PapermillExecutionError), SharedKernel(tmp_path / "k.log") as k:
        k.execute(tmp_path / "bad.ipynb", tmp_path / "bad.out.ipynb", {}, tmp_path)
    assert not k.km.has_kernel
    assert (tmp_path / "k.log").exists()  # the kernel's stderr went to the log


def _counts_and_stdout(path) -> tuple[list[int | None], list[str]]:
    nb = nbformat.read(path, as_version=4)
    return [c.execution_count for c in nb.cells if c.cell_type == "code"], _stdout(path)


def test_a_started_kernel_has_the_notebooks_imports_loaded_and_no_names(tmp_path):
    probe = (
        "import gc, sys\nprint('colorsys' in sys.modules, 'colorsys' in globals(), "
        "'_perflab_warm' in globals(), gc.get_freeze_count() > 0)"
    )
    _notebook(tmp_path / "a.ipynb", probe, "import colorsys\nx = colorsys.rgb_to_hsv(1, 0, 0)")
    warm = warm_code([tmp_path / "a.ipynb", tmp_path / "missing.ipynb"])
    assert "x = " not in warm  # imports only: nothing else of the notebook runs early
    with SharedKernel(tmp_path / "kernel.log") as k:
        k.start(tmp_path, warm)
        k.execute(tmp_path / "a.ipynb", tmp_path / "a.out.ipynb", {"x": 1}, tmp_path)
        assert k.km.one is not None and k.km.one.channels_running  # kept for the next one
    counts, out = _counts_and_stdout(tmp_path / "a.out.ipynb")
    # loaded by the start, not bound, the helper gone, what it loaded frozen for the gc
    assert out[0] == "True False False True"
    assert counts[0] == 1  # the start counted nothing


def test_a_kernel_started_without_imports_loads_nothing(tmp_path):
    _notebook(tmp_path / "a.ipynb", "import sys\nprint('colorsys' in sys.modules)")
    with SharedKernel(tmp_path / "kernel.log") as k:
        k.start(tmp_path)
        k.execute(tmp_path / "a.ipynb", tmp_path / "a.out.ipynb", {}, tmp_path)
    assert _stdout(tmp_path / "a.out.ipynb") == ["False"]


def test_a_kernel_stopped_as_soon_as_started_leaves_no_thread_failing(tmp_path):
    """A run whose input is bad stops the kernel it has just started: nothing may fail in
    a thread then (a heartbeat thread did, printing a traceback under the one-line error)."""
    import threading

    errors: list = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        for _ in range(5):
            k = SharedKernel(tmp_path / "kernel.log")
            k.start(tmp_path)
            k.shutdown()
            assert not k.km.has_kernel
    finally:
        threading.excepthook = previous
    assert errors == []
