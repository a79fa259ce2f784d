"""Capture's overhead on a statement-heavy application, measured in one session.

Runs a task-queue-like script (enqueue, dequeue, store result: ~27,000 statements,
synchronous=OFF so disk flushes do not drown the signal) bare and under `perflab capture`,
alternating, and prints the median wall times, their ratio (goal <= 1.3) and the capture
file's size. Figures are printed, never asserted.

    python benchmarks/bench_capture.py [--repeats 3] [--tasks 9000]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=9000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app = tmp / "app.py"
        app.write_text(APP)
        bare, cap, size = [], [], 0
        for r in range(a.repeats):
            for mode in ("bare", "capture"):
                db = tmp / f"{mode}{r}.db"
                out = tmp / f"cap{r}.yaml"
                cmd = [sys.executable, str(app), str(db), str(a.tasks)]
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
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                (bare if mode == "bare" else cap).append(time.perf_counter() - t0)
                if mode == "capture":
                    size = out.stat().st_size
        b, c = statistics.median(bare), statistics.median(cap)
        print(f"statements: ~{3 * a.tasks:,} (plus implicit transactions)")
        print(f"bare:    median {b:.2f} s  {[round(x, 2) for x in bare]}")
        print(
            f"capture: median {c:.2f} s  {[round(x, 2) for x in cap]}  (perflab capture "
            "end to end: the application, then grouping and writing the workload)"
        )
        print(f"ratio capture/bare: {c / b:.2f}x (goal <= 1.3x)")
        print(f"workload file: {size:,} bytes")


if __name__ == "__main__":
    main()
