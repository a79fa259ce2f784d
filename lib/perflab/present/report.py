"""The run's machine-readable summary (summary.json) and its HTML landing page (index.html).

``summary.json`` follows ``perflab/data/summary.schema.json`` (draft 2020-12). It is validated
before it is written, and written atomically, so a bad summary never replaces a good one.

``index.html`` is one self-contained page (inline CSS, no scripts, nothing loaded from
anywhere): the headline, the key figures per query, the decision, links to every notebook's
HTML and the environment the numbers were measured in.
"""

from __future__ import annotations

import functools
import json
import math
import platform
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from perflab import paths
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.results import to_jsonable

__all__ = [
    "to_jsonable",
    "validate_summary",
    "write_index",
    "write_summary",
]


# --------------------------------------------------------------------------------------
# files


# --------------------------------------------------------------------------------------
# JSON


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    try:
        schema = json.loads(paths.SUMMARY_SCHEMA.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PerflabError(
            f"{paths.SUMMARY_SCHEMA}: cannot read the summary schema: {exc}"
        ) from exc
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate_summary(summary: dict) -> None:
    """Check ``summary`` against perflab/data/summary.schema.json.

    Raises PerflabError with one line naming the JSON path that fails, for example
    ``summary.json: $.queries[0].latency_ms.p50: 'fast' is not of type 'number'``.
    """
    from jsonschema.exceptions import best_match

    if not isinstance(summary, Mapping):
        raise PerflabError(f"summary.json: $: expected an object, got {type(summary).__name__}")
    error = best_match(_validator().iter_errors(to_jsonable(summary)))
    if error is None:
        return
    message = " ".join(str(error.message).split())
    if len(message) > 300:
        message = message[:297] + "..."
    raise PerflabError(f"summary.json: {_json_path(error.absolute_path)}: {message}")


def write_summary(run_dir: Path, summary: dict) -> Path:
    """Validate ``summary`` and write ``run_dir/summary.json`` atomically (indent 2)."""
    data = to_jsonable(summary)
    validate_summary(data)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(Path(run_dir) / "summary.json", text)


# --------------------------------------------------------------------------------------
# index.html

_CSS = """
:root { --fg:#1d2330; --muted:#5b6473; --line:#d9dee7; --bg:#ffffff; --soft:#f5f7fa;
        --bad:#b42318; --badbg:#fdecea; --warn:#8a5a00; --warnbg:#fff6e0; --ok:#1a7f37;
        --okbg:#e8f5ec; --accent:#2d5bd3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px;
       border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.headline { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.fact { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
       padding: 8px 14px; }
.fact b { display: block; font-size: 18px; }
.fact span { color: var(--muted); font-size: 12px; text-transform: uppercase;
       letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
       vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.flag td { background: var(--warnbg); }
.tag { display: inline-block; border-radius: 4px; padding: 0 6px; margin: 1px 2px 1px 0;
       font-size: 12px; background: var(--soft); border: 1px solid var(--line);
       white-space: nowrap; }
.tag.bad { background: var(--badbg); border-color: #f4b4ae; color: var(--bad);
       font-weight: 600; }
.tag.ok { background: var(--okbg); border-color: #a6d8b5; color: var(--ok); }
.tag.warn { background: var(--warnbg); border-color: #f0d08a; color: var(--warn); }
.status-ok { color: var(--ok); font-weight: 600; }
.status-failed { color: var(--bad); font-weight: 600; }
.decision { border: 2px solid var(--line); border-radius: 10px; padding: 12px 18px;
       margin: 10px 0; }
.decision.good { border-color: var(--ok); background: var(--okbg); }
.decision.bad { border-color: var(--bad); background: var(--badbg); }
.decision.warn { border-color: var(--warn); background: var(--warnbg); }
.decision .outcome { font-size: 20px; font-weight: 700; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       font-size: 13px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
       padding: 8px 10px;
      overflow-x: auto; white-space: pre-wrap; margin: 4px 0; }
details summary { cursor: pointer; color: var(--accent); }
a { color: var(--accent); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
.muted { color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""

_BAD_DECISIONS = {"reject", "rejected", "fail", "failed", "no-go", "nogo", "block", "blocked"}
_GOOD_DECISIONS = {"accept", "accepted", "pass", "passed", "go", "ok", "approve", "approved"}


def _e(value: Any) -> str:
    """HTML-escape anything (None shows as an em dash)."""
    if value is None:
        return "&mdash;"
    if isinstance(value, float):
        return escape(_num(value))
    return escape(str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "\u2014"
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}g}"
    return str(value)


def _ms(value: Any) -> str:
    return escape(_num(value, 3))


def _bytes(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return _e(n)
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return escape(f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}")
        size /= 1024
    return escape(str(n))  # pragma: no cover


def _seconds(s: Any) -> str:
    if not isinstance(s, (int, float)) or isinstance(s, bool):
        return _e(s)
    if s >= 120:
        return escape(f"{int(s // 60)} min {s % 60:.0f} s")
    return escape(f"{s:.1f} s" if s >= 10 else f"{s:.2f} s")


def _value_html(value: Any) -> str:
    """Render a loosely typed value: scalars inline, short lists of scalars joined, else JSON."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return _e(value)
    if (
        isinstance(value, list)
        and len(value) <= 12
        and all(isinstance(v, (str, int, float)) for v in value)
    ):
        return ", ".join(_e(v) for v in value)
    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
    return f"<pre>{escape(text)}</pre>"


def _kv(items: Iterable[tuple[str, Any]], raw: bool = False) -> str:
    rows = []
    for k, v in items:
        rows.append(f"<dt>{_e(k)}</dt><dd>{v if raw else _value_html(v)}</dd>")
    return '<dl class="kv">' + "".join(rows) + "</dl>"


def _headline(summary: Mapping[str, Any]) -> str:
    db = summary.get("database") or {}
    tables = db.get("tables") or {}
    total_rows = sum(v for v in tables.values() if isinstance(v, int) and not isinstance(v, bool))
    stages = summary.get("stages") or {}
    run_seconds = stages.get("total")  # the whole run; the other stages are parts of it
    if not isinstance(run_seconds, (int, float)):
        run_seconds = sum(
            v for v in stages.values() if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
    facts = [
        ("profile", _e(summary.get("profile"))),
        ("scale", _e(db.get("scale"))),
        ("total rows", escape(f"{total_rows:,}")),
        ("tables", escape(str(len(tables)))),
        ("database size", _bytes(db.get("size_bytes"))),
        ("SQLite", _e(summary.get("sqlite_version"))),
        ("queries", escape(str(len(summary.get("queries") or [])))),
        ("run time", _seconds(run_seconds) if stages else "&mdash;"),
    ]
    cells = "".join(f'<div class="fact"><span>{k}</span><b>{v}</b></div>' for k, v in facts)
    return f'<div class="headline">{cells}</div>'


def _decision_html(decision: Any) -> str:
    if not isinstance(decision, Mapping):
        return f'<div class="decision">{_value_html(decision)}</div>'
    outcome = None
    for key in ("outcome", "decision", "status", "result", "verdict"):
        if isinstance(decision.get(key), (str, bool)):
            outcome = (key, decision[key])
            break
    css = ""
    parts = []
    if outcome is not None:
        word = str(outcome[1]).strip().lower()
        if word in _BAD_DECISIONS or outcome[1] is False:
            css = " bad"
        elif word in _GOOD_DECISIONS or outcome[1] is True:
            css = " good"
        else:
            css = " warn"
        parts.append(f'<div class="outcome">{_e(outcome[1])}</div>')
    for key in ("summary", "reason", "rationale", "message"):
        if isinstance(decision.get(key), str):
            parts.append(f"<p>{_e(decision[key])}</p>")
    shown = {outcome[0]} if outcome else set()
    shown |= {k for k in ("summary", "reason", "rationale", "message") if k in decision}
    rest = [(k, v) for k, v in decision.items() if k not in shown]
    if rest:
        parts.append(_kv(rest))
    return f'<div class="decision{css}">{"".join(parts)}</div>'


_FLAG_KINDS = ("scan_table", "temp_btree", "search_automatic_index")


def _kind_tags(kinds: Iterable[Any]) -> str:
    tags = []
    for k in kinds:
        cls = "tag bad" if str(k) in _FLAG_KINDS else "tag"
        tags.append(f'<span class="{cls}">{_e(k)}</span>')
    return "".join(tags) or "&mdash;"


def _queries_html(queries: list[Mapping[str, Any]]) -> str:
    if not queries:
        return '<p class="muted">No queries were measured.</p>'
    has_target = any(q.get("target_ms") is not None for q in queries)
    head = [
        "query",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "ops/s",
        "rows (mean)",
        "plan kinds",
        "full scans",
        "temp b-trees",
    ]
    if has_target:
        head.insert(4, "target ms")
    num_cols = {h for h in head if h not in ("query", "plan kinds")}
    ths = "".join(f'<th class="num">{h}</th>' if h in num_cols else f"<th>{h}</th>" for h in head)
    rows = []
    for i, q in enumerate(queries):
        lat = q.get("latency_ms") or {}
        cls = q.get("plan_classification") or {}
        full_scans = cls.get("full_scans") or 0
        temp_btrees = cls.get("temp_btrees") or 0
        flagged = bool(full_scans) or bool(temp_btrees)
        rows_mean = (q.get("rows") or {}).get("mean")
        anchor = f"q{i}"
        name = f'<a href="#{anchor}">{_e(q.get("name"))}</a>'
        if cls.get("uses_index"):
            name += ' <span class="tag ok">index</span>'
        fs = f'<span class="tag bad">{full_scans}</span>' if full_scans else "0"
        tb = f'<span class="tag bad">{temp_btrees}</span>' if temp_btrees else "0"
        cells = [
            f"<td>{name}</td>",
            f'<td class="num">{_ms(lat.get("p50"))}</td>',
            f'<td class="num">{_ms(lat.get("p95"))}</td>',
            f'<td class="num">{_ms(lat.get("p99"))}</td>',
        ]
        if has_target:
            target = q.get("target_ms")
            over = (
                isinstance(target, (int, float))
                and isinstance(lat.get("p95"), (int, float))
                and lat["p95"] > target
            )
            t = _ms(target)
            t = f'<span class="tag bad">{t}</span>' if over else t
            cells.append(f'<td class="num">{t}</td>')
        cells += [
            f'<td class="num">{escape(_num(q.get("ops_per_s"), 4))}</td>',
            f'<td class="num">{escape(_num(rows_mean, 3))}</td>',
            f"<td>{_kind_tags(cls.get('kinds') or [])}</td>",
            f'<td class="num">{fs}</td>',
            f'<td class="num">{tb}</td>',
        ]
        tr = '<tr class="flag">' if flagged else "<tr>"
        rows.append(f"{tr}{''.join(cells)}</tr>")
    table = f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    details = []
    for i, q in enumerate(queries):
        lat = q.get("latency_ms") or {}
        ci = q.get("latency_ci_ms") or {}
        lat_rows = "".join(
            f'<tr><td>{_e(k)}</td><td class="num">{_ms(lat.get(k))}</td>'
            f'<td class="num">{_ci(ci.get(k))}</td></tr>'
            for k in ("min", "p50", "p95", "p99", "p999", "max", "mean")
        )
        extra = [
            (k, q[k])
            for k in ("iterations", "target_ms", "reference_ms", "params_example")
            if k in q and q[k] is not None
        ]
        details.append(
            f'<details id="q{i}"><summary>{_e(q.get("name"))}</summary>'
            f"<h3>SQL</h3><pre>{_e(q.get('sql'))}</pre>"
            f"<h3>Plan</h3><pre>{_e(q.get('plan_text') or '')}</pre>"
            f'<h3>Latency</h3><table><thead><tr><th>statistic</th><th class="num">ms</th>'
            f'<th class="num">95% CI</th></tr></thead><tbody>{lat_rows}</tbody></table>'
            f"{_kv(extra) if extra else ''}</details>"
        )
    return table + "<h3>Per query</h3>" + "".join(details)


def _ci(pair: Any) -> str:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or None in pair:
        return '<span class="muted">n/a</span>'
    return f"{_ms(pair[0])} &ndash; {_ms(pair[1])}"


def _notebooks_html(notebooks: list[Mapping[str, Any]]) -> str:
    if not notebooks:
        return '<p class="muted">No notebooks ran.</p>'
    rows = []
    for nb in notebooks:
        name = str(nb.get("name", ""))
        status = str(nb.get("status", ""))
        href = "notebooks/" + quote(f"{name}.html")
        if nb.get("html") is None and status != "ok":
            link = f"{_e(name)} <span class='muted'>(no HTML)</span>"
        else:
            link = f'<a href="{escape(href, quote=True)}">{_e(name)}</a>'
        status_cls = "status-ok" if status == "ok" else "status-failed"
        err = f"<br><span class='muted'>{_e(nb['error'])}</span>" if nb.get("error") else ""
        rows.append(
            f"<tr><td>{link}{err}</td>"
            f'<td class="{status_cls}">{_e(status)}</td>'
            f'<td class="num">{_seconds(nb.get("seconds"))}</td></tr>'
        )
    return (
        '<table><thead><tr><th>notebook</th><th>status</th><th class="num">time</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _environment_html(summary: Mapping[str, Any]) -> str:
    engine = summary.get("engine") or {}
    db = summary.get("database") or {}
    items: list[tuple[str, Any]] = [
        ("SQLite version", summary.get("sqlite_version")),
        ("driver", engine.get("driver")),
        ("Python", engine.get("python")),
        ("platform", engine.get("platform") or platform.platform()),
        ("machine", engine.get("machine") or platform.machine()),
        ("run id", summary.get("run_id")),
        ("created at", summary.get("created_at")),
        ("format version", summary.get("format_version")),
    ]
    out = [_kv(items)]

    out.append("<h3>Database</h3>")
    out.append(
        _kv(
            [
                ("path", _e(db.get("path"))),
                ("scale", _e(db.get("scale"))),
                ("seed", _e(db.get("seed"))),
                ("size", _bytes(db.get("size_bytes"))),
                ("analyzed (ANALYZE run)", _e(db.get("analyzed"))),
                ("from cache", _e(db.get("from_cache"))),
            ],
            raw=True,
        )
    )
    tables = db.get("tables") or {}
    if tables:
        trs = "".join(
            f'<tr><td>{_e(t)}</td><td class="num">{escape(_num(n))}</td></tr>'
            for t, n in tables.items()
        )
        out.append(
            '<table><thead><tr><th>table</th><th class="num">rows</th></tr></thead>'
            f"<tbody>{trs}</tbody></table>"
        )

    pragmas = summary.get("pragmas") or {}
    out.append("<h3>Pragmas in force</h3>")
    out.append(_kv(pragmas.items()) if pragmas else '<p class="muted">none recorded</p>')

    overhead = summary.get("harness_overhead_ms") or {}
    if overhead:
        out.append("<h3>Harness overhead (ms per call)</h3>")
        out.append(_kv(((k, _ms(v)) for k, v in overhead.items()), raw=True))

    stages = summary.get("stages") or {}
    if stages:
        trs = "".join(
            f'<tr><td>{_e(k)}</td><td class="num">{_seconds(v)}</td></tr>'
            for k, v in stages.items()
        )
        out.append("<h3>Stage times</h3>")
        out.append(
            '<table><thead><tr><th>stage</th><th class="num">time</th></tr></thead>'
            f"<tbody>{trs}</tbody></table>"
        )

    opts = engine.get("compile_options") or []
    out.append(f"<h3>Compile options ({len(opts)})</h3>")
    out.append(
        "<details><summary>show</summary><pre>"
        + escape("\n".join(str(o) for o in opts))
        + "</pre></details>"
    )
    return "".join(out)


_STATUS_CSS = {"pass": "ok", "fail": "bad", "inconclusive": "warn", "not_measured": "warn"}


def _targets_html(targets: list[Mapping[str, Any]]) -> str:
    rows = []
    for t in targets:
        lo, hi = (t.get("ci") or [None, None])[:2]
        ref = t.get("reference")
        rows.append(
            f"<tr><td>{_e(t.get('subject'))}</td><td>{_e(t.get('metric'))}</td>"
            f"<td>{_e(t.get('milestone'))}</td><td>{_num(t.get('value'))}</td>"
            f"<td>{_num(lo)} &ndash; {_num(hi)}</td>"
            f"<td>{_e(t.get('comparator'))} {_num(t.get('threshold'))}</td>"
            f'<td><span class="tag {_STATUS_CSS.get(t.get("status"), "")}">'
            f"{_e(t.get('status'))}</span></td>"
            f"<td>{'' if ref is None else _num(ref) + ' (claim)'}</td></tr>"
        )
    return (
        "<table><thead><tr><th>subject</th><th>metric</th><th>milestone</th><th>measured</th>"
        "<th>interval</th><th>target</th><th>status</th><th>original's claim</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _issues_html(issues: list[Mapping[str, Any]], limit: int = 15) -> str:
    rows = []
    for i in issues[:limit]:
        ev = "<br>".join(_e(x) for x in i.get("evidence") or [])
        rows.append(
            f"<tr><td>{_e(i.get('id'))}</td><td>{_e(i.get('severity'))}</td>"
            f"<td>{_e(i.get('title'))}</td><td>{ev}</td>"
            f"<td>{_e(i.get('recommendation'))}"
            f"{('<br><i>' + _e(i.get('gain')) + '</i>') if i.get('gain') else ''}</td></tr>"
        )
    more = (
        f"<p>{len(issues) - limit} more in the summary notebook.</p>" if len(issues) > limit else ""
    )
    return (
        "<table><thead><tr><th>id</th><th>severity</th><th>issue</th><th>evidence</th>"
        f"<th>recommendation</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _application_html(s: Mapping[str, Any], limit: int = 20) -> str:
    """The captured application's top statements by share of its database time, beside
    this run's latency (perflab.present.views.application_view); "" for other workloads."""
    from perflab.present.views import application_view

    df = application_view(dict(s))
    if df.empty:
        return ""
    rows = []
    for r in df.head(limit).to_dict("records"):
        rows.append(
            f"<tr><td>{_e(r['statement'])}</td><td>{_e(r['kind'])}</td>"
            f"<td>{_num(r.get('calls'))}</td><td>{_num(r.get('share %'))}</td>"
            f"<td>{_num(r.get('app total ms'))}</td><td>{_num(r.get('app mean ms'))}</td>"
            f"<td>{_num(r.get('p50'))}</td><td>{_e(r.get('p50 interval') or '')}</td>"
            f"<td>{_num(r.get('p99'))}</td><td>{_e(r.get('p99 interval') or '')}</td>"
            f"<td>{_e(r.get('plan') or '')}</td><td>{_e(r.get('parameters') or '')}</td></tr>"
        )
    more = f"<p>{len(df) - limit} more in the summary notebook.</p>" if len(df) > limit else ""
    return (
        "<p>Captured statements ranked by their share of the application's database time "
        "(in-application time during capture), beside the latency measured in this run.</p>"
        "<table><thead><tr><th>statement</th><th>kind</th><th>calls</th><th>share %</th>"
        "<th>app total ms</th><th>app mean ms</th><th>p50 ms</th><th>p50 interval</th>"
        "<th>p99 ms</th><th>p99 interval</th><th>plan</th><th>parameters</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _not_replayed_html(skipped: list[Mapping[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_e(x.get('name'))}</td><td>{_e(x.get('kind'))}</td>"
        f"<td>{_e(x.get('reason'))}</td><td><code>{_e(x.get('sql'))}</code></td></tr>"
        for x in skipped
    ]
    return (
        "<p>Captured statements this database could not run; the run went on without them."
        "</p><table><thead><tr><th>name</th><th>kind</th><th>reason</th><th>sql</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_index(summary: Mapping[str, Any]) -> str:
    """The landing page's HTML for ``summary`` (see write_index)."""
    s = to_jsonable(summary)
    title = f"perflab: {s.get('profile', '')} \u2014 run {s.get('run_id', '')}"
    db = s.get("database") or {}
    sub = (
        f"Run {_e(s.get('run_id'))} created {_e(s.get('created_at'))} &middot; "
        f"SQLite {_e(s.get('sqlite_version'))} &middot; scale {_e(db.get('scale'))} "
        f"&middot; seed {_e(db.get('seed'))}"
    )
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{sub}</p>',
        _headline(s),
    ]
    if s.get("decision") is not None:
        body += ["<h2>Decision</h2>", _decision_html(s["decision"])]
    # a captured workload: where the application's time goes, right after the decision
    app = _application_html(s)
    if app:
        body += ["<h2>Where the application's time goes</h2>", app]
    skipped = (s.get("workload") or {}).get("not_replayed") or []
    if skipped:
        body += ["<h2>Not replayed</h2>", _not_replayed_html(skipped)]
    if s.get("targets"):
        body += ["<h2>Targets</h2>", _targets_html(s["targets"])]
    if s.get("issues"):
        body += ["<h2>Issues</h2>", _issues_html(s["issues"])]
    if s.get("comparison"):
        c = s["comparison"]
        body += [
            "<h2>Against the baseline</h2>",
            f"<p>Baseline {_e(c.get('base_run'))}: {_e(c.get('regressions'))} regression(s), "
            f"{_e(c.get('plan_regressions'))} plan regression(s), "
            f"{_e(c.get('improvements'))} improvement(s). "
            '<a href="comparison.html">Comparison page</a></p>',
        ]
    body += ["<h2>Key figures</h2>", _queries_html(list(s.get("queries") or []))]
    body += ["<h2>Notebooks</h2>", _notebooks_html(list(s.get("notebooks") or []))]
    body += ["<h2>Environment</h2>", _environment_html(s)]
    body.append(
        "<footer>Every figure on this page was measured in this run; see summary.json for the "
        "machine-readable record.</footer>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{''.join(body)}\n</main>\n</body>\n</html>\n"
    )


def write_index(run_dir: Path, summary: dict) -> Path:
    """Write ``run_dir/index.html``, the run's self-contained landing page, atomically."""
    return atomic_write_text(Path(run_dir) / "index.html", render_index(summary))
