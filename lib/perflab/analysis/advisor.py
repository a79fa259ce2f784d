"""Index advice, every recommendation proven by measurement on a copy.

Candidates come from SQLite's own advisor (`sqlite3_expert`, shipped with APSW;
falling back to the `sqlite3` shell's `.expert`), from the confirmed index fixes
of `perflab.analysis.diagnostics`, and drops of the redundant/unused indexes that
`perflab.analysis.indexes.health` marks droppable. Each candidate is applied on a copy
inside a transaction that is rolled back afterwards; the queries whose plans
it changes are timed against the unchanged copy in interleaved rounds (ABAB),
and its write cost is measured. A candidate is recommended only with a measured
gain (an improvement whose 99% CI excludes 1 and whose effect is at least
`min_effect`) and no measured regression; a drop is recommended when no query
regresses, with its write saving and size as the gain.

Queries whose plan a candidate does not change run the same bytecode on the
same data, so they are not re-timed per candidate; the final before/after
comparison re-times, on the original and the advised schema together, every query
whose plan the whole advice changes, and lists the others as "same plan".
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from perflab.analysis.indexes import index_sizes, index_write_statements, time_writes
from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.inputs.config import IndexSettings
from perflab.inputs.workload import QuerySpec, Workload
from perflab.measure import interleave
from perflab.measure.interleave import AB, Side
from perflab.measure.stats import COMPARE_BOOTSTRAP
from perflab.results import frame_records
from perflab.sqlite.counters import count_work
from perflab.sqlite.engine import connect, copy_database, row_counts, working_copy
from perflab.sqlite.plans import explain
from perflab.sqlite.querymodel import inline_params, parse_query
from perflab.sqlite.schema import introspect, quote_ident

#: Columns of `evaluate`'s frame.
ADVICE_COLUMNS = {
    "action": "create | drop",
    "ddl": "CREATE INDEX / DROP INDEX statement",
    "table": "table",
    "source": "expert | diagnostic:<rule> | health:<issue>",
    "queries_changed": "workload queries whose plan the candidate changes",
    "gain_ms": "sum over changed queries of (p50 before - p50 after), ms per execution",
    "best_ratio": "smallest after/before ratio of medians among changed queries",
    "verdicts": "per changed query: improvement | regression | unchanged | inconclusive",
    "insert_us": "change in µs per INSERT on the table (positive: slower)",
    "update_us": "change in µs per UPDATE of indexed columns",
    "size_bytes": "size of the index (drops: bytes freed; creates: bytes added)",
    "recommended": "measured gain and no measured regression",
    "why": "the decision in words",
}


# ---------------------------------------------------------------------------------------------
# candidates from SQLite's expert


def _expert_binary() -> tuple[str | None, str]:
    """(path of APSW's sqlite3_expert, or None; why it is not used, when it is not)."""
    try:
        import apsw.sqlite_extra as extra

        p = extra.path("sqlite3_expert")
    except (ImportError, AttributeError, OSError, ValueError) as exc:
        return None, f"apsw's sqlite3_expert unavailable: {type(exc).__name__}: {exc}"
    if p and Path(p).is_file():
        return str(p), ""
    return None, "apsw's sqlite3_expert unavailable: not shipped with this apsw build"


_CREATE = re.compile(r"^CREATE INDEX .*?;", re.IGNORECASE)

#: Rows of the largest table the expert samples to estimate its candidates' statistics.
#: sqlite3_expert reads 100% by default, i.e. scans every table per query: ~18 s per query
#: on the full profile's 2M-row audit table, ~2 s at 5% (the shell's `.expert` uses
#: heuristic statistics, sampling nothing). The expert only proposes; every candidate is
#: then measured on the copy, so a sampled estimate cannot make a recommendation.
EXPERT_SAMPLE_ROWS = 100_000


def expert_sample_percent(path: str | Path) -> int:
    """The `-sample` percentage that reads about EXPERT_SAMPLE_ROWS of the largest table."""
    conn = connect(Path(path), readonly=True)
    try:
        largest = max(row_counts(conn).values(), default=0)
    finally:
        conn.close()
    if largest <= EXPERT_SAMPLE_ROWS:
        return 100
    return max(1, math.ceil(100 * EXPERT_SAMPLE_ROWS / largest))


def expert_candidates(
    db: str | Path, queries: Mapping[str, str], *, scratch: Path | None = None
) -> tuple[list[dict], str]:
    """Index candidates SQLite's expert proposes per query. `queries`: name -> SQL with
    literal values. Returns (candidates [{ddl, table, queries}], tool used or why none).
    Runs on a copy of the database: `scratch`, a copy perflab already made, or a new one."""
    exe, why_not = _expert_binary()
    shell = shutil.which("sqlite3")
    if exe is None and shell is None:
        return [], f"{why_not}; no sqlite3 shell either: expert not run"
    found: dict[str, dict] = {}
    tool = "sqlite3_expert (apsw.sqlite_extra)" if exe else f"sqlite3 shell .expert ({why_not})"

    def ask(path: Path, sql: str, sample: int) -> subprocess.CompletedProcess:
        if exe:
            cmd = [exe, "-sample", str(sample), "-sql", sql.rstrip("; ") + ";", str(path)]
            stdin = None
        else:
            cmd, stdin = [shell, str(path)], f".expert --sample {sample}\n{sql.rstrip('; ')};\n"
        return subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False
        )

    # One process per query, a few at a time: each only reads the copy, and nothing is
    # timed while they run (03 times its candidates after this). In sequence they took
    # ~0.18 s each, most of it the expert opening the database.
    workers = max(1, min(4, os.cpu_count() or 1))
    copy = nullcontext(scratch) if scratch is not None else working_copy(db)
    with copy as path, ThreadPoolExecutor(max_workers=workers) as pool:
        sample = expert_sample_percent(path)
        futures = {name: pool.submit(ask, path, sql, sample) for name, sql in queries.items()}
        try:
            results = {name: f.result() for name, f in futures.items()}
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [], f"{tool} failed: {exc}"
    for name, res in results.items():
        text = res.stdout
        if exe and "-- Query" in text:
            text = text.split("-- Query", 1)[1]
        for line in text.splitlines():
            m = _CREATE.match(line.strip())
            if m:
                ddl = m.group(0).rstrip(";")
                tm = re.search(r"\bON\s+(\"?[\w$]+\"?)\s*\(", ddl, re.IGNORECASE)
                d = found.setdefault(
                    ddl,
                    {
                        "ddl": ddl,
                        "table": tm.group(1).strip('"') if tm else None,
                        "queries": [],
                    },
                )
                d["queries"].append(name)
    if sample < 100:
        tool += f", statistics sampled from {sample}% of the rows"
    return list(found.values()), tool


