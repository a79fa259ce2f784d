"""perflab replaces only what it made: run folders with its marker, files with its signature,
both unchanged since. Everything else is refused with one line and exit 2, untouched."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from perflab import ownership
from perflab.cli import main
from perflab.errors import PerflabError
from perflab.ownership import (
    RUN_MARKER,
    check_file_target,
    check_run_folder,
    mark_run_folder,
    publish_run_folder,
    sign_text,
)

DDL = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);"
ROWS = "INSERT INTO t(v) VALUES ('a'), ('b'), ('c');"


def _tree(folder: Path) -> dict[str, str]:
    """Every file below `folder` with its sha256: what 'untouched' means."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_line_refusal(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("perflab: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[-1], lines[-1]
    return lines[-1]


def _staging(tmp_path: Path, name: str = "staging", text: str = "new report") -> Path:
    s = tmp_path / name
    (s / "notebooks").mkdir(parents=True)
    (s / "index.html").write_text(text)
    (s / "notebooks" / "01.ipynb").write_text("{}")
    return s


# --- `perflab run --out` ---------------------------------------------------------------


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    (folder / "sub").mkdir()
    (folder / "sub" / "data.csv").write_text("1,2,3")
    return folder


def test_run_refuses_a_folder_perflab_did_not_make(user_folder, capsys):
    before = _tree(user_folder)
    rc = main(["run", "--profile", "tiny", "--out", str(user_folder)])
    assert rc == 2
    _one_line_refusal(capsys, str(user_folder), "was not made by perflab")
    assert _tree(user_folder) == before
    assert sorted(p.name for p in user_folder.parent.iterdir()) == ["mine"]  # no staging left


def test_run_refuses_the_current_folder(user_folder, monkeypatch, capsys):
    monkeypatch.chdir(user_folder)
    before = _tree(user_folder)
    assert main(["run", "--profile", "tiny", "--out", "."]) == 2
    _one_line_refusal(capsys, "current folder")
    assert _tree(user_folder) == before


def test_run_refuses_a_parent_of_the_current_folder(user_folder, monkeypatch, capsys):
    monkeypatch.chdir(user_folder / "sub")
    before = _tree(user_folder)
    assert main(["run", "--profile", "tiny", "--out", ".."]) == 2
    _one_line_refusal(capsys, "current folder or contains it")
    assert _tree(user_folder) == before


def test_run_refuses_the_home_folder(user_folder, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(user_folder))
    monkeypatch.chdir(user_folder.parent)
    before = _tree(user_folder)
    assert main(["run", "--profile", "tiny", "--out", "~"]) == 2
    _one_line_refusal(capsys, "home folder")
    assert _tree(user_folder) == before


def test_run_refuses_an_existing_file(user_folder, capsys):
    target = user_folder / "thesis.txt"
    assert main(["run", "--profile", "tiny", "--out", str(target)]) == 2
    _one_line_refusal(capsys, "not a folder")
    assert target.read_text() == "years of work"


def test_run_refuses_before_reading_the_database(user_folder, make_db, capsys):
    """The refusal comes first: no snapshot of the user's database is taken for nothing."""
    db = make_db(DDL, name="app.db", rows=ROWS)
    cache = Path(str(user_folder.parent / "cache"))
    assert main(["run", "--profile", "tiny", "--db", str(db), "--out", str(user_folder)]) == 2
    _one_line_refusal(capsys, "was not made by perflab")
    assert not cache.exists()


# --- the run-folder marker --------------------------------------------------------------


def test_marker_lists_every_file_with_its_hash(tmp_path):
    s = _staging(tmp_path)
    mark_run_folder(s, "r1")
    doc = json.loads((s / RUN_MARKER).read_text())
    assert doc["run_id"] == "r1" and doc["tool"] == "perflab"
    tree = _tree(s)
    del tree[RUN_MARKER]
    assert doc["files"] == tree
    assert set(doc["files"]) == {"index.html", "notebooks/01.ipynb"}


def test_publish_replaces_perflabs_own_unchanged_folder(tmp_path):
    out = tmp_path / "report"
    publish_run_folder(_staging(tmp_path, "s1", "first"), out, "report")
    publish_run_folder(_staging(tmp_path, "s2", "second"), out, "report")
    assert (out / "index.html").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing left beside


@pytest.mark.parametrize(
    "tamper, why",
    [
        (lambda out: (out / "notes.txt").write_text("mine"), "notes.txt, which perflab did not"),
        (lambda out: (out / "index.html").write_text("annotated"), "index.html, changed since"),
        (lambda out: (out / "extra").mkdir(), "extra/, a folder perflab did not make"),
        (lambda out: (out / "ln").symlink_to("/etc/hostname"), "ln, a link"),
        (lambda out: (out / RUN_MARKER).write_text("{"), "unreadable"),
        (lambda out: (out / RUN_MARKER).unlink(), "was not made by perflab"),
    ],
)
def test_publish_refuses_a_run_folder_the_user_changed(tmp_path, tamper, why):
    out = tmp_path / "report"
    publish_run_folder(_staging(tmp_path, "s1", "first"), out, "report")
    tamper(out)
    before = _tree(out)
    with pytest.raises(PerflabError, match=why):
        check_run_folder(out)
    with pytest.raises(PerflabError, match=why):
        publish_run_folder(_staging(tmp_path, "s2"), out, "report")
    assert _tree(out) == before


