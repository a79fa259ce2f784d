"""A missed pagination becomes an issue with its evidence and the measured fix.

Rule (tests check it): a paged query (LIMIT with OFFSET) whose OFFSET pages cost VM steps
growing linearly with the rows skipped, whose keyset rewrite returned exactly the OFFSET
pages, and whose keyset form was measured faster at the deepest page (interleaved ratio
interval below 1 past the minimum effect, p50 intervals apart) is one issue, medium: the
work per page grows without bound as the application pages deeper, and the fix is measured.
OFFSET growing linearly without that measurement (keyset not faster, not equivalent) is
listed as ignored, with why. The analysis itself is `perflab.analysis.pagination`.
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
    if not p.missed or d is None or not d.ratio:
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
    lo, hi = d.ratio_ci or (None, None)
    gain = (
        f"page {d.page}: p50 {_ms(d.offset_p50_ms)} -> {_ms(d.keyset_p50_ms)} "
        f"({1 / d.ratio:.3g}x faster; keyset/OFFSET 99% CI {lo:.3g}..{hi:.3g}, interleaved); "
        f"VM steps {d.offset_vm_steps:,} -> {d.keyset_vm_steps:,}; same pages: "
        f"{p.equivalent}"
    )
    return rec, gain


def issue_text(p: PaginationEvidence) -> tuple[str, str, list[str], str, str]:
    """(severity, title, evidence, recommendation, gain) of a missed pagination."""
    d = _deepest(p)
    assert d is not None and d.ratio
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
        f"{_ms(d.keyset_p50_ms)} {_ci(d.keyset_p50_ci)} (95% intervals, apart)",
        p.equivalence_note,
        f"depths: {p.depths_note}",
    ]
    rec, gain = fix(p)
    title = (
        f"{p.query}: OFFSET paging grows linearly with page depth; keyset paging measured "
        f"{1 / d.ratio:.3g}x faster at page {d.page}"
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
            f"keyset at page {d.page} not measured faster: keyset/OFFSET {d.ratio:.3g}, "
            f"{d.verdict}, p50 intervals {_ci(d.keyset_p50_ci)} vs {_ci(d.offset_p50_ci)}"
        )
    return {"query": p.query, "rule": "pagination", "why_ignored": f"OFFSET grows linearly; {why}"}