# ---------------------------------------------------------------------------------------------
# evaluation on a copy


@dataclass(frozen=True)
class Trial:
    """What the advisor measures on, and how: the database (only ever copied), the
    workload with its sampled parameters, the profile's notebook-03 settings (`rounds`
    and `executions` per query and round, `min_effect`, `write_ops` per write-cost
    variant) and the seed of the write statements and of the comparison's bootstrap.

    `evaluate` and `before_after` take one, so the stage builds it once from the profile
    instead of handing each function the same list of settings."""

    db: str | Path
    workload: Workload
    params: Mapping[str, Sequence[tuple]]
    settings: IndexSettings = IndexSettings()
    seed: int = 0
    # Two copies of `db` the stage made once (A stays as it is; B takes each change in a
    # transaction rolled back, then the whole advice): at full a copy took ~10 s, and each
    # function made its own. None: each function copies `db` itself.
    copies: tuple[Path, Path] | None = None
    # Also count SQLite's work (VM steps per execution, `sqlite.counters`) and keep the new
    # plan of each changed query, before and after: the join analysis shows them beside
    # the timing; notebook 03 leaves it off (its timings are what it reports).
    work: bool = False

    def query_params(self, name: str) -> Sequence[tuple]:
        return self.params.get(name) or [()]

    @contextmanager
    def pair(self) -> Iterator[tuple[Path, Path]]:
        """(A, B): the trial's copies, or two made for this call and deleted after it."""
        if self.copies is not None:
            yield self.copies
            return
        with working_copy(self.db) as pa, working_copy(self.db) as pb:
            yield pa, pb

    def ab(self, a: sqlite3.Connection, b: sqlite3.Connection, q: QuerySpec) -> AB:
        """Query `q` on A (before) and B (after), interleaved (`measure.interleave.ab`)."""
        p = self.query_params(q.name)
        return interleave.ab(
            Side(a, q.sql, p),
            Side(b, q.sql, p),
            rounds=self.settings.rounds,
            executions=self.settings.executions,
            min_effect=self.settings.min_effect,
            boot=replace(COMPARE_BOOTSTRAP, seed=self.seed),
            seconds=self.settings.ab_seconds,
        )


