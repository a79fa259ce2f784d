"""Replay fidelity: does the replayed query return what the application's query returned?

A captured query carries the rows the application fetched per execution (``captured:
{calls, rows}``). A replay that draws other parameters can measure another workload: a
"which jobs are due" poll (``next_run_time <= ?``) whose "now" is re-drawn from the column
returns half the table instead of the application's 0.3 rows; a lookup by slug whose slugs
are not in the database measures misses instead of hits. The run measures the replayed
rows per execution (the latency stage's timed executions) and compares:

- ``same``: replayed rows per execution within LOW..HIGH times the captured mean, and both
  hit (> 0) or both miss (0);
- ``differs``: outside that band, or hits against misses: labelled in the report, and the
  query's figures decide no target until the replay is fixed or the workload accepts it
  (``accept_replay: true`` on the query: ``accepted``);
- ``not_compared``: the capture has no rows per execution for this entry (a hand-written
  query, or a capture made before rows were kept per IN-list length).

An entry that replays one IN-list length of a folded shape is compared with the rows that
length returned in the application (``captured.in_list``), not the whole shape's mean.

`perflab.inputs.replay.fit_workload` uses the same test to choose the parameters it
replays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "HIGH",
    "LOW",
    "ReplayFidelity",
    "captured_rows_per_exec",
    "differs",
    "distance",
    "replay_fidelity",
]

#: The band of replayed / captured rows per execution that counts as the same workload.
LOW, HIGH = 0.5, 2.0

STATUSES = ("same", "differs", "accepted", "not_compared")


@dataclass(frozen=True)
class ReplayFidelity:
    """One replayed query's rows per execution beside the application's."""

    query: str
    status: str  # one of STATUSES
    captured_rows_per_exec: float | None  # None: the capture recorded none for this entry
    replayed_rows_per_exec: float | None  # None: not measured (no execution)
    executions: int  # replayed executions the mean is over
    note: str  # the sentence the report shows

    @property
    def decides(self) -> bool:
        """May this query's figures decide a target?"""
        return self.status != "differs"


def captured_rows_per_exec(captured: dict | None) -> tuple[float | None, str]:
    """The application's mean rows per execution for one workload entry, or None and why.

    An entry that is one IN-list length of a shape carries that length's own calls and rows
    (``in_list``); a capture from before that has rows only for the whole shape."""
    if not captured:
        return None, "not captured"
    own = captured.get("in_list")
    if isinstance(own, dict) and isinstance(own.get("calls"), int) and own["calls"] > 0:
        return own.get("rows", 0) / own["calls"], ""
    if "variant_of" in captured:
        return None, f"the capture keeps rows for the whole shape ({captured['variant_of']})"
    lengths = captured.get("in_lengths") or {}
    if len(lengths) > 1:
        return None, "the capture keeps rows over IN lists of several lengths, not per length"
    calls, rows = captured.get("calls"), captured.get("rows")
    if not isinstance(calls, int) or calls <= 0 or not isinstance(rows, (int, float)):
        return None, "the capture recorded no rows per execution"
    return rows / calls, ""


def differs(captured: float, replayed: float) -> bool:
    """Materially different: hits against misses, or a ratio outside LOW..HIGH."""
    if (captured > 0) != (replayed > 0):
        return True
    if captured == 0:
        return False
    return not LOW <= replayed / captured <= HIGH


def distance(captured: float, replayed: float) -> tuple[int, float]:
    """How far a replay is from the application (smaller is closer): hits against misses
    first, then the log ratio (rows + 0.5 each, so zero is a distance too)."""
    return (
        int((captured > 0) != (replayed > 0)),
        abs(math.log((replayed + 0.5) / (captured + 0.5))),
    )


def _rows(v: float) -> str:
    """0.3, 1.0, 19.8, 2,320: two figures below 10, whole rows from 100."""
    return f"{round(v):,}" if v >= 100 else f"{v:.1f}" if v >= 1 or v == 0 else f"{v:.2g}"


def replay_fidelity(
    name: str,
    captured: dict | None,
    replayed: float | None,
    executions: int,
    *,
    accepted: bool = False,
) -> ReplayFidelity:
    """The fidelity of one replayed query (`replayed`: its mean rows per execution)."""
    cap, why = captured_rows_per_exec(captured)
    if cap is None or replayed is None or not executions:
        why = why or "not executed"
        return ReplayFidelity(
            name, "not_compared", cap, replayed, executions, f"not compared: {why}"
        )
    shown = f"captured {_rows(cap)} rows/exec, replayed {_rows(replayed)}"
    if not differs(cap, replayed):
        return ReplayFidelity(name, "same", cap, replayed, executions, shown)
    if accepted:
        return ReplayFidelity(
            name, "accepted", cap, replayed, executions, f"replay differs, accepted: {shown}"
        )
    return ReplayFidelity(name, "differs", cap, replayed, executions, f"replay differs: {shown}")
