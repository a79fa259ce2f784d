"""The run's machine-readable summary (summary.json) and its HTML landing page (index.html).

``summary.json`` follows ``perflab/data/summary.schema.json`` (draft 2020-12). It is validated
before it is written, and written atomically, so a bad summary never replaces a good one.

``index.html`` is one self-contained page (inline CSS, no scripts, nothing loaded from
anywhere), built from templates/pages/index.html.j2 by perflab.present.pages: the decision
and what to do first, the key figures per query, links to report.html and every notebook's
HTML, and the environment the numbers were measured in.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from perflab import paths
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.results import to_jsonable

__all__ = [
    "render_index",
    "to_jsonable",
    "validate_summary",
    "write_index",
    "write_summary",
]


# --------------------------------------------------------------------------------------
# JSON


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    try:
        schema = json.loads(paths.SUMMARY_SCHEMA.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PerflabError(
            f"{paths.SUMMARY_SCHEMA}: cannot read the summary schema: {exc}"
        ) from exc
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate_summary(summary: dict) -> None:
    """Check ``summary`` against perflab/data/summary.schema.json.

    Raises PerflabError with one line naming the JSON path that fails, for example
    ``summary.json: $.queries[0].latency_ms.p50: 'fast' is not of type 'number'``.
    """
    from jsonschema.exceptions import best_match

    if not isinstance(summary, Mapping):
        raise PerflabError(f"summary.json: $: expected an object, got {type(summary).__name__}")
    error = best_match(_validator().iter_errors(to_jsonable(summary)))
    if error is None:
        return
    message = " ".join(str(error.message).split())
    if len(message) > 300:
        message = message[:297] + "..."
    raise PerflabError(f"summary.json: {_json_path(error.absolute_path)}: {message}")


def write_summary(run_dir: Path, summary: dict) -> Path:
    """Validate ``summary`` and write ``run_dir/summary.json`` atomically (indent 2)."""
    data = to_jsonable(summary)
    validate_summary(data)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(Path(run_dir) / "summary.json", text)


# --------------------------------------------------------------------------------------
# index.html


def render_index(summary: Mapping[str, Any]) -> str:
    """The landing page's HTML for ``summary`` (templates/pages/index.html.j2)."""
    from perflab.present.pages import index_context, render

    return render("index.html.j2", **index_context(to_jsonable(summary)))


def write_index(run_dir: Path, summary: dict) -> Path:
    """Write ``run_dir/index.html``, the run's self-contained landing page, atomically."""
    return atomic_write_text(Path(run_dir) / "index.html", render_index(summary))
