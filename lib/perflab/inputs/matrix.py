"""A sweep's matrix file: named axes whose cross product is the list of cells.

Each cell is one complete `perflab run`; its key is the SHA-256 of everything that decides
it (engine and its SQLite version, pragmas, profile, seed, and the *contents* of the DDL,
workload, targets and dataset files, never their paths), so a re-run of the sweep finds a
cell it already finished, wherever its files now live.

    name: engine_journal          # optional, names sweep.json's result
    seed: 7                       # optional: every cell's data and sampling seed
    axes:                         # every axis optional (absent: one default value)
      engine: [sqlite3, apsw]     # stdlib's system SQLite, APSW's shipped build
      pragmas:                    # named sets over the application's pragmas
        wal: {journal_mode: WAL}
        rollback: {journal_mode: DELETE, synchronous: FULL}
      scale: [tiny, quick]        # profiles
      schema:                     # DDL files (default: the embedded schema)
        current: default
        advised: advice/after_schema.sql
      workload: [default, mine.yaml]
      targets: [default]

A file axis is a list (labels are the file names) or a mapping label -> file; relative
paths are read from the matrix file's folder. Bad input is one line naming the axis and the
value, before any cell runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab import paths
from perflab.errors import PerflabError
from perflab.fsio import read_text
from perflab.inputs.config import PROFILES
from perflab.inputs.workload import load_workload
from perflab.sqlite.engines import ENGINES, engine_version
from perflab.yamlio import check_keys, load_yaml, require_mapping

__all__ = ["AXES", "PRAGMAS", "Cell", "Matrix", "load_matrix"]

#: Axes in the order a cell's label lists them.
AXES = ("engine", "pragmas", "scale", "schema", "workload", "targets")
FILE_AXES = ("schema", "workload", "targets")
DEFAULT = "default"
#: Bumped when what a key covers changes: older cells are then run again.
KEY_FORMAT = 1

_WORDS = {
    "journal_mode": ("WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"),
    "synchronous": ("OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3"),
    "temp_store": ("DEFAULT", "FILE", "MEMORY", "0", "1", "2"),
    "foreign_keys": ("ON", "OFF", "0", "1"),
}
_INTEGERS = ("cache_size", "mmap_size", "busy_timeout", "wal_autocheckpoint")
#: Pragmas a set may name, with what each accepts.
PRAGMAS = (*_WORDS, *_INTEGERS)


@dataclass(frozen=True)
class Cell:
    """One cell: its axis labels and the inputs of its run, file contents included (a
    worker on another machine writes them out; it never reads the submitter's paths)."""

    axes: tuple[tuple[str, str], ...]  # (axis, value label), in AXES order
    engine: str
    sqlite_version: str
    pragmas: tuple[tuple[str, object], ...]
    profile: str
    seed: int | None
    schema: tuple[str, str] | None  # (file name, DDL text); None: the embedded schema
    workload: tuple[str, str] | None  # (file name, YAML text); None: embedded
    targets: tuple[str, str] | None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.axes)

    @property
    def label(self) -> str:
        return ", ".join(f"{a} {v}" for a, v in self.axes)

    @property
    def key(self) -> str:
        """SHA-256 over what decides the run (contents, never paths); 16 hex digits."""

        def text(given: tuple[str, str] | None, default: Path) -> str:
            return given[1] if given else default.read_text(encoding="utf-8")

        content = {
            "format": KEY_FORMAT,
            "engine": self.engine,
            "sqlite_version": self.sqlite_version,
            "pragmas": dict(self.pragmas),
            "profile": self.profile,
            "seed": self.seed,
            "schema": text(self.schema, paths.DEFAULT_SCHEMA),
            "dataset": paths.DEFAULT_DATASET.read_text(encoding="utf-8"),
            "workload": text(self.workload, paths.DEFAULT_WORKLOAD),
            "targets": text(self.targets, paths.DEFAULT_TARGETS),
        }
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Matrix:
    """A parsed matrix file: its name, its source and its cells (the cross product)."""

    name: str
    path: Path
    sha256: str
    axes: tuple[tuple[str, tuple[str, ...]], ...]  # axis -> value labels
    cells: tuple[Cell, ...]


def _values(raw: Any, where: str) -> list[tuple[str, Any]]:
    """An axis' values as (label, value): a list (label = the value) or a mapping."""
    if isinstance(raw, Mapping):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [(str(v), v) for v in raw]
    else:
        raise PerflabError(f"{where}: expected a list or a mapping of values")
    if not items:
        raise PerflabError(f"{where}: no values")
    labels = [k for k, _ in items]
    dup = next((k for k in labels if labels.count(k) > 1), None)
    if dup is not None:
        raise PerflabError(f"{where}: value {dup!r} given twice")
    return items


