"""Stage results in the run folder: each notebook saves, the summary reads.

Files live in `<run_dir>/results/<stage>.json`, so nothing is computed twice
and a stakeholder's summary comes from exactly what the notebooks showed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from numpy/pandas values; NaN and inf become null."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(data), fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(run_dir: str | Path | None, stage: str, data: Any) -> Path | None:
    """Save a stage's results; a notebook run outside `perflab run` has no run_dir."""
    if not run_dir:
        return None
    return write_json_atomic(Path(run_dir) / "results" / f"{stage}.json", data)


def load(run_dir: str | Path, stage: str, default: Any = None) -> Any:
    path = Path(run_dir) / "results" / f"{stage}.json"
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))
