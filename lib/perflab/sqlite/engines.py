"""Which SQLite library a process runs, and the pragmas its connections get.

The standard library's `sqlite3` module links the system's libsqlite3 (3.40.1 here). APSW
ships a second, newer SQLite build as a shared library beside its extensions
(``apsw/sqlite_extra_binaries/libsqlite3_tool.so``, 3.54.1 with APSW 3.54.1). A process
started with that library first on ``LD_LIBRARY_PATH`` (under the name
``libsqlite3.so.0``) runs every stdlib connection on it: the build, the plans, the
timings and the counters of a run all come from the one engine, and the run's summary
records its version and compile options as it does for the system's.

The library is picked when a process starts (the dynamic loader reads the path then), so
an engine is a property of a process, never switched inside one: `environment` gives the
variables a run's process is started with (`perflab sweep` starts each cell's run so),
`check` tells a process that it is not running the engine it was asked for.

That build lacks SQLITE_ENABLE_STMTVTAB, which the work counters read; APSW ships the
same `sqlite_stmt` table as a loadable extension (``stmt.so``), registered here with
``sqlite3_auto_extension`` for every connection the process opens (`activate`, called when
`perflab.sqlite.engine` is imported). It lacks ``dbstat`` too: index sizes are then
reported unavailable, as on any SQLite without it.

Pragmas: ``PERFLAB_PRAGMAS`` (a JSON object) overrides entries of the application's
pragmas (`perflab.sqlite.engine.APP_PRAGMAS`) for the whole process, so every connection
of the run, and the database it builds, uses them (`pragma_overrides`).
"""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from perflab.errors import PerflabError

__all__ = [
    "ENGINES",
    "ENGINE_ENV",
    "PRAGMAS_ENV",
    "activate",
    "apsw_library",
    "check",
    "engine_version",
    "environment",
    "pragma_overrides",
]

#: The engines a process can run: the stdlib's system SQLite, APSW's shipped build.
ENGINES = ("sqlite3", "apsw")
ENGINE_ENV = "PERFLAB_ENGINE"
PRAGMAS_ENV = "PERFLAB_PRAGMAS"
_SONAME = "libsqlite3.so.0"


def _apsw_binaries() -> Path | None:
    try:
        import apsw
    except ImportError:
        return None
    folder = Path(apsw.__file__).parent / "sqlite_extra_binaries"
    return folder if folder.is_dir() else None


def apsw_library() -> Path | None:
    """APSW's SQLite as a shared library (None: this APSW build ships none)."""
    folder = _apsw_binaries()
    lib = folder / "libsqlite3_tool.so" if folder else None
    return lib if lib and lib.is_file() else None


def engine_version(name: str) -> str:
    """The SQLite version engine ``name`` runs; PerflabError naming the engine when it
    cannot run here."""
    if name == "sqlite3":
        return _system_version()
    if name == "apsw":
        if apsw_library() is None:
            raise PerflabError("engine apsw: APSW or its shipped libsqlite3 is not installed")
        import apsw

        return apsw.sqlite_lib_version()
    raise PerflabError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def _system_version() -> str:
    """The system library's version, also when this process runs APSW's."""
    if os.environ.get(ENGINE_ENV) != "apsw":
        return sqlite3.sqlite_version
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in (ENGINE_ENV, "LD_LIBRARY_PATH")}
    out = subprocess.run(
        [sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _library_folder(lib: Path, cache: Path) -> Path:
    """A folder holding ``libsqlite3.so.0`` -> ``lib`` (made once, in perflab's cache)."""
    folder = cache / "engines" / f"apsw-{lib.stat().st_size}-{lib.stat().st_mtime_ns}"
    link = folder / _SONAME
    if not link.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_SONAME}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(lib)
        os.replace(tmp, link)
    return folder


def environment(
    name: str, pragmas: Mapping[str, object] | None, cache: Path, base: Mapping[str, str]
) -> dict[str, str]:
    """``base`` with what a process needs to run engine ``name`` with ``pragmas`` (entries
    over the application's; None: none). ``cache`` holds the library link."""
    engine_version(name)  # the engine exists here, or one line says why not
    env = {k: v for k, v in base.items() if k not in (ENGINE_ENV, PRAGMAS_ENV)}
    if name == "apsw":
        lib = apsw_library()
        assert lib is not None  # engine_version checked it
        folder = str(_library_folder(lib, cache))
        rest = base.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = folder + (os.pathsep + rest if rest else "")
        env[ENGINE_ENV] = "apsw"
    if pragmas:
        env[PRAGMAS_ENV] = json.dumps(dict(pragmas), sort_keys=True)
    return env


def pragma_overrides() -> dict[str, object]:
    """The process's pragma overrides (``PERFLAB_PRAGMAS``); a bad value is one line."""
    raw = os.environ.get(PRAGMAS_ENV)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise PerflabError(f"{PRAGMAS_ENV}: not a JSON object: {raw!r}") from None
    if not isinstance(value, dict):
        raise PerflabError(f"{PRAGMAS_ENV}: not a JSON object: {raw!r}")
    return value


def check(name: str) -> str:
    """The version this process runs, when it is engine ``name``'s; else PerflabError."""
    want = engine_version(name)
    running = sqlite3.sqlite_version
    if running != want or (name == "apsw") != (os.environ.get(ENGINE_ENV) == "apsw"):
        raise PerflabError(
            f"engine {name}: this process runs SQLite {running}, not {name}'s {want}; "
            "an engine is chosen when a process starts (perflab sweep starts each run so)"
        )
    return running


_ACTIVE: list[bool] = []


def activate() -> None:
    """In a process started for APSW's engine: the `sqlite_stmt` table registered for every
    connection opened from now on (the counters read it). Once per process; a no-op
    elsewhere, and when the library running is not APSW's (then `check` says so)."""
    if _ACTIVE or os.environ.get(ENGINE_ENV) != "apsw":
        return
    _ACTIVE.append(True)
    folder = _apsw_binaries()
    ext = folder / "stmt.so" if folder else None
    if ext is None or not ext.is_file():
        return  # the counters report sqlite_stmt missing, with the version
    lib = ctypes.CDLL(_SONAME)  # already loaded by _sqlite3: the library it runs
    entry = ctypes.cast(ctypes.CDLL(str(ext)).sqlite3_stmt_init, ctypes.c_void_p)
    lib.sqlite3_auto_extension(entry)
