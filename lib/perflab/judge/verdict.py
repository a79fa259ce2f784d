"""Targets met or not, issues with evidence, and the decision, all by written rules.

The rules read `judge.evidence.Evidence` by attribute; what a run did not measure is None
there, so it is "not measured" here, whichever stage or summary version it came from.

Rules (the README repeats them; tests check each one):

Target status, from the measured value's confidence interval:
  pass          the whole interval is on the good side of the threshold
  fail          the whole interval is on the bad side
  inconclusive  the interval straddles the threshold, or the bound that would
                decide is missing (too few samples, or a figure with no
                interval at all: a point estimate never passes or fails), or
                the query's replay returned other rows per execution than the
                application's ("undecided until the replay is fixed or
                accepted": perflab.inputs.fidelity, accept_replay: true)
  not_measured  the run has no figure for it (a stage did not run)

Issue severity (critical > high > medium > low > info):
  critical  a current target fails; an integrity or foreign-key check fails; a
            write was lost or duplicated
  high      a plan finding of severity high; a query the scale sweep confidently
            claims grows linearly or worse (material growth, enough range, work
            counters agreeing: `perflab.measure.scale.judge_growth`) and is predicted to
            cross its target before the horizon: the table's rows at the
            deployment size, or 10x the largest measured size if more
  medium    a plan finding of severity medium; an inconclusive target; a
            pragma that the audit marks as a risk; a query with no latency target
            whose p99 interval is above the slow-query budget (`judge.slow_queries`);
            a missed pagination: OFFSET work grows linearly with page depth and the
            keyset rewrite, equivalent, does at most half of it (`judge.paging`)
  low       index health (unused, redundant), pragma advice, low findings; a
            confident linear-or-worse growth claim that does not cross its target
            before the horizon (inconclusive growth is listed as ignored, with why);
            an unbounded result (no LIMIT, rows per execution over the budget's)
  (joins)   a missing index on a join column, advised by `analysis.joins` and measured
            faster on a copy by the advisor's rule: severity from the rows its inner
            loop visits per execution (the plan findings' thresholds), at least low; one
            measured but not recommended is listed as ignored, with the advisor's why
  info      findings below the row threshold: listed, with the documented
            reason they are not issues

Decision:
  REJECTED                  any critical issue
  APPROVED WITH CONDITIONS  no critical issue, but a high or medium issue, or a
                            current target inconclusive or not measured; the
                            conditions are those issues
  APPROVED                  every current target passes and no issue is above low
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import pandas as pd

from perflab import humanize
from perflab.analysis.advisor import index_name
from perflab.analysis.findings import SEVERITIES as FINDING_SEVERITIES
from perflab.analysis.findings import SEVERITY_THRESHOLDS
from perflab.analysis.findings import severity as finding_severity
from perflab.inputs.targets import QueryBudget, Target, Targets
from perflab.judge import paging, slow_queries
from perflab.judge.evidence import (
    AdviceEvidence,
    ConcurrencyEvidence,
    DiagnosisEvidence,
    Evidence,
    FindingEvidence,
    FitEvidence,
    IndexesEvidence,
    IntegrityEvidence,
)
from perflab.measure.scale import LINEAR_OR_WORSE
from perflab.sqlite.schema import quote_ident

# One scale: a plan finding's severity (info < low < medium < high) is an issue's, and
# "critical" (a missed target) sits above it.
SEVERITIES = ("critical", *reversed(FINDING_SEVERITIES))
DECISIONS = ("APPROVED", "APPROVED WITH CONDITIONS", "REJECTED")
_PCT = {"latency_p50_ms": "p50", "latency_p95_ms": "p95", "latency_p99_ms": "p99"}
#: A target on a query whose replay returned other rows than the application's
#: (`perflab.inputs.fidelity`) is inconclusive with this reason until fixed or accepted.
UNDECIDED = "undecided until the replay is fixed or accepted (accept_replay: true)"


@dataclass(frozen=True)
class Measured:
    value: float
    lo: float | None
    hi: float | None
    source: str  # where in summary.json the figure came from
    failure: str = ""  # set when the measurement itself failed (e.g. reads that errored)


@dataclass(frozen=True)
class TargetResult:
    metric: str
    subject: str
    comparator: str
    threshold: float
    milestone: str
    status: str  # pass | fail | inconclusive | not_measured
    value: float | None = None
    ci: tuple[float | None, float | None] = (None, None)
    ratio: float | None = None  # value / threshold
    source: str = ""
    reference: float | None = None
    reference_note: str = ""
    reference_source: str = ""
    note: str = ""
    status_reason: str = ""  # why this status, from the interval and threshold
    current: bool = True  # judged at the run's milestone; False: a later one's, never gating


@dataclass(frozen=True)
class Issue:
    id: str
    severity: str
    title: str
    evidence: tuple[str, ...]
    recommendation: str = ""
    origin: str = ""  # the rule or stage that raised it
    subject: str = ""
    gain: str = ""  # the advisor's measured gain, when there is one

    def __post_init__(self) -> None:
        if not self.evidence:
            raise ValueError(f"issue {self.id} has no evidence")
        if self.severity not in SEVERITIES:
            raise ValueError(f"issue {self.id}: unknown severity {self.severity!r}")


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[str, ...]
    conditions: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- measured values


def as_evidence(evidence: Evidence | Mapping) -> Evidence:
    """The evidence itself, or a summary-shaped dict read by `Evidence.from_summary`."""
    return evidence if isinstance(evidence, Evidence) else Evidence.from_summary(evidence)


def measured_value(evidence: Evidence, target: Target) -> Measured | None:
    """The run's figure for a target, with its interval, or None if not measured."""
    if target.query:
        q = evidence.query(target.query)
        if q is None:
            return None
        if target.metric in _PCT:
            key = _PCT[target.metric]
            fig = q.latency.get(key)
            if fig is None:
                return None
            return Measured(fig.value, fig.lo, fig.hi, f"queries[{target.query}].latency_ms.{key}")
        if target.metric == "ops_per_s" and q.ops_per_s is not None:
            return Measured(q.ops_per_s, None, None, f"queries[{target.query}].ops_per_s")
        return None
    op = target.operation
    if target.metric == "ops_per_s":
        tp = evidence.throughput
        if tp is None:
            return None
        cands = [w for w in tp.writes if w.write == op and w.batch_size == 1]
        if tp.pragmas:
            cands = [w for w in cands if w.pragmas == tp.pragmas] or cands
        if not cands:
            return None
        w = cands[0]
        if w.status == "failed" or w.ops_per_s is None:
            return None
        lo, hi = w.ops_per_s_ci or (None, None)
        return Measured(w.ops_per_s, lo, hi, f"throughput.writes[{op}, batch 1].ops_per_s")
    if target.metric == "total_ms":
        conc = evidence.concurrency
        if conc is None or conc.reads_name != op:
            return None
        modes = [m for m in ("thread", "process") if m in conc.modes]
        timed = [m for m in modes if conc.modes[m].total_ms is not None]
        if not timed:
            return None
        # The slower way of doing it is the one the claim must survive.
        worst = max(timed, key=lambda m: conc.modes[m].total_ms)
        # The interval is the order-statistic interval on the median of the repeats
        # (concurrency.concurrent_reads); a bound is None with too few repeats.
        lo, hi = conc.modes[worst].total_ms_ci or (None, None)
        failed = [
            f"{r.errors} of {'?' if r.reads is None else r.reads} reads failed ({m}s)"
            for m in modes
            if (r := conc.modes[m]).errors
        ]
        return Measured(
            conc.modes[worst].total_ms,
            lo,
            hi,
            f"concurrency.concurrent_reads.{worst}",
            "; ".join(failed),
        )
    return None


