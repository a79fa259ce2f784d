"""Pages from templates: the landing page, the comparison page and report.html.

The templates (present/templates/pages/) hold the markup and share one stylesheet,
``perflab.css``, inlined into each page so every page stays one self-contained file. This
module turns a summary (or a comparison) into what the templates show: numbers already
formatted by :mod:`perflab.present.theme`, tables by :mod:`perflab.present.tables`.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from markupsafe import Markup

from perflab.fsio import atomic_write_text
from perflab.present import tables, theme
from perflab.results import to_jsonable

__all__ = [
    "comparison_context",
    "index_context",
    "render",
    "render_index",
    "stylesheet",
    "todo",
    "write_index",
]

PAGES_DIR = Path(__file__).resolve().parent / "templates" / "pages"

_BAD_DECISIONS = {"reject", "rejected", "fail", "failed", "no-go", "block", "blocked"}
_GOOD_DECISIONS = {"accept", "accepted", "pass", "passed", "go", "ok", "approve", "approved"}
_FLAG_KINDS = ("scan_table", "temp_btree", "search_automatic_index")
_STATUS_CSS = {"pass": "ok", "fail": "bad", "inconclusive": "warn", "not_measured": "warn"}


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PAGES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = theme.fmt
    env.filters["fmt_unit"] = theme.fmt_with_unit
    env.filters["prose"] = lambda s: Markup(tables.prose_html(str(s)))
    env.filters["table"] = lambda t: Markup(t.html)
    return env


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    """perflab.css, the one stylesheet every page inlines."""
    return (PAGES_DIR / "perflab.css").read_text(encoding="utf-8")


def render(template: str, **context: Any) -> str:
    """Render ``template`` (a file under templates/pages/) with the stylesheet."""
    return _env().get_template(template).render(css=Markup(stylesheet()), **context)


# ------------------------------------------------------------------------------ landing


def _seconds(s: Any) -> str:
    if not isinstance(s, (int, float)) or isinstance(s, bool):
        return theme.MISSING
    if s >= 120:
        return f"{int(s // 60)} min {s % 60:.0f} s"
    return f"{s:.1f} s" if s >= 10 else f"{s:.2f} s"


def decision_css(word: Any) -> str:
    w = str(word).strip().lower()
    if w in _BAD_DECISIONS or w.startswith("reject"):
        return "bad"
    if w in _GOOD_DECISIONS:
        return "good"
    return "warn"


def todo(summary: Mapping[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """What to do first: the most severe issues with a recommendation, most severe first."""
    order = {s: i for i, s in enumerate(theme.SEVERITY_ORDER)}
    issues = sorted(
        (i for i in summary.get("issues") or [] if i.get("severity") != "info"),
        key=lambda i: order.get(i.get("severity"), 9),
    )
    out = []
    for i in issues[:limit]:
        out.append(
            {
                "id": i.get("id", ""),
                "severity": i.get("severity", ""),
                "title": i.get("title", ""),
                "do": i.get("recommendation") or "",
                "gain": i.get("gain") or "",
            }
        )
    return out


def _kinds(kinds: Iterable[Any]) -> list[dict[str, str]]:
    return [{"kind": str(k), "bad": str(k) in _FLAG_KINDS} for k in kinds]


def _queries(queries: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, q in enumerate(queries):
        lat = q.get("latency_ms") or {}
        ci = q.get("latency_ci_ms") or {}
        cls = q.get("plan_classification") or {}
        target = q.get("target_ms")
        p95 = lat.get("p95")
        over = isinstance(target, (int, float)) and isinstance(p95, (int, float)) and p95 > target
        stats = []
        for k in ("min", "p50", "p95", "p99", "p999", "max", "mean"):
            lo, hi = (ci.get(k) or (None, None))[:2]
            stats.append({"name": k, "text": theme.fmt_interval(lat.get(k), lo, hi, "ms")})
        extra = [
            (k.replace("_", " "), theme.fmt(q[k], "ms" if k.endswith("_ms") else None))
            for k in ("iterations", "target_ms", "reference_ms")
            if q.get(k) is not None
        ]
        if q.get("params_example") is not None:
            extra.append(("example parameters", ", ".join(map(str, q["params_example"]))))
        out.append(
            {
                "anchor": f"q{i}",
                "name": q.get("name", ""),
                "uses_index": bool(cls.get("uses_index")),
                "p50": theme.fmt(lat.get("p50"), "ms"),
                "p95": theme.fmt(lat.get("p95"), "ms"),
                "p99": theme.fmt(lat.get("p99"), "ms"),
                "target": theme.fmt(target, "ms") if target is not None else "",
                "over": over,
                "ops": theme.fmt(q.get("ops_per_s"), "ops/s"),
                "rows": theme.fmt((q.get("rows") or {}).get("mean"), "rows"),
                "kinds": _kinds(cls.get("kinds") or []),
                "full_scans": int(cls.get("full_scans") or 0),
                "temp_btrees": int(cls.get("temp_btrees") or 0),
                "sql": q.get("sql") or "",
                "plan": q.get("plan_text") or "",
                "stats": stats,
                "extra": extra,
            }
        )
    return out


def _targets(targets: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    from perflab.present.views import metric_unit

    rows = []
    for t in targets:
        unit = metric_unit(str(t.get("metric", "")))
        lo, hi = (t.get("ci") or [None, None])[:2]
        status = str(t.get("status", ""))
        rows.append(
            {
                "subject": t.get("subject", ""),
                "metric": t.get("metric", ""),
                "milestone": theme.fmt_milestone(t),
                "measured": theme.fmt_interval(t.get("value"), lo, hi, unit),
                "target": f"{t.get('comparator', '')} "
                f"{theme.fmt_with_unit(t.get('threshold'), unit)}",
                "status": status.replace("_", " "),
                "css": _STATUS_CSS.get(status, ""),
                "claim": theme.fmt_with_unit(t.get("reference"), unit)
                if t.get("reference") is not None
                else "",
            }
        )
    return rows


def _issues(issues: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": i.get("id", ""),
            "severity": i.get("severity", ""),
            "title": i.get("title", ""),
            "evidence": [str(e) for e in i.get("evidence") or [] if e],
            "recommendation": i.get("recommendation") or "",
            "gain": i.get("gain") or "",
        }
        for i in issues
    ]


def _notebooks(notebooks: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for nb in notebooks:
        name, status = str(nb.get("name", "")), str(nb.get("status", ""))
        out.append(
            {
                "name": name,
                "href": "notebooks/" + quote(f"{name}.html")
                if nb.get("html") is not None or status == "ok"
                else None,
                "status": status,
                "ok": status == "ok",
                "error": nb.get("error") or "",
                "time": _seconds(nb.get("seconds")),
            }
        )
    return out


def _overhead(overhead: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Harness overhead per call, in the unit each value needs (40 ns, not 4e-05)."""
    names = {
        "empty_loop": "empty timing loop",
        "select_1": "SELECT 1 through the harness",
        "timer_resolution": "timer resolution",
    }
    return [(names.get(k, k.replace("_", " ")), theme.fmt(v, "ms")) for k, v in overhead.items()]


