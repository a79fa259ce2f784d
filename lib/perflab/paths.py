"""Locations of the project's embedded inputs and outputs.

Resolved from the package location, never the working directory: papermill
runs kernels in the caller's directory and nbval in the notebook's.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from perflab.fsio import atomic_write_text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
SCHEMAS_DIR = DATA_DIR / "schemas"
DATASETS_DIR = DATA_DIR / "datasets"
WORKLOADS_DIR = DATA_DIR / "workloads"
TARGETS_DIR = DATA_DIR / "targets"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
OUTPUTS_DIR = PROJECT_ROOT / "outputs"
SUMMARY_SCHEMA = DATA_DIR / "summary.schema.json"

DEFAULT_NAME = "agent_orchestrator"
DEFAULT_SCHEMA = SCHEMAS_DIR / f"{DEFAULT_NAME}.sql"
DEFAULT_DATASET = DATASETS_DIR / f"{DEFAULT_NAME}.yaml"
DEFAULT_WORKLOAD = WORKLOADS_DIR / f"{DEFAULT_NAME}.yaml"
DEFAULT_TARGETS = TARGETS_DIR / f"{DEFAULT_NAME}.yaml"


def cache_dir() -> Path:
    """Where built databases are cached (override with PERFLAB_CACHE_DIR)."""
    env = os.environ.get("PERFLAB_CACHE_DIR")
    return Path(env) if env else OUTPUTS_DIR / ".cache"


def cache_file(kind: str, stem: str, content: str, suffix: str) -> Path:
    """A generated input file in perflab's cache, named by its content's hash."""
    key = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    folder = cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{key}{suffix}"
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        atomic_write_text(path, content)
    return path