def _status(target: Target, m: Measured | None) -> tuple[str, str]:
    """(status, reason): decided by the bound on the bad side or the good side only."""
    if m is None:
        return "not_measured", "the run has no figure for it"
    if m.failure:
        return "fail", m.failure
    lower_is_better = target.comparator in ("<", "<=")
    lo, hi = m.lo, m.hi
    if lo is None and hi is None:
        return "inconclusive", "no interval for this figure: a point estimate decides nothing"
    best = lo if lower_is_better else hi
    worst = hi if lower_is_better else lo
    if worst is not None and target.met(worst):
        return "pass", f"the whole interval meets {target.comparator} {target.threshold:g}"
    if best is not None and not target.met(best):
        return "fail", f"the whole interval misses {target.comparator} {target.threshold:g}"
    if worst is None:
        return "inconclusive", "the bound that would decide is missing (too few samples)"
    return "inconclusive", "the interval straddles the threshold"


def evaluate_targets(evidence: Evidence | Mapping, targets: Targets) -> list[TargetResult]:
    evidence = as_evidence(evidence)
    out = []
    for t in targets.targets:
        m = measured_value(evidence, t)
        status, reason = _status(t, m)
        q = evidence.query(t.query) if t.query else None
        if m is not None and q is not None and q.replay_differs:  # not the application's
            status, reason = "inconclusive", f"{UNDECIDED}: {q.replay_differs}"
        out.append(
            TargetResult(
                t.metric,
                t.subject,
                t.comparator,
                t.threshold,
                t.milestone,
                status,
                None if m is None else m.value,
                (None, None) if m is None else (m.lo, m.hi),
                None if m is None or not t.threshold else m.value / t.threshold,
                "" if m is None else m.source,
                t.reference,
                t.reference_note,
                targets.source if t.reference is not None else "",
                t.note,
                reason,
                t.current,
            )
        )
    return out


