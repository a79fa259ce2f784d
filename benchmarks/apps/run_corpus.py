"""The corpus of real applications, as a user meets perflab: each driver here runs under
`perflab capture`, then `perflab run --profile tiny --db <its file> --workload <capture>`.
Prints, per application: statements and shapes captured, both exit codes, the decision,
what was not analysed and why, the file's sha256 before and after, and captured vs
replayed rows per execution for each shape. Writes every run under one /tmp folder.

    python benchmarks/apps/run_corpus.py [--out /tmp/corpus-run] [--json FILE] [APP ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from perflab.database.snapshot import fingerprint

HERE = Path(__file__).resolve().parent
PY = sys.executable

# name -> (driver, extra argv after the database path)
APPS: dict[str, tuple[str, list[str]]] = {
    "peewee": ("peewee_app.py", ["40"]),
    "diskcache": ("diskcache_app.py", ["600"]),
    "sqlalchemy": ("sqlalchemy_app.py", ["120"]),
    "huey": ("huey_app.py", ["300"]),
    "huey-empty-kv": ("huey_app.py", ["300", "drain"]),
    "apscheduler": ("apscheduler_app.py", ["60"]),
    "django": ("django_app.py", ["80"]),
    "sqlitedict": ("sqlitedict_app.py", ["400"]),
    "litequeue": ("litequeue_app.py", ["300"]),
}


def table_rows(db: Path) -> dict[str, int]:
    """Rows per table, counted on a copy: opening the application's file could add a -shm."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for p in db.parent.glob(db.name + "*"):
            shutil.copy(p, Path(tmp) / p.name)
        c = sqlite3.connect(Path(tmp) / db.name)
        names = [r[0] for r in c.execute("select name from sqlite_master where type='table'")]
        rows = {t: c.execute(f'select count(*) from "{t}"').fetchone()[0] for t in names}
        c.close()
    return rows


def _not_analysed(node, path: str = "") -> list[str]:
    """Every 'not analysed' / 'not replayed' statement anywhere in summary.json."""
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in {"not_replayed", "not_analysed", "skipped"} and v:
                out.append(f"{path}{k}: {json.dumps(v)[:600]}")
            else:
                out += _not_analysed(v, f"{path}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _not_analysed(v, f"{path}{i}.")
    elif isinstance(node, str) and "not analysed" in node:
        out.append(f"{path[:-1]}: {node[:300]}")
    return out


def _rows(summary: dict) -> list[dict]:
    """Captured vs replayed rows per execution, per measured shape."""
    out = []
    for q in summary.get("queries", []):
        cap = q.get("captured") or {}
        calls = cap.get("calls") or 0
        rep = (q.get("rows") or {}).get("mean")
        fid = q.get("fidelity") or q.get("replay_fidelity")
        out.append(
            {
                "query": q["name"],
                "captured_rows_per_exec": (cap.get("rows", 0) / calls) if calls else None,
                "replayed_rows_per_exec": rep,
                "fidelity": fid,
            }
        )
    return out


def drive(name: str, root: Path) -> dict:
    """Capture one application, run perflab on its file, and report what happened."""
    driver, extra = APPS[name]
    d = root / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    db, wl, out = d / "app.db", d / "capture.yaml", d / "report"
    env = {**os.environ, "PERFLAB_CACHE_DIR": str(root / "cache")}
    cli = [PY, "-m", "perflab.cli"]
    t = time.perf_counter()
    cap = subprocess.run(
        [*cli, "capture", "--out", str(wl), "--", PY, str(HERE / driver), str(db), *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    rec: dict = {"app": name, "capture_rc": cap.returncode}
    rec["capture_s"] = round(time.perf_counter() - t, 2)
    rec["capture_tail"] = cap.stderr.strip().splitlines()[-1:] if cap.stderr else []
    if cap.returncode != 0:
        rec["capture_stderr"] = cap.stderr[-3000:]
        return rec
    import yaml

    w = yaml.safe_load(wl.read_text(encoding="utf-8"))
    rec["statements"] = (w.get("captured") or {}).get("statements")
    rec["query_shapes"] = len(w.get("queries") or [])
    rec["write_shapes"] = len(w.get("writes") or [])
    if db.is_dir():  # diskcache: the argument is its folder, the database is inside
        db = db / "cache.db"
    rec["tables"] = table_rows(db)
    before = fingerprint(db)
    t = time.perf_counter()
    run = subprocess.run(
        [*cli, "run", "--profile", "tiny", "--db", str(db), "--workload", str(wl)]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    rec["run_s"] = round(time.perf_counter() - t, 2)
    rec["run_rc"] = run.returncode
    after = fingerprint(db)
    rec["sha256_before"], rec["sha256_after"] = before, after
    rec["unchanged"] = before == after
    if run.returncode != 0:
        rec["run_stderr"] = run.stderr[-4000:]
    sj = out / "summary.json"
    if sj.exists():
        s = json.loads(sj.read_text())
        rec["decision"] = (s.get("decision") or {}).get("decision")
        rec["measured"] = [q["name"] for q in s.get("queries", [])]
        rec["not_replayed"] = (s.get("workload") or {}).get("not_replayed")
        rec["not_analysed"] = _not_analysed(s)
        rec["rows"] = _rows(s)
    return rec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("apps", nargs="*", default=list(APPS))
    ap.add_argument("--out", default="/tmp/corpus-run")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    root = Path(a.out)
    recs = []
    for name in a.apps:
        rec = drive(name, root)
        recs.append(rec)
        print(json.dumps(rec, indent=1, default=str), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(recs, indent=1, default=str))
    print("\napp | stmts | q/w shapes | capture rc | run rc | decision | unchanged | s")
    for r in recs:
        print(
            f"{r['app']} | {r.get('statements')} | {r.get('query_shapes')}/{r.get('write_shapes')}"
            f" | {r['capture_rc']} | {r.get('run_rc')} | {r.get('decision')}"
            f" | {r.get('unchanged')} | {r.get('run_s')}"
        )


if __name__ == "__main__":
    main()
