"""The manual (README.md, mkdocs.yml, docs/): the build has no warning, the generated
parts match the code, the pages name only modules that exist, the README stays short."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LIB = ROOT / "lib" / "perflab"
#: Pages with cog blocks: the CLI reference (from --help) and the floors (from the tree).
COGGED = ("docs/cli.md", "docs/architecture.md")
FLOORS = "sqlite|database|inputs|measure|analysis|judge|stages|present|run|lab"
#: `run/runner`, `perflab.inputs.context`, `measure.timing.Budget`: a floor, then a module
#: (dotted without `perflab.` only with a third part: `database.notes` is a summary key).
MODULE_REF = re.compile(
    rf"`(?:perflab[./])?({FLOORS})/([a-z_]+)|`perflab\.({FLOORS})\.([a-z_]+)"
    rf"|`({FLOORS})\.([a-z_]+)\.\w"
)
#: The two commands CI and users run, exactly as written.
COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
    " && .venv/bin/perflab run --profile quick",
    ".venv/bin/python -m pytest",
)


@pytest.mark.timeout(120)
def test_mkdocs_builds_with_warnings_as_errors(tmp_path):
    """A broken link, a page left out of the nav or a missing anchor is a warning, and
    --strict makes it an error (not with --quiet: mkdocs then counts no warning)."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"]
        + ["-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert (tmp_path / "site" / "cli" / "index.html").is_file()


@pytest.mark.timeout(120)
def test_generated_pages_match_the_code():
    """`cog --check` fails when a --help text or the tree changed and the page was not
    regenerated: run `.venv/bin/cog -r docs/cli.md docs/architecture.md`."""
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", *COGGED],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def module_refs(text: str) -> set[tuple[str, str]]:
    """Each (floor, module) a page names in backticks."""
    found = set()
    for groups in MODULE_REF.findall(text):
        parts = [g for g in groups if g]
        found.add((parts[0], parts[1]))
    return found


def test_module_refs_parse_what_the_pages_write():
    text = (
        "`run/runner.py`, `measure.timing.Budget`, `perflab.inputs.context`, `run/`,"
        " `database.notes`"
    )
    assert module_refs(text) == {("run", "runner"), ("measure", "timing"), ("inputs", "context")}


def test_pages_name_only_modules_that_exist():
    missing = {
        (page.name, f"{floor}/{name}")
        for page in [ROOT / "README.md", *DOCS.glob("*.md")]
        for floor, name in module_refs(page.read_text(encoding="utf-8"))
        if not (LIB / floor / f"{name}.py").is_file() and not (LIB / floor / name).is_dir()
    }
    assert not missing


def test_readme_is_short_and_keeps_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for command in COMMANDS:
        assert f"```sh\n{command}\n```" in text
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), link
