"""Record what an application sends to SQLite and turn it into a workload file.

``perflab capture --out app.yaml -- python app.py`` runs the application with a
``sitecustomize.py`` (in a temporary folder put first on PYTHONPATH) that makes every
``sqlite3.connect`` (the one on ``sqlite3`` and the one on ``sqlite3.dbapi2``, which
SQLAlchemy calls) return a recording ``Connection`` subclass. It records each DB-API call
as the application made it: its own SQL text with placeholders, the exact parameter
objects (as SQLite stores them: adapters applied, bool as INTEGER, buffers as BLOB), rows
fetched, the time spent in the call and in fetching (the in-application time), and
whether a transaction was open before and after. The recorder only appends to a list;
everything else (parameter conversion, writing the file) happens at the process's exit,
and all parsing in perflab afterwards, once per distinct text (`perflab.sqlite.normalize`).

``perflab capture --out app.yaml --from-log FILE`` reads statements from a file
instead: SQL separated by ``;`` (or one per line when there is no ``;``).

Statements are grouped by shape like pg_stat_statements (constants are parameters, IN
lists of any length fold into one shape, ``executemany`` counts each row): per shape,
calls, rows and in-application time (total, mean, p95). SELECTs become ``queries`` with a
``rows:`` sampler of real parameter tuples (kept together, so correlated parameters stay
correlated); writes become one ``writes`` entry per *transaction pattern* (the write
shapes one application transaction runs, with its BEGIN mode), so replay batches writes
as the application does. Transaction control, PRAGMA and DDL are counted in the header.

Limits: only the stdlib ``sqlite3`` module of a Python application is recorded (not
apsw, not other languages: use --from-log); a module that did ``from sqlite3 import
connect`` before start-up keeps the original function.
"""

from __future__ import annotations

import marshal
import os
import random
import shutil
import statistics
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from perflab.errors import PerflabError
from perflab.fsio import read_text
from perflab.inputs.workload import Flow, dump_typed
from perflab.ownership import check_file_target, write_owned_text
from perflab.sqlite.normalize import OTHER, QUERY, UNPARSED, WRITE, normalize

__all__ = [
    "ENV_VAR",
    "CaptureResult",
    "Event",
    "Shape",
    "build_workload",
    "CaptureReport",
    "capture_command",
    "capture",
    "group",
    "read_events",
    "read_log",
]

ENV_VAR = "PERFLAB_CAPTURE_DIR"
MAX_VALUES = 20
MAX_WRITE_PATTERNS = 20

# The recorder, a real module beside this one (linted, imported by nothing in perflab):
# capture copies its text as ``sitecustomize.py``; it installs only under that name.
SITECUSTOMIZE = Path(__file__).with_name("capture_hook.py").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------- reading


class Event(NamedTuple):
    """One recorded call: kind is 'c' (connect), 'x' (execute), 'm' (executemany),
    's' (executescript) or 'e' (a call that raised). A tuple: tens of thousands are read."""

    kind: str
    conn: int
    sql: str
    params: Any = None
    ns: int = 0  # in-application time: the call plus fetching its rows
    rowcount: int = -1
    tx_before: bool = False
    tx_after: bool = False
    fetched: Any = 0  # rows fetched ('c': the connection's isolation_level)
    seq: int = 0  # 'x': the call's number in its process; 'f': the call it completes