def _engine(label: str, value: Any, where: str) -> tuple[str, str]:
    name = str(value)
    if name not in ENGINES:
        raise PerflabError(f"{where}: unknown engine {name!r} (known: {', '.join(ENGINES)})")
    try:
        version = engine_version(name)
    except PerflabError as exc:
        raise PerflabError(f"{where}: {exc}") from None
    return name, version


def _pragma_set(label: str, value: Any, where: str) -> tuple[tuple[str, object], ...]:
    where = f"{where}: {label}"
    if value is None or value == DEFAULT:
        return ()
    if not isinstance(value, Mapping):
        raise PerflabError(f"{where}: expected a mapping of pragma: value")
    out: list[tuple[str, object]] = []
    for name, v in value.items():
        name = str(name)
        if name in _WORDS:
            word = str(v).upper() if not isinstance(v, bool) else ("ON" if v else "OFF")
            if word not in _WORDS[name]:
                raise PerflabError(
                    f"{where}: {name}: {v!r} is not one of {', '.join(_WORDS[name])}"
                )
            out.append((name, word))
        elif name in _INTEGERS:
            if isinstance(v, bool) or not isinstance(v, int):
                raise PerflabError(f"{where}: {name}: expected a whole number, got {v!r}")
            out.append((name, v))
        else:
            raise PerflabError(f"{where}: unknown pragma {name!r} (known: {', '.join(PRAGMAS)})")
    return tuple(sorted(out))


def _file(axis: str, label: str, value: Any, base: Path, where: str) -> tuple[str, str] | None:
    if value is None or value == DEFAULT:
        return None
    p = Path(str(value)).expanduser()
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise PerflabError(f"{where}: {label}: file not found: {value}")
    text = read_text(p, f"{axis} file")
    if axis == "workload":
        try:
            load_workload(p)
        except PerflabError as exc:
            raise PerflabError(f"{where}: {label}: {exc}") from None
    elif axis == "targets":
        try:
            require_mapping(load_yaml(p), f"{p}")
        except PerflabError as exc:
            raise PerflabError(f"{where}: {label}: {exc}") from None
    elif not text.strip():
        raise PerflabError(f"{where}: {label}: {p} is empty")
    return p.name, text


def load_matrix(path: str | Path) -> Matrix:
    """Parse and check a matrix file; every cell's inputs read (nothing is run)."""
    path = Path(path).expanduser()
    text = read_text(path, "matrix file")
    doc = require_mapping(load_yaml(path) if text.strip() else {}, str(path))
    check_keys(doc, {"name", "seed", "axes"}, str(path))
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise PerflabError(f"{path}: seed: expected a whole number, got {seed!r}")
    axes = require_mapping(doc.get("axes") or {}, f"{path}: axes")
    check_keys(axes, set(AXES), f"{path}: axes")
    base = path.resolve().parent
    choices: dict[str, list[tuple[str, Any]]] = {}
    for axis in AXES:
        where = f"{path}: axes: {axis}"
        if axis not in axes:
            choices[axis] = [("", None)]  # not swept: the default, no label
            continue
        items = _values(axes[axis], where)
        if axis == "engine":
            parsed = []
            for label, v in items:
                name, version = _engine(label, v, where)
                parsed.append((f"{name} {version}", (name, version)))
            choices[axis] = parsed
        elif axis == "pragmas":
            choices[axis] = [(k, _pragma_set(k, v, where)) for k, v in items]
        elif axis == "scale":
            for _label, v in items:
                if str(v) not in PROFILES:
                    raise PerflabError(
                        f"{where}: unknown profile {v!r} (known: {', '.join(PROFILES)})"
                    )
            choices[axis] = [(k, str(v)) for k, v in items]
        else:
            choices[axis] = [(k, _file(axis, k, v, base, where)) for k, v in items]
    if choices["engine"] == [("", None)]:
        choices["engine"] = [("", ("sqlite3", engine_version("sqlite3")))]
    cells = []
    for combo in itertools.product(*(choices[a] for a in AXES)):
        chosen = dict(zip(AXES, combo, strict=True))
        engine, version = chosen["engine"][1]
        cells.append(
            Cell(
                axes=tuple((a, chosen[a][0]) for a in AXES if chosen[a][0]),
                engine=engine,
                sqlite_version=version,
                pragmas=chosen["pragmas"][1] or (),
                profile=chosen["scale"][1] or "quick",
                seed=seed,
                schema=chosen["schema"][1],
                workload=chosen["workload"][1],
                targets=chosen["targets"][1],
            )
        )
    keys = [c.key for c in cells]
    dup = next((c for c, k in zip(cells, keys, strict=True) if keys.count(k) > 1), None)
    if dup is not None:
        raise PerflabError(f"{path}: two cells have the same inputs ({dup.label})")
    return Matrix(
        name=str(doc.get("name") or path.stem),
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        axes=tuple((a, tuple(k for k, _ in choices[a])) for a in AXES if choices[a][0][0]),
        cells=tuple(cells),
    )
