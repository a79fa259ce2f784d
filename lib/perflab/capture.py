"""Record what an application sends to SQLite and turn it into a workload file.

``perflab capture --out app.yaml -- python app.py`` runs the application with a
``sitecustomize.py`` (in a temporary folder put first on PYTHONPATH) that wraps
the stdlib ``sqlite3.connect``: every connection gets a trace callback (the
statement text with its bound values, as SQLite expands it) and its
``execute``/``executemany`` calls are timed. Each statement becomes one JSON line
in the file named by ``PERFLAB_CAPTURE_FILE``.

``perflab capture --out app.yaml --from-log FILE`` reads statements from a file
instead: SQL separated by ``;`` (or one per line when there is no ``;``), or the
JSON lines a capture wrote.

The statements are normalized with a real SQL parser (`perflab.sqlnorm`),
grouped by shape with counts and timings, and written as a workload: SELECTs as
``queries``, INSERT/UPDATE/DELETE as ``writes``, each with ``values:`` samplers
holding a sample of the real parameter values seen. Transaction control, PRAGMA
and DDL are counted and listed in the file's header, not replayed.

Limits: only the stdlib ``sqlite3`` module of a Python application is traced (not
apsw, not other languages: use --from-log with their SQL log); an application
that installs its own trace callback replaces ours; timings are of the
``execute`` call (prepare + first step), rows fetched later are not timed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import yaml

from perflab.errors import PerflabError
from perflab.ownership import check_file_target, write_owned_text
from perflab.sqlnorm import QUERY, UNPARSED, WRITE, normalize

__all__ = [
    "ENV_VAR",
    "CaptureResult",
    "Shape",
    "build_workload",
    "capture_cmd",
    "capture_command",
    "read_log",
    "read_records",
]

ENV_VAR = "PERFLAB_CAPTURE_FILE"
MAX_VALUES = 20

SITECUSTOMIZE = r"""
# Installed by `perflab capture`: records every statement sent through sqlite3.
import json as _json
import os as _os
import sqlite3 as _sqlite3
import threading as _threading
import time as _time

_PATH = _os.environ.get("PERFLAB_CAPTURE_FILE")
_tl = _threading.local()


def _emit(sql, ms, db, batch=None):
    if not sql or sql.lstrip().startswith("--"):  # trigger sub-programs
        return
    rec = {"sql": sql, "ms": ms, "db": db, "pid": _os.getpid()}
    if batch:
        rec["batch"] = batch
    line = (_json.dumps(rec) + "\n").encode("utf-8")
    fd = _os.open(_PATH, _os.O_WRONLY | _os.O_APPEND | _os.O_CREAT, 0o600)
    try:
        _os.write(fd, line)
    finally:
        _os.close(fd)


def _timed(db, fn, *args, **kw):
    outer = getattr(_tl, "events", None)
    _tl.events = []
    t0 = _time.perf_counter()
    try:
        return fn(*args, **kw)
    finally:
        ms = (_time.perf_counter() - t0) * 1000.0
        events, _tl.events = _tl.events, outer
        n = len(events)
        for sql in events:
            _emit(sql, ms / n if n else ms, db, n if n > 1 else None)


def _install():
    orig_connect = _sqlite3.connect

    def make_classes(base):
        class _Cursor(_sqlite3.Cursor):
            def execute(self, *a, **kw):
                return _timed(self.connection._perflab_db, super().execute, *a, **kw)

            def executemany(self, *a, **kw):
                return _timed(self.connection._perflab_db, super().executemany, *a, **kw)

        class _Conn(base):
            def cursor(self, factory=None):
                return super().cursor(factory or _Cursor)

            def execute(self, *a, **kw):
                return self.cursor().execute(*a, **kw)

            def executemany(self, *a, **kw):
                return self.cursor().executemany(*a, **kw)

        return _Conn

    classes = {}

    def connect(*args, **kwargs):
        base = kwargs.get("factory") or _sqlite3.Connection
        if base not in classes:
            classes[base] = make_classes(base)
        kwargs["factory"] = classes[base]
        conn = orig_connect(*args, **kwargs)
        db = str(args[0] if args else kwargs.get("database", ""))
        conn._perflab_db = db

        def trace(sql):
            events = getattr(_tl, "events", None)
            if events is not None:
                events.append(sql)
            else:
                _emit(sql, None, db)

        conn.set_trace_callback(trace)
        return conn

    _sqlite3.connect = connect
    try:
        import sqlite3.dbapi2 as _d

        _d.connect = connect
    except ImportError:
        pass


if _PATH:
    _install()
"""


# --------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Record:
    sql: str
    ms: float | None = None
    db: str = ""


def read_records(path: Path) -> list[Record]:
    """The JSON lines written by the capture hook (bad lines name file and line)."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append(Record(str(d["sql"]), d.get("ms"), str(d.get("db") or "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise PerflabError(f"{path}:{i}: not a capture record: {exc}") from None
    return out