def timed(c: AB) -> dict:
    """How much a comparison timed: executions per side, and whether the comparison's time
    budget cut them (its interval is then as wide as that many executions leave it)."""
    return {"executions": c.n, "budget_cut": c.cut}


#: Executions (the first parameter tuples) and seconds per side of `work_before_after`.
WORK_EXECUTIONS = 10
WORK_SECONDS = 0.5


def work_before_after(a, b, q: QuerySpec, trial: Trial) -> dict:
    """VM steps per execution of `q` on A and on B over the same first parameter tuples (the
    common prefix when a time cap stops one side early), and B's plan; the counters are
    exact, so a few executions settle what timings leave noisy."""
    p = list(trial.query_params(q.name))
    wa = count_work(a, q.sql, p, max_executions=WORK_EXECUTIONS, max_seconds=WORK_SECONDS)
    wb = count_work(b, q.sql, p, max_executions=WORK_EXECUTIONS, max_seconds=WORK_SECONDS)
    out: dict = {"plan_after": " | ".join(n.detail for n in explain(b, q.sql, p[0]))}
    if wa is None or wb is None:
        out.update(vm_steps_before=None, vm_steps_after=None, work_executions=0)
        return out
    n = min(wa.executions, wb.executions)
    out.update(
        vm_steps_before=float(wa.vm_steps[:n].mean()),
        vm_steps_after=float(wb.vm_steps[:n].mean()),
        work_executions=n,
    )
    return out


def _stat1(conn) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone()
        is not None
    )


def evaluate(trial: Trial, candidates: Sequence[dict]) -> pd.DataFrame:
    """Measure every candidate ({action, ddl, table, source}) on copies of the trial's
    database. Columns: ADVICE_COLUMNS."""
    out = []
    with trial.pair() as (pa, pb):
        a = sqlite3.connect(pa, isolation_level=None)
        b = sqlite3.connect(pb, isolation_level=None)
        try:
            schema = introspect(b)
            analyzed = _stat1(b)
            sizes = index_sizes(b) or {}
            base_plans = {
                q.name: [n.detail for n in explain(b, q.sql, trial.query_params(q.name)[0])]
                for q in trial.workload.queries
            }
            for cand in candidates:
                out.append(_evaluate_one(a, b, schema, analyzed, sizes, trial, base_plans, cand))
        finally:
            a.close()
            b.close()
    return pd.DataFrame(out, columns=list(ADVICE_COLUMNS))


def index_name(ddl: str) -> str | None:
    """The index a CREATE INDEX / DROP INDEX statement names, unquoted (exact, not a
    substring: advice must never be matched to the wrong index)."""
    m = re.match(
        r"\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX)\s+(?:IF\s+(?:NOT\s+)?"
        r"EXISTS\s+)?(\"(?:[^\"]|\"\")+\"|[\w$]+)",
        ddl,
        re.IGNORECASE,
    )
    if not m:
        return None
    n = m.group(1)
    return n[1:-1].replace('""', '"') if n.startswith('"') else n


