"""What the verdict reads: the run's evidence as frozen dataclasses, not dicts by key.

`judge.verdict.assess` reads these attributes only. `Evidence.from_summary` is the one
place a summary-shaped dict (summary.json, old or new, or `stages.summary.measured`)
becomes evidence: a stage that did not run is None, a figure the stage did not record is
None, so a short summary gives "not measured", never a KeyError. `judge` sits below
`stages` on the floors, so evidence is built from the records' saved content (the same
shape summary.json carries), not from the record classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

_PERCENTILES = ("p50", "p95", "p99")
T = TypeVar("T")


def _pair(v: Any) -> tuple[Any, Any] | None:
    """A saved [lo, hi] interval as a pair; None when absent."""
    if not v:
        return None
    v = list(v)
    return (v[0], v[1]) if len(v) >= 2 else (v[0], None)


def _dicts(v: Any) -> list[dict]:
    return [x for x in v or [] if isinstance(x, dict)]


def _read(cls: type[T], d: dict, **given: Any) -> T:
    """`cls` from a saved dict, each field under its own name (absent: the field's default,
    else None); `given` holds the fields that need more than a lookup."""
    kw = {
        f.name: d.get(f.name, None if f.default is MISSING else f.default)
        for f in fields(cls)
        if f.name not in given
    }
    return cls(**kw, **given)


@dataclass(frozen=True)
class Figure:
    """One measured figure with its interval (a bound is None when too few samples)."""

    value: float
    lo: float | None = None
    hi: float | None = None
    # the run's own A/A spread of this figure (ratio >= 1; measure.stats.aa_spread)
    aa_spread: float | None = None


@dataclass(frozen=True)
class PlanShape:
    """A query's plan as a comparison weighs it: its lines, scans, sorts and indexes."""

    details: tuple[str, ...] = ()
    full_scans: int = 0
    temp_btrees: int = 0
    uses_index: bool = False
    indexes: tuple[str, ...] = ()

    @classmethod
    def from_summary(cls, q: dict) -> PlanShape:
        pc = q.get("plan_classification") or {}
        return cls(
            tuple(str(n.get("detail")) for n in _dicts(q.get("plan"))),
            int(pc.get("full_scans") or 0),
            int(pc.get("temp_btrees") or 0),
            bool(pc.get("uses_index")),
            tuple(pc.get("indexes") or ()),
        )


#: SQLite's work counters a summary records per execution, and the rows returned.
COUNTERS = ("vm_steps", "fullscan_steps", "sorts", "autoindex", "rows")


@dataclass(frozen=True)
class CounterEvidence:
    """SQLite's own work counts for one query's first executions. Newer summaries keep
    every execution's counts (`values`), so two runs compare over the executions both
    counted; older ones only the means. `source` None: not counted, `reason` says why."""

    source: str | None = None
    reason: str | None = None
    executions: int = 0
    means: Mapping[str, float] = field(default_factory=dict)  # empty: not counted
    values: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, c: dict) -> CounterEvidence:
        per, vals = c.get("per_execution") or {}, c.get("values") or {}
        return _read(
            cls,
            c,
            executions=int(c.get("executions") or 0),
            means={k: float(per[k]["mean"]) for k in COUNTERS if k in per},
            values={k: tuple(vals[k]) for k in COUNTERS if k in vals},
        )

    def means_over(self, n: int) -> dict[str, float]:
        """Each counter's mean over the first `n` executions (where values were kept)."""
        if self.values:
            return {k: sum(self.values[k][:n]) / n for k in COUNTERS}
        return {k: self.means[k] for k in COUNTERS}


