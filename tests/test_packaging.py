"""perflab installs from a wheel and runs outside the checkout.

The wheel is built from a copy of the sources (nothing is written into the checkout),
installed into a fresh venv with no network (``--no-deps --no-index``), and
`perflab run --profile tiny` runs from an unrelated folder: the run folder lands in
``./perflab-runs/`` there, the cache in ``$XDG_CACHE_HOME/perflab``, as the README says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of pyproject.toml, README.md, lib/, notebooks/ and data/
    (setuptools writes build/ beside the sources). Without build isolation when the
    venv's setuptools can make wheels (offline); else with it, from the configured
    package index."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for folder in ("lib", "notebooks", "data"):  # the card's layout: top-level notebooks/, data/
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    dist = tmp / "dist"
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)]
    for cmd in (base[:5] + ["--no-build-isolation"] + base[5:], base):
        if subprocess.run(cmd, capture_output=True, text=True, cwd=tmp).returncode == 0:
            break
    wheels = list(dist.glob("perflab-*.whl"))
    assert len(wheels) == 1, f"no wheel built in {dist}"
    return wheels[0]


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A venv holding only the wheel; its dependencies come from this test's environment
    through a .pth line (a plain path: the editable checkout's own .pth is not read)."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env=_env(tmp),
    )
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PERFLAB_CACHE_DIR")}
    (tmp / "home").mkdir(exist_ok=True)
    env.update(
        HOME=str(tmp / "home"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        # Where pip would have put nbconvert's templates and the kernelspec in a real
        # install (the venv's share/jupyter); here they are the test environment's.
        JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
    )
    return env


@pytest.mark.timeout(400)
def test_wheel_runs_tiny_profile_outside_the_checkout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):  # the card's top-level folders,
        assert f"perflab/notebooks/{nb.name}" in names  # shipped inside the package
    for f in sorted((ROOT / "data").rglob("*.*")):
        assert f"perflab/data/{f.relative_to(ROOT / 'data').as_posix()}" in names
    assert "perflab/inputs/capture_hook.py" in names and "perflab/py.typed" in names
    venv = _fresh_venv(tmp_path, wheel)
    env = _env(tmp_path)
    where = tmp_path / "elsewhere"
    where.mkdir()

    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import perflab, perflab.paths as p; print(perflab.__file__); print(p.CHECKOUT)",
        ],
        capture_output=True,
        text=True,
        cwd=where,
        env=env,
        check=True,
    ).stdout.split("\n")
    assert Path(probe[0]).is_relative_to(venv), probe  # the wheel, not the checkout
    assert probe[1] == "None"

    proc = subprocess.run(
        [str(venv / "bin" / "perflab"), "run", "--profile", "tiny"],
        capture_output=True,
        text=True,
        cwd=where,
        env=env,
        timeout=360,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    index = Path(proc.stdout.strip().splitlines()[-1])
    runs = list((where / "perflab-runs").iterdir())
    assert len(runs) == 1 and index == runs[0] / "index.html" and index.is_file()
    assert runs[0].name.endswith("-tiny")
    summary = json.loads((runs[0] / "summary.json").read_text())
    schema_path = Path(probe[0]).parent / "data" / "summary.schema.json"
    jsonschema.validate(summary, json.loads(schema_path.read_text()))
    assert summary["queries"] and {nb["status"] for nb in summary["notebooks"]} == {"ok"}
    assert Path(summary["database"]["path"]).is_relative_to(tmp_path / "xdg-cache" / "perflab")
    assert sorted(p.name for p in where.iterdir()) == ["perflab-runs"]  # nothing else written