def read_log(path: str | Path) -> list[Record]:
    """Statements from a SQL log (``;``-separated, or one per line), or capture JSON lines."""
    from perflab.schema import split_statements

    path = Path(path)
    if not path.is_file():
        raise PerflabError(f"{path}: log file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PerflabError(f"{path}: cannot read log: {exc}") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.lstrip().startswith("{"):
        return read_records(path)
    has_semicolons = ";" in text
    stmts = split_statements(text) if has_semicolons else [ln.strip() for ln in text.splitlines()]
    return [Record(s) for s in stmts if s and not s.lstrip().startswith("--")]


# --------------------------------------------------------------------------------- grouping


@dataclass
class Shape:
    """Statements of one shape: how many, how long, a sample of their parameter values."""

    sql: str
    kind: str
    verb: str
    table: str
    columns: tuple[str, ...]
    nparams: int
    count: int = 0
    ms: list[float] = field(default_factory=list)
    samples: list[tuple] = field(default_factory=list)
    seen: int = 0
    insert_columns: tuple[str, ...] = ()
    dbs: set[str] = field(default_factory=set)

    def add(self, values: tuple, ms: float | None, rng: np.random.Generator, k: int) -> None:
        self.count += 1
        if ms is not None:
            self.ms.append(float(ms))
        if not values:
            return
        self.seen += 1  # reservoir sample: every execution equally likely to be kept
        if len(self.samples) < k:
            self.samples.append(values)
        else:
            j = int(rng.integers(self.seen))
            if j < k:
                self.samples[j] = values

    def timing_note(self) -> str:
        text = f"captured {self.count} execution{'s' if self.count != 1 else ''}"
        if self.ms:
            a = np.asarray(self.ms)
            text += (
                f"; execute call mean {a.mean():.3f} ms, p95 {np.percentile(a, 95):.3f} ms, "
                f"total {a.sum():.1f} ms"
            )
        return text


@dataclass
class CaptureResult:
    shapes: list[Shape]
    other: Counter
    unparsed: list[tuple[str, str]]
    unbound: list[str]
    statements: int


def group(records: list[Record], *, max_values: int = MAX_VALUES, seed: int = 0) -> CaptureResult:
    """Normalize and group records by shape (first-seen order)."""
    rng = np.random.default_rng(seed)
    shapes: dict[str, Shape] = {}
    other: Counter = Counter()
    unparsed: list[tuple[str, str]] = []
    unbound: list[str] = []
    for rec in records:
        n = normalize(rec.sql)
        if n.kind == UNPARSED:
            if len(unparsed) < 50:
                unparsed.append((rec.sql, n.error))
            continue
        if n.kind not in (QUERY, WRITE):
            other[n.verb] += 1
            continue
        if n.unbound:
            if n.shape not in unbound:
                unbound.append(n.shape)
            continue
        sh = shapes.get(n.shape)
        if sh is None:
            sh = shapes[n.shape] = Shape(
                n.sql,
                n.kind,
                n.verb,
                n.table,
                n.columns,
                len(n.values),
                insert_columns=n.insert_columns,
            )
        sh.add(n.values, rec.ms, rng, max_values)
        if rec.db:
            sh.dbs.add(rec.db)
    return CaptureResult(list(shapes.values()), other, unparsed, unbound, len(records))


def _slug(text: str) -> str:
    import re

    s = re.sub(r"[^0-9a-zA-Z]+", "_", text.lower()).strip("_")
    return s or "t"


def _name(sh: Shape, used: set[str]) -> str:
    base = f"{sh.verb}_{_slug(sh.table)}" if sh.table else sh.verb
    cols = list(dict.fromkeys(_slug(c) for c in sh.columns))
    if cols:
        base += "_by_" + "_".join(cols[:3])
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _yaml_value(v: Any) -> Any:
    return v if not isinstance(v, float) or np.isfinite(v) else str(v)


class _Flow(list):
    """A list dumped in YAML flow style ([a, b, c])."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _unique_columns(sh: Shape) -> set[str]:
    """Single-column UNIQUE/PK text columns of the INSERT's table, read from the captured
    database's schema (opened immutable: nothing is written), so that replayed inserts get
    fresh values instead of colliding with the captured ones."""
    import sqlite3

    from perflab.schema import introspect

    out: set[str] = set()
    for db in sorted(sh.dbs):
        p = Path(db)
        if not db or db == ":memory:" or not p.is_file():
            continue
        try:
            conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            try:
                info = introspect(conn)
            finally:
                conn.close()
            t = info.table(sh.table)
        except Exception:
            continue
        for cols in t.unique_constraints:
            if (
                len(cols) == 1
                and t.rowid_alias != cols[0]
                and t.column(cols[0]).affinity in ("TEXT", "BLOB", "NUMERIC")
            ):
                out.add(cols[0].lower())
    return out


def _params(sh: Shape) -> list[dict]:
    unique = _unique_columns(sh) if sh.kind == WRITE and sh.insert_columns else set()
    out = []
    for i in range(sh.nparams):
        col = sh.insert_columns[i] if i < len(sh.insert_columns) else None
        if col and col.lower() in unique and sh.nparams == len(sh.insert_columns):
            first = str(sh.samples[0][i]) if sh.samples else col
            out.append({"format": first.replace("{", "{{").replace("}", "}}") + "-{run}-{n}"})
            continue
        out.append({"values": _Flow(_yaml_value(s[i]) for s in sh.samples)})
    return out


def build_workload(result: CaptureResult, *, name: str, source: str) -> str:
    """The workload file's text (YAML with a header saying what was captured)."""
    used: set[str] = set()
    queries, writes = [], []
    ordered = sorted(result.shapes, key=lambda s: -s.count)
    for sh in ordered:
        entry_name = _name(sh, used)
        if sh.kind == QUERY:
            q: dict[str, Any] = {"name": entry_name, "group": "captured", "sql": sh.sql}
            if sh.nparams:
                q["params"] = _params(sh)
            q["notes"] = sh.timing_note()
            queries.append(q)
        else:
            st: dict[str, Any] = {"sql": sh.sql}
            if sh.nparams:
                st["params"] = _params(sh)
            writes.append({"name": entry_name, "description": sh.timing_note(), "statements": [st]})
    if not queries:
        raise PerflabError(
            f"{source}: no SELECT statements captured ({result.statements} statements seen"
            + (f", {len(writes)} write shapes" if writes else "")
            + "); a workload needs at least one query"
        )
    header = [
        f"# Captured by `perflab capture` from {source}.",
        f"# {result.statements} statements: {len(queries)} query shapes, "
        f"{len(writes)} write shapes.",
        "# Parameters: literals in value positions, normalized by sqlglot (dialect sqlite);",
        "# `values:` hold a sample of the real values seen (each position drawn on its own).",
        "# Writes are replayed on a copy: an INSERT into a UNIQUE column may need a",
        "# `format: 'x-{run}-{n}'` sampler instead of captured values.",
    ]
    if result.other:
        header.append(
            "# not replayed: " + ", ".join(f"{k} x{v}" for k, v in sorted(result.other.items()))
        )
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
    doc["queries"] = queries
    if writes:
        doc["writes"] = writes
    # readers of the most frequent query while the writes run (the concurrency stage)
    doc["concurrency"] = [
        {
            "name": f"readers_{queries[0]['name']}",
            "description": "the most frequent captured query, read concurrently",
            "query": queries[0]["name"],
            "readers": 4,
        }
    ]
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


# --------------------------------------------------------------------------------- running


def capture_command(
    command: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> tuple[list[Record], int]:
    """Run ``command`` with the capture hook; returns (records, exit code)."""
    if not command:
        raise PerflabError("capture: give the command to run after --, or --from-log FILE")
    tmp = Path(tempfile.mkdtemp(prefix="perflab-capture-"))
    try:
        (tmp / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        log = tmp / "statements.jsonl"
        run_env = dict(os.environ if env is None else env)
        run_env["PYTHONPATH"] = os.pathsep.join(
            [str(tmp)] + ([run_env["PYTHONPATH"]] if run_env.get("PYTHONPATH") else [])
        )
        run_env[ENV_VAR] = str(log)
        try:
            proc = subprocess.run(command, env=run_env, cwd=cwd, check=False)
        except FileNotFoundError:
            raise PerflabError(f"capture: command not found: {command[0]}") from None
        except PermissionError:
            raise PerflabError(f"capture: cannot execute: {command[0]}") from None
        records = read_records(log) if log.exists() else []
        return records, proc.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@click.command(
    "capture", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--out", "out", required=True, help="Workload YAML to write.")
@click.option("--from-log", "from_log", default=None, help="Read statements from this file.")
@click.option("--name", default=None, help="Workload name (default: from --out).")
@click.option(
    "--max-values",
    type=int,
    default=MAX_VALUES,
    show_default=True,
    help="Parameter tuples kept per statement shape.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def capture_cmd(out, from_log, name, max_values, command) -> None:
    """Record an application's SQLite statements as a workload file.

    \b
    perflab capture --out app.yaml -- python app.py
    perflab capture --out app.yaml --from-log statements.sql
    """
    out_p = Path(out)
    if from_log and command:
        raise PerflabError("capture: give a command or --from-log, not both")
    check_file_target(out_p, "the workload file")  # before the application runs
    if from_log:
        records, source = read_log(from_log), str(from_log)
    else:
        records, code = capture_command(list(command))
        source = " ".join(command)
        if code != 0:
            click.echo(f"perflab: capture: the command exited with code {code}", err=True)
    if not records:
        raise PerflabError(f"capture: no SQLite statements recorded from {source}")
    result = group(records, max_values=max_values)
    text = build_workload(result, name=name or out_p.stem, source=source)
    write_owned_text(out_p, text, "the workload file", "# ")
    nq = sum(1 for s in result.shapes if s.kind == QUERY)
    click.echo(
        f"perflab: captured {result.statements} statements -> {nq} queries, "
        f"{len(result.shapes) - nq} writes in {out_p}",
        err=True,
    )


def main() -> None:  # pragma: no cover - convenience for python -m perflab.capture
    sys.exit(capture_cmd.main(standalone_mode=True))
