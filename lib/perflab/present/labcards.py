"""HTML cards for the lab's results (JupyterLab shows them through ``_repr_html_``).

Every figure carries its unit and its interval; a verdict says which rule made it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from perflab.humanize import duration_ms
from perflab.present import theme

CARD_STYLE = f"""
<style>
.pl-card{{font:13px/1.45 system-ui,sans-serif;color:#222;max-width:72em}}
.pl-card table{{border-collapse:collapse;margin:.4em 0}}
.pl-card th,.pl-card td{{border-bottom:1px solid #e1e4e8;padding:.25em .8em;text-align:right}}
.pl-card th:first-child,.pl-card td:first-child{{text-align:left}}
.pl-card code{{font:12px ui-monospace,monospace}}
.pl-sides{{display:flex;gap:1.5em;flex-wrap:wrap}}.pl-sides>div{{flex:1 1 30em;min-width:0}}
.pl-verdict{{font-weight:600}}.pl-better{{color:{theme.BETTER}}}.pl-worse{{color:{theme.WORSE}}}
.pl-neutral{{color:{theme.NEUTRAL}}}
</style>
"""


def interval(ms: float | None, ci: Sequence[float | None] | None) -> str:
    """ "7.4 µs [7.2, 8.9]"; a bound the sample cannot give is "n/a" (too few runs)."""
    lo, hi = (list(ci) + [None, None])[:2] if ci else (None, None)
    return f"{duration_ms(ms)} [{duration_ms(lo)}, {duration_ms(hi)}]"


def timing_card(timing: Mapping, sentence: str | None = None) -> str:
    """Percentiles with their 95% intervals, throughput, and the work sentence."""
    lat, ci = timing["latency_ms"], timing["latency_ci_ms"]
    rows = "".join(
        f"<tr><td>{k}</td><td>{html.escape(interval(lat[k], ci.get(k)))}</td></tr>"
        for k in ("p50", "p95", "p99", "p999")
        if k in lat
    )
    extra = f"<p>{html.escape(sentence)}</p>" if sentence else ""
    if any(b is None for k in ("p50", "p95", "p99", "p999") for b in (ci.get(k) or [None])):
        extra += "<p>n/a: too few executions for that bound of the interval.</p>"
    return (
        f'{CARD_STYLE}<div class="pl-card"><table><tr><th>percentile</th>'
        f"<th>latency [95% interval]</th></tr>{rows}</table>"
        f"<p>{timing['n']:,} timed executions · {timing['ops_per_s']:,.0f} ops/s on one "
        f"connection · min {duration_ms(lat['min'])}, max {duration_ms(lat['max'])}</p>"
        f"{extra}</div>"
    )


TONE = {"faster": "pl-better", "not faster": "pl-worse", "inconclusive": "pl-neutral"}


def experiment_card(
    title: str,
    before_html: str,
    after_html: str,
    *,
    p50_before_ms: float,
    p50_after_ms: float,
    ratio: float,
    ratio_ci: Sequence[float],
    verdict: str,
    rule: str,
    work_before: str,
    work_after: str,
    equivalent: str | None = None,
) -> str:
    """Before and after side by side, with the interleaved timing's verdict on top."""
    eq = f"<p>Same results: {html.escape(equivalent)}</p>" if equivalent else ""
    return (
        f'{CARD_STYLE}<div class="pl-card"><p><b>{html.escape(title)}</b></p>'
        f'<p><span class="pl-verdict {TONE.get(verdict, "pl-neutral")}">{html.escape(verdict)}'
        f"</span>: after/before median = {ratio:.3g} [{ratio_ci[0]:.3g}, {ratio_ci[1]:.3g}] "
        f"(99% bootstrap interval; {html.escape(rule)}); p50 {duration_ms(p50_before_ms)} → "
        f"{duration_ms(p50_after_ms)}</p>{eq}"
        f'<div class="pl-sides"><div><p>before · {html.escape(work_before)}</p>{before_html}</div>'
        f"<div><p>after · {html.escape(work_after)}</p>{after_html}</div></div></div>"
    )