@dataclass(frozen=True)
class QueryEvidence:
    """A query's latency percentiles with their 95% intervals, its rate and its target,
    its plan and its work counters."""

    name: str
    latency: Mapping[str, Figure] = field(default_factory=dict)  # "p50" | "p95" | "p99"
    ops_per_s: float | None = None
    target_ms: float | None = None
    reference_ms: float | None = None
    plan: PlanShape = PlanShape()
    counters: CounterEvidence | None = None  # None: a summary from before counters
    # the replay returned other rows than the application (`perflab.inputs.fidelity`):
    # its sentence; "" when the replay matches, was accepted or was not compared
    replay_differs: str = ""
    sql: str = ""  # the statement as the workload runs it ("" in a summary without it)

    @classmethod
    def from_summary(cls, q: dict) -> QueryEvidence:
        ms, ci = q.get("latency_ms") or {}, q.get("latency_ci_ms") or {}
        aa = q.get("latency_aa_spread") or {}
        lat = {}
        for p in _PERCENTILES:
            if ms.get(p) is not None:
                lo, hi = _pair(ci.get(p)) or (None, None)
                lat[p] = Figure(ms[p], lo, hi, aa.get(p))
        c = q.get("counters")
        return _read(
            cls,
            q,
            name=str(q.get("name")),
            latency=lat,
            plan=PlanShape.from_summary(q),
            counters=CounterEvidence.from_summary(c) if isinstance(c, dict) else None,
            replay_differs=str(rp.get("note") or "replay differs")
            if isinstance(rp := q.get("replay"), dict) and rp.get("status") == "differs"
            else "",
        )


#: SQLite's work counters a summary records per executed write (measure.write_counters).
WRITE_COUNTERS = ("vm_steps", "pages_written", "rows_changed")


@dataclass(frozen=True)
class WriteCounterEvidence:
    """A write's counts per executed write, in execution order; a counter not counted
    (no `sqlite_stmt` for VM steps) is an empty tuple, `reason` set when none was."""

    ops: int = 0
    vm_steps: tuple[int, ...] = ()
    pages_written: tuple[int, ...] = ()
    rows_changed: tuple[int, ...] = ()
    reason: str | None = None

    @classmethod
    def from_summary(cls, c: dict) -> WriteCounterEvidence:
        vals = {k: tuple(int(x) for x in c.get(k) or ()) for k in WRITE_COUNTERS}
        return cls(int(c.get("ops") or 0), **vals, reason=c.get("reason"))

    def means_over(self, n: int) -> dict[str, float | None]:
        """Each counter's mean over the first `n` writes; None where it was not counted."""
        return {
            k: (sum(v[:n]) / n if len(v := getattr(self, k)) >= n > 0 else None)
            for k in WRITE_COUNTERS
        }


@dataclass(frozen=True)
class WriteEvidence:
    """One write scenario of the throughput stage (one batch size, one set of pragmas)."""

    write: str | None
    batch_size: int = 1
    pragmas: Any = None
    status: str | None = None
    ops_per_s: float | None = None
    ops_per_s_ci: tuple[float | None, float | None] | None = None
    ops_per_s_aa_spread: float | None = None  # the run's own A/A spread (ratio >= 1)
    error: str | None = None  # why it failed or was not replayed
    counters: WriteCounterEvidence | None = None  # None: a summary from before them


@dataclass(frozen=True)
class ThroughputEvidence:
    writes: tuple[WriteEvidence, ...] = ()
    pragmas: Any = None  # the run's pragmas (settings.pragmas), when recorded
    failures: tuple[str, ...] = ()  # writes lost or duplicated

    @classmethod
    def from_summary(cls, t: dict) -> ThroughputEvidence:
        writes = tuple(
            _read(
                WriteEvidence,
                w,
                ops_per_s_ci=_pair(w.get("ops_per_s_ci")),
                counters=WriteCounterEvidence.from_summary(c)
                if isinstance(c := w.get("counters"), dict)
                else None,
            )
            for w in _dicts(t.get("writes"))
        )
        pragmas = (t.get("settings") or {}).get("pragmas")
        return cls(writes, pragmas, tuple(str(f) for f in t.get("failures") or []))