def _evaluate_one(a, b, schema, analyzed, sizes, trial: Trial, base_plans, cand) -> dict:
    row = {
        "action": cand["action"],
        "ddl": cand["ddl"],
        "table": cand.get("table"),
        "source": cand.get("source", ""),
        "queries_changed": [],
        "gain_ms": 0.0,
        "best_ratio": np.nan,
        "verdicts": {},
        "insert_us": np.nan,
        "update_us": np.nan,
        "size_bytes": np.nan,
        "recommended": False,
        "why": "",
    }
    table = (
        schema.table(cand["table"])
        if cand.get("table") and schema.has_table(cand["table"])
        else None
    )
    write_skip = "" if table is not None else "write cost not measured: table unknown"
    b.execute("BEGIN")
    try:
        ins = upd = None
        if table is not None:
            try:
                ins, ins_rows, upd, upd_rows = index_write_statements(
                    b, table, schema, trial.settings.write_ops, trial.seed
                )
            except PerflabError as exc:
                ins = None
                write_skip = f"write cost not measured: {exc}"
        w0 = _writes(b, ins, ins_rows, upd, upd_rows) if ins else None
        try:
            b.execute(cand["ddl"])
            name = index_name(cand["ddl"])
            if analyzed and cand["action"] == "create" and name:
                b.execute(f"ANALYZE {quote_ident(name)}")
        except sqlite3.Error as exc:
            row["why"] = f"could not apply on the copy: {exc}"
            return row
        if cand["action"] == "create" and name:
            try:
                sz = b.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (name,)).fetchone()
            except sqlite3.Error:  # a SQLite without dbstat (APSW's engine): size unknown
                sz = None
            row["size_bytes"] = sz[0] if sz and sz[0] is not None else np.nan
        elif name:
            row["size_bytes"] = sizes.get(name, (np.nan, np.nan))[1]
        w1 = _writes(b, ins, ins_rows, upd, upd_rows) if ins else None
        if w0 and w1:
            row["insert_us"] = w1[0] - w0[0]
            row["update_us"] = (w1[1] - w0[1]) if w0[1] is not None else np.nan
        changed = []
        for q in trial.workload.queries:
            plan = explain(b, q.sql, trial.query_params(q.name)[0])
            if [n.detail for n in plan] != base_plans[q.name]:
                changed.append(q)
        ratios, gain = [], 0.0
        for q in changed:
            c = trial.ab(a, b, q)
            row["verdicts"][q.name] = {
                "verdict": c.verdict,
                "ratio": c.ratio,
                "ci99": list(c.ratio_ci),
                "p50_before_ms": c.p50_before_ms,
                "p50_after_ms": c.p50_after_ms,
                **timed(c),
                **(work_before_after(a, b, q, trial) if trial.work else {}),
            }
            ratios.append(c.ratio)
            gain += c.p50_before_ms - c.p50_after_ms
        row["queries_changed"] = [q.name for q in changed]
        row["gain_ms"] = float(gain)
        row["best_ratio"] = float(min(ratios)) if ratios else np.nan
    finally:
        b.execute("ROLLBACK")
    verdicts = [v["verdict"] for v in row["verdicts"].values()]
    if "regression" in verdicts:
        row["why"] = (
            "rejected: a query regressed ("
            + ", ".join(k for k, v in row["verdicts"].items() if v["verdict"] == "regression")
            + ")"
        )
    elif cand["action"] == "create":
        if "improvement" in verdicts:
            row["recommended"] = True
            row["why"] = "measured improvement: " + ", ".join(
                f"{k} ×{1 / v['ratio']:.2f}"
                for k, v in row["verdicts"].items()
                if v["verdict"] == "improvement"
            )
        elif not verdicts:
            row["why"] = "rejected: no workload query's plan changes"
        else:
            row["why"] = (
                "rejected: no improvement beyond noise (CI includes 1 or effect < "
                f"{trial.settings.min_effect:.0%})"
            )
    else:
        if "inconclusive" in verdicts:
            row["why"] = "rejected: a query may be slower (inconclusive)"
        else:
            row["recommended"] = True
            row["why"] = (
                "no query regresses; saves "
                + (
                    f"{-row['insert_us']:.1f} µs per insert, "
                    if row["insert_us"] == row["insert_us"]
                    else ""
                )
                + (
                    f"{row['size_bytes'] / 1024:.0f} KiB"
                    if row["size_bytes"] == row["size_bytes"]
                    else "space"
                )
            )
    cut = [f"{k} {v['executions']}" for k, v in row["verdicts"].items() if v["budget_cut"]]
    if cut:  # fewer executions than the profile's: the intervals are wider for it
        row["why"] += f"; timed within the time budget: {', '.join(cut)} executions per side"
    if write_skip:  # said, not silently left as NaN
        row["why"] += f"; {write_skip}"
    return row


