"""The recorder module installs only as ``sitecustomize``: perflab importing it by its
package name (or reading it as text) must leave sqlite3 in the perflab process alone."""

import subprocess
import sys


def test_importing_the_hook_by_name_patches_nothing(tmp_path):
    code = (
        "import sqlite3; original = sqlite3.connect\n"
        "import perflab.inputs.capture_hook, perflab.inputs.capture\n"
        "print(sqlite3.connect is original)\n"
    )
    env = {"PERFLAB_CAPTURE_DIR": str(tmp_path), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"
    assert not list(tmp_path.iterdir())  # and it wrote no events
