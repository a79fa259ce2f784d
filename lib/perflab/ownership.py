"""What perflab may replace: only folders and files it wrote itself, unchanged since.

A run folder carries a marker (`.perflab-run`) listing every file perflab wrote into it
with its sha256; a generated file (a captured or drafted workload, a comparison page)
carries a signature line with the sha256 of the rest of its text. An existing target is
replaced only when that evidence holds: a folder with a file perflab did not write, or a
file edited after perflab wrote it, belongs to the user and is refused with one line.
The current folder, its ancestors, the home folder and the root are refused outright.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text

__all__ = [
    "RUN_MARKER",
    "check_file_target",
    "check_run_folder",
    "mark_run_folder",
    "publish_run_folder",
    "sign_text",
    "write_owned_text",
]

RUN_MARKER = ".perflab-run"
_MARKER_FORMAT = 1
_SIGNATURE = re.compile(r"^.*perflab:generated sha256=([0-9a-f]{64}).*$\n?", re.MULTILINE)
_ADVICE = "choose another path, or move it away yourself"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _refuse_special(path: Path, what: str) -> None:
    """The root, the home folder, the current folder and its ancestors are never targets."""
    path = path.resolve()
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if path == Path(path.anchor):
        raise PerflabError(f"{path}: {what} is the file-system root; {_ADVICE}")
    if path == home:
        raise PerflabError(f"{path}: {what} is your home folder; {_ADVICE}")
    if path == cwd or path in cwd.parents:
        raise PerflabError(
            f"{path}: {what} is the current folder or contains it; choose a new folder"
        )


def _walk(folder: Path) -> list[Path]:
    """Every file, link and folder below `folder` (links are not followed)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        r = Path(root)
        found.extend(r / d for d in dirs)
        found.extend(r / f for f in files)
    return found


def _foreign(folder: Path) -> str | None:
    """Why `folder` is not perflab's to replace, or None when it is."""
    marker = folder / RUN_MARKER
    if not marker.is_file() or marker.is_symlink():
        return f"was not made by perflab (no {RUN_MARKER} marker in it)"
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
        files: dict[str, str] = dict(doc["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"has an unreadable {RUN_MARKER} marker"
    for p in _walk(folder):
        rel = p.relative_to(folder).as_posix()
        if p == marker:
            continue
        if p.is_symlink():
            return f"holds {rel}, a link perflab did not make"
        if p.is_dir():
            if not any(f.startswith(rel + "/") for f in files):
                return f"holds {rel}/, a folder perflab did not make"
            continue
        want = files.get(rel)
        if want is None:
            return f"holds {rel}, which perflab did not write"
        if _sha256_file(p) != want:
            return f"holds {rel}, changed since perflab wrote it"
    return None


def check_run_folder(out: Path) -> None:
    """Raise unless `out` is free or a run folder perflab made and nobody changed since."""
    out = Path(out)
    _refuse_special(out, "the output folder")
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise PerflabError(f"{out}: exists and is not a folder; {_ADVICE}")
    why = _foreign(out)
    if why is not None:
        raise PerflabError(f"{out}: will not replace this folder: it {why}; {_ADVICE}")


def mark_run_folder(folder: Path, run_id: str) -> Path:
    """Write the marker listing every file now in `folder` with its sha256 (written last)."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): _sha256_file(p)
        for p in sorted(_walk(folder))
        if p.is_file() and not p.is_symlink() and p.name != RUN_MARKER
    }
    doc = {"tool": "perflab", "format": _MARKER_FORMAT, "run_id": run_id, "files": files}
    return atomic_write_text(folder / RUN_MARKER, json.dumps(doc, indent=1, sort_keys=True))


def publish_run_folder(staging: Path, out: Path, run_id: str) -> Path:
    """Mark `staging` and move it to `out`, replacing an earlier run folder only when it is
    perflab's (checked again after it is moved aside, so nothing of the user's is lost)."""
    mark_run_folder(staging, run_id)
    if not out.exists():
        os.replace(staging, out)
        return out
    check_run_folder(out)
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    why = _foreign(old)
    if why is not None:  # changed between the check and the move: put it back untouched
        os.replace(old, out)
        raise PerflabError(f"{out}: will not replace this folder: it {why}; {_ADVICE}")
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sign_text(text: str, prefix: str, suffix: str = "", *, first: bool = True) -> str:
    """Add the signature line (a comment in the file's own syntax) that lets perflab
    recognise, later, a file it wrote and nobody edited."""
    line = f"{prefix}perflab:generated sha256={_digest(text)}; edit freely, perflab will then "
    line += f"not overwrite it{suffix}\n"
    if first:
        return line + text
    return text + ("" if text.endswith("\n") else "\n") + line


def _signed_unchanged(text: str) -> bool:
    m = _SIGNATURE.search(text)
    if m is None:
        return False
    rest = text[: m.start()] + text[m.end() :]
    candidates = {rest, rest[:-1]} if rest.endswith("\n") else {rest}
    return any(_digest(c) == m.group(1) for c in candidates)


def check_file_target(path: Path, what: str) -> None:
    """Raise unless `path` is free or a file perflab wrote and nobody edited since."""
    path = Path(path)
    _refuse_special(path, what)
    if path.is_dir():
        raise PerflabError(f"{path}: {what} is a folder; give a file name")
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file():
        raise PerflabError(f"{path}: {what} exists and is not a plain file; {_ADVICE}")
    try:
        with path.open("rb") as fh:
            raw = fh.read(64 << 20)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    if not _signed_unchanged(text):
        raise PerflabError(
            f"{path}: will not overwrite {what}: perflab did not write it, or it was edited "
            f"since; {_ADVICE}"
        )


def write_owned_text(
    path: Path, text: str, what: str, prefix: str, suffix: str = "", *, first: bool = True
) -> Path:
    """Check `path`, sign `text` and write it atomically."""
    path = Path(path)
    check_file_target(path, what)
    return atomic_write_text(path, sign_text(text, prefix, suffix, first=first))