class EventTail:
    """Reads the recorder's files as they grow: complete length-prefixed chunks only, so
    perflab can group while the application still runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.offsets: dict[Path, int] = {}

    def read(self) -> list[Event]:
        out: list[Event] = []
        for f in sorted(self.folder.glob("events-*.marshal")):
            pos = self.offsets.get(f, 0)
            with f.open("rb") as fh:
                fh.seek(pos)
                data = fh.read()
            at = 0
            while at + 8 <= len(data):
                size = int.from_bytes(data[at : at + 8], "little")
                if at + 8 + size > len(data):
                    break  # still being written
                try:
                    out.extend(map(Event._make, marshal.loads(data[at + 8 : at + 8 + size])))
                except (ValueError, TypeError, EOFError) as exc:
                    raise PerflabError(f"{f}: not a capture file: {exc}") from None
                at += 8 + size
            self.offsets[f] = pos + at
        return out


def read_events(folder: Path) -> list[Event]:
    """The events the recorder wrote (one file per process; order kept within each)."""
    return EventTail(folder).read()


def read_log(path: str | Path) -> list[Event]:
    """Statements from a SQL log (``;``-separated, or one per line)."""
    from perflab.sqlite.schema import split_statements

    text = read_text(path, "log file")
    has_semicolons = ";" in text
    stmts = split_statements(text) if has_semicolons else [ln.strip() for ln in text.splitlines()]
    return [Event("x", 0, s) for s in stmts if s and not s.lstrip().startswith("--")]


# --------------------------------------------------------------------------------- grouping


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if not values:
        return 0.0
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


@dataclass
class Shape:
    """Statements of one shape: calls, rows, time, and a sample of their parameters per
    IN-list variant (the IN-list lengths seen, with their counts)."""

    key: str
    sql: str
    kind: str
    verb: str
    table: str
    columns: tuple[str, ...]
    nparams: int
    calls: int = 0
    rows: int = 0
    ns: list[int] = field(default_factory=list)
    # in_lists -> [sql, calls, samples, rows]: rows per IN-list length, so the replay of
    # one length is compared with what that length returned in the application
    variants: dict[tuple, list] = field(default_factory=dict)
    seen: int = 0
    insert_columns: tuple[str, ...] = ()
    dbs: set[str] = field(default_factory=set)
    last_variant: list | None = None  # the variant of the newest call (late rows go there)

    @property
    def count(self) -> int:
        return self.calls

    @property
    def ms(self) -> list[float]:
        return [n / 1e6 for n in self.ns]

    @property
    def samples(self) -> list[tuple]:
        return self.main_variant[2]

    @property
    def main_variant(self) -> list:
        return max(self.variants.values(), key=lambda v: v[1])

    def add(self, n, values: tuple, ns: int, rows: int, rng: random.Random, k: int):
        """Account one call (its time is self.ns[-1]: rows fetched later add to it)."""
        self.calls += 1
        self.rows += max(rows, 0)
        self.ns.append(ns)
        var = self.variants.get(n.in_lists)
        if var is None:
            var = self.variants[n.in_lists] = [n.sql, 0, [], 0]
        var[1] += 1
        var[3] += max(rows, 0)
        self.last_variant = var
        if not values:
            return
        samples = var[2]
        if len(samples) < k:  # reservoir sample: every call equally likely to be kept
            samples.append(values)
        else:
            j = int(rng.random() * var[1])
            if j < k:
                samples[j] = values

    def stats(self) -> dict:
        """calls, rows, in-application time (total, mean, p95) as the workload keeps them."""
        a = [n / 1e6 for n in self.ns]
        out: dict[str, Any] = {
            "calls": self.calls,
            "rows": self.rows,
            "total_ms": round(sum(a), 3),
            "mean_ms": round(sum(a) / len(a), 4) if a else 0.0,
            "p95_ms": round(_percentile(a, 95), 4),
        }
        if len(self.variants) > 1 or any(self.variants):
            lengths = Counter()
            for in_lists, var in self.variants.items():
                lengths[in_lists[0] if in_lists else 0] += var[1]
            out["in_lengths"] = dict(sorted(lengths.items()))
        return out

    def timing_note(self) -> str:
        st = self.stats()
        return (
            f"captured {st['calls']} call{'s' if st['calls'] != 1 else ''}, "
            f"{st['rows']} row{'s' if st['rows'] != 1 else ''}; "
            f"in-application time mean {st['mean_ms']:.3f} ms, p95 {st['p95_ms']:.3f} ms, "
            f"total {st['total_ms']:.1f} ms"
        )


@dataclass
class Pattern:
    """One transaction pattern: the write shapes an application transaction runs."""

    shapes: tuple[str, ...]  # shape keys, consecutive repeats collapsed
    mode: str  # DEFERRED | IMMEDIATE | EXCLUSIVE | autocommit
    count: int = 0
    repeats: list[list[int]] = field(default_factory=list)  # per transaction: run lengths
    statements: list[int] = field(default_factory=list)  # statements per transaction


@dataclass
class CaptureResult:
    shapes: list[Shape]
    other: Counter
    unparsed: list[tuple[str, str]]
    unbound: list[str]
    statements: int
    patterns: list[Pattern] = field(default_factory=list)
    failed: int = 0  # calls that raised in the application
    distinct_texts: int = 0  # SQL texts as the application sent them
    unfolded: int = 0  # shapes before IN lists are folded


class _Txn:
    __slots__ = ("mode", "writes", "stmts")

    def __init__(self, mode: str) -> None:
        self.mode, self.writes, self.stmts = mode, [], 0


def _script_statements(script: str) -> list[str]:
    from perflab.sqlite.schema import split_statements

    return [s for s in split_statements(script) if s.strip()]


class Grouper:
    """Normalizes (once per distinct text) and groups calls by shape, in first-seen order,
    following each connection's transactions to find the write patterns. Incremental:
    `perflab capture` feeds it chunks while the application still runs."""

    def __init__(self, *, max_values: int = MAX_VALUES, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.k = max_values
        self.shapes: dict[str, Shape] = {}
        self.other: Counter = Counter()
        self.unparsed: list[tuple[str, str]] = []
        self.unbound: list[str] = []
        self.patterns: dict[tuple, Pattern] = {}
        self.isolation: dict[int, Any] = {}
        self.open_txn: dict[int, _Txn] = {}
        self.failed = self.statements = self.tally = 0
        self.texts: set[str] = set()
        self.unfolded: set[str] = set()
        self.last: Shape | None = None  # the shape _one just accounted
        # (connection, call number) -> (shape, index of its time): rows fetched after the
        # recorder handed the call over arrive later as 'f' events
        self.recent: dict[tuple[int, int], tuple[Shape, int]] = {}

    def _pattern(self, writes: list[str], mode: str, stmts: int) -> None:
        runs: list[list] = []
        for key in writes:
            if runs and runs[-1][0] == key:
                runs[-1][1] += 1
            else:
                runs.append([key, 1])
        pk = (tuple(r[0] for r in runs), mode)
        p = self.patterns.get(pk)
        if p is None:
            p = self.patterns[pk] = Pattern(pk[0], mode)
        p.count += 1
        p.repeats.append([r[1] for r in runs])
        p.statements.append(stmts)

    def _close(self, cid: int) -> None:
        t = self.open_txn.pop(cid, None)
        if t is not None and t.writes:
            self._pattern(t.writes, t.mode, t.stmts)

    def _one(self, sql: str, params: Any, ns: int, rows: int) -> str | None:
        """Account one statement; its shape key if it is a write."""
        self.last = None
        n = normalize(sql)
        self.texts.add(sql)
        if n.kind == UNPARSED:
            if len(self.unparsed) < 50:
                self.unparsed.append((sql, n.error))
            return None
        if n.kind == OTHER:
            self.other[n.verb] += 1
            return None
        try:
            values = n.bind(params)
        except (IndexError, KeyError, TypeError):
            if n.sql not in self.unbound:
                self.unbound.append(n.sql)
            return None
        self.unfolded.add(n.sql)
        self.tally += 1
        sh = self.shapes.get(n.shape)
        if sh is None:
            sh = self.shapes[n.shape] = Shape(
                n.shape,
                n.sql,
                n.kind,
                n.verb,
                n.table,
                n.columns,
                len(n.slots),
                insert_columns=n.insert_columns,
            )
        sh.add(n, values, ns, rows, self.rng, self.k)
        self.last = sh
        return sh.key if n.kind == WRITE else None

    def feed(self, events) -> Grouper:
        open_txn, one = self.open_txn, self._one
        for ev in events:
            cid = ev.conn
            if ev.kind == "c":
                self.isolation[cid] = ev.fetched
                continue
            if ev.kind == "e":
                self.failed += 1
                continue
            if ev.kind == "f":
                hit = self.recent.get((cid, ev.seq))
                if hit is not None:
                    hit[0].rows += ev.fetched
                    hit[0].ns[hit[1]] += ev.ns
                    hit[2][3] += ev.fetched
                continue
            if cid in open_txn and not ev.tx_before:
                self._close(cid)  # ended by commit() / rollback() / a context manager
            counted = self.tally
            if ev.kind == "s":
                stmts = _script_statements(ev.sql)
                keys = [one(s, None, ev.ns // max(len(stmts), 1), 0) for s in stmts]
                self.statements += len(stmts)
                written = [k for k in keys if k]
            elif ev.kind == "m":
                rows = ev.params or []
                per = ev.ns // max(len(rows), 1)
                per_rows = 1 if ev.rowcount >= len(rows) else 0
                written = [k for k in (one(ev.sql, r, per, per_rows) for r in rows) if k]
                self.statements += len(rows)
            else:
                rows = ev.fetched if ev.fetched or ev.rowcount < 0 else ev.rowcount
                k = one(ev.sql, ev.params, ev.ns, rows)
                written = [k] if k else []
                if self.last is not None and ev.seq and self.last.kind == QUERY:
                    if len(self.recent) > 200_000:  # keep the newest half
                        for key in list(self.recent)[:100_000]:
                            del self.recent[key]
                    self.recent[(cid, ev.seq)] = (
                        self.last,
                        len(self.last.ns) - 1,
                        self.last.last_variant,
                    )
                self.statements += 1
                if k is None and ev.tx_after and not ev.tx_before:
                    n = normalize(ev.sql)
                    if n.kind == OTHER and n.verb == "transaction":  # an explicit BEGIN
                        open_txn[cid] = _Txn(n.begin_mode)
                        continue
            if not ev.tx_before and ev.tx_after and cid not in open_txn:
                level = self.isolation.get(cid, "")
                open_txn[cid] = _Txn(str(level or "DEFERRED").upper())
            t = open_txn.get(cid)
            if t is not None:
                t.writes.extend(written)
                t.stmts += self.tally - counted
                if not ev.tx_after:
                    self._close(cid)
            else:  # autocommit: each write its own transaction
                for key in written:
                    self._pattern([key], "autocommit", 1)
        return self

    def result(self) -> CaptureResult:
        for cid in list(self.open_txn):
            self._close(cid)
        return CaptureResult(
            list(self.shapes.values()),
            self.other,
            self.unparsed,
            self.unbound,
            self.statements,
            sorted(self.patterns.values(), key=lambda p: -p.count),
            self.failed,
            len(self.texts),
            len(self.unfolded),
        )


def group(events: list[Event], *, max_values: int = MAX_VALUES, seed: int = 0) -> CaptureResult:
    """All events at once (see `Grouper`)."""
    return Grouper(max_values=max_values, seed=seed).feed(events).result()


def _slug(text: str) -> str:
    import re

    s = re.sub(r"[^0-9a-zA-Z]+", "_", text.lower()).strip("_")
    return s or "t"


def _name(sh: Shape, used: set[str]) -> str:
    base = f"{sh.verb}_{_slug(sh.table)}" if sh.table else sh.verb
    cols = list(dict.fromkeys(_slug(c) for c in sh.columns))
    if cols:
        base += "_by_" + "_".join(cols[:3])
    return _unique(base, used)


def _unique(base: str, used: set[str]) -> str:
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _params(sh: Shape, variant: list) -> list[dict]:
    """One ``rows:`` sampler: whole captured tuples, so parameters stay correlated.
    Values are typed YAML (BLOBs as !!binary, REAL as floats, .inf/.nan included)."""
    samples = variant[2]
    return [{"rows": [Flow(s) for s in samples]}] if samples else []


#: An IN-list length is replayed as its own query when it has this share of the calls.
VARIANT_SHARE = 0.1
MAX_VARIANTS = 3


def _replayed_variants(sh: Shape) -> list[tuple[tuple, list]]:
    """The IN-list lengths a folded shape is replayed at: the most frequent, plus those with
    at least VARIANT_SHARE of the calls (at most MAX_VARIANTS), most frequent first."""
    ranked = sorted(sh.variants.items(), key=lambda kv: -kv[1][1])
    keep = [ranked[0]]
    keep += [kv for kv in ranked[1:] if kv[1][1] >= VARIANT_SHARE * sh.calls and kv[0]]
    return keep[:MAX_VARIANTS]


def build_workload(result: CaptureResult, *, name: str, source: str) -> str:
    """The workload file's text (YAML with a header saying what was captured)."""
    used: set[str] = set()
    queries, writes = [], []
    by_key: dict[str, tuple[str, Shape]] = {}
    ordered = sorted(result.shapes, key=lambda s: -sum(s.ns))  # top-N by total time
    for sh in ordered:
        entry_name = _name(sh, used)
        by_key[sh.key] = (entry_name, sh)
        if sh.kind != QUERY:
            continue
        for k, (in_lists, var) in enumerate(_replayed_variants(sh)):
            vname = entry_name if k == 0 else _unique(f"{entry_name}_in{in_lists[0]}", used)
            q: dict[str, Any] = {"name": vname, "group": "captured", "sql": var[0]}
            if var[2]:
                q["params"] = _params(sh, var)
            q["notes"] = sh.timing_note()
            if len(sh.variants) > 1:
                q["notes"] += (
                    f"; IN list of {in_lists[0]}: {var[1]} of the shape's {sh.calls} calls"
                )
            q["captured"] = sh.stats() if k == 0 else {"variant_of": entry_name, "calls": var[1]}
            if len(sh.variants) > 1:  # what this entry's own IN-list length returned
                q["captured"]["in_list"] = {"length": in_lists[0], "calls": var[1], "rows": var[3]}
            queries.append(q)
    wnames: set[str] = {q["name"] for q in queries}
    for p in result.patterns[:MAX_WRITE_PATTERNS]:
        stmts = []
        for i, key in enumerate(p.shapes):
            _n, sh = by_key[key]
            var = sh.main_variant
            st: dict[str, Any] = {"sql": var[0]}
            if sh.nparams and var[2]:
                st["params"] = _params(sh, var)
            r = round(statistics.median(rep[i] for rep in p.repeats)) if p.repeats else 1
            if r > 1:
                st["repeat"] = r
            stmts.append(st)
        first = by_key[p.shapes[0]][0]
        wname = _unique(first if len(p.shapes) == 1 else f"txn_{first}", wnames)
        shapes = [by_key[k][1] for k in p.shapes]
        desc = (
            f"{p.count} application transaction{'s' if p.count != 1 else ''} "
            f"({p.mode}) of {len(p.shapes)} write shape{'s' if len(p.shapes) != 1 else ''}; "
            + "; ".join(s.timing_note() for s in shapes[:3])
        )
        writes.append(
            {
                "name": wname,
                "description": desc,
                "begin": "IMMEDIATE" if p.mode == "autocommit" else p.mode,
                "statements": stmts,
                "captured": {
                    "transactions": p.count,
                    "mode": p.mode,
                    "statements_per_transaction": round(statistics.fmean(p.statements), 2),
                    "shapes": [s.stats() for s in shapes],
                },
            }
        )
    if not queries:
        raise PerflabError(
            f"{source}: no SELECT statements captured ({result.statements} statements seen"
            + (f", {len(writes)} write patterns" if writes else "")
            + "); a workload needs at least one query"
        )
    nw = sum(1 for s in result.shapes if s.kind == WRITE)
    nq = len(result.shapes) - nw
    header = [
        f"# Captured by `perflab capture` from {source}.",
        f"# {result.statements} statements, {result.distinct_texts} distinct texts, "
        f"{result.unfolded} shapes before IN-list folding: "
        f"{nq} query shapes ({len(queries)} entries with IN-list lengths), {nw} write shapes "
        f"in {len(result.patterns)} transaction patterns.",
        "# Constants are parameters and IN lists fold into one shape (as pg_stat_statements);",
        "# `rows:` hold real parameter tuples seen (typed: BLOBs are !!binary).",
        "# Writes are replayed on a copy; with --db, keys are made to fit the schema.",
    ]
    if len(result.patterns) > MAX_WRITE_PATTERNS:
        rest = result.patterns[MAX_WRITE_PATTERNS:]
        header.append(
            f"# {len(rest)} rarer transaction patterns left out "
            f"({sum(p.count for p in rest)} transactions)"
        )
    if result.other:
        header.append(
            "# not replayed: " + ", ".join(f"{k} x{v}" for k, v in sorted(result.other.items()))
        )
    if result.failed:
        header.append(f"# {result.failed} calls raised an error in the application (left out)")
    if result.unbound:
        header.append(
            f"# {len(result.unbound)} shapes left out: they carry placeholders whose values "
            "were not recorded, e.g. " + result.unbound[0][:80]
        )
    if result.unparsed:
        header.append(
            f"# {len(result.unparsed)} statements not parsed, e.g. "
            f"{result.unparsed[0][0][:60]!r}: {result.unparsed[0][1][:80]}"
        )
    doc: dict[str, Any] = {"name": name, "description": f"captured from {source}"}
    doc["origin"] = "capture"
    # the application's whole database time, the denominator of each statement's share
    doc["captured"] = {
        "statements": result.statements,
        "total_ms": round(sum(sum(sh.ns) for sh in result.shapes) / 1e6, 3),
    }
    doc["queries"] = queries
    if writes:
        doc["writes"] = writes
    # readers of the most time-consuming query while the writes run (the concurrency stage)
    doc["concurrency"] = [
        {
            "name": f"readers_{queries[0]['name']}",
            "description": "the captured query with the most in-application time, read "
            "concurrently",
            "query": queries[0]["name"],
            "readers": 4,
        }
    ]
    return "\n".join(header) + "\n" + dump_typed(doc)


