"""Where `perflab run` spends its time (issue 9: quick <= 45 s, full <= 10 min on 2 cores).

Runs the real command in a subprocess twice unless --once: the first run may build the
database (cold), the second reuses the cache (warm). For each run it prints:

- every stage (database, each notebook, HTML export) with its seconds and share of the
  run's total, and the peak RSS of the run's processes (getrusage(RUSAGE_CHILDREN):
  the largest resident set of any child waited for, kernels included), and the machine's
  speed just before (a fixed 200k `SELECT 1`: runs compared should show similar figures);
- per notebook: the kernel start and papermill's own cost (the notebook's time minus its
  cells' durations, which papermill records in the executed notebook), the slowest cells
  and the HTML export;
- per query of 02_latency: timed executions, the seconds the loop took (records of this
  version carry them; older ones only n x mean, marked ~) and why sampling stopped.

    .venv/bin/python benchmarks/bench_run.py [--profile quick|full] [--once] [--cells 3]
    .venv/bin/python benchmarks/bench_run.py --compare BEFORE.json AFTER.json

--keep FILE keeps the last run's summary.json; --compare prints two of them side by side:
decision, issues, and each query's p50 and p99 with intervals, and whether the after-value
lies inside the before-interval.

With --lib DIR the subprocess imports perflab from DIR (e.g. an exported older commit),
so a before/after pair runs with this same script, in the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _uptime() -> str:
    try:
        return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load ?"


def machine_speed() -> float:
    """Seconds for a fixed piece of work (200k `SELECT 1` through sqlite3, best of 3),
    timed just before a run: these machines are shared, and the same code's run time moved
    by 30% within one session. Runs compared with each other should show similar figures."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(200_000):
            conn.execute("SELECT 1").fetchone()
        best = min(best, time.perf_counter() - t0)
    conn.close()
    return best


def one_run(profile: str, out: Path, lib: str | None) -> dict:
    env = dict(os.environ)
    if lib:
        env["PYTHONPATH"] = lib + os.pathsep + env.get("PYTHONPATH", "")
    load_before = _uptime()
    speed = machine_speed()
    rss0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "run", "--profile", profile, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        raise SystemExit(f"perflab run failed with exit code {proc.returncode}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "wall": wall,
        "summary": summary,
        "out": out,
        # ru_maxrss is a maximum over all children so far: a later run can only show a
        # larger figure, so report it as "<= earlier" when it did not grow
        "peak_rss_mib": rss / 1024,
        "rss_grew": rss > rss0,
        "load": f"{load_before} -> {_uptime()}",
        "speed": speed,
    }


def cell_times(nb: Path) -> list[tuple[float, str]]:
    """(seconds, first source line) per code cell, from papermill's cell metadata."""
    d = json.loads(nb.read_text())
    out = []
    for c in d["cells"]:
        if c["cell_type"] != "code":
            continue
        dur = (c.get("metadata", {}).get("papermill") or {}).get("duration")
        src = "".join(c["source"]).strip().splitlines()
        first = next((ln for ln in src if not ln.startswith(("#", "import", "from"))), "")
        out.append((float(dur or 0.0), first[:60]))
    return out