def _writes(conn, ins, ins_rows, upd, upd_rows) -> tuple[float, float | None]:
    conn.execute("SAVEPOINT wc")
    try:
        i = float(np.median(time_writes(conn, ins, ins_rows))) / 1e3
        u = float(np.median(time_writes(conn, upd, upd_rows))) / 1e3 if upd else None
    finally:
        conn.execute("ROLLBACK TO wc")
        conn.execute("RELEASE wc")
    return i, u


# ---------------------------------------------------------------------------------------------
# the whole advice


def candidates(
    conn: sqlite3.Connection,
    db: str | Path,
    workload,
    params: Mapping[str, Sequence[tuple]],
    diagnostics: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    *,
    scratch: Path | None = None,
) -> tuple[list[dict], str, list[dict]]:
    """All candidates (deduplicated by DDL), a note on the expert tool used, and what was
    skipped ({what, reason}): a query the expert could not be given is listed, not lost."""
    inline = {}
    skipped = []
    for q in workload.queries:
        try:
            inline[q.name] = inline_params(
                parse_query(q.sql, q.name), (params.get(q.name) or [()])[0]
            )
        except PerflabError as exc:
            skipped.append({"what": f"expert on query {q.name}", "reason": str(exc)})
    exp_c, tool = expert_candidates(db, inline, scratch=scratch)
    out: dict[str, dict] = {}
    for c in exp_c:
        out.setdefault(
            c["ddl"], {"action": "create", "ddl": c["ddl"], "table": c["table"], "source": "expert"}
        )
    if diagnostics is not None and not diagnostics.empty:
        for r in diagnostics.itertuples():
            if r.fix_kind == "index" and r.confirmed:
                for ddl in str(r.fix).split(";\n"):
                    out.setdefault(
                        ddl,
                        {
                            "action": "create",
                            "ddl": ddl,
                            "table": r.table,
                            "source": f"diagnostic:{r.diagnostic}",
                        },
                    )
    if health is not None and not health.empty:
        for r in health.itertuples():
            if r.droppable and r.index:
                ddl = f"DROP INDEX {quote_ident(r.index)}"
                out.setdefault(
                    ddl,
                    {"action": "drop", "ddl": ddl, "table": r.table, "source": f"health:{r.issue}"},
                )
    return list(out.values()), tool, skipped