def targets_frame(results: Iterable[TargetResult]) -> pd.DataFrame:
    """Columns: metric, subject, comparator, threshold, milestone, status, value, ci,
    ratio (value / threshold), source, reference (a claim from its source), note."""
    return pd.DataFrame([asdict(r) for r in results])


# --------------------------------------------------------------------------- issues


def _crossing_text(fit: FitEvidence) -> str:
    """ "at 173k rows", or "between 150k and 190k rows" when the claim allows two classes."""
    lo, hi = fit.limit_range or (fit.limit_rows, fit.limit_rows)
    if hi is None or round(float(lo)) == round(float(hi)):
        return f"at {humanize.rows(lo)}" + ("" if hi is not None else " or later")
    return f"between {humanize.count(lo)} and {humanize.rows(hi)}"


_BUMP = {"info": "low", "low": "medium", "medium": "high", "high": "high"}


def _fmt(v: float | None) -> str:
    return humanize.number(v, 4)  # 0.00004, never 4e-05


def _measured_p50(evidence: Evidence, query: str, own_ms: float | None) -> str:
    """The query's p50 as notebook 02 measured it, with its interval; a summary from before
    02 carried it (or a run without 02) falls back to the finding's own median, if any."""
    q = evidence.query(query)
    fig = q.latency.get("p50") if q else None
    if fig is not None:
        if fig.lo is not None and fig.hi is not None:
            return f"measured p50 {_fmt(fig.value)} ms [{_fmt(fig.lo)}, {_fmt(fig.hi)}]"
        return f"measured p50 {_fmt(fig.value)} ms (no interval)"
    return "" if own_ms is None else f"measured p50 {_fmt(own_ms)} ms"


def _advice_for(evidence: Evidence, query: str) -> tuple[str, str]:
    """The advisor's recommendation touching a query, with its measured gain."""
    adv = evidence.advice or AdviceEvidence()
    for rw in adv.query_rewrites:
        if rw.query == query:
            ci_lo, ci_hi = rw.ratio_ci or (None, None)
            return (
                f"rewrite: {rw.fix}",
                f"p50 {_fmt(rw.p50_before_ms)} -> {_fmt(rw.p50_after_ms)} ms "
                f"(x{_fmt(rw.speedup)}; after/before 99% CI "
                f"{_fmt(ci_lo)}..{_fmt(ci_hi)}, interleaved), "
                f"same rows: {rw.equivalent}",
            )
    for c in adv.candidates:
        if c.ddl in adv.recommended and query in c.queries_changed:
            v = c.verdicts.get(query)
            gain = (
                f"p50 {_fmt(v.p50_before_ms)} -> {_fmt(v.p50_after_ms)} ms"
                if v
                else f"gain {_fmt(c.gain_ms)} ms"
            )
            return str(c.ddl), f"{gain}; write cost {_fmt(c.insert_us)} us/insert"
    for p in evidence.pagination:  # a missed pagination: the keyset rewrite, measured
        if p.query == query and p.missed:
            return paging.fix(p)
    return "", ""


def _no_fix(evidence: Evidence, query: str) -> str:
    """What a failed target's reader learns when no fix was measured to help: the candidates
    tried on its query and why each was not recommended, or that none touched it, so a
    missed target never ends without a word on what was tried."""
    if evidence.advice is None:
        return "no measured fix: the index advisor (notebook 03) did not run"
    adv = evidence.advice
    tried = [c for c in adv.candidates if c.action == "create" and query in c.queries_changed]
    if not tried:
        return (
            "no measured fix: no candidate index or rewrite changes this query's plan; "
            "its work per execution (VM steps, rows) is in the plan card: fewer rows "
            "(LIMIT, a narrower filter) or a schema change is what is left"
        )
    parts = []
    for c in tried[:3]:
        v = c.verdicts.get(query)
        p50 = (
            f"p50 {_fmt(v.p50_before_ms)} -> {_fmt(v.p50_after_ms)} ms"
            if v and v.p50_before_ms is not None and v.p50_after_ms is not None
            else "not timed"
        )
        why = (c.why or "not recommended").split(";")[0]
        parts.append(f"{c.ddl} ({p50}; {why})")
    more = f"; and {len(tried) - 3} more" if len(tried) > 3 else ""
    return "no measured fix: tried " + "; ".join(parts) + more