@dataclass(frozen=True)
class ReadModeEvidence:
    """Concurrent reads done one way (threads or processes): the median total time."""

    total_ms: float | None
    total_ms_ci: tuple[float | None, float | None] | None = None
    errors: int = 0
    reads: int | None = None
    readers: int | None = None


@dataclass(frozen=True)
class SweepPointEvidence:
    readers: int
    mode: str
    errors: int = 0
    writer: bool = False
    reads: int | None = None


@dataclass(frozen=True)
class ConcurrencyEvidence:
    reads_name: str | None = None  # the concurrent-reads scenario (a target's operation)
    modes: Mapping[str, ReadModeEvidence] = field(default_factory=dict)  # thread | process
    sweep: tuple[SweepPointEvidence, ...] = ()

    @classmethod
    def from_summary(cls, c: dict) -> ConcurrencyEvidence:
        cr = c.get("concurrent_reads") or {}
        modes = {
            m: _read(
                ReadModeEvidence,
                cr[m],
                total_ms_ci=_pair(cr[m].get("total_ms_ci")),
                errors=cr[m].get("errors") or 0,
            )
            for m in ("thread", "process")
            if isinstance(cr.get(m), dict)
        }
        sweep = tuple(
            _read(SweepPointEvidence, r, errors=r.get("errors") or 0, writer=bool(r.get("writer")))
            for r in _dicts(c.get("sweep"))
        )
        return cls(cr.get("name"), modes, sweep)


@dataclass(frozen=True)
class PragmaAuditEvidence:
    pragma: str
    value: Any
    status: str  # ok | risk | advice
    why: str = ""
    recommendation: str = ""


@dataclass(frozen=True)
class IntegrityEvidence:
    integrity_ok: bool = True
    integrity_problems: tuple[str, ...] = ()
    foreign_keys_ok: bool = True
    foreign_key_violations: int | None = None
    foreign_key_problems: tuple[str, ...] = ()
    pragma_audit: tuple[PragmaAuditEvidence, ...] = ()

    @classmethod
    def from_summary(cls, i: dict) -> IntegrityEvidence:
        return _read(
            cls,
            i,
            integrity_problems=tuple(i.get("integrity_problems") or ()),
            foreign_key_problems=tuple(i.get("foreign_key_problems") or ()),
            pragma_audit=tuple(
                _read(PragmaAuditEvidence, p) for p in _dicts(i.get("pragma_audit"))
            ),
        )


@dataclass(frozen=True)
class FindingEvidence:
    """One plan finding; `recorded` is the finding as its stage saved it, echoed verbatim
    into `ignored_findings` when the verdict does not raise it."""

    query: str = ""
    rule: str = ""
    severity: str | None = None
    table: str | None = None
    plan_line: str | None = None
    evidence: str | None = None
    detail: str | None = None
    rows: int | None = None
    latency_ms: float | None = None
    recorded: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_summary(cls, f: dict) -> FindingEvidence:
        return _read(cls, f, recorded=dict(f))


@dataclass(frozen=True)
class Skipped:
    """Something an analysis stage did not analyse, and why."""

    what: Any
    reason: Any


@dataclass(frozen=True)
class DiagnosisEvidence:
    """One diagnostic of a query (`analysis.diagnostics`): why the planner did what it did,
    the fix tried on a copy, whether it changed the plan, returned the same rows, and its
    interleaved p50 before and after."""

    query: str | None
    diagnostic: str | None = None
    table: str | None = None
    index: str | None = None
    reason: str | None = None
    fix_kind: str | None = None
    fix: str | None = None
    confirmed: bool | None = None
    equivalent: Any = None
    p50_before_ms: float | None = None
    p50_after_ms: float | None = None
    speedup: float | None = None


