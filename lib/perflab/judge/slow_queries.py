"""No slow query unnamed, and whether each query's WHERE is served by an index.

Rules (tests check each one):

Budget. A query with no latency target of its own (any milestone) is held to the run's
budget (`perflab.inputs.targets.QueryBudget`: the targets file's ``budget:``, else p99
100 ms and 1,000 rows per execution). A query with a latency target is judged by its
target alone.

  over          the lower bound of its p99 interval is above the budget; or, when that
                bound is missing, the lower bound of its p95 or p50 is (p99 >= p95 >= p50)
  under         the upper bound of its p99 interval is at or below the budget
  inconclusive  anything else: the interval straddles the budget, or the bound that would
                decide is missing. Never an issue (listed with why): the same code run
                twice must give the same issues, and a straddling interval can fall
                either side.
  unbounded     no LIMIT in the statement and more rows per execution (the work counters'
                mean) than the budget's rows

One issue per query over budget or unbounded (medium when over the latency budget, low
when only unbounded), with its evidence: p99 and interval, rows and work per execution,
the plan lines, and the fix kinds that apply by rule: LIMIT/pagination (no LIMIT, more
than one row per execution), a covering index (a plan line reads the table's rows after
the index), a narrower SELECT list (SELECT *).

WHERE and index. For every query: "index" when each table access of its plan is a SEARCH
through an index (not an automatic one), "full scan" when one is a SCAN (of the table or
of a whole index), "no WHERE" when the statement has none; with the plan line that says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp

from perflab import humanize
from perflab.errors import PerflabError
from perflab.inputs.targets import QueryBudget
from perflab.judge.evidence import Evidence, QueryEvidence
from perflab.sqlite.querymodel import parse_query


@dataclass(frozen=True)
class WhereIndex:
    """Whether a query's plan serves its WHERE through an index, and the line saying so."""

    query: str
    status: str  # index | full scan | automatic index | no WHERE | no plan
    plan_line: str


@dataclass(frozen=True)
class BudgetCheck:
    """One query held to its target or to the budget, with the evidence an issue carries."""

    query: str
    judged_by: str  # "target" | "budget"
    latency: str  # over | under | inconclusive | not_measured | target
    reason: str
    p99_ms: float | None
    p99_ci: tuple[float | None, float | None]
    rows_per_execution: float | None
    has_limit: bool | None  # None: the statement could not be parsed
    unbounded: bool
    vm_steps: float | None
    fullscan_steps: float | None
    where: WhereIndex
    fixes: tuple[str, ...]

    @property
    def is_issue(self) -> bool:
        return self.judged_by == "budget" and (self.latency == "over" or self.unbounded)


def _access_lines(q: QueryEvidence) -> list[str]:
    """The plan lines that read a table or an index (SEARCH / SCAN), in plan order."""
    return [d for d in q.plan.details if d.startswith(("SEARCH ", "SCAN "))]


def _parse(sql: str) -> exp.Expression | None:
    if not sql:
        return None
    try:
        return parse_query(sql).tree
    except PerflabError:
        return None


def where_index(q: QueryEvidence) -> WhereIndex:
    """By the plan's own words: SEARCH ... USING [COVERING] INDEX / PRIMARY KEY is an index
    serving the WHERE; SCAN (the table, or a whole index for its order) is a full scan."""
    tree = _parse(q.sql)
    lines = _access_lines(q)
    if not lines:
        return WhereIndex(q.name, "no plan", "")
    if tree is not None and tree.find(exp.Where) is None and not tree.find(exp.Join):
        return WhereIndex(q.name, "no WHERE", lines[0])
    for line in lines:
        if line.startswith("SCAN "):
            return WhereIndex(q.name, "full scan", line)
    for line in lines:
        if "AUTOMATIC" in line:
            return WhereIndex(q.name, "automatic index", line)
    return WhereIndex(q.name, "index", "; ".join(lines))


def _p99_status(q: QueryEvidence, budget: float) -> tuple[str, str]:
    p99 = q.latency.get("p99")
    if p99 is None:
        return "not_measured", "the run has no p99 for it"
    if p99.lo is not None and p99.lo > budget:
        return "over", f"the whole p99 interval is above the budget of {budget:g} ms"
    if p99.hi is not None and p99.hi <= budget:
        return "under", f"the whole p99 interval is within the budget of {budget:g} ms"
    if p99.lo is None:
        for p in ("p95", "p50"):
            fig = q.latency.get(p)
            if fig is not None and fig.lo is not None and fig.lo > budget:
                return "over", (
                    f"the p99 interval has no lower bound, but the whole {p} interval "
                    f"[{fig.lo:.4g}, {fig.hi if fig.hi is None else f'{fig.hi:.4g}'}] ms is "
                    f"above the budget of {budget:g} ms, and p99 >= {p}"
                )
    if p99.lo is not None and p99.hi is not None:
        return "inconclusive", f"the p99 interval straddles the budget of {budget:g} ms"
    return "inconclusive", f"the p99 bound that would decide against {budget:g} ms is missing"


