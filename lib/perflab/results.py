"""Stage results in the run folder: each notebook saves, the summary reads.

Files live in `<run_dir>/results/<stage>.json`, so nothing is computed twice
and a stakeholder's summary comes from exactly what the notebooks showed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from perflab.fsio import atomic_write_text


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
    """Write ``data`` as indented JSON (NaN/inf as null) with `fsio.atomic_write_text`."""
    text = json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


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
