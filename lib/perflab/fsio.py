"""Small file-system helpers shared by every module that writes files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from perflab.errors import PerflabError

__all__ = ["UMASK", "atomic_write_text", "parse_file", "parse_once", "read_text", "share_mode"]

T = TypeVar("T")

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


# ----------------------------------------------------------------------------- parsed inputs
# A run's inputs (dataset spec, its DDL, workload, targets) are asked for by the runner, by
# every notebook's `prepare` and by stages that need the spec again. Each is parsed once per
# process: results are kept by what was parsed (the text's SHA-256) and how (the parser and
# its arguments), so an edited file is parsed again and an unchanged one never is. Only
# immutable results (frozen dataclasses) are kept; errors are raised every time, never kept.

_PARSED: OrderedDict[tuple, object] = OrderedDict()
_PARSED_MAX = 64


def parse_once(text: str, parse: Callable[[], T], *key: Hashable) -> T:
    """``parse()``'s result for this ``text`` and ``key`` (say what parses it, and anything
    else the result depends on), computed the first time only."""
    k = (hashlib.sha256(text.encode("utf-8")).hexdigest(), *key)
    try:
        _PARSED.move_to_end(k)
        return _PARSED[k]  # type: ignore[return-value]
    except KeyError:
        pass
    value = parse()
    _PARSED[k] = value
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return value


def parse_file(path: str | Path, what: str, parse: Callable[..., T], *args: Hashable) -> T:
    """Read a user's file (`read_text`) and ``parse(path, text, *args)`` it, once per path,
    content and ``args``."""
    path = Path(path)
    text = read_text(path, what)
    name = f"{parse.__module__}.{parse.__qualname__}"
    return parse_once(text, lambda: parse(path, text, *args), name, str(path.resolve()), *args)
