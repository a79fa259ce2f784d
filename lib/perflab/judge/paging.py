"""A missed pagination becomes an issue with its evidence and the measured fix.

Rule (tests check it): a paged query (LIMIT with OFFSET) whose OFFSET pages cost VM steps
growing linearly with the rows skipped, whose keyset rewrite returned exactly the OFFSET
pages, and whose keyset form does at most half the work at the deepest page without growing
linearly (`PaginationResult.missed`, SQLite's counters) is one issue, medium: the work per
page grows without bound as the application pages deeper. The timings are its measured
figures: "measured N x faster" only when the interleaved comparison settles it
(`faster`), else the title says the timing is inconclusive at this size. The counters decide
so that two runs of the same code raise the same issue. OFFSET growing linearly without an
equivalent, cheaper keyset form is listed as ignored, with why. The analysis itself is
`perflab.analysis.pagination`.
"""

from __future__ import annotations

from perflab import humanize
from perflab.judge.evidence import PageEvidence, PaginationEvidence

SEVERITY = "medium"


def _ms(v: float | None) -> str:
    return humanize.duration_ms(v) if v is not None else "?"


def _ci(ci: tuple | None) -> str:
    lo, hi = ci or (None, None)
    return f"[{_ms(lo)}, {_ms(hi)}]"


def _deepest(p: PaginationEvidence) -> PageEvidence | None:
    return p.pages[-1] if p.pages else None


def fix(p: PaginationEvidence) -> tuple[str, str]:
    """(recommendation, measured gain) of a missed pagination; ("", "") otherwise."""
    d = _deepest(p)
    if not p.missed or d is None:
        return "", ""
    tie = (
        f" (the ORDER BY is not unique: {p.tie_breaker} appended as the tie-breaker)"
        if p.tie_breaker
        else ""
    )
    rec = (
        f"page by keyset instead of OFFSET{tie}: {p.keyset_sql} -- with the previous "
        "page's last key values as parameters (page 1: the same query without the cursor)"
    )
    gain = (
        f"page {d.page}: VM steps {d.offset_vm_steps:,} -> {d.keyset_vm_steps:,}; p50 "
        f"{_ms(d.offset_p50_ms)} -> {_ms(d.keyset_p50_ms)} ({_timing(p, d)}); same pages: "
        f"{p.equivalent}"
    )
    return rec, gain


def _timing(p: PaginationEvidence, d: PageEvidence) -> str:
    """The timing claim at the deepest page: measured faster, or labelled inconclusive."""
    lo, hi = d.ratio_ci or (None, None)
    ci = f"keyset/OFFSET 99% CI {lo:.3g}..{hi:.3g}, interleaved" if lo and hi else "no interval"
    if p.faster and d.ratio:
        return f"{1 / d.ratio:.3g}x faster; {ci}"
    return f"timing difference inconclusive at this size: {d.verdict or 'not compared'}; {ci}"


def _work_ratio(d: PageEvidence) -> str:
    if not d.keyset_vm_steps or not d.offset_vm_steps:
        return "less"
    return f"{d.offset_vm_steps / d.keyset_vm_steps:.3g}x less"


def issue_text(p: PaginationEvidence) -> tuple[str, str, list[str], str, str]:
    """(severity, title, evidence, recommendation, gain) of a missed pagination."""
    d = _deepest(p)
    assert d is not None
    vm = ", ".join(f"page {x.page} {x.offset_vm_steps:,}" for x in p.pages)
    kvm = ", ".join(f"page {x.page} {x.keyset_vm_steps:,}" for x in p.pages)
    lat = ", ".join(f"page {x.page} {_ms(x.offset_p50_ms)}" for x in p.pages)
    klat = ", ".join(f"page {x.page} {_ms(x.keyset_p50_ms)}" for x in p.pages)
    slope = f"{p.offset_vm_slope:.3g}" if p.offset_vm_slope is not None else "?"
    ev = [
        f"OFFSET VM steps per page: {vm}: linear, {slope} steps per row skipped "
        "(SQLite's own counters: the same on any machine)",
        f"keyset VM steps per page: {kvm} ({p.keyset_vm_kind or 'not fitted'})",
        f"p50 per page, OFFSET: {lat}; keyset: {klat} (interleaved in one process)",
        f"at page {d.page}: OFFSET p50 {_ms(d.offset_p50_ms)} {_ci(d.offset_p50_ci)}, keyset "
        f"{_ms(d.keyset_p50_ms)} {_ci(d.keyset_p50_ci)} (95% intervals; {_timing(p, d)})",
        p.equivalence_note,
        f"depths: {p.depths_note}",
    ]
    rec, gain = fix(p)
    timing = (
        f"measured {1 / d.ratio:.3g}x faster"
        if p.faster and d.ratio
        else "timing difference inconclusive at this size"
    )
    title = (
        f"{p.query}: OFFSET paging work grows linearly with page depth; keyset paging does "
        f"{_work_ratio(d)} work at page {d.page} ({timing})"
    )
    return SEVERITY, title, [e for e in ev if e], rec, gain


def ignored(p: PaginationEvidence) -> dict | None:
    """The `ignored_findings` entry of an OFFSET that grows linearly without a measured
    fix (why it is not an issue); None for anything else."""
    if p.missed or p.status != "analysed" or p.offset_vm_kind != "linear":
        return None
    d = _deepest(p)
    if p.equivalent is not True:
        why = "the keyset rewrite did not return the OFFSET pages"
    elif d is None:
        why = "no page measured"
    else:
        why = (
            f"keyset does not cut the work at page {d.page}: VM steps "
            f"{d.offset_vm_steps:,} with OFFSET, {d.keyset_vm_steps:,} with keyset "
            f"({p.keyset_vm_kind or 'not fitted'})"
        )
    return {"query": p.query, "rule": "pagination", "why_ignored": f"OFFSET grows linearly; {why}"}
