"""Real applications installed from the registry, driven as their documentation shows,
through `perflab capture` -> `perflab run --profile tiny --db` (the drivers and the
driving are benchmarks/apps/run_corpus.py's, so the closing table and the test agree)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "run_corpus", Path(__file__).resolve().parents[1] / "benchmarks" / "apps" / "run_corpus.py"
)
run_corpus = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run_corpus)


def check_app(name: str, root: Path) -> dict:
    """The run of one application: capture and run exit 0, its file byte for byte the
    same, every captured shape measured or listed as not replayed with a reason, a
    decision, and captured vs replayed rows shown for every measured captured query."""
    rec = run_corpus.drive(name, root)
    assert rec["capture_rc"] == 0, rec.get("capture_stderr")
    assert rec["run_rc"] == 0, rec.get("run_stderr")
    assert rec["unchanged"], (rec["sha256_before"], rec["sha256_after"])
    assert rec["sha256_before"]["db"], "the application wrote no database"
    assert rec["decision"] in {"APPROVED", "APPROVED WITH CONDITIONS", "REJECTED"}
    listed = {x["name"] for x in rec["not_replayed"] or []}
    assert all(x["reason"] for x in rec["not_replayed"] or [])
    assert rec["measured"] and rec["query_shapes"] == len(
        set(rec["measured"]) | (listed & _query_names(root / name))
    )
    assert all(r["captured_rows_per_exec"] is not None for r in rec["rows"])
    return rec


def _query_names(d: Path) -> set[str]:
    import yaml

    w = yaml.safe_load((d / "capture.yaml").read_text(encoding="utf-8"))
    return {q["name"] for q in w.get("queries") or []}


APPS = ["sqlalchemy", "django", "sqlitedict", "huey-empty-kv", "litequeue", "apscheduler"]


@pytest.mark.parametrize("app", APPS)
def test_application_runs_to_a_verdict_without_touching_its_file(app, tmp_path):
    pytest.importorskip(app.split("-")[0], reason=f"{app} not installed (requirements.txt)")
    check_app(app, tmp_path)