def _application(summary: Mapping[str, Any], limit: int = 20) -> dict[str, Any] | None:
    from perflab.present.views import application_view

    df = application_view(dict(summary))
    if df.empty:
        return None
    more = max(0, len(df) - limit)
    units = {"share %": "%", "app total ms": "ms", "app mean ms": "ms", "calls": "count"}
    units |= {"app rows/exec": "rows", "replayed rows/exec": "rows"}
    return {"table": tables.show(df.head(limit), units=units), "more": more}


def _database(db: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("path", str(db.get("path", theme.MISSING))),
        ("scale", str(db.get("scale", theme.MISSING))),
        ("seed", str(db.get("seed", theme.MISSING))),
        ("size", theme.fmt(db.get("size_bytes"), "bytes")),
        ("ANALYZE run", theme.fmt(db.get("analyzed"))),
        ("built or reused", "reused from cache" if db.get("from_cache") else "built for this run"),
    ]


def index_context(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What the landing page (index.html) and report.html's opening show."""
    s = summary
    db = s.get("database") or {}
    tables_ = db.get("tables") or {}
    total_rows = sum(v for v in tables_.values() if isinstance(v, int) and not isinstance(v, bool))
    stages = s.get("stages") or {}
    run_seconds = stages.get("total")
    if not isinstance(run_seconds, (int, float)):
        run_seconds = sum(
            v for v in stages.values() if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
    engine = s.get("engine") or {}
    decision = s.get("decision")
    dec = None
    if isinstance(decision, Mapping):
        word = decision.get("decision") or decision.get("outcome") or decision.get("status")
        dec = {
            "word": word,
            "css": decision_css(word),
            "reasons": [str(r) for r in decision.get("reasons") or []],
            "conditions": [str(c) for c in decision.get("conditions") or []],
        }
    comparison = s.get("comparison")
    return {
        "title": f"perflab: {s.get('profile', '')} \u2014 run {s.get('run_id', '')}",
        "run_id": s.get("run_id", ""),
        "created_at": s.get("created_at", ""),
        "sqlite_version": s.get("sqlite_version", ""),
        "scale": db.get("scale", ""),
        "seed": db.get("seed", ""),
        "facts": [
            ("profile", str(s.get("profile", theme.MISSING))),
            ("scale", str(db.get("scale", theme.MISSING))),
            ("total rows", theme.fmt(total_rows, "rows")),
            ("tables", str(len(tables_))),
            ("database size", theme.fmt(db.get("size_bytes"), "bytes")),
            ("SQLite", str(s.get("sqlite_version", theme.MISSING))),
            ("queries", str(len(s.get("queries") or []))),
            ("run time", _seconds(run_seconds) if stages else theme.MISSING),
        ],
        "decision": dec,
        "todo": todo(s),
        "application": _application(s),
        "not_replayed": tables.show(pd.DataFrame((s.get("workload") or {}).get("not_replayed")))
        if (s.get("workload") or {}).get("not_replayed")
        else None,
        "targets": _targets(list(s.get("targets") or [])),
        "issues": _issues(list(s.get("issues") or [])),
        "issue_limit": 15,
        "comparison": comparison,
        "queries": _queries(list(s.get("queries") or [])),
        "has_target": any(q.get("target_ms") is not None for q in s.get("queries") or []),
        "notebooks": _notebooks(list(s.get("notebooks") or [])),
        "has_report": any(nb.get("status") == "ok" for nb in s.get("notebooks") or []),
        "environment": [
            ("SQLite version", str(s.get("sqlite_version", theme.MISSING))),
            ("driver", str(engine.get("driver", theme.MISSING))),
            ("Python", str(engine.get("python", theme.MISSING))),
            ("platform", str(engine.get("platform") or platform.platform())),
            ("machine", str(engine.get("machine") or platform.machine())),
            ("run id", str(s.get("run_id", theme.MISSING))),
            ("created at", str(s.get("created_at", theme.MISSING))),
            ("format version", str(s.get("format_version", theme.MISSING))),
        ],
        "database": _database(db),
        "table_rows": [(t, theme.fmt(n, "rows")) for t, n in tables_.items()],
        "pragmas": [(k, theme.fmt(v)) for k, v in (s.get("pragmas") or {}).items()],
        "overhead": _overhead(s.get("harness_overhead_ms") or {}),
        "stages": [(k, _seconds(v)) for k, v in stages.items()],
        "compile_options": [str(o) for o in engine.get("compile_options") or []],
    }


# --------------------------------------------------------------------------- comparison


def render_index(summary: Mapping[str, Any]) -> str:
    """The run's landing page, index.html: one self-contained page (inline CSS, no scripts,
    nothing loaded from anywhere) with the decision and what to do first, the key figures
    per query, links to report.html and every notebook's HTML, and the environment."""
    return render("index.html.j2", **index_context(to_jsonable(summary)))


def write_index(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    """Write ``run_dir/index.html`` atomically."""
    return atomic_write_text(Path(run_dir) / "index.html", render_index(summary))


def _metric_rows(metrics: list[Mapping[str, Any]]) -> pd.DataFrame:
    from perflab.present.views import metric_unit

    rows = []
    for m in metrics:
        unit = metric_unit(str(m.get("metric", "")))
        rows.append(
            {
                "subject": m.get("subject"),
                "metric": m.get("metric"),
                "base": theme.fmt_with_unit(m.get("base"), unit),
                "head": theme.fmt_with_unit(m.get("head"), unit),
                "head ÷ base": theme.fmt(m.get("ratio"), "ratio"),
                "verdict": m.get("verdict"),
                "base A/A spread": theme.fmt(m.get("aa_spread"), "ratio")
                if m.get("aa_spread") is not None
                else "",
                "work": m.get("work") or "",
            }
        )
    return pd.DataFrame(rows)


def comparison_context(cmp: Mapping[str, Any], chart_html: str) -> dict[str, Any]:
    """What the comparison page shows: counts, the SELECT 1 ratio, the chart, the tables."""
    from perflab.judge.compare import COUNTERS_NOTE, machine_line

    work = pd.DataFrame(cmp.get("work") or [])
    if not work.empty:
        work = work[[c for c in work.columns if not c.endswith(("_sorts", "_autoindex"))]]
    plans = pd.DataFrame(cmp.get("plans") or [])
    ix = cmp.get("indexes") or {}
    ratio = (cmp.get("machine") or {}).get("select_1_ratio")
    return {
        "title": f"perflab compare: {cmp.get('base_run')} \u2192 {cmp.get('head_run')}",
        "base_run": cmp.get("base_run"),
        "head_run": cmp.get("head_run"),
        "counts": [
            ("regressions (p50, ops/s)", cmp.get("regressions", 0)),
            ("plan regressions", cmp.get("plan_regressions", 0)),
            ("work regressions", cmp.get("work_regressions", 0)),
            ("write work regressions", cmp.get("write_work_regressions", 0)),
            ("improvements", cmp.get("improvements", 0)),
            ("p99 regressions (not gated)", cmp.get("tail_regressions", 0)),
        ],
        "min_effect": f"{cmp.get('min_effect', 0):.0%}",
        "select_1_ratio": theme.fmt(ratio, "ratio") if ratio is not None else None,
        "machine_line": machine_line(dict(cmp)),
        "warning": (cmp.get("machine") or {}).get("warning"),
        "indexes_basis": ix.get("basis", ""),
        "added": ", ".join(ix.get("added") or []) or "none",
        "removed": ", ".join(ix.get("removed") or []) or "none",
        "chart": Markup(chart_html),
        "metrics": tables.show(_metric_rows(list(cmp.get("metrics") or [])))
        if cmp.get("metrics")
        else None,
        "work_note": cmp.get("counters_status", "counters: not comparable")
        + f"; tolerance +{cmp.get('work_tolerance', 0):.0%}. "
        + cmp.get("counters_note", COUNTERS_NOTE),
        "work": tables.show(work) if not work.empty else None,
        "write_work": tables.show(pd.DataFrame(cmp["write_work"]))
        if cmp.get("write_work")
        else None,
        "plans": tables.show(plans) if not plans.empty else None,
    }
