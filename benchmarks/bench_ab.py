"""Every interleaved comparison notebooks 01 and 03 make, and the advice they lead to.

Runs the plans and indexes stages (`stages.<name>.run`, no kernels) on one profile and
prints each step's seconds (as `bench_stages.py` does) and, per comparison
(`measure.interleave.ab`: a rewrite in the diagnostics, an advisor candidate, the
before/after): which query, its seconds, the executions per side and round
(and what was asked, when a time budget cut them), the ratio after / before with its 99%
interval and the verdict. Then the claims those comparisons support: each rewrite's
timing, each candidate's verdicts and whether it is recommended, the before/after.

    .venv/bin/python benchmarks/bench_ab.py [--profile quick] [--lib DIR] [--keep OUT.json]
    .venv/bin/python benchmarks/bench_ab.py --compare OLD.json NEW.json

--lib imports perflab from DIR (an older commit's lib: `git archive <c> lib | tar -x -C
/tmp/old`), so the old and the new code run through this same script. --compare prints two
kept runs side by side and marks every claim that differs, with both intervals, so a
changed verdict can be told from a ratio near a bound.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def _label(wl, sql: str) -> str:
    for q in wl.queries:
        if q.sql == sql:
            return q.name
    return "?"


def run(profile: str, lib: Path, stages_: list[str], cprof: int = 0) -> dict:
    sys.path.insert(0, str(lib))
    from bench_stages import run_stage
    from perflab.inputs.config import RunInputs
    from perflab.inputs.context import prepare
    from perflab.measure import interleave

    comparisons: list[dict] = []
    real_ab = interleave.ab
    with tempfile.TemporaryDirectory() as tmp:
        ctx = prepare(RunInputs.create(profile), run_dir=tmp, progress=False)
        wl = ctx.workload
        current = {"stage": ""}

        def ab(before, after, **kw):
            t0 = time.perf_counter()
            t = real_ab(before, after, **kw)
            secs = time.perf_counter() - t0
            rewrite = before.sql != after.sql
            comparisons.append(
                {
                    "stage": current["stage"],
                    "query": _label(wl, before.sql) + (" (rewrite)" if rewrite else ""),
                    "seconds": secs,
                    "rounds": t.rounds,
                    "executions": t.executions,
                    "asked": getattr(t, "asked", t.executions),
                    "p50_before_ms": t.p50_before_ms,
                    "p50_after_ms": t.p50_after_ms,
                    "ratio": t.ratio,
                    "ci": list(t.ratio_ci),
                    "verdict": t.verdict,
                }
            )
            c = comparisons[-1]
            cut = f" (asked {c['asked']})" if c["asked"] != c["executions"] else ""
            print(
                f"  {c['stage']:8s} {c['query']:34s} {secs:7.2f} s  {t.rounds} x "
                f"{t.executions:3d}{cut:11s} p50 {t.p50_before_ms:9.3f} -> "
                f"{t.p50_after_ms:9.3f} ms  ratio {t.ratio:.3f} [{t.ratio_ci[0]:.3f}, "
                f"{t.ratio_ci[1]:.3f}] {t.verdict}",
                flush=True,
            )
            return t

        interleave.ab = ab
        seconds = {}
        try:
            for name in stages_:
                current["stage"] = name
                t0 = time.perf_counter()
                run_stage(ctx, name, cprof)  # its steps' seconds (bench_stages), printed
                seconds[name] = time.perf_counter() - t0
        finally:
            interleave.ab = real_ab
        res = Path(tmp) / "results"
        load = {p.stem: json.loads(p.read_text()) for p in res.glob("*.json")}
    out = {"profile": profile, "lib": str(lib), "seconds": seconds, "comparisons": comparisons}
    diag = load.get("findings", {}).get("diagnostics", [])
    out["rewrites"] = [
        {k: r.get(k) for k in ("query", "diagnostic", "fix", "timing", "ratio_ci", "recommended")}
        for r in diag
        if r.get("fix_kind") == "rewrite"
    ]
    adv = load.get("advice", {})
    out["candidates"] = [
        {
            "ddl": c["ddl"],
            "recommended": c["recommended"],
            "verdicts": {
                q: [v["verdict"], v["ratio"], v["ci99"]] for q, v in c["verdicts"].items()
            },
        }
        for c in adv.get("candidates", [])
    ]
    out["recommended"] = adv.get("recommended", [])
    out["expert"] = adv.get("expert", "")  # the tool, or why it failed (a missing candidate)
    out["before_after"] = {
        r["query"]: [r["verdict"], r["ratio"], [r["ci_lo"], r["ci_hi"]]]
        for r in adv.get("before_after", [])
    }
    return out


def _ci(v) -> str:
    if v is None or v[0] is None:
        return "-"
    return f"{v[0]:.3f} [{v[1][0]:.3f}, {v[1][1]:.3f}]"


def _verdict_line(label: str, old: list, new: list | None) -> bool:
    """One query's verdict, ratio and interval, old -> new; True (marked *) if they differ."""
    differs = not new or new[0] != old[0]
    print(
        f"  {label:30s} {old[0]:12s} {_ci(old[1:])}  ->  {(new or ['-'])[0]:12s} "
        f"{_ci(new[1:]) if new else '-'}{' *' if differs else ''}"
    )
    return differs


