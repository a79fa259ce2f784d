"""YAML loading with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from perflab.errors import PerflabError
from perflab.fsio import read_text


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or syntax error becomes one clear line."""
    path = Path(path)
    return parse_yaml(read_text(path, "file"), path)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML ``text`` read from ``path``: the one place a YAML syntax error is worded."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PerflabError(f"{path}{where}: YAML error: {problem}") from None


def require_mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise PerflabError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise PerflabError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