def _partial_diagnosis(evidence: Evidence, query: str) -> DiagnosisEvidence | None:
    """The query's partial index that its WHERE fails to imply, confirmed on a copy."""
    for d in evidence.findings.diagnoses if evidence.findings else ():
        if d.query == query and d.diagnostic == "partial_not_implied" and d.confirmed:
            return d
    return None


def _measured_fix(d: DiagnosisEvidence) -> str:
    if d.p50_before_ms is None or d.p50_after_ms is None:
        return f"plan after: changed as expected; same rows: {d.equivalent}"
    return (
        f"p50 {_fmt(d.p50_before_ms)} -> {_fmt(d.p50_after_ms)} ms (x{_fmt(d.speedup)}, "
        f"interleaved); same rows: {d.equivalent}"
    )


def _partial_issue(
    evidence: Evidence, d: DiagnosisEvidence, f: FindingEvidence
) -> tuple[str, list[str], str, str]:
    """Title, evidence, recommendation and gain of the issue that says first why the
    schema's own partial index is not used, with the two real fixes side by side: the
    query made to imply the index's WHERE (equivalence-checked), or the index changed."""
    findings = evidence.findings.plan_findings if evidence.findings else ()
    plan = "; ".join(sorted({x.rule.replace("_", " ") for x in findings if x.query == d.query}))
    why = str(d.reason or "").split("; rewrite:", 1)[0]
    ev = [
        f"your partial index {d.index} is not used because {why}",
        f"so the plan falls back to: {plan} (plan: `{f.plan_line}`)" if f.plan_line else plan,
        _measured_p50(evidence, str(d.query), f.latency_ms),
    ]
    alt = next(
        (
            x
            for x in (evidence.findings.diagnoses if evidence.findings else ())
            if x.query == d.query and x.fix_kind == "index" and x.fix and x.confirmed
        ),
        None,
    )
    idx_rec, idx_gain = "", ""
    if alt is not None:
        idx_rec, idx_gain = str(alt.fix), _measured_fix(alt)
    for c in (evidence.advice or AdviceEvidence()).candidates:
        v = c.verdicts.get(str(d.query))
        if c.action == "create" and v is not None and v.p50_before_ms is not None:
            # the advisor timed this index on a copy, interleaved: its figure, not the plan's
            idx_rec = str(c.ddl)
            idx_gain = (
                f"p50 {_fmt(v.p50_before_ms)} -> {_fmt(v.p50_after_ms)} ms, interleaved; "
                f"write cost {_fmt(c.insert_us)} us/insert"
            )
            break
    rec = f"fix the query so it implies the index's WHERE: {d.fix} ({_measured_fix(d)})"
    if idx_rec.startswith("CREATE") or idx_rec.startswith("DROP"):
        rec += f"; or change the index: {idx_rec}" + (f" ({idx_gain})" if idx_gain else "")
    title = f"{d.query}: partial index {d.index} not used (the query does not imply its WHERE)"
    return title, [e for e in ev if e], rec, _measured_fix(d)


def _index_cost(evidence: Evidence, index: str) -> str:
    """What keeping an index costs, from the interleaved write-cost measurement."""
    idx = evidence.indexes or IndexesEvidence()
    parts = [
        f"{r.op} {r.cost_us:+.2f} us ({r.cost_pct or 0:.1f}%, 95% CI "
        f"{_fmt(r.cost_lo)}..{_fmt(r.cost_hi)})"
        for r in idx.write_cost
        if r.index == index
    ]
    size = idx.size_bytes.get(index)
    if size is not None:
        parts.append(f"{size / 1024:,.0f} KiB on disk")
    return ("measured cost of keeping it: " + "; ".join(parts)) if parts else ""


def _why_ignored(finding: FindingEvidence, target_results: list[TargetResult]) -> str:
    """Why a finding is not an issue, from its numbers: rows involved against the
    low-severity threshold, and what its query's latency target says."""
    rows, q = finding.rows, finding.query
    low = SEVERITY_THRESHOLDS[0]
    size = (
        f"rows involved unknown (counted as below {low:,} by rule)"
        if rows is None
        else f"{rows:,} rows involved < {low:,} (the low-severity threshold)"
    )
    st = [
        f"{r.metric} {r.status}"
        for r in target_results
        if r.subject == q and r.metric.startswith("latency") and r.current
    ]
    tgt = f"target of {q}: {', '.join(st)}" if st else f"{q} has no latency target"
    return f"{size}; {tgt}"


