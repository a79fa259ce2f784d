"""`perflab notebooks DIR`: the notebooks, copied where a user may open and edit them.

The notebooks ship inside the package; opened there, JupyterLab would save edits and
checkpoints into the installed package. The copy is a folder perflab makes, marked
like a run folder (`perflab.ownership`): it is replaced by a later copy only while
nobody changed it; once a notebook is edited or JupyterLab wrote its checkpoints there,
the folder is the user's and is refused with one line.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from perflab import paths
from perflab.fsio import share_mode
from perflab.ownership import check_run_folder, publish_run_folder


def copy_notebooks(dest: str | Path) -> Path:
    """Copy every packaged notebook into the new folder `dest` (or refresh a copy perflab
    made and nobody changed); returns the folder."""
    out = Path(dest).expanduser().resolve()
    check_run_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    share_mode(staging, folder=True)
    try:
        for nb in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
            shutil.copyfile(nb, staging / nb.name)
        return publish_run_folder(staging, out, "notebooks")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
