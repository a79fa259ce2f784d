"""Small file-system helpers shared by every module that writes files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from perflab.errors import PerflabError

__all__ = ["UMASK", "atomic_write_text", "read_text", "share_mode"]

# Read once, in the importing (main) thread: os.umask can only be read by setting it.
UMASK = os.umask(0o022)
os.umask(UMASK)


def share_mode(path: str | Path, folder: bool = False) -> None:
    """Give a file (0666) or folder (0777) made by mkstemp/mkdtemp the permissions an
    ordinary write would have under the user's umask (0644/0755 by default), so a shared
    report is readable by whoever may read its folder; mkstemp alone gives 0600/0700."""
    os.chmod(path, (0o777 if folder else 0o666) & ~UMASK)


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
        share_mode(tmp)
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


def read_text(path: str | Path, what: str) -> str:
    """Read a user's UTF-8 text file; missing or unreadable is one PerflabError naming the
    file and what it was meant to be (`what`: "schema file", "dataset spec", ...)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PerflabError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PerflabError(f"{path}: cannot read {what}: {exc}") from None
