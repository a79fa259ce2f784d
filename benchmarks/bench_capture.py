"""Capture's overhead on a statement-heavy application, measured in one session.

Runs a task-queue-like script (enqueue, dequeue, store result: 27,000 statements, WAL
with synchronous=OFF so disk flushes do not drown the signal) three ways, interleaved:
bare, with the in-process recorder alone, and under `perflab capture` end to end. Prints
median wall and CPU times (CPU is steadier on a shared machine), the ratios (goal:
capture/bare <= 1.3x), the recorder's cost per statement, perflab's fixed cost around the
application, and the workload file's size. Figures are printed, never asserted.

    python benchmarks/bench_capture.py [--repeats 3] [--tasks 9000]
    python benchmarks/bench_capture.py --app litequeue [--tasks 3000]   # a real application

`--app NAME` runs benchmarks/apps/NAME_app.py (installed from the registry, driven as its
README shows) instead of the built-in script; `--tasks` is then its size argument.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = r"""
import sqlite3, sys
n = int(sys.argv[2])
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = OFF")
conn.execute("CREATE TABLE IF NOT EXISTS task(id INTEGER PRIMARY KEY, queue TEXT, data BLOB, "
             "priority REAL)")
conn.execute("CREATE TABLE IF NOT EXISTS kv(queue TEXT, key TEXT, value BLOB, "
             "PRIMARY KEY(queue, key))")
for i in range(n):
    with conn:
        conn.execute("INSERT INTO task(queue, data, priority) VALUES (?, ?, ?)",
                     ("q", b"\x80\x05task" + i.to_bytes(4, "little"), 0.0))
for i in range(n):
    row = conn.execute("SELECT id, data FROM task WHERE queue = ? ORDER BY priority DESC, id "
                       "LIMIT ?", ("q", 1)).fetchone()
    with conn:
        conn.execute("DELETE FROM task WHERE id = ?", (row[0],))
    with conn:
        conn.execute("INSERT OR REPLACE INTO kv(queue, key, value) VALUES (?, ?, ?)",
                     ("q", f"r{i}", row[1]))
"""


def statements(workload: Path) -> int:
    """How many calls the capture recorded, from its own workload file."""
    import yaml

    doc = yaml.safe_load(workload.read_text())
    return int((doc.get("captured") or {}).get("statements") or 0)


def main() -> None:
    from perflab.inputs.capture import ENV_VAR, SITECUSTOMIZE

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=9000)
    ap.add_argument("--app", help="a real application under benchmarks/apps (e.g. litequeue)")
    a = ap.parse_args()
    real = Path(__file__).parent / "apps" / f"{a.app}_app.py" if a.app else None
    if real is not None and not real.is_file():
        ap.error(f"--app {a.app}: no {real}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app = tmp / "app.py"
        app.write_text(APP if real is None else real.read_text())
        hook = tmp / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
        times: dict[str, list[float]] = {"bare": [], "recorder": [], "capture": []}
        cpu: dict[str, list[float]] = {m: [] for m in times}
        size = 0
        for r in range(a.repeats):
            for mode in times:  # interleaved, so drift hits every mode alike
                db = tmp / f"{mode}{r}.db"
                out = tmp / f"cap{r}.yaml"
                cmd = [sys.executable, str(app), str(db), str(a.tasks)]
                env = dict(os.environ)
                if mode == "recorder":  # the in-process recorder alone, no perflab around it
                    events = tmp / f"events{r}"
                    events.mkdir()
                    env["PYTHONPATH"] = os.pathsep.join(
                        [str(hook)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
                    )
                    env[ENV_VAR] = str(events)
                if mode == "capture":
                    cmd = [
                        sys.executable,
                        "-m",
                        "perflab.cli",
                        "capture",
                        "--out",
                        str(out),
                        "--",
                        *cmd,
                    ]
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env)
                times[mode].append(time.perf_counter() - t0)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[mode].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
                if mode == "capture":
                    size = out.stat().st_size
        n = statements(tmp / f"cap{a.repeats - 1}.yaml") if real else 3 * a.tasks
        what = a.app if real else "built-in queue script"
        print(f"{what}: {n:,} statements, {a.repeats} interleaved repeats")
        for label, data in (("wall", times), ("cpu (user+sys of the processes)", cpu)):
            med = {m: statistics.median(v) for m, v in data.items()}
            print(f"-- {label}")
            for m, v in data.items():
                print(f"{m:9s} median {med[m]:6.2f} s  {[round(x, 2) for x in v]}")
            print(f"ratio capture/bare:  {med['capture'] / med['bare']:.2f}x (goal <= 1.3x)")
            print(
                f"ratio recorder/bare: {med['recorder'] / med['bare']:.2f}x "
                f"({(med['recorder'] - med['bare']) / n * 1e6:+.1f} us per statement)"
            )
            print(
                f"perflab around the application (start-up, grouping, YAML): "
                f"{med['capture'] - med['recorder']:.2f} s"
            )
        print(f"workload file: {size:,} bytes")


if __name__ == "__main__":
    main()