def compare(a: dict, b: dict) -> int:
    """Side by side; returns how many claims differ."""
    diff = 0
    print(f"old: {a['lib']}\nnew: {b['lib']}\nprofile {a['profile']} / {b['profile']}")
    for stage in a["seconds"]:
        sa, sb = a["seconds"][stage], b["seconds"].get(stage, float("nan"))
        print(f"{stage:10s} {sa:8.2f} s -> {sb:8.2f} s  ({sb / sa:.2f}x)")
    ta = sum(c["seconds"] for c in a["comparisons"])
    tb = sum(c["seconds"] for c in b["comparisons"])
    na, nb = len(a["comparisons"]), len(b["comparisons"])
    print(f"comparisons: {na} in {ta:.1f} s -> {nb} in {tb:.1f} s")
    print("\nrewrites (query, rule: timing old -> new)")
    rb = {(r["query"], r["diagnostic"], r["fix"]): r for r in b["rewrites"]}
    for r in a["rewrites"]:
        o = rb.get((r["query"], r["diagnostic"], r["fix"]), {})
        mark = (
            ""
            if (o.get("timing"), o.get("recommended")) == (r["timing"], r["recommended"])
            else " *"
        )
        diff += bool(mark)
        print(
            f"  {r['query']}, {r['diagnostic']}: {r['timing']} {r['ratio_ci']} -> "
            f"{o.get('timing')} {o.get('ratio_ci')}{mark}"
        )
    print(f"\nexpert: {a.get('expert', '?')}\n     -> {b.get('expert', '?')}")
    print("\ncandidates (recommended old -> new; verdict per changed query)")
    cb = {c["ddl"]: c for c in b["candidates"]}
    for c in a["candidates"]:
        o = cb.get(c["ddl"], {"recommended": None, "verdicts": {}})
        mark = "" if o["recommended"] == c["recommended"] else " *"
        diff += bool(mark)
        print(f"  {c['ddl'][:90]}: {c['recommended']} -> {o['recommended']}{mark}")
        for q, v in c["verdicts"].items():
            diff += _verdict_line("    " + q, v, o["verdicts"].get(q))
    ra, rb2 = set(a["recommended"]), set(b["recommended"])
    print(f"\nrecommended: {'same' if ra == rb2 else 'DIFFERENT'} ({len(ra)} / {len(rb2)})")
    diff += ra != rb2
    print("\nbefore/after (verdict, ratio [99% interval])")
    for q, v in a["before_after"].items():
        diff += _verdict_line(q, v, b["before_after"].get(q))
    print(f"\n{diff} claim(s) differ")
    return diff


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--stages", default="plans,indexes")
    ap.add_argument("--lib", help="import perflab from this folder")
    ap.add_argument("--keep", help="write the comparisons and claims to this JSON file")
    ap.add_argument("--cprofile", type=int, default=0, help="the N costliest functions")
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        compare(a, b)
        return
    lib = Path(args.lib) if args.lib else Path(__file__).resolve().parents[1] / "lib"
    out = run(args.profile, lib, [s.strip() for s in args.stages.split(",")], args.cprofile)
    if args.keep:
        Path(args.keep).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