def _columns(ddl: str) -> int:
    """How many keys an index's DDL lists (commas at the top level of its parentheses)."""
    inner = ddl[ddl.find("(") + 1 : ddl.rfind(")")]
    depth, n = 0, 1
    for ch in inner:
        depth += (ch == "(") - (ch == ")")
        n += ch == "," and depth == 0
    return n


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def choose(evaluated: pd.DataFrame, *, drop_unused: bool = False) -> pd.DataFrame:
    """The recommended set: per improved query the create with the largest gain (a create
    that is nobody's best is left out as overlapping), plus every recommended drop of a
    redundant index; drops of merely unused indexes only with `drop_unused` (the workload
    may not be everything that queries the database).

    Creates whose improvements of a query have overlapping 99% intervals are equivalent:
    the measurement cannot rank them, and picking the larger point gain made the
    recommendation flip between two runs of the full profile (0.70 [0.67, 0.82] against
    0.70 [0.67, 0.76]). Among equivalent ones the index with fewer keys is kept, then the
    first by its DDL text, and its `why` names the others."""
    if evaluated.empty:  # nothing to choose from (an empty object column would index columns)
        return evaluated
    rec = evaluated[evaluated["recommended"].astype(bool)]
    if not drop_unused:
        rec = rec[~rec["source"].eq("health:unused")]
    keep = set()
    improved: dict[str, list[tuple[float, int, list[float]]]] = {}
    for i, r in rec[rec["action"] == "create"].iterrows():
        for q, v in r["verdicts"].items():
            if v["verdict"] == "improvement":
                g = v["p50_before_ms"] - v["p50_after_ms"]
                improved.setdefault(q, []).append((g, i, v["ci99"]))
    why: dict[int, list[str]] = {}
    for found in improved.values():
        top = max(found, key=lambda t: t[0])
        same = [t for t in found if _overlap(t[2], top[2])]
        ddl = evaluated["ddl"]
        pick = min(same, key=lambda t: (_columns(ddl[t[1]]), ddl[t[1]]))[1]
        keep.add(pick)
        others = [ddl[t[1]] for t in same if t[1] != pick]
        if others:
            why.setdefault(pick, []).extend(others)
    keep |= set(rec[rec["action"] == "drop"].index)
    out = evaluated.loc[sorted(keep)].copy()
    for i, others in why.items():
        out.loc[i, "why"] = (
            f"{out.loc[i, 'why']}; as good as {'; '.join(sorted(set(others)))} (their "
            "intervals overlap): the index with fewer keys is kept"
        )
    return out


#: A before/after row whose plan the advice does not change: not timed.
SAME_PLAN = {
    "p50_before_ms": None,
    "p50_after_ms": None,
    "ratio": None,
    "ci_lo": None,
    "ci_hi": None,
    "verdict": "same plan",
    "executions": None,
    "budget_cut": None,
}


def before_after(trial: Trial, ddl: Sequence[str]) -> tuple[pd.DataFrame, Path]:
    """Original vs advised schema, every query whose plan the advice changes timed
    interleaved ABAB in one process.

    A query whose plan is the same on both runs the same bytecode over the same table
    pages (the copy is page for page; an index created or dropped leaves the other
    b-trees as they were), so timing it would only measure noise: with quick's 25
    executions x 4 rounds it was most of this comparison's time (a 20 ms scan, 200
    executions), and it called 7 µs lookups 8% "faster". Its row says "same plan" and
    carries no timing, as `evaluate` already does for each candidate.

    Returns (frame, path of a temp copy holding the advised schema: a new one the caller
    deletes, or the trial's copy B, which takes the advice for good). Columns: query,
    p50_before_ms, p50_after_ms, ratio, ci_lo, ci_hi (99% bootstrap CI of the ratio of
    medians after/before; None for a same plan), verdict (improvement | regression |
    unchanged | inconclusive | same plan), executions, budget_cut, plan_before, plan_after.
    """
    after_path = copy_database(trial.db) if trial.copies is None else trial.copies[1]
    b = sqlite3.connect(after_path, isolation_level=None)
    try:
        for d in ddl:
            b.execute(d)
        if _stat1(b):
            b.execute("ANALYZE")
    except sqlite3.Error as exc:
        b.close()
        raise PerflabError(f"advised schema: cannot apply {d!r}: {exc}") from None
    rows = []
    before = working_copy(trial.db) if trial.copies is None else nullcontext(trial.copies[0])
    with before as pa:
        a = sqlite3.connect(pa, isolation_level=None)
        try:
            for q in trial.workload.queries:
                p = trial.query_params(q.name)
                plans = {
                    "plan_before": " | ".join(n.detail for n in explain(a, q.sql, p[0])),
                    "plan_after": " | ".join(n.detail for n in explain(b, q.sql, p[0])),
                }
                if plans["plan_before"] == plans["plan_after"]:
                    rows.append({"query": q.name, **SAME_PLAN, **plans})
                    continue
                c = trial.ab(a, b, q)
                rows.append(
                    {
                        "query": q.name,
                        "p50_before_ms": c.p50_before_ms,
                        "p50_after_ms": c.p50_after_ms,
                        "ratio": c.ratio,
                        "ci_lo": c.ratio_ci[0],
                        "ci_hi": c.ratio_ci[1],
                        "verdict": c.verdict,
                        **timed(c),
                        **plans,
                    }
                )
        finally:
            a.close()
            b.close()
    frame = pd.DataFrame(rows)
    if "executions" in frame:  # whole numbers beside the same-plan rows' None
        frame["executions"] = frame["executions"].astype("Int64")
    return frame, after_path


