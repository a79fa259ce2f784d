"""The README's ```python blocks, section by section: tests run them exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the README section titled ``## <heading>``, in order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, f"README has no '## {heading}' section"
    return re.findall(r"^```python\n(.*?)^```", section.group(1), re.S | re.M)