def _fixes(q: QueryEvidence, tree: exp.Expression | None, rows: float | None) -> list[str]:
    out = []
    sel = tree if isinstance(tree, exp.Select) else None
    if sel is not None and sel.args.get("limit") is None and (rows or 0) > 1:
        out.append("LIMIT / pagination (keyset: WHERE key > last seen ORDER BY key LIMIT n)")
    reads_rows = [
        d for d in _access_lines(q) if "COVERING INDEX" not in d and "INTEGER PRIMARY KEY" not in d
    ]
    if reads_rows:
        out.append(f"a covering index (the plan reads table rows: `{reads_rows[0]}`)")
    if sel is not None and any(isinstance(e, exp.Star) for e in sel.expressions):
        out.append("a narrower SELECT list (SELECT * reads and returns every column)")
    return out


def check(
    evidence: Evidence, budget: QueryBudget, targeted: Iterable[str] = ()
) -> list[BudgetCheck]:
    """Every query held to its target (if it has a latency target) or to the budget."""
    targeted = set(targeted)
    out = []
    for q in evidence.queries:
        tree = _parse(q.sql)
        sel = tree if isinstance(tree, exp.Select) else None
        has_limit = None if sel is None else sel.args.get("limit") is not None
        means = q.counters.means if q.counters is not None else {}
        rows = means.get("rows")
        p99 = q.latency.get("p99")
        if q.name in targeted:
            status, reason = "target", "judged by its own latency target"
        else:
            status, reason = _p99_status(q, budget.p99_ms)
        unbounded = (
            q.name not in targeted
            and has_limit is False
            and rows is not None
            and rows > budget.rows_per_execution
        )
        out.append(
            BudgetCheck(
                q.name,
                "target" if q.name in targeted else "budget",
                status,
                reason,
                None if p99 is None else p99.value,
                (None, None) if p99 is None else (p99.lo, p99.hi),
                rows,
                has_limit,
                unbounded,
                means.get("vm_steps"),
                means.get("fullscan_steps"),
                where_index(q),
                tuple(_fixes(q, tree, rows)),
            )
        )
    return out


def _n(v: float | None) -> str:
    return humanize.number(v, 4)


def issue_text(c: BudgetCheck, budget: QueryBudget) -> tuple[str, str, list[str], str]:
    """(severity, title, evidence, recommendation) of a check that is an issue."""
    why = []
    if c.latency == "over":
        why.append(f"p99 above the {budget.p99_ms:g} ms budget")
    if c.unbounded:
        why.append(f"unbounded result (no LIMIT, over {budget.rows_per_execution:g} rows/exec)")
    ev = [
        f"p99 {_n(c.p99_ms)} ms (interval {_n(c.p99_ci[0])}..{_n(c.p99_ci[1])}); {c.reason}",
        f"budget: p99 {budget.p99_ms:g} ms, {budget.rows_per_execution:g} rows per "
        f"execution without LIMIT ({budget.source}); this query has no latency target",
        f"rows returned per execution {_n(c.rows_per_execution)}; work per execution: "
        f"{_n(c.vm_steps)} VM steps, {_n(c.fullscan_steps)} full-scan steps"
        + (" (no LIMIT)" if c.has_limit is False else ""),
        f"plan ({c.where.status}): `{c.where.plan_line}`",
    ]
    return (
        "medium" if c.latency == "over" else "low",
        f"{c.query}: " + " and ".join(why),
        ev,
        "fix kinds that apply: " + ("; ".join(c.fixes) or "none found by rule"),
    )


def ignored(c: BudgetCheck, budget: QueryBudget) -> dict | None:
    """The entry `ignored_findings` carries for a check that is inconclusive, else None."""
    if c.judged_by != "budget" or c.latency != "inconclusive" or c.unbounded:
        return None
    return {
        "query": c.query,
        "rule": "slow_query_budget",
        "why_ignored": f"inconclusive: p99 {_n(c.p99_ms)} ms (interval {_n(c.p99_ci[0])}.."
        f"{_n(c.p99_ci[1])}); {c.reason}",
    }


def as_record(c: BudgetCheck) -> dict:
    """The check as summary.json's `query_budget.queries` carries it."""
    return {
        "query": c.query,
        "judged_by": c.judged_by,
        "latency": c.latency,
        "reason": c.reason,
        "p99_ms": c.p99_ms,
        "p99_ci_ms": list(c.p99_ci),
        "rows_per_execution": c.rows_per_execution,
        "has_limit": c.has_limit,
        "unbounded": c.unbounded,
        "vm_steps": c.vm_steps,
        "fullscan_steps": c.fullscan_steps,
        "where_index": c.where.status,
        "where_plan_line": c.where.plan_line,
        "fixes": list(c.fixes),
        "issue": c.is_issue,
    }