def test_publish_puts_back_a_folder_changed_after_the_check(tmp_path, monkeypatch):
    """A file added between the check and the move is caught after the move, and the
    folder is put back as it was."""
    out = tmp_path / "report"
    publish_run_folder(_staging(tmp_path, "s1", "first"), out, "report")
    (out / "late.txt").write_text("arrived late")
    before = _tree(out)
    monkeypatch.setattr(ownership, "check_run_folder", lambda _out: None)
    with pytest.raises(PerflabError, match="late.txt"):
        publish_run_folder(_staging(tmp_path, "s2"), out, "report")
    assert _tree(out) == before


# --- generated files: capture, workload init, compare --html --------------------------


def test_signed_text_is_recognised_until_edited(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(sign_text("name: app\nqueries: []\n", "# "))
    check_file_target(p, "the workload file")  # perflab's, unchanged: may be replaced
    p.write_text(p.read_text().replace("app", "mine"))
    with pytest.raises(PerflabError, match="edited"):
        check_file_target(p, "the workload file")
    html = tmp_path / "c.html"
    html.write_text(sign_text("<html></html>\n", "<!-- ", " -->", first=False))
    check_file_target(html, "the page")
    html.write_text("<html>user's own</html>\n")
    with pytest.raises(PerflabError, match="did not write it"):
        check_file_target(html, "the page")


def test_capture_refuses_a_user_file_before_running_the_application(tmp_path, capsys):
    out = tmp_path / "app.yaml"
    out.write_text("name: hand written\n")
    sentinel = tmp_path / "ran"
    rc = main(
        [
            "capture",
            "--out",
            str(out),
            "--",
            sys.executable,
            "-c",
            f"open({str(sentinel)!r}, 'w').close()",
        ]
    )
    assert rc == 2
    _one_line_refusal(capsys, str(out), "perflab did not write it")
    assert out.read_text() == "name: hand written\n"
    assert not sentinel.exists()


def test_capture_overwrites_its_own_file_but_not_an_edited_one(tmp_path, capsys):
    log = tmp_path / "statements.sql"
    log.write_text("SELECT * FROM t WHERE id = 1;\nSELECT * FROM t WHERE id = 2;\n")
    out = tmp_path / "app.yaml"
    assert main(["capture", "--out", str(out), "--from-log", str(log)]) == 0
    assert "perflab:generated" in out.read_text().splitlines()[0]
    assert main(["capture", "--out", str(out), "--from-log", str(log)]) == 0
    out.write_text(out.read_text() + "# my note\n")
    edited = out.read_text()
    capsys.readouterr()
    assert main(["capture", "--out", str(out), "--from-log", str(log)]) == 2
    _one_line_refusal(capsys, "edited")
    assert out.read_text() == edited


def test_capture_refuses_a_folder_as_out(tmp_path, capsys):
    log = tmp_path / "statements.sql"
    log.write_text("SELECT 1;\n")
    assert main(["capture", "--out", str(tmp_path), "--from-log", str(log)]) == 2
    _one_line_refusal(capsys, "is a folder")


def test_workload_init_refuses_a_user_file(make_db, tmp_path, capsys):
    db = make_db(DDL, name="app.db", rows=ROWS)
    out = tmp_path / "draft.yaml"
    assert main(["workload", "init", "--db", str(db), "--out", str(out)]) == 0
    assert main(["workload", "init", "--db", str(db), "--out", str(out)]) == 0  # its own
    out.write_text("# mine\n")
    capsys.readouterr()
    assert main(["workload", "init", "--db", str(db), "--out", str(out)]) == 2
    _one_line_refusal(capsys, "perflab did not write it")
    assert out.read_text() == "# mine\n"


def _summary(tmp_path: Path, name: str) -> Path:
    from perflab.judge import compare

    doc = {
        "run_id": name,
        "queries": [],
        "harness_overhead_ms": {"select_1": 0.001, "empty_loop": 0.0001},
    }
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(doc))
    compare.load_summary(p)  # the fixture is a summary compare accepts
    return p


def test_compare_html_refuses_a_user_file(tmp_path, capsys):
    a, b = _summary(tmp_path, "a"), _summary(tmp_path, "b")
    page = tmp_path / "page.html"
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0  # its own page
    page.write_text("<p>my page</p>")
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 2
    _one_line_refusal(capsys, "comparison page", "perflab did not write it")
    assert page.read_text() == "<p>my page</p>"
