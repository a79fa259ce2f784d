"""Locations of perflab's embedded inputs and of what it writes.

The embedded inputs (notebooks, schemas, dataset specs, workloads, targets, the summary
JSON Schema) live in the checkout's top-level ``notebooks/`` and ``data/`` and ship inside
the wheel as ``perflab/notebooks`` and ``perflab/data`` (`resource_dir` finds either),
never through the working directory: papermill runs kernels in the caller's directory
and nbval in the notebook's, and an installed wheel has no checkout around it.

What perflab writes depends on where it runs from. In a source checkout (the package
is its ``lib/perflab``): runs under ``outputs/``, the cache in ``outputs/.cache``, as
before. Installed (a wheel in any environment): runs under ``./perflab-runs/`` of the
current directory, the cache in ``$XDG_CACHE_HOME/perflab`` (default
``~/.cache/perflab``). ``PERFLAB_CACHE_DIR`` overrides the cache in both.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from perflab.fsio import atomic_write_text

PACKAGE_DIR = Path(__file__).resolve().parent


def _checkout() -> Path | None:
    root = PACKAGE_DIR.parents[1]
    if (root / "pyproject.toml").is_file() and root / "lib" / "perflab" == PACKAGE_DIR:
        return root
    return None


#: The source checkout this package lives in (``lib/perflab``), or None when installed.
CHECKOUT: Path | None = _checkout()


def resource_dir(name: str) -> Path:
    """The one resolver of perflab's embedded folders (``notebooks``, ``data``): the
    checkout's top-level folder first (the layout of the design card), else the installed
    package's copy (the wheel ships them inside ``perflab/``)."""
    if CHECKOUT is not None and (CHECKOUT / name).is_dir():
        return CHECKOUT / name
    return PACKAGE_DIR / name


DATA_DIR = resource_dir("data")
SCHEMAS_DIR = DATA_DIR / "schemas"
DATASETS_DIR = DATA_DIR / "datasets"
WORKLOADS_DIR = DATA_DIR / "workloads"
TARGETS_DIR = DATA_DIR / "targets"
NOTEBOOKS_DIR = resource_dir("notebooks")
SUMMARY_SCHEMA = DATA_DIR / "summary.schema.json"

DEFAULT_NAME = "agent_orchestrator"
DEFAULT_SCHEMA = SCHEMAS_DIR / f"{DEFAULT_NAME}.sql"
DEFAULT_DATASET = DATASETS_DIR / f"{DEFAULT_NAME}.yaml"
DEFAULT_WORKLOAD = WORKLOADS_DIR / f"{DEFAULT_NAME}.yaml"
DEFAULT_TARGETS = TARGETS_DIR / f"{DEFAULT_NAME}.yaml"

#: Folder of run folders when perflab is installed rather than run from a checkout.
INSTALLED_RUNS = "perflab-runs"


def runs_dir() -> Path:
    """Where `perflab run` puts a run folder without ``--out``: the checkout's ``outputs/``,
    or ``./perflab-runs/`` (of the current directory) when installed."""
    if CHECKOUT is not None:
        return CHECKOUT / "outputs"
    return Path.cwd() / INSTALLED_RUNS


def cache_dir() -> Path:
    """Where built databases, snapshots and generated inputs are cached: PERFLAB_CACHE_DIR,
    else the checkout's ``outputs/.cache``, else the user's cache folder
    (``$XDG_CACHE_HOME/perflab``, default ``~/.cache/perflab``)."""
    env = os.environ.get("PERFLAB_CACHE_DIR")
    if env:
        return Path(env)
    if CHECKOUT is not None:
        return CHECKOUT / "outputs" / ".cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "perflab"


def cache_file(kind: str, stem: str, content: str, suffix: str) -> Path:
    """A generated input file in perflab's cache, named by its content's hash."""
    key = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    folder = cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{key}{suffix}"
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        atomic_write_text(path, content)
    return path
