"""Stage results: the one frame-to-records conversion every stage saves through."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from perflab import results


def test_missing_values_become_null_in_a_saved_stage(tmp_path):
    frame = pd.DataFrame(
        {
            "query": ["a", "b"],
            "p50": [1.5, np.nan],
            "when": [pd.Timestamp("2026-01-01"), pd.NaT],
            "rows": [3, 4],
        }
    )
    recs = results.frame_records(frame)
    assert recs[1]["p50"] is None and recs[1]["when"] is None
    assert recs[0]["p50"] == 1.5 and recs[0]["rows"] == 3
    results.save(tmp_path, "stage", {"rows": recs})
    text = (tmp_path / "results" / "stage.json").read_text()
    assert json.loads(text)["rows"][1] == {"query": "b", "p50": None, "when": None, "rows": 4}


def test_no_frame_gives_no_records():
    assert results.frame_records(None) == []
    assert results.frame_records(pd.DataFrame(columns=["a"])) == []


def test_every_value_is_a_plain_python_value():
    recs = results.frame_records(pd.DataFrame({"x": np.array([1.0, math.inf])}))
    assert all(type(r["x"]) is float for r in recs)
