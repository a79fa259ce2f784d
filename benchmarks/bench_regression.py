"""A planted regression is caught by work counters; an A/A comparison is not flagged.

The default schema with one index dropped that a workload query uses, run through
`--schema` with the default dataset spec and workload, against the intact schema run the
same way. Each repetition runs the intact schema (A_i) and the dropped one (B_i), then
`perflab compare A_i B_i --fail-on regression` (must exit 1, flagged by the counters) and
`perflab compare A_{i-1} A_i --fail-on regression` (an A/A: the counters and plans must be
identical for every query). Only the notebooks a comparison reads run (plans, latency),
at the tiny profile, so a repetition costs two short runs.

    python benchmarks/bench_regression.py [--repeat 10] [--drop INDEX] [--keep DIR]

Prints one line per comparison and the counts; exits 1 when a planted regression is
missed or an A/A comparison is flagged on counters or plans.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perflab import paths
from perflab.inputs.config import RunInputs
from perflab.judge.compare import compare as compare_summaries
from perflab.judge.compare import load_summary
from perflab.run.runner import run

NOTEBOOKS = ["01_query_plans", "02_latency"]
SCHEMA = paths.DATA_DIR / "schemas" / "agent_orchestrator.sql"
DATASET = paths.DATA_DIR / "datasets" / "agent_orchestrator.yaml"
WORKLOAD = paths.DATA_DIR / "workloads" / "agent_orchestrator.yaml"


def statements(ddl: str) -> list[str]:
    """The DDL split into complete statements (comments stay with the next statement)."""
    out, cur = [], ""
    for line in ddl.splitlines(keepends=True):
        cur += line
        if sqlite3.complete_statement(cur):
            out.append(cur)
            cur = ""
    return out + ([cur] if cur.strip() else [])


def without_index(ddl: str, index: str) -> str:
    """The DDL without the one CREATE INDEX statement of `index`."""
    pat = re.compile(rf'\s*CREATE\s+INDEX\s+(IF\s+NOT\s+EXISTS\s+)?"?{re.escape(index)}"?\s', re.I)

    def is_it(stmt: str) -> bool:
        code = "\n".join(x for x in stmt.splitlines() if not x.strip().startswith("--"))
        return bool(pat.match(code))

    parts = statements(ddl)
    if sum(map(is_it, parts)) != 1:
        sys.exit(f"bench_regression: no single CREATE INDEX {index} in {SCHEMA}")
    return "".join(s for s in parts if not is_it(s))


def used_index(summary: dict, ddl: str) -> tuple[str, str]:
    """The first non-unique index a workload query's plan uses, and that query."""
    plain = {m.group(1) for m in re.finditer(r'^\s*CREATE\s+INDEX\s+"?(\w+)"?', ddl, re.I | re.M)}
    for q in summary["queries"]:
        for ix in q["plan_classification"].get("indexes", []):
            if ix in plain:
                return ix, q["name"]
    sys.exit("bench_regression: no workload query uses a non-unique index")


def one_run(out: Path, schema: Path) -> dict:
    t0 = time.perf_counter()
    inputs = RunInputs.create("tiny", schema=schema, dataset=DATASET, workload=WORKLOAD)
    res = run(inputs, out, notebooks=NOTEBOOKS)
    print(f"  run {out.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return res.summary


def compare_cli(a: Path, b: Path) -> tuple[int, dict]:
    """`perflab compare A B --fail-on regression` through the CLI; (exit code, comparison)."""
    proc = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "compare", str(a), str(b), "--fail-on", "regression"],
        capture_output=True,
        text=True,
    )
    return proc.returncode, compare_summaries(load_summary(a), load_summary(b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--drop", default=None, help="index to drop (default: the first used one)")
    ap.add_argument("--keep", default=None, help="keep the run folders in this new folder")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="perflab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ddl = SCHEMA.read_text(encoding="utf-8")
    try:
        prev = work / "A_0"
        first = one_run(prev, SCHEMA)
        index, query = (args.drop, "?") if args.drop else used_index(first, ddl)
        dropped = work / f"without_{index}.sql"
        dropped.write_text(without_index(ddl, index), encoding="utf-8")
        print(f"planted regression: DROP INDEX {index} (used by {query})")
        caught = aa_clean = aa_exit0 = 0
        timing_flags = 0
        for i in range(1, args.repeat + 1):
            a, b = work / f"A_{i}", work / f"B_{i}"
            one_run(a, SCHEMA)
            one_run(b, dropped)
            code, c = compare_cli(a, b)
            work_hit = [w["query"] for w in c["work"] if w["verdict"] == "regression"]
            ok = code == 1 and c["work_regressions"] > 0
            caught += ok
            print(
                f"[{i}] planted: exit {code}, work regressions {work_hit}, "
                f"plan regressions {c['plan_regressions']}, timing regressions {c['regressions']}"
            )
            code, c = compare_cli(prev, a)
            same = c["unchanged_work_and_plan"]
            clean = c["work_regressions"] == 0 and c["plan_regressions"] == 0
            clean = clean and len(same) == len(c["work"])
            aa_clean += clean
            aa_exit0 += code == 0
            timing_flags += c["regressions"] > 0
            print(
                f"[{i}] A/A: exit {code}, identical counters and plan for {len(same)} of "
                f"{len(c['work'])} queries, timing regressions {c['regressions']} "
                f"(SELECT 1 ratio {c['machine']['select_1_ratio']:.2f})"
            )
            prev = a
        n = args.repeat
        print(f"planted regression flagged by counters with exit 1: {caught} of {n}")
        print(f"A/A with identical counters and plans, nothing flagged on work: {aa_clean} of {n}")
        print(f"A/A exit 0 (timings included): {aa_exit0} of {n}; timing flags in {timing_flags}")
        print(json.dumps({"caught": caught, "aa_clean": aa_clean, "aa_exit0": aa_exit0, "n": n}))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if caught == n and aa_clean == n else 1


if __name__ == "__main__":
    sys.exit(main())
