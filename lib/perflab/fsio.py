"""Small file-system helpers shared by every module that writes files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from perflab.errors import PerflabError

__all__ = ["atomic_write_text"]


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and os.replace.

    Readers see either the old file or the complete new one, never a half-written file.
    Missing parent folders are created; a folder that cannot be created or written to is
    one clear PerflabError naming the file. Returns ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PerflabError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
