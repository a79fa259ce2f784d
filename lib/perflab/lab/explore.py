"""One query at a time, for a performance engineer in JupyterLab.

The same library the run uses, one question per call: what is the plan and what is
wrong with it (`explain`), how fast is it (`time_query`), what would this index or this
rewrite change (`try_index`, `try_rewrite`). Every answer is a plain object (a list, a
dict, a frozen dataclass) that also draws itself in JupyterLab (``_repr_html_``).
Anything that writes works on a copy of the database; the original is never opened for
writing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from perflab.analysis import diagnostics, findings
from perflab.errors import PerflabError
from perflab.measure import interleave
from perflab.measure.interleave import AB, Side
from perflab.measure.timing import summarize, time_statement
from perflab.present.labcards import experiment_card, timing_card
from perflab.present.plantree import plan_tree_html
from perflab.sqlite import counters
from perflab.sqlite.engine import working_copy
from perflab.sqlite.plans import PlanNode, plan_text
from perflab.sqlite.plans import explain as explain_plan
from perflab.sqlite.schema import introspect


class HasDatabase(Protocol):
    """A run context (`perflab.open_database`): a database file and read-only connections."""

    @property
    def db_path(self) -> Path: ...

    def connect(self, *, readonly: bool = True) -> sqlite3.Connection: ...


Target = HasDatabase | sqlite3.Connection


@contextlib.contextmanager
def connection(target: Target) -> Iterator[sqlite3.Connection]:
    """The target's connection: a context's read-only one (closed after), or yours as is."""
    if isinstance(target, sqlite3.Connection):
        yield target
        return
    conn = target.connect()
    try:
        yield conn
    finally:
        conn.close()


def browse(target: Target):
    """A `sqlite_utils.Database` on the run's snapshot, read-only, for ad-hoc exploration
    (``db["sessions"].rows_where(...)``, ``db.table("t").analyze_column("c")``): the
    connection is opened with ``mode=ro``, so nothing the engineer types can change the
    file the run measured. With a connection of yours, it is used as it is."""
    import sqlite_utils

    conn = target if isinstance(target, sqlite3.Connection) else target.connect()
    return sqlite_utils.Database(conn, execute_plugins=False)


def param_rows(params: Sequence, n: int | None = None) -> list[tuple]:
    """One parameter tuple, or a list of tuples; cycled to ``n`` rows when ``n`` is given."""
    if params and isinstance(params[0], (tuple, list)):
        rows = [tuple(p) for p in params]
    else:
        rows = [tuple(params)]
    return rows if n is None else [rows[i % len(rows)] for i in range(n)]


class Plan(list):
    """The plan's steps (`PlanNode`, each classified), with what perflab reads from them:
    ``findings`` (plan rules with their evidence), ``counters`` (SQLite's work per
    execution), ``diagnostics`` (why an index is not used, with a tested fix; only when
    asked for, since it times rewrites) and ``table_rows``."""

    def __init__(
        self,
        nodes: Sequence[PlanNode],
        *,
        sql: str,
        findings: list[dict],
        counters: dict,
        table_rows: dict[str, int],
        diagnostics: list[dict] | None = None,
    ) -> None:
        super().__init__(nodes)
        self.sql = sql
        self.findings = findings
        self.counters = counters
        self.table_rows = table_rows
        self.diagnostics = diagnostics

    @property
    def text(self) -> str:
        """The plan as the sqlite3 shell's ``.eqp`` draws it."""
        return plan_text(self)

    def tree_html(self) -> str:
        return plan_tree_html(self, self.table_rows, self.counters)

    def _repr_html_(self) -> str:
        items = [
            f"<li><b>{f['rule'].replace('_', ' ')}</b> ({f['severity']}): {_esc(f['detail'])}</li>"
            for f in self.findings
        ]
        for d in self.diagnostics or []:
            if d["diagnostic"] == "none":
                continue
            fix = f" Fix ({d['fix_kind']}): <code>{_esc(d['fix'])}</code>" if d["fix"] else ""
            items.append(f"<li><b>{_esc(d['diagnostic'])}</b>: {_esc(d['reason'])}.{fix}</li>")
        found = f"<ul>{''.join(items)}</ul>" if items else "<p>No finding.</p>"
        return (
            f"{self.tree_html()}<p>{_esc(self.counters['sentence'])}</p>"
            f"<div style='font:13px system-ui,sans-serif'>{found}</div>"
        )

    def __repr__(self) -> str:
        return self.text


def _esc(s: object) -> str:
    import html

    return html.escape(str(s))