@dataclass(frozen=True)
class FindingsEvidence:
    plan_findings: tuple[FindingEvidence, ...] = ()
    not_analysed: tuple[Skipped, ...] = ()  # diagnostics of kind "not_analysed"
    diagnoses: tuple[DiagnosisEvidence, ...] = ()

    @classmethod
    def from_summary(cls, f: dict) -> FindingsEvidence:
        diags = _dicts(f.get("diagnostics"))
        return cls(
            tuple(FindingEvidence.from_summary(x) for x in _dicts(f.get("plan_findings"))),
            tuple(
                Skipped(d.get("query"), d.get("reason"))
                for d in diags
                if d.get("diagnostic") == "not_analysed"
            ),
            tuple(_read(DiagnosisEvidence, d) for d in diags),
        )


@dataclass(frozen=True)
class RewriteEvidence:
    query: str | None
    fix: str | None = None
    p50_before_ms: float | None = None
    p50_after_ms: float | None = None
    speedup: float | None = None
    ratio_ci: tuple[float | None, float | None] | None = None
    equivalent: Any = None


@dataclass(frozen=True)
class BeforeAfter:
    p50_before_ms: float | None = None
    p50_after_ms: float | None = None


@dataclass(frozen=True)
class CandidateEvidence:
    """An index the advisor measured: what it changes, its gain and its write cost."""

    ddl: str | None
    action: str | None = None
    queries_changed: tuple[str, ...] = ()
    verdicts: Mapping[str, BeforeAfter] = field(default_factory=dict)  # query -> p50s
    gain_ms: float | None = None
    insert_us: float | None = None
    why: str | None = None  # the advisor's reason to recommend or reject it


