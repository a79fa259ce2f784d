"""Stage results in the run folder: each notebook saves, the summary reads.

Files live in `<run_dir>/results/<stage>.json`, so nothing is computed twice
and a stakeholder's summary comes from exactly what the notebooks showed.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text


def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` made of plain JSON types.

    numpy/pandas scalars and arrays become Python numbers and lists, NaN and infinities
    become ``None``, paths and datetimes become strings, tuples and sets become lists.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    # numpy / pandas, without importing them
    if hasattr(value, "tolist") and callable(value.tolist):  # ndarray, numpy scalar
        return to_jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return to_jsonable(value.item())
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp
        return value.isoformat()
    if hasattr(value, "to_dict") and callable(value.to_dict):  # pandas Series
        return to_jsonable(value.to_dict())
    if isinstance(value, Iterable):
        return [to_jsonable(v) for v in value]
    raise PerflabError(f"summary: value of type {type(value).__name__} is not JSON serialisable")


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """A pandas frame as JSON-ready records (NaN and NaT become None); ``None`` gives ``[]``.

    The one conversion every stage uses for the rows it saves, so a missing value reads
    the same in every ``results/<stage>.json``.
    """
    if frame is None:
        return []
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


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
