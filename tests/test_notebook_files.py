"""Notebooks as files people share: JupyterLab opens them unmodified, checkpoints stay out of git.

JupyterLab marks a notebook modified on open when it has to upgrade it (nbformat < 4.5, cells
without ids) and rewrites it on save in nbformat's canonical form (sorted keys, indent 1), so
a committed notebook in any other form shows a diff the moment someone saves it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from perflab import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_without_an_upgrade(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert all(c.get("id") for c in nb.cells), "cells without ids: JupyterLab adds them"
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.language_info.name == "python"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.outputs or c.execution_count for c in code), "committed with outputs"


@pytest.mark.parametrize(
    "path",
    [pytest.param(p) for p in NOTEBOOKS],
    ids=lambda p: p.stem,
)
def test_notebook_is_stored_as_jupyterlab_saves_it(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    assert raw == nbformat.writes(nbformat.read(path, as_version=4)) + "\n"


def test_checkpoints_are_ignored_by_git() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for p in (
        ".ipynb_checkpoints/x-checkpoint.ipynb",
        "notebooks/.ipynb_checkpoints/a",
    ):
        proc = subprocess.run(
            ["git", "check-ignore", "-q", p], cwd=REPO, capture_output=True, check=False
        )
        assert proc.returncode == 0, f"{p} is not ignored"
