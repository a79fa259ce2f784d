"""The CI gate separates change from noise: 10 A/A pairs pass, planted regressions fail.

Eleven `--profile tiny` runs of the embedded default (every notebook, so writes are
measured too) give ten back-to-back A/A pairs, each gated with
`perflab compare A_{i-1} A_i --fail-on regression`; each must exit 0. Then three planted
regressions are run the same way through `--schema` and gated against the last A:
a workload query's index dropped, the table the first write inserts into gains a
trigger, and that table gains an index. Each must exit 1 and name its cause.

    python benchmarks/bench_gate.py [--repeat 10] [--keep DIR]

Prints each comparison's exit code and gate lines, then one JSON line of the counts;
exits 1 when an A/A pair fails or a planted regression passes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_regression import DATASET, SCHEMA, WORKLOAD, used_index, without_index
from perflab.inputs.workload import load_workload


def one_run(out: Path, schema: Path) -> dict:
    """`perflab run --profile tiny` on `schema` with the embedded dataset and workload."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "perflab.cli", "run", "--profile", "tiny", "--out", str(out)]
    cmd += ["--schema", str(schema), "--dataset", str(DATASET), "--workload", str(WORKLOAD)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(
        f"  run {out.name}: exit {proc.returncode}, {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def gate(a: Path, b: Path) -> tuple[int, list[str]]:
    """`perflab compare A B --fail-on regression`: exit code and its 'regression:' lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "compare", str(a), str(b), "--fail-on", "regression"],
        capture_output=True,
        text=True,
    )
    lines = [x.strip() for x in (proc.stdout + proc.stderr).splitlines() if "regression:" in x]
    return proc.returncode, lines


def written_table() -> str:
    """The table the workload's first write inserts into."""
    sql = load_workload(WORKLOAD).writes[0].statements[0].sql
    return sql.split("INTO", 1)[1].split("(", 1)[0].strip().strip('"')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--keep", default=None, help="keep the run folders in this new folder")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="perflab-gate-"))
    work.mkdir(parents=True, exist_ok=True)
    ddl = SCHEMA.read_text(encoding="utf-8")
    try:
        prev = work / "A_0"
        first = one_run(prev, SCHEMA)
        aa_pass = 0
        for i in range(1, args.repeat + 1):
            a = work / f"A_{i}"
            one_run(a, SCHEMA)
            code, lines = gate(prev, a)
            aa_pass += code == 0
            print(f"A/A {i}: exit {code}" + "".join(f"\n    {x}" for x in lines))
            prev = a
        index, query = used_index(first, ddl)
        table = written_table()
        planted = {
            f"DROP INDEX {index} (used by {query})": without_index(ddl, index),
            # a trigger that writes a row of the same table (the dataset spec names every
            # table, so the trigger adds no table of its own)
            f"{table} gains a trigger": ddl
            + f"\nCREATE TRIGGER planted AFTER INSERT ON {table} BEGIN UPDATE {table} "
            "SET updated_at = new.updated_at WHERE rowid = new.rowid; END;\n",
            f"{table} gains an index": ddl + f"\nCREATE INDEX planted_ix ON {table} (key, id);\n",
        }
        caught = 0
        for j, (what, text) in enumerate(planted.items()):
            schema = work / f"planted_{j}.sql"
            schema.write_text(text, encoding="utf-8")
            out = work / f"P_{j}"
            one_run(out, schema)
            code, lines = gate(prev, out)
            caught += code == 1
            print(f"planted {what}: exit {code}" + "".join(f"\n    {x}" for x in lines))
        n, p = args.repeat, len(planted)
        print(json.dumps({"aa_pairs": n, "aa_exit0": aa_pass, "planted": p, "caught": caught}))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if aa_pass == n and caught == p else 1


if __name__ == "__main__":
    sys.exit(main())