# --------------------------------------------------------------------------------- running


def capture_command(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    on_events: Callable[[list[Event]], object] | None = None,
) -> tuple[list[Event], int]:
    """Run ``command`` with the capture hook; returns (events, exit code). With
    `on_events`, events are handed over in chunks while the command runs (and the
    returned list is empty): grouping overlaps the application instead of following it."""
    if not command:
        raise PerflabError("capture: give the command to run after --, or --from-log FILE")
    tmp = Path(tempfile.mkdtemp(prefix="perflab-capture-"))
    events: list[Event] = []
    sink = on_events or events.extend
    try:
        (tmp / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        log = tmp / "events"
        log.mkdir()
        run_env = dict(os.environ if env is None else env)
        run_env["PYTHONPATH"] = os.pathsep.join(
            [str(tmp)] + ([run_env["PYTHONPATH"]] if run_env.get("PYTHONPATH") else [])
        )
        run_env[ENV_VAR] = str(log)
        try:
            proc = subprocess.Popen(command, env=run_env, cwd=cwd)
        except FileNotFoundError:
            raise PerflabError(f"capture: command not found: {command[0]}") from None
        except PermissionError:
            raise PerflabError(f"capture: cannot execute: {command[0]}") from None
        tail = EventTail(log)
        try:
            if on_events is not None:
                normalize("SELECT 1")  # load the parser while the application starts
            while True:
                try:
                    code = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if on_events is not None:
                        sink(tail.read())
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        sink(tail.read())
        return events, code
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class CaptureReport:
    """What a capture recorded, the workload text it made, and where it wrote it."""

    result: CaptureResult
    out: Path | None
    text: str = ""

    @property
    def query_shapes(self) -> int:
        return sum(1 for s in self.result.shapes if s.kind == QUERY)

    def line(self) -> str:
        """The one line `perflab capture` prints when it is done."""
        r, nq = self.result, self.query_shapes
        return (
            f"perflab: captured {r.statements} statements ({r.distinct_texts} distinct "
            f"texts, {r.unfolded} shapes before IN-list folding) -> {nq} query shapes, "
            f"{len(r.shapes) - nq} write shapes in {len(r.patterns)} transaction "
            f"patterns" + (f", in {self.out}" if self.out else "")
        )


def capture(
    command: Sequence[str] = (),
    *,
    from_log: str | Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
    max_values: int = MAX_VALUES,
    warn: Callable[[str], object] = lambda _msg: None,
) -> CaptureReport:
    """The one capture path (`perflab capture` and `perflab.capture_workload`): record
    ``command``'s statements (or read ``from_log``) and make the workload text; with
    ``out``, write it there (a new file or one perflab wrote), the target checked before the
    application runs. ``warn`` hears about a command that exited non-zero (the capture is
    still made: a crashing application's statements are worth keeping)."""
    if bool(from_log) == bool(command):
        raise PerflabError("capture: give a command or --from-log (from_log), not both")
    out_p = Path(out) if out is not None else None
    if out_p is not None:
        check_file_target(out_p, "the workload file")  # before the application runs
    grouper = Grouper(max_values=max_values)
    if from_log:
        source = str(from_log)
        grouper.feed(read_log(from_log))
    else:
        source = " ".join(command)
        _, code = capture_command(list(command), on_events=grouper.feed)
        if code != 0:
            warn(f"perflab: capture: the command exited with code {code}")
    result = grouper.result()
    if not result.statements and not result.other and not result.failed:
        raise PerflabError(f"capture: no SQLite statements recorded from {source}")
    stem = name or (out_p.stem if out_p is not None else "captured")
    text = build_workload(result, name=stem, source=source)
    if out_p is not None:
        write_owned_text(out_p, text, "the workload file", "# ")
    return CaptureReport(result, out_p, text)
