"""Targets files: what each metric must achieve, with reference claims."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsio import parse_file
from perflab.yamlio import check_keys, parse_yaml, require_mapping

#: Claims a source made about the schema that a run can check (index validation).
CLAIMS = {
    "indexes": "indexes in the schema",
    "queries_using_index": "queries using an index",
    "full_scans": "full table scans",
    "temp_btrees": "temp B-trees",
}

METRICS = {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ops_per_s", "total_ms"}
COMPARATORS = {"<", "<=", ">", ">="}


@dataclass(frozen=True)
class Target:
    metric: str
    comparator: str
    threshold: float
    query: str | None = None
    operation: str | None = None
    reference: float | None = None
    reference_note: str = ""
    milestone: str = "current"  # the label shown: "current", a number, or "next"
    note: str = ""
    # judged at this run's milestone; set at load from --milestone (None: the label says:
    # "current" is, anything else is not)
    selected: bool | None = None

    @property
    def current(self) -> bool:
        """Gates this run (a later milestone's target is shown, never gating)."""
        return self.milestone == "current" if self.selected is None else self.selected

    @property
    def subject(self) -> str:
        return self.query or self.operation or ""

    def met(self, value: float) -> bool:
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
        }[self.comparator]


@dataclass(frozen=True)
class QueryBudget:
    """What a query with no latency target of its own may cost before it is named an issue
    (`perflab.judge.slow_queries`). An absolute p99, not "10x the workload's median": the
    median moves whenever a query is added to or dropped from the workload, and is itself a
    noisy figure, so two runs of the same code could draw the line in different places."""

    p99_ms: float = 100.0
    rows_per_execution: float = 1000.0  # more than this with no LIMIT: an unbounded result
    source: str = "perflab default"


@dataclass(frozen=True)
class Targets:
    targets: tuple[Target, ...]
    source: str = ""
    path: Path | None = None
    claims: tuple[tuple[str, str], ...] = ()  # (CLAIMS key, what the source said)
    budget: QueryBudget = QueryBudget()

    def for_query(self, name: str, metric: str = "latency_p99_ms") -> Target | None:
        for t in self.targets:
            if t.query == name and t.metric == metric and t.current:
                return t
        return None


def load_targets(
    path: Path,
    *,
    queries: set[str],
    operations: set[str],
    milestone: int = 1,
    waiting: Iterable[str] = (),
) -> Targets:
    """Load a targets file; an unknown metric, query or operation is an error naming it.
    Parsed once per process for the same content and names (`perflab.fsio.parse_file`).

    ``milestone``: the one this run judges. A target labelled with a number gates when that
    number is at most ``milestone``; a later one is shown as not current. ``waiting``: the
    workload's queries of a later milestone, left out of this run: their targets go too."""
    return parse_file(
        path,
        "file",
        _parse_targets,
        frozenset(queries),
        frozenset(operations),
        milestone,
        frozenset(waiting),
    )


def _selected(label: str, milestone: int) -> bool | None:
    """Whether a target labelled ``label`` gates at ``milestone`` (None: decided by label)."""
    return int(label) <= milestone if label.isdigit() else None


def _parse_targets(
    path: Path,
    text: str,
    queries: frozenset[str],
    operations: frozenset[str],
    milestone: int = 1,
    waiting: frozenset[str] = frozenset(),
) -> Targets:
    doc = require_mapping(parse_yaml(text, path), str(path))
    check_keys(doc, {"source", "targets", "claims", "budget"}, str(path))
    budget = _parse_budget(doc.get("budget"), path)
    claims = require_mapping(doc.get("claims") or {}, f"{path}: claims")
    check_keys(claims, set(CLAIMS), f"{path}: claims")
    out = []
    for i, raw in enumerate(doc.get("targets") or []):
        where = f"{path}: targets[{i}]"
        raw = require_mapping(raw, where)
        check_keys(
            raw,
            {
                "metric",
                "query",
                "operation",
                "comparator",
                "threshold",
                "reference",
                "milestone",
                "note",
            },
            where,
        )
        metric = raw.get("metric")
        if metric not in METRICS:
            raise PerflabError(f"{where}: unknown metric {metric!r} (known: {sorted(METRICS)})")
        if raw.get("comparator") not in COMPARATORS:
            raise PerflabError(f"{where}: comparator must be one of {sorted(COMPARATORS)}")
        q, op = raw.get("query"), raw.get("operation")
        if (q is None) == (op is None):
            raise PerflabError(f"{where}: give exactly one of 'query' or 'operation'")
        if q is not None and q in waiting:
            continue  # its query waits for a later milestone
        if q is not None and q not in queries:
            raise PerflabError(f"{where}: unknown query {q!r}")
        if op is not None and op not in operations:
            raise PerflabError(f"{where}: unknown operation {op!r}")
        try:
            threshold = float(raw["threshold"])
        except (KeyError, TypeError, ValueError):
            raise PerflabError(f"{where}: 'threshold' must be a number") from None
        ref = raw.get("reference") or {}
        ref = ref if isinstance(ref, dict) else {"value": ref}
        out.append(
            Target(
                metric,
                raw["comparator"],
                threshold,
                q,
                op,
                float(ref["value"]) if ref.get("value") is not None else None,
                str(ref.get("note") or ""),
                str(raw.get("milestone") or "current"),
                str(raw.get("note") or ""),
                _selected(str(raw.get("milestone") or "current"), milestone),
            )
        )
    return Targets(
        tuple(out),
        str(doc.get("source") or ""),
        path,
        tuple((k, str(v)) for k, v in claims.items()),
        budget,
    )


def _parse_budget(raw: object, path: Path) -> QueryBudget:
    """The targets file's `budget: {p99_ms, rows_per_execution}`; absent: the default."""
    if raw is None:
        return QueryBudget()
    where = f"{path}: budget"
    raw = require_mapping(raw, where)
    check_keys(raw, {"p99_ms", "rows_per_execution"}, where)
    vals = {}
    for k in ("p99_ms", "rows_per_execution"):
        if k in raw:
            try:
                vals[k] = float(raw[k])
            except (TypeError, ValueError):
                raise PerflabError(f"{where}: {k!r} must be a number") from None
            if vals[k] <= 0:
                raise PerflabError(f"{where}: {k!r} must be above 0")
    return QueryBudget(**vals, source=str(path))