def _skipped_analyses(evidence: Evidence) -> list[str]:
    """Everything an analysis stage recorded as not analysed, with its reason."""
    skipped = (evidence.findings.not_analysed if evidence.findings else ()) + (
        evidence.advice.skipped if evidence.advice else ()
    )
    return [f"{s.what}: {s.reason}" for s in skipped]


def not_analysed(evidence: Evidence | Mapping) -> list[dict]:
    """Everything this run could not analyse, stage by stage, each with its reason: the
    verdict's list, so a reader sees what the decision does not cover. A stage degrades
    per query, write or size; the run goes on."""
    evidence = as_evidence(evidence)
    out = [
        {"stage": "workload", "subject": s.what, "reason": f"not replayed: {s.reason}"}
        for s in evidence.not_replayed
    ]
    out += [
        {"stage": "plans", "subject": s.what, "reason": s.reason}
        for s in (evidence.findings.not_analysed if evidence.findings else ())
    ]
    out += [
        {"stage": "advisor", "subject": s.what, "reason": s.reason}
        for s in (evidence.advice.skipped if evidence.advice else ())
    ]
    out += [
        {"stage": "plans", "subject": s.what, "reason": s.reason}
        for s in (evidence.joins.not_analysed if evidence.joins else ())
    ]
    for q in evidence.queries:
        c = q.counters
        if c is not None and c.source is None:
            out.append({"stage": "latency", "subject": q.name, "reason": str(c.reason)})
    seen: set[str] = set()
    for w in evidence.throughput.writes if evidence.throughput else ():
        if w.status in ("failed", "not_replayed"):
            out.append({"stage": "throughput", "subject": str(w.write), "reason": str(w.error)})
        elif w.counters is not None and w.counters.reason and w.write not in seen:
            seen.add(str(w.write))
            out.append(
                {"stage": "throughput", "subject": str(w.write), "reason": w.counters.reason}
            )
    out += [
        {"stage": "latency", "subject": p.query, "reason": f"pagination: {p.reason}"}
        for p in evidence.pagination
        if p.status != "analysed"
    ]
    for f in evidence.fits or ():
        reason = str(f.claim_reason or "")
        if f.model is None or "not analysed" in reason:
            out.append({"stage": "scale", "subject": f.query, "reason": reason or "no fit"})
    return out


