"""The command's contract for bad input: one line, exit 2, no traceback, nothing written."""

import subprocess
import sys


def perflab(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "perflab.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [ln for ln in lines if "error" in ln.lower()]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr  # one line, and last
    assert lines[-1].startswith("perflab: error: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[-1]


def test_unknown_profile(tmp_path):
    proc = perflab("run", "--profile", "huge", "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "unknown profile 'huge'", "tiny")
    assert not (tmp_path / "r").exists()


def test_missing_input_file(tmp_path):
    proc = perflab(
        "run",
        "--profile",
        "tiny",
        "--workload",
        str(tmp_path / "nope.yaml"),
        "--out",
        str(tmp_path / "r"),
    )
    assert_one_line_error(proc, "nope.yaml", "not found")
    assert not (tmp_path / "r").exists()


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = perflab("run", "--profile", "tiny", "--out", str(blocker / "r"))
    assert_one_line_error(proc, "not writable")
    assert blocker.read_text() == "not a folder"


def test_unknown_option_is_one_line():
    proc = perflab("run", "--colour", "red")
    assert_one_line_error(proc, "--colour")


def test_bad_workload_yaml_names_file_and_line(tmp_path):
    wl = tmp_path / "w.yaml"
    wl.write_text("queries:\n  - name: a\n    sql: [oops\n")
    proc = perflab("run", "--profile", "tiny", "--workload", str(wl), "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "w.yaml:")


def test_sql_error_names_the_query(tmp_path):
    wl = tmp_path / "w.yaml"
    wl.write_text("queries:\n  - name: broken\n    sql: SELECT * FROM no_such_table\n")
    tg = tmp_path / "t.yaml"
    tg.write_text("targets: []\n")
    proc = perflab(
        "run",
        "--profile",
        "tiny",
        "--workload",
        str(wl),
        "--targets",
        str(tg),
        "--out",
        str(tmp_path / "r"),
    )
    assert_one_line_error(proc, "'broken'", "no such table")
    assert not (tmp_path / "r").exists()