def explain(
    target: Target,
    sql: str,
    params: Sequence = (),
    *,
    diagnose: bool = False,
    executions: int = 30,
) -> Plan:
    """The query's plan with these parameter values (one tuple, or several: the first is
    explained), its findings and its work counters; ``diagnose=True`` adds the why-not
    diagnostics, which time each candidate rewrite (``executions`` per side and round)."""
    rows = param_rows(params)
    with connection(target) as conn:
        nodes = explain_plan(conn, sql, rows[0])
        schema = introspect(conn)
        sizes = findings.table_row_counts(conn, schema)
        found = findings.query_findings(
            conn, "query", sql, nodes, rows[0], schema=schema, rows=sizes
        )
        work = counters.counter_record(
            counters.count_work(conn, sql, param_rows(rows, max(len(rows), 20))),
            counters.unavailable_reason(conn),
        )
        diag = (
            diagnostics.diagnose_query(
                conn, "query", sql, rows, schema=schema, executions=executions
            )
            if diagnose
            else None
        )
    return Plan(nodes, sql=sql, findings=found, counters=work, table_rows=sizes, diagnostics=diag)


class Timing(dict):
    """`measure.timing.summarize`'s record (``latency_ms``, ``latency_ci_ms``, ``ops_per_s``,
    ``n``), plus ``counters`` when counted; drawn as a table with intervals."""

    def _repr_html_(self) -> str:
        c = self.get("counters")
        return timing_card(self, c["sentence"] if c else None)


def time_query(
    target: Target,
    sql: str,
    params: Sequence = (),
    *,
    iterations: int = 1000,
    warmup: int = 50,
    count: bool = True,
) -> Timing:
    """``iterations`` timed executions (each with its fetch) after ``warmup`` untimed ones,
    parameters cycled; with ``count``, SQLite's work counters from a separate untimed pass
    (so reading them costs the timings nothing)."""
    with connection(target) as conn:
        samples = time_statement(conn, sql, param_rows(params, warmup + iterations), warmup=warmup)
        out = Timing(summarize(samples.ns))
        if count:
            rows = param_rows(params)
            out["counters"] = counters.counter_record(
                counters.count_work(conn, sql, param_rows(rows, max(len(rows), 20))),
                counters.unavailable_reason(conn),
            )
    return out


@dataclass(frozen=True)
class Experiment:
    """Before and after one change, measured interleaved (A B, B A, ...) in one process.

    ``verdict`` is ``faster`` only when the whole 99% interval of after/before medians is
    at or below 1 / (1 + min_effect), ``not faster`` when it is wholly above, otherwise
    ``inconclusive`` (`analysis.diagnostics.timing_verdict`)."""

    change: str
    sql_before: str
    sql_after: str
    plan_before: Plan
    plan_after: Plan
    timing: AB  # medians, after/before ratio and its 99% interval, rounds, executions
    verdict: str
    equivalent: str | None  # rewrites: yes | same rows, other order | no; index: None
    reason: str  # why the verdict is what it is, in words

    @property
    def ratio(self) -> float:
        return self.timing.ratio

    @property
    def ratio_ci(self) -> tuple[float, float]:
        return self.timing.ratio_ci

    def _repr_html_(self) -> str:
        return experiment_card(
            self.change,
            self.plan_before.tree_html(),
            self.plan_after.tree_html(),
            p50_before_ms=self.timing.p50_before_ms,
            p50_after_ms=self.timing.p50_after_ms,
            ratio=self.ratio,
            ratio_ci=self.ratio_ci,
            verdict=self.verdict,
            rule=self.reason,
            work_before=self.plan_before.counters["sentence"],
            work_after=self.plan_after.counters["sentence"],
            equivalent=self.equivalent,
        )


def _measure(
    before: Side,
    after: Side,
    change: str,
    *,
    rounds: int,
    executions: int,
    min_effect: float,
    equivalent: str | None,
    seconds: float | None = None,
) -> Experiment:
    timing = interleave.ab(
        before,
        after,
        rounds=rounds,
        executions=executions,
        min_effect=min_effect,
        seconds=seconds,
    )
    plan_before = explain(before.conn, before.sql, before.params)
    plan_after = explain(after.conn, after.sql, after.params)
    verdict = diagnostics.timing_verdict(timing.ratio_ci, min_effect)
    reason = f"{rounds} interleaved rounds × {timing.executions} executions"
    if timing.cut:
        reason += f" (of {executions} asked: the {seconds:g} s budget)"
    reason += f", minimum effect {min_effect:.0%}"
    if same_work(plan_before, plan_after):
        verdict = "inconclusive"
        reason = (
            "the same plan steps and the same SQLite work per execution before and after: "
            "a timing difference is the files' or the machine's, not the change's"
        )
    return Experiment(
        change, before.sql, after.sql, plan_before, plan_after, timing, verdict, equivalent, reason
    )


