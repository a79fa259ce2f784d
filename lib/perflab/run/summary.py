"""summary.json: assembled from the stage records the notebooks saved, checked against
``data/summary.schema.json`` (draft 2020-12) before it is written, and written
atomically, so a bad summary never replaces a good one."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from perflab import paths, results
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.inputs.context import RunContext
from perflab.results import to_jsonable
from perflab.sqlite import engine
from perflab.stages.summary import load_records, measured

FORMAT_VERSION = "1.0"


def collect(run_dir: Path, targets=None) -> dict:
    """Everything the notebooks measured, from the stage records in the run folder,
    shaped as in summary.json (`stages.summary.measured`)."""
    return measured(load_records(run_dir), targets)


def checkout_commit(cwd: Path | None = None) -> dict | None:
    """The git commit of the checkout perflab runs in (`git rev-parse HEAD` and its
    committer time), so `perflab history` can order runs by commit; None outside a
    checkout or without git: the summary then has no `commit`, never a guessed one."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "show", "-s", "--format=%H %cI", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 2 or len(parts[0]) < 40:
        return None
    return {"sha": parts[0], "committed_at": parts[1]}


def build_summary(
    run_dir: Path,
    ctx: RunContext,
    *,
    run_id: str,
    notebooks: list[dict],
    stages: dict[str, float],
) -> dict:
    conn = ctx.connect()
    try:
        info = engine.engine_info(conn)
        pragmas = engine.pragma_values(conn)
    finally:
        conn.close()
    from perflab.inputs.workload import workload_record

    summary = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **({"commit": c} if (c := checkout_commit()) else {}),
        "profile": ctx.config.profile.name,
        "milestone": ctx.config.milestone,
        "sqlite_version": info["sqlite_version"],
        "engine": info,
        "pragmas": pragmas,
        "database": ctx.database_info(),
        "workload": workload_record(ctx.workload, ctx.config.workload),
        **collect(run_dir, ctx.targets),
        "notebooks": notebooks,
        "stages": stages,
    }
    return results.to_jsonable(summary)


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
    """Check ``summary`` against data/summary.schema.json.

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
