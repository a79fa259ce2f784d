"""The deep tier of the property tests (tests/test_properties.py): many random worlds.

    python benchmarks/bench_properties.py [--examples 50]

Runs the same property as the fast tier, with `--examples` random (not derandomized)
examples, and prints Hypothesis's statistics: examples run, passing and failing, and the
falsifying example if one is found (add it to the test as an @example once fixed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=50)
    a = ap.parse_args()
    env = {
        **os.environ,
        "PERFLAB_PROPERTY_EXAMPLES": str(a.examples),
        "PERFLAB_PROPERTY_RANDOM": "1",
    }
    cmd = [sys.executable, "-m", "pytest", "tests/test_properties.py", "-p", "no:xdist"]
    cmd += ["-o", "addopts=-p no:cacheprovider", "-q", "--hypothesis-show-statistics"]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