def same_work(before: Plan, after: Plan) -> bool:
    """Same kinds of plan steps and the same counters per execution (rows, VM steps, full
    scans, sorts, automatic-index rows): nothing SQLite does differs, whatever the names."""
    pa, pb = before.counters.get("per_execution"), after.counters.get("per_execution")
    if not pa or not pb or [n.kind for n in before] != [n.kind for n in after]:
        return False
    return all(pa[k]["mean"] == pb[k]["mean"] for k in pa)


def _source(target: Target) -> Any:
    return target if isinstance(target, sqlite3.Connection) else target.db_path


def try_index(
    target: Target,
    ddl: str,
    sql: str,
    params: Sequence = (),
    *,
    rounds: int = 6,
    executions: int = 40,
    min_effect: float = 0.05,
    seconds: float | None = None,
) -> Experiment:
    """``ddl`` (e.g. a CREATE INDEX) applied to a copy of the database, the query measured
    on the original schema and on the changed one (two copies, so both sides read files
    alike), plans and work side by side. The copies are deleted afterwards. ``seconds``: a
    time budget that cuts the executions per round (`measure.interleave.ab`)."""
    rows = param_rows(params)
    src = _source(target)
    with working_copy(src, name="before.db") as pa, working_copy(src, name="after.db") as pb:
        a = sqlite3.connect(pa, isolation_level=None)
        b = sqlite3.connect(pb, isolation_level=None)
        try:
            try:
                b.execute(ddl)
                if b.execute("SELECT 1 FROM sqlite_schema WHERE name='sqlite_stat1'").fetchone():
                    b.execute("ANALYZE")  # the planner sees the new index's statistics
            except sqlite3.Error as exc:
                raise PerflabError(f"try_index: cannot apply {ddl!r}: {exc}") from None
            return _measure(
                Side(a, sql, rows),
                Side(b, sql, rows),
                ddl,
                rounds=rounds,
                executions=executions,
                min_effect=min_effect,
                equivalent=None,
                seconds=seconds,
            )
        finally:
            a.close()
            b.close()


def same_results(
    conn: sqlite3.Connection,
    sql_a: str,
    sql_b: str,
    rows: list[tuple],
    rows_b: list[tuple] | None = None,
) -> str:
    """``yes`` (same rows in the same order for every parameter set), ``same rows, other
    order``, or ``no`` (the first parameter set where they differ is enough). ``rows_b``:
    the rewrite's own parameter sets, paired with ``rows`` in order, when it takes others."""
    verdict = "yes"
    for p, pb in zip(rows, rows if rows_b is None else rows_b, strict=True):
        a = conn.execute(sql_a, p).fetchall()
        b = conn.execute(sql_b, pb).fetchall()
        if a == b:
            continue
        if Counter(a) == Counter(b):
            verdict = "same rows, other order"
            continue
        return f"no (parameters {p!r})"
    return verdict


def try_rewrite(
    target: Target,
    sql: str,
    rewritten: str,
    params: Sequence = (),
    *,
    rewritten_params: Sequence | None = None,
    rounds: int = 6,
    executions: int = 40,
    min_effect: float = 0.05,
    seconds: float | None = None,
) -> Experiment:
    """The query and its rewrite on the same read-only database, interleaved, with their
    results compared for every parameter set given (``rewritten_params``: the rewrite's
    own, paired in order, when it takes other parameters). ``seconds`` as in `try_index`."""
    rows = param_rows(params)
    rows_b = None if rewritten_params is None else param_rows(rewritten_params)
    if rows_b is not None and len(rows_b) != len(rows):
        raise PerflabError(
            f"try_rewrite: {len(rows)} parameter sets for the query, {len(rows_b)} for the "
            "rewrite: give one per query set, in the same order"
        )
    with connection(target) as conn:
        try:
            eq = same_results(conn, sql, rewritten, rows, rows_b)
            return _measure(
                Side(conn, sql, rows),
                Side(conn, rewritten, rows if rows_b is None else rows_b),
                "rewrite",
                rounds=rounds,
                executions=executions,
                min_effect=min_effect,
                equivalent=eq,
                seconds=seconds,
            )
        except sqlite3.Error as exc:
            raise PerflabError(f"try_rewrite: {exc}") from None