def schema_sql(path: str | Path) -> str:
    """The schema of a database file as SQL text (tables, then indexes, views, triggers)."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type = 'table' DESC, type = 'index' DESC, rowid"
        ).fetchall()
    finally:
        conn.close()
    return "".join(r[0] + ";\n" for r in rows)


def migration_sql(chosen: pd.DataFrame) -> str:
    drops = [r for r in chosen.itertuples() if r.action == "drop"]
    creates = [r for r in chosen.itertuples() if r.action == "create"]
    lines = [
        "-- perflab index advice: each statement was measured on a copy of the database",
        "BEGIN;",
    ]
    for r in drops + creates:
        lines.append(f"-- {r.source}: {r.why}")
        lines.append(r.ddl + ";")
    lines += ["COMMIT;", "ANALYZE;" if creates else ""]
    return "\n".join(lines).rstrip() + "\n"


def write_outputs(
    run_dir: str | Path | None, chosen: pd.DataFrame, after_path: Path
) -> dict[str, str]:
    """`<run_dir>/advice/migration.sql` and `after_schema.sql`; nothing without run_dir.

    Paths come back relative to the run folder, which is moved into place after the run."""
    if not run_dir:
        return {}
    d = Path(run_dir) / "advice"
    atomic_write_text(d / "migration.sql", migration_sql(chosen))
    atomic_write_text(d / "after_schema.sql", schema_sql(after_path))
    return {"migration": "advice/migration.sql", "after_schema": "advice/after_schema.sql"}


def advice_records(
    evaluated: pd.DataFrame,
    chosen: pd.DataFrame,
    ba: pd.DataFrame | None,
    rewrites: pd.DataFrame | None = None,
    tool: str = "",
    files: dict | None = None,
    skipped: Sequence[dict] = (),
) -> dict:
    """The advice as summary.json carries it; `skipped`: what the advisor could not
    analyse, with the reason (from `candidates`)."""

    rw = []
    if rewrites is not None and not rewrites.empty:
        rw = frame_records(
            rewrites[(rewrites["fix_kind"] == "rewrite") & rewrites["recommended"]][
                [
                    "query",
                    "diagnostic",
                    "fix",
                    "equivalent",
                    "p50_before_ms",
                    "p50_after_ms",
                    "speedup",
                    "ratio_ci",
                    "timing",
                ]
            ]
        )
    picked = frame_records(chosen)
    why = {r["ddl"]: r["why"] for r in picked}  # `choose` names equivalent candidates there
    candidates = [{**c, "why": why.get(c["ddl"], c["why"])} for c in frame_records(evaluated)]
    return {
        "expert": tool,
        "candidates": candidates,
        "recommended": [r["ddl"] for r in picked],
        "query_rewrites": rw,
        "before_after": frame_records(ba),
        "files": files or {},
        "skipped": list(skipped),
    }