@dataclass(frozen=True)
class AdviceEvidence:
    recommended: frozenset[str] = frozenset()  # the DDL the advisor recommends
    candidates: tuple[CandidateEvidence, ...] = ()
    query_rewrites: tuple[RewriteEvidence, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @classmethod
    def from_summary(cls, a: dict) -> AdviceEvidence:
        cands = tuple(
            _read(
                CandidateEvidence,
                c,
                queries_changed=tuple(c.get("queries_changed") or ()),
                verdicts={
                    q: _read(BeforeAfter, v)
                    for q, v in (c.get("verdicts") or {}).items()
                    if v  # an empty entry says nothing: the candidate's gain is used
                },
            )
            for c in _dicts(a.get("candidates"))
        )
        rewrites = tuple(
            _read(RewriteEvidence, rw, ratio_ci=_pair(rw.get("ratio_ci")))
            for rw in _dicts(a.get("query_rewrites"))
        )
        skipped = tuple(Skipped(s.get("what"), s.get("reason")) for s in _dicts(a.get("skipped")))
        return cls(frozenset(a.get("recommended") or ()), cands, rewrites, skipped)


@dataclass(frozen=True)
class JoinIndexEvidence:
    """A missing join-column index the join analysis advised and measured on a copy
    (`analysis.joins`): its loop, rows visited there, and the interleaved before/after."""

    query: str
    ddl: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    reason: str = ""
    measured: bool = False
    verdict: str | None = None
    p50_before_ms: float | None = None
    p50_after_ms: float | None = None
    ratio: float | None = None
    ratio_ci_lo: float | None = None
    ratio_ci_hi: float | None = None
    executions: int | None = None
    vm_steps_before: float | None = None
    vm_steps_after: float | None = None
    plan_after: str | None = None
    insert_us: float | None = None
    recommended: bool = False
    why: str = ""
    rows_visited: float | None = None  # by the inner loop the index is for, per execution


@dataclass(frozen=True)
class JoinsEvidence:
    advice: tuple[JoinIndexEvidence, ...] = ()
    not_analysed: tuple[Skipped, ...] = ()  # queries, or their rows per loop, not analysed

    @classmethod
    def from_summary(cls, j: dict) -> JoinsEvidence:
        out = []
        for q in _dicts(j.get("queries")):
            loops = {lp.get("position"): lp for lp in _dicts(q.get("loops"))}
            for a in _dicts(q.get("advice")):
                out.append(
                    _read(
                        JoinIndexEvidence,
                        a,
                        columns=tuple(a.get("columns") or ()),
                        measured=bool(a.get("measured")),
                        recommended=bool(a.get("recommended")),
                        rows_visited=(loops.get(a.get("loop")) or {}).get("rows_visited"),
                    )
                )
        skipped = tuple(
            Skipped(s.get("query"), s.get("reason")) for s in _dicts(j.get("not_analysed"))
        )
        return cls(tuple(out), skipped)


@dataclass(frozen=True)
class WriteCostEvidence:
    index: str | None
    op: str | None
    cost_us: float
    cost_pct: float | None = None
    cost_lo: float | None = None
    cost_hi: float | None = None


@dataclass(frozen=True)
class HealthEvidence:
    index: str
    issue: str = ""  # unused | redundant | not_analysed | ...
    table: str | None = None
    droppable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class IndexesEvidence:
    health: tuple[HealthEvidence, ...] = ()
    write_cost: tuple[WriteCostEvidence, ...] = ()  # measured rows only (cost_us known)
    size_bytes: Mapping[str, int] = field(default_factory=dict)  # index -> bytes on disk
    names: frozenset[str] | None = None  # every index in the inventory; None: none taken

    @classmethod
    def from_summary(cls, i: dict) -> IndexesEvidence:
        health = tuple(
            _read(HealthEvidence, h, index=h["index"], droppable=bool(h.get("droppable")))
            for h in _dicts(i.get("health"))
        )
        cost = tuple(
            _read(WriteCostEvidence, r)
            for r in _dicts(i.get("write_cost"))
            if r.get("cost_us") is not None
        )
        sizes: dict[str, int] = {}
        for inv in _dicts(i.get("inventory")):  # the first entry of an index counts
            if inv.get("index") not in sizes:
                sizes[inv.get("index")] = inv.get("size_bytes")
        names = frozenset(str(x.get("index")) for x in _dicts(i.get("inventory")))
        return cls(health, cost, {k: v for k, v in sizes.items() if v is not None}, names or None)


@dataclass(frozen=True)
class FitEvidence:
    """One query's growth fit from the scale sweep, with the claim it supports."""

    query: str
    claim: str = "inconclusive"
    claim_reason: str | None = None
    claim_text: str | None = None
    model: str | None = None
    table: str | None = None
    n_max: int | None = None
    target_ms: float | None = None
    limit_rows: float | None = None
    limit_range: tuple[float | None, float | None] | None = None

    @classmethod
    def from_summary(cls, f: dict) -> FitEvidence:
        return _read(
            cls,
            f,
            query=f["query"],
            claim=str(f.get("claim") or "inconclusive"),  # an older summary's fit claims nothing
            limit_range=_pair(f.get("limit_range")),
        )


@dataclass(frozen=True)
class PageEvidence:
    """One page depth of a paged query: both forms' work and p50, and their comparison."""

    page: int
    offset: int = 0
    offset_vm_steps: int | None = None
    keyset_vm_steps: int | None = None
    offset_p50_ms: float | None = None
    offset_p50_ci: tuple[float | None, float | None] | None = None
    keyset_p50_ms: float | None = None
    keyset_p50_ci: tuple[float | None, float | None] | None = None
    ratio: float | None = None  # keyset / OFFSET
    ratio_ci: tuple[float | None, float | None] | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class PaginationEvidence:
    """A paged query as the latency stage analysed it (`perflab.analysis.pagination`)."""

    query: str
    status: str = "not_analysed"
    reason: str = ""
    missed: bool = False  # OFFSET work grows linearly, keyset's does not (counters)
    faster: bool = False  # keyset measured faster at the deepest page (timings)
    sentence: str = ""
    page_size: int | None = None
    keyset_sql: str = ""
    keyset_form: str = ""
    tie_breaker: str = ""
    equivalent: bool | None = None
    equivalence_note: str = ""
    depths_note: str = ""
    offset_vm_kind: str = ""
    offset_vm_slope: float | None = None  # VM steps per row skipped
    keyset_vm_kind: str = ""
    pages: tuple[PageEvidence, ...] = ()

    @classmethod
    def from_summary(cls, p: dict) -> PaginationEvidence:
        ovm, kvm = p.get("offset_vm") or {}, p.get("keyset_vm") or {}
        pages = tuple(
            _read(
                PageEvidence,
                x,
                **{k: _pair(x.get(k)) for k in ("offset_p50_ci", "keyset_p50_ci", "ratio_ci")},
            )
            for x in _dicts(p.get("pages"))
        )
        return _read(
            cls,
            p,
            query=str(p.get("query")),
            offset_vm_kind=str(ovm.get("kind") or ""),
            offset_vm_slope=ovm.get("slope"),
            keyset_vm_kind=str(kvm.get("kind") or ""),
            pages=pages,
        )


@dataclass(frozen=True)
class Evidence:
    """Everything the verdict reads; a stage that did not run is None."""

    queries: tuple[QueryEvidence, ...] = ()
    throughput: ThroughputEvidence | None = None
    concurrency: ConcurrencyEvidence | None = None
    integrity: IntegrityEvidence | None = None
    findings: FindingsEvidence | None = None
    advice: AdviceEvidence | None = None
    indexes: IndexesEvidence | None = None
    joins: JoinsEvidence | None = None  # the join analysis (plans stage)
    fits: tuple[FitEvidence, ...] | None = None  # the scale stage's fits
    run_id: str | None = None
    sqlite_version: str | None = None
    decision: str | None = None  # the run's own decision, when it was judged
    select_1_ms: float | None = None  # SELECT 1 through the harness: the machine's speed
    # captured statements this database could not run (the workload's `not_replayed`)
    not_replayed: tuple[Skipped, ...] = ()
    # each paged query's pagination analysis (the latency stage); () when none pages
    pagination: tuple[PaginationEvidence, ...] = ()

    def query(self, name: str) -> QueryEvidence | None:
        return next((q for q in self.queries if q.name == name), None)

    @classmethod
    def from_summary(cls, d: Mapping[str, Any]) -> Evidence:
        """Evidence from a summary-shaped dict (summary.json, `stages.summary.measured`).
        A stage key absent or empty gives None, as the verdict treats it as not run."""

        def stage(key: str, build):
            v = d.get(key)
            return build(v) if isinstance(v, dict) and v else None

        scale = d.get("scale")
        return cls(
            queries=tuple(QueryEvidence.from_summary(q) for q in _dicts(d.get("queries"))),
            throughput=stage("throughput", ThroughputEvidence.from_summary),
            concurrency=stage("concurrency", ConcurrencyEvidence.from_summary),
            integrity=stage("integrity", IntegrityEvidence.from_summary),
            findings=stage("findings", FindingsEvidence.from_summary),
            advice=stage("advice", AdviceEvidence.from_summary),
            indexes=stage("indexes", IndexesEvidence.from_summary),
            joins=stage("joins", JoinsEvidence.from_summary),
            fits=tuple(FitEvidence.from_summary(f) for f in _dicts(scale.get("fits")))
            if isinstance(scale, dict) and scale
            else None,
            run_id=d.get("run_id"),
            sqlite_version=d.get("sqlite_version"),
            decision=(d.get("decision") or {}).get("decision"),
            select_1_ms=(d.get("harness_overhead_ms") or {}).get("select_1"),
            not_replayed=tuple(
                Skipped(f"{x.get('kind', 'statement')} {x.get('name')}", x.get("reason"))
                for x in _dicts((d.get("workload") or {}).get("not_replayed"))
            ),
            pagination=tuple(
                PaginationEvidence.from_summary(p) for p in _dicts(d.get("pagination"))
            ),
        )