def derive_issues(
    evidence: Evidence | Mapping,
    target_results: list[TargetResult],
    deployment_rows: dict[str, int] | None = None,
    budget: QueryBudget | None = None,
) -> tuple[list[Issue], list[dict]]:
    """Issues by the documented rules, and the findings deliberately not raised (with why)."""
    evidence = as_evidence(evidence)
    budget = budget or QueryBudget()
    issues: list[Issue] = []
    ignored: list[dict] = []
    failing_queries = {
        r.subject for r in target_results if r.status == "fail" and r.metric.startswith("latency")
    }
    n = 0

    def add(sev, title, evidence, rec="", origin="", subject="", gain=""):
        nonlocal n
        n += 1
        issues.append(
            Issue(
                f"I{n:03d}",
                sev,
                str(title),
                tuple(str(e) for e in evidence),
                str(rec or ""),
                str(origin or ""),
                str(subject or ""),
                str(gain or ""),
            )
        )

    for r in target_results:
        what = f"{r.metric} of {r.subject} {r.comparator} {r.threshold:g}"
        ev = [
            f"measured {_fmt(r.value)} (interval {_fmt(r.ci[0])}..{_fmt(r.ci[1])}) from {r.source}"
        ]
        if not r.current:
            if r.status == "fail":
                later = f"milestone {r.milestone}" if r.milestone.isdigit() else "next-milestone"
                add(
                    "low",
                    f"{later} target missed: {what}",
                    ev,
                    origin="targets",
                    subject=r.subject,
                )
            continue
        if r.status == "fail":
            rec, gain = _advice_for(evidence, r.subject)
            if not rec and r.metric.startswith("latency"):  # a query's target
                rec = _no_fix(evidence, r.subject)
            add(
                "critical",
                f"target failed: {what}",
                [*ev, r.status_reason],
                rec,
                "targets",
                r.subject,
                gain,
            )
        elif r.status == "inconclusive" and r.status_reason.startswith(UNDECIDED):
            add(
                "medium",
                f"target undecided (replay differs): {what}",
                [*ev, r.status_reason],
                "replay parameters that return the application's rows (the captured "
                "values, or a database like the application's), or accept this replay: "
                f"accept_replay: true on query {r.subject!r} in the workload file",
                "targets",
                r.subject,
            )
        elif r.status == "inconclusive":
            add(
                "medium",
                f"target inconclusive: {what}",
                [*ev, r.status_reason],
                "state this target on a figure that has an interval (a percentile)"
                if r.ci == (None, None)
                else "measure with more iterations (--iterations) before deciding",
                "targets",
                r.subject,
            )
        elif r.status == "not_measured":
            add(
                "medium",
                f"target not measured: {what}",
                ["this run has no figure for it (its stage did not run or failed)"],
                "run the stage that measures it",
                "targets",
                r.subject,
            )

    integ = evidence.integrity or IntegrityEvidence()
    if not integ.integrity_ok:
        add(
            "critical",
            "PRAGMA integrity_check reports corruption",
            integ.integrity_problems or ["integrity_check not ok"],
            "restore from a backup; do not trust figures from this file",
            "integrity",
        )
    if not integ.foreign_keys_ok:
        add(
            "critical",
            f"{integ.foreign_key_violations} foreign-key violations",
            integ.foreign_key_problems or ["foreign_key_check not empty"],
            "fix the orphaned rows; check that every connection sets foreign_keys=ON",
            "integrity",
        )
    for p in integ.pragma_audit:
        if p.status in ("risk", "advice"):
            add(
                "medium" if p.status == "risk" else "low",
                f"pragma {p.pragma} = {p.value}",
                [p.why],
                p.recommendation,
                "pragma audit",
                p.pragma,
            )

    conc = evidence.concurrency or ConcurrencyEvidence()
    failed_reads = [
        f"{r.errors} failed reads: {r.readers} {r.mode} readers"
        + (" with a writer" if r.writer else "")
        + f" ({r.reads} good reads)"
        for r in conc.sweep
        if r.errors
    ]
    failed_reads += [
        f"{cm.errors} failed reads: {cm.readers} concurrent {m} readers ({cm.reads} good reads)"
        for m in ("thread", "process")
        if (cm := conc.modes.get(m)) is not None and cm.errors
    ]
    if failed_reads:
        total = sum(int(e.split(" ", 1)[0]) for e in failed_reads)
        add(
            "high",
            f"{total} reads failed under concurrency",
            failed_reads,
            "a read that fails after its busy retries returns nothing to the application: "
            "find the error (busy timeout, locking mode) before trusting the latencies",
            "concurrency",
        )

    for f in evidence.throughput.failures if evidence.throughput else ():
        add(
            "critical",
            "a write was lost or duplicated",
            [str(f)],
            "fix the write path before trusting any throughput figure",
            "throughput",
        )

    told: set[str] = set()  # queries whose partial-index explanation is already an issue
    for f in evidence.findings.plan_findings if evidence.findings else ():
        sev = f.severity if f.severity in FINDING_SEVERITIES else "info"
        q = f.query
        if q in failing_queries:
            sev = _BUMP[sev]
        if sev == "info":
            ignored.append({**f.recorded, "why_ignored": _why_ignored(f, target_results)})
            continue
        partial = _partial_diagnosis(evidence, q)
        if partial is not None:
            if q not in told:
                told.add(q)
                title, ev, rec, gain = _partial_issue(evidence, partial, f)
                add(sev, title, ev, rec, "plan findings", q, gain)
            continue
        rec, gain = _advice_for(evidence, q)
        text, line = str(f.evidence or ""), f.plan_line
        # the finding's evidence usually quotes its plan line already: say it once
        ev = ([f"plan: `{line}`"] if line and line not in text else []) + [text]
        if "p50" not in text:
            ev.append(_measured_p50(evidence, q, f.latency_ms))
        add(
            sev,
            f"{q}: {f.rule.replace('_', ' ')}" + (f" on {f.table}" if f.table else ""),
            [e for e in ev if e],
            rec or str(f.detail or ""),
            "plan findings",
            q,
            gain,
        )

    for fit in evidence.fits or ():
        q = fit.query
        claim = fit.claim
        if claim == "inconclusive":
            ignored.append(
                {
                    "query": q,
                    "rule": "scale",
                    "model": fit.model,
                    "claim": claim,
                    "why_ignored": "no growth claim: "
                    + str(fit.claim_reason or "the sweep did not judge this fit"),
                }
            )
            continue
        if claim not in LINEAR_OR_WORSE:
            continue  # flat or O(log n): nothing to act on
        limit = fit.limit_rows
        lo, hi = fit.limit_range or (limit, limit)
        table = fit.table
        horizon = max((deployment_rows or {}).get(table, 0), 10 * (fit.n_max or 0))
        where = str(fit.claim_text or f"grows {claim}")
        if lo is not None and lo <= horizon:
            # the whole 95% range of the crossing below the horizon: high; straddling: medium
            sure = hi is not None and hi <= horizon
            rec, gain = _advice_for(evidence, q)
            add(
                "high" if sure else "medium",
                # The title states what held across runs (before the horizon or not); the
                # range is this run's estimate: three quick runs of one commit gave 27k-118k,
                # 69k-207k and 192k-373k rows, all far inside a 1M-row horizon.
                f"{q}: grows {claim}, p99 {'predicted to' if sure else 'may'} "
                f"cross {humanize.duration_ms(fit.target_ms)} before "
                f"{humanize.rows(horizon)}",
                [
                    where,
                    f"the horizon is {humanize.rows(horizon)} of {table} (the deployment "
                    "size the dataset spec names, or 10x the largest measured)",
                    f"this run's estimate: {_crossing_text(fit)}, a 95% range over bootstrap "
                    "refits of the p99 curve"
                    + ("" if sure else ", reaching past the horizon")
                    + "; the sweep's p99 curve is noisy, so ranges from separate runs differ",
                ],
                rec,
                "scale",
                q,
                gain,
            )
        else:
            add(
                "low",
                f"{q}: grows {claim}",
                [
                    where,
                    "no p99 target"
                    if fit.target_ms is None
                    else f"p99 not predicted to reach {humanize.duration_ms(fit.target_ms)} "
                    f"within the horizon of {humanize.rows(horizon)}"
                    + ("" if limit is None else f" (predicted {_crossing_text(fit)})"),
                ],
                "watch it as the table grows",
                "scale",
                q,
            )

    # No slow query unnamed: a query without a latency target is held to the budget
    # (`judge.slow_queries`); inconclusive ones are listed as ignored, with why.
    for c in slow_queries.check(evidence, budget, _latency_targeted(target_results)):
        if c.is_issue:
            sev, title, ev, rec = slow_queries.issue_text(c, budget)
            adv, gain = _advice_for(evidence, c.query)
            add(sev, title, ev, f"{adv}; {rec}" if adv else rec, "slow query budget", c.query, gain)
        elif (skip := slow_queries.ignored(c, budget)) is not None:
            ignored.append(skip)

    # A missed pagination (`judge.paging`): OFFSET work grows linearly, keyset's does not.
    for p in evidence.pagination:
        if p.missed:
            sev, title, ev, rec, gain = paging.issue_text(p)
            add(sev, title, ev, rec, "pagination", p.query, gain)
        elif (skip := paging.ignored(p)) is not None:
            ignored.append(skip)

    _join_issues(evidence, add, ignored)

    skipped = _skipped_analyses(evidence)
    if skipped:
        add(
            "low",
            f"{len(skipped)} analyses skipped",
            skipped,
            "the claims above do not cover these; fix the cause to have them analysed",
            "diagnostics and advisor",
        )

    adv = evidence.advice or AdviceEvidence()
    drops = {c.ddl: c for c in adv.candidates if c.action == "drop"}
    health = evidence.indexes.health if evidence.indexes else ()
    unused = [h for h in health if h.issue == "unused"]
    if unused:
        droppable = [h.index for h in unused if h.droppable]
        add(
            "low",
            f"{len(unused)} indexes unused by this workload",
            [
                ", ".join(h.index for h in unused),
                f"{len(droppable)} of them could be dropped without losing a constraint",
            ],
            "keep them if queries outside this workload use them; otherwise drop: "
            + (", ".join(droppable) or "none droppable"),
            "index health",
            "",
        )
    for h in health:
        if h.issue == "unused":
            continue
        if h.issue == "not_analysed":
            add(
                "low",
                f"index {h.index} not analysed",
                [h.reason or "no reason recorded"],
                "",
                "index health",
                h.index,
            )
            continue
        ddl = next((d for d in drops if d and index_name(d) == h.index), None)
        gain = _index_cost(evidence, h.index) if h.droppable else ""
        if ddl and ddl in adv.recommended:
            gain = "recommended by the advisor; " + gain
        add(
            "low",
            f"index {h.index} on {h.table}: {h.issue.replace('_', ' ')}",
            [h.reason or h.issue],
            (ddl or f"DROP INDEX {quote_ident(h.index)}")
            if h.droppable
            else "keep (enforces a constraint)",
            "index health",
            h.index,
            gain,
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    issues.sort(key=lambda i: (order[i.severity], i.id))
    return issues, ignored


def _join_issues(evidence: Evidence, add, ignored: list[dict]) -> None:
    """A measured missing join index (`analysis.joins`) as an issue, once per index: the
    loop that scans or builds an automatic index, and the interleaved before/after."""
    seen: set[str] = set()
    for a in evidence.joins.advice if evidence.joins else ():
        if not a.measured or a.ddl in seen:
            continue
        seen.add(a.ddl)
        if not a.recommended:
            ignored.append(
                {"query": a.query, "rule": "missing_join_index", "ddl": a.ddl, "why_ignored": a.why}
            )
            continue
        rows = None if a.rows_visited is None else int(a.rows_visited)
        sev = max(finding_severity(rows), "low", key=FINDING_SEVERITIES.index)  # measured
        measured = (
            f"measured on a copy, interleaved: p50 {_fmt(a.p50_before_ms)} -> "
            f"{_fmt(a.p50_after_ms)} ms (after/before {_fmt(a.ratio)}, 99% CI "
            f"{_fmt(a.ratio_ci_lo)}..{_fmt(a.ratio_ci_hi)}, {a.executions} executions per side)"
        )
        work = (
            f"SQLite's VM steps per execution {a.vm_steps_before:,.0f} -> {a.vm_steps_after:,.0f}"
            if a.vm_steps_before is not None and a.vm_steps_after is not None
            else ""
        )
        add(
            sev,
            f"{a.query}: missing index on join column {a.table}.{', '.join(a.columns)}",
            [e for e in (a.reason, measured, work, f"plan after: `{a.plan_after}`") if e],
            a.ddl,
            "joins",
            a.query,
            f"p50 {_fmt(a.p50_before_ms)} -> {_fmt(a.p50_after_ms)} ms; "
            f"write cost {_fmt(a.insert_us)} us/insert",
        )


def _latency_targeted(target_results: Iterable[TargetResult]) -> set[str]:
    """Queries with a latency target of their own (any milestone): judged by it alone."""
    return {r.subject for r in target_results if r.metric.startswith("latency")}


def decide(target_results: list[TargetResult], issues: list[Issue]) -> Decision:
    """The decision by the rules in this module's docstring."""
    crit = [i for i in issues if i.severity == "critical"]
    if crit:
        return Decision("REJECTED", tuple(f"{i.id}: {i.title}" for i in crit))
    conditions = tuple(f"{i.id}: {i.title}" for i in issues if i.severity in ("high", "medium"))
    if conditions:
        return Decision(
            "APPROVED WITH CONDITIONS",
            (f"{len(conditions)} high or medium issue(s) to resolve",),
            conditions,
        )
    current = [r for r in target_results if r.current]
    return Decision(
        "APPROVED",
        (f"all {len(current)} current targets pass; no issue above low",),
    )


def assess(
    evidence: Evidence | Mapping,
    targets: Targets,
    deployment_rows: dict[str, int] | None = None,
    budget: QueryBudget | None = None,
) -> dict:
    """Targets, issues and decision as summary.json carries them.

    `evidence` is the run's `Evidence`; a summary-shaped dict (summary.json, `perflab
    compare`, tests) is read through `Evidence.from_summary`. `deployment_rows` (rows per
    table at the size the application must reach, e.g. the dataset spec's largest scale)
    sets the horizon of the scale rule. `budget` (default: the targets file's) is what a
    query with no latency target may cost (`judge.slow_queries`)."""
    evidence = as_evidence(evidence)
    budget = budget or targets.budget
    results = evaluate_targets(evidence, targets)
    issues, ignored = derive_issues(evidence, results, deployment_rows, budget)
    checks = slow_queries.check(evidence, budget, _latency_targeted(results))
    decision = decide(results, issues)
    counts = {s: sum(i.severity == s for i in issues) for s in SEVERITIES}
    return {
        "targets": [asdict(r) for r in results],
        "issues": [asdict(i) for i in issues],
        "ignored_findings": ignored,
        "not_analysed": not_analysed(evidence),
        "query_budget": {
            "p99_ms": budget.p99_ms,
            "rows_per_execution": budget.rows_per_execution,
            "source": budget.source,
            "queries": [slow_queries.as_record(c) for c in checks],
        },
        "decision": asdict(decision),
        "verdict": {
            "decision": decision.decision,
            "targets_passed": sum(r.status == "pass" for r in results),
            "targets_failed": sum(r.status == "fail" for r in results),
            "targets_inconclusive": sum(r.status == "inconclusive" for r in results),
            "targets_not_measured": sum(r.status == "not_measured" for r in results),
            "issues_by_severity": counts,
        },
    }


def issues_frame(assessment: dict) -> pd.DataFrame:
    """Columns: id, severity, title, evidence (joined), recommendation, gain, origin."""
    rows = [{**i, "evidence": " | ".join(i["evidence"])} for i in assessment["issues"]]
    cols = ["id", "severity", "title", "evidence", "recommendation", "gain", "origin"]
    return pd.DataFrame(rows, columns=cols)
