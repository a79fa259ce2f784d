"""Benchmark: what ``import perflab`` costs, against a bare interpreter and the library.

    python benchmarks/bench_import.py [--reps 7]

Each figure is the median wall time of fresh interpreters (``python -c ...``), run
interleaved: a bare start (``pass``), ``import perflab`` (the public API, whose functions
import their modules on first call), and ``import perflab.inputs.context`` (what the first call
of `perflab.open_database` loads: pandas, numpy, the schema and dataset layers). Prints
milliseconds and each one's excess over the bare start.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "bare interpreter": "pass",
    "import perflab": "import perflab",
    "import perflab.inputs.context": "import perflab.inputs.context",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(args.reps):
        for name, code in CASES.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    base = med["bare interpreter"]
    for name, ms in med.items():
        print(f"{name:24s} {ms:7.1f} ms  (+{ms - base:6.1f} ms over a bare start)")


if __name__ == "__main__":
    main()
