"""What makes a CI run fail: `--fail-on reject` and `--fail-on regression`.

A regression is any of: a gated timing that is worse by the interval and min-effect
rule, a plan that got worse, or more work per execution of a query or per write by SQLite's own
counters (perflab.judge.compare.compare_work, compare_write_work), which holds whatever
the clock says.
"""

from __future__ import annotations

from collections.abc import Iterable

from perflab.errors import PerflabError
from perflab.judge.compare import GATED_METRICS

GATES = ("reject", "regression")


def parse_fail_on(values: Iterable[str], baseline: str | None) -> tuple[str, ...]:
    gates = []
    for v in values:
        for g in (x.strip() for x in v.split(",")):
            if not g:
                continue
            if g not in GATES:
                raise PerflabError(
                    f"--fail-on: unknown condition {g!r} (known: {', '.join(GATES)})"
                )
            gates.append(g)
    if "regression" in gates and not baseline:
        raise PerflabError("--fail-on regression needs --baseline RUN_OR_SUMMARY")
    return tuple(dict.fromkeys(gates))


def check_gates(summary: dict, gates: Iterable[str]) -> list[str]:
    """Reasons to fail, one line each; empty when the run may pass."""
    out = []
    if "reject" in gates:
        decision = (summary.get("decision") or {}).get("decision")
        if decision is None:
            out.append("reject: the run has no decision (the summary notebook did not run)")
        elif decision == "REJECTED":
            reasons = "; ".join((summary.get("decision") or {}).get("reasons") or [])
            out.append(f"reject: decision REJECTED ({reasons})")
    if "regression" in gates:
        cmp = summary.get("comparison")
        if cmp is None:
            out.append("regression: no comparison in the run")
        else:
            if cmp["regressions"]:
                worse = [
                    f"{m['subject']} {m['metric']} x{m['ratio']:.2f}"
                    for m in cmp["metrics"]
                    if m["verdict"] == "regression" and m["metric"] in GATED_METRICS
                ]
                warn = (cmp.get("machine") or {}).get("warning")
                out.append(
                    f"regression: {cmp['regressions']} metric(s) worse: "
                    + ", ".join(worse)
                    + (f" (note: {warn})" if warn else "")
                )
            if cmp["plan_regressions"]:
                worse = [
                    f"{p['query']} ({p['why']})" for p in cmp["plans"] if p["change"] == "worse"
                ]
                out.append("regression: plan worse for " + ", ".join(worse))
            for key, rows, subject, per in (
                ("work_regressions", "work", "query", "execution"),
                ("write_work_regressions", "write_work", "write", "write"),
            ):
                if cmp.get(key):
                    worse = [
                        f"{w[subject]} ({w['why']})"
                        for w in cmp.get(rows) or []
                        if w["verdict"] == "regression"
                    ]
                    out.append(
                        f"regression: work per {per} worse (SQLite's counters, "
                        "machine-independent) for " + ", ".join(worse)
                    )
    return out
