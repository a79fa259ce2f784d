"""The ```python blocks of the README and the docs/ pages, section by section: tests run
them exactly as written, so an example a reader copies is one the suite executed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
HEADING = re.compile(r"(#{1,6}) (.*)")


def pages() -> list[Path]:
    """Where examples live: the README, then every docs/ page."""
    return [README, *sorted(DOCS.glob("*.md"))]


def section_lines(text: str, heading: str) -> list[str] | None:
    """The lines under the heading titled ``heading`` (any level), up to the next heading
    of the same or a higher level; headings inside code fences (a ``# comment``) don't
    count. None when the page has no such heading."""
    found: list[str] | None = None
    level, fence = 0, False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fence = not fence
        match = None if fence or line.startswith("```") else HEADING.fullmatch(line.rstrip("\n"))
        if match and found is not None and len(match.group(1)) <= level:
            return found
        if found is not None:
            found.append(line)
        elif match and match.group(2) == heading:
            found, level = [], len(match.group(1))
    return found


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the section titled ``heading`` in the README or a docs/
    page (the first that has it), in order."""
    for page in pages():
        lines = section_lines(page.read_text(encoding="utf-8"), heading)
        if lines is not None:
            return re.findall(r"^```python\n(.*?)^```", "".join(lines), re.S | re.M)
    raise AssertionError(f"neither README.md nor docs/ has a '{heading}' section")