def print_run(r: dict, cells: int) -> None:
    s = r["summary"]
    stages = s["stages"]
    total = stages.get("total") or sum(stages.values())
    kind = "warm (database from cache)" if s["database"]["from_cache"] else "cold (database built)"
    print(
        f"{kind}: wall {r['wall']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB"
        f"{'' if r['rss_grew'] else ' (not above an earlier run: ru_maxrss is cumulative)'}"
        f", {r['load']}, machine: {r['speed']:.3f} s for 200k SELECT 1"
    )
    print(f"  {'stage':34s} {'seconds':>8s} {'share':>6s}")
    for name, secs in stages.items():
        if name != "total":
            print(f"  {name:34s} {secs:8.2f} {secs / total:6.1%}")
    print(f"  {'total':34s} {total:8.2f}")
    html = {n["name"]: n.get("html_seconds") for n in s.get("notebooks", [])}
    print(f"  per notebook: {'kernel+papermill':>16s} {'html':>6s}   slowest cells")
    for name in html:
        nb = r["out"] / "notebooks" / f"{name}.ipynb"
        secs = stages.get(f"notebook:{name}")
        if not nb.exists() or secs is None:
            continue
        ct = cell_times(nb)
        overhead = secs - sum(t for t, _ in ct)
        h = html[name]
        slow = sorted(ct, reverse=True)[:cells]
        print(
            f"  {name:26s} {overhead:8.2f} s {'   n/a' if h is None else f'{h:6.2f}'}   "
            + "; ".join(f"{t:.1f} s {src!r}" for t, src in slow)
        )
    print(f"  02_latency per query: {'n':>6s} {'seconds':>8s} {'stop':>8s}  p50 [95% CI] ms")
    for q in s.get("queries", []):
        n = q["iterations"]
        secs = q.get("seconds")
        shown = f"{secs:8.2f}" if secs is not None else f"~{n * q['latency_ms']['mean'] / 1e3:7.2f}"
        stop = (q.get("stopping") or {}).get("reason", "-")
        lo, hi = q["latency_ci_ms"]["p50"]
        print(
            f"  {q['name']:32s} {n:6d} {shown} {stop:>8s}  {q['latency_ms']['p50']:.4f} "
            f"[{lo if lo is None else round(lo, 4)}, {hi if hi is None else round(hi, 4)}]"
        )


def _ci(q: dict, key: str) -> str:
    lo, hi = (q.get("latency_ci_ms") or {}).get(key, [None, None])
    f = lambda v: "-" if v is None else f"{v:.4g}"  # noqa: E731
    return f"{q['latency_ms'][key]:.4g} [{f(lo)}, {f(hi)}]"


def _within(after: dict, before: dict, key: str) -> str:
    """'yes' when the after-estimate lies inside the before-interval, else the ratio."""
    v = after["latency_ms"][key]
    lo, hi = (before.get("latency_ci_ms") or {}).get(key, [None, None])
    inside = (lo is None or lo <= v) and (hi is None or v <= hi)
    return "yes" if inside else f"no (x{v / before['latency_ms'][key]:.2f})"


def compare_runs(before_path: str, after_path: str) -> None:
    """Decision, issues and every query's p50/p99 with intervals, before beside after."""
    b = json.loads(Path(before_path).read_text())
    a = json.loads(Path(after_path).read_text())
    for label, s in (("before", b), ("after", a)):
        d = s.get("decision") or {}
        total = s["stages"].get("total", 0)
        print(f"{label:6s} decision: {d.get('decision')}; total {total:.1f} s")
        for i in s.get("issues") or []:
            print(f"         {i['id']} [{i['severity']}] {i['title']}")
    aq = {q["name"]: q for q in a["queries"]}
    head = f"  {'query':26s} {'key':4s} {'before [CI]':>30s} {'after [CI]':>30s}"
    print(head + "  after in before-CI")
    for qb in b["queries"]:
        qa = aq.get(qb["name"])
        if qa is None:
            continue
        for key in ("p50", "p99"):
            print(
                f"  {qb['name']:26s} {key:4s} {_ci(qb, key):>30s} {_ci(qa, key):>30s}  "
                f"{_within(qa, qb, key)} (n {qb['iterations']} -> {qa['iterations']})"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--lib", help="import perflab from this folder (e.g. an older commit's lib)")
    ap.add_argument("--cells", type=int, default=3, help="slowest cells shown per notebook")
    ap.add_argument("--keep", help="copy the last run's summary.json here")
    ap.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="print two kept summaries side by side instead of running",
    )
    args = ap.parse_args()
    if args.compare:
        compare_runs(*args.compare)
        return
    goal = {"quick": "45 s", "full": "600 s"}.get(args.profile, "-")
    print(f"perflab run --profile {args.profile} (goal {goal}); lib {args.lib or 'default'}")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1 if args.once else 2):
            out = Path(tmp) / f"run{i}"
            r = one_run(args.profile, out, args.lib)
            print(f"run {i + 1}: ", end="")
            print_run(r, args.cells)
            if args.keep:
                Path(args.keep).write_text((out / "summary.json").read_text())


if __name__ == "__main__":
    main()
