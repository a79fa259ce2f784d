"""perflab's own modules import each other downwards only: no cycle, however hidden.

Every ``import``/``from`` statement counts, at module level or inside a function: an
import moved into a function still makes the two modules depend on each other.

The package's folders are its floors (`FLOORS`, lowest first): a module imports from its
own floor or the floors below, never above, so a folder can be read knowing only what is
beneath it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import perflab

PACKAGE = Path(perflab.__file__).resolve().parent


def _module_name(path: Path, package: Path) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _resolve(importer: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (any statement, any depth)."""
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node)
                for a in node.names:  # `from perflab.run import runner` imports perflab.run.runner
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else base)
            for t in targets:
                while t and t not in files:  # `import perflab.x.y` -> the nearest module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a
    closed path through the component, e.g. ['a', 'b', 'a']."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_path(graph, comp) for comp in comps]


def _cycle_path(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """One cycle inside a component, found breadth-first from its first module."""
    start = min(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)  # unreachable for a strongly connected component


#: perflab's floors, lowest first. "base" is the flat modules at the top of the package
#: (`BASE`), "api" the package's own __init__ (the public API, importing lazily from any
#: floor below it), "cli" the command line, a thin skin over the API (issue 22); every
#: other floor is a folder of the same name.
FLOORS = [
    "base",
    "sqlite",
    "database",
    "inputs",
    "measure",
    "analysis",
    "judge",
    "stages",
    "present",
    "run",
    "lab",
    "api",
    "cli",
]
BASE = {"errors", "fsio", "yamlio", "paths", "results", "ownership", "humanize"}


def floor_of(module: str, base: set[str] = BASE) -> str | None:
    """The floor a module lives on; None for a module on no floor (a new flat module)."""
    parts = module.split(".")[1:]
    if not parts:
        return "api"
    if len(parts) == 1 and parts[0] in base:
        return "base"
    if parts[0] == "cli" and len(parts) == 1:
        return "cli"
    if parts[0] in FLOORS and parts[0] not in ("base", "cli", "api"):
        return parts[0]
    return None


def upward_imports(graph: dict[str, set[str]], floor_of=floor_of) -> list[str]:
    """Every import that points up a floor, or touches a module on no floor."""
    bad = []
    for mod in sorted(graph):
        here = floor_of(mod)
        if here is None:
            bad.append(f"{mod}: on no floor (move it into a floor folder, or add it to BASE)")
            continue
        for dep in sorted(graph[mod]):
            there = floor_of(dep)
            if there is not None and FLOORS.index(there) > FLOORS.index(here):
                bad.append(f"{mod} ({here}) imports {dep} ({there}), a higher floor")
    return bad


def test_no_import_cycles() -> None:
    graph = import_graph()
    # the walk sees the package
    assert "perflab.database.source" in graph and "perflab.inputs.userdb" in graph
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    """The detector itself: a cycle hidden in a function-level import is reported."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("import os\n")
    (pkg / "a.py").write_text("from pkg import low\nfrom pkg.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text("def g():\n    import pkg.a\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.low", "pkg.b"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_imports_point_down_the_floors() -> None:
    graph = import_graph()
    floors = {floor_of(m) for m in graph}
    assert floors == set(FLOORS), f"floors seen: {floors}"  # every floor holds a module
    bad = upward_imports(graph)
    assert not bad, "imports pointing up:\n" + "\n".join(bad)


def test_an_upward_import_is_found_and_named(tmp_path: Path) -> None:
    """The checker itself: an import up a floor, even inside a function, is reported, and
    so is a module on no floor; imports down or across one floor are not."""
    pkg = tmp_path / "pkg"
    for d in ("sqlite", "judge"):
        (pkg / d).mkdir(parents=True)
        (pkg / d / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "sqlite" / "plans.py").write_text("from pkg import errors\nfrom pkg.sqlite import x\n")
    (pkg / "sqlite" / "x.py").write_text("def f():\n    from pkg.judge import verdict\n")
    (pkg / "judge" / "verdict.py").write_text("from pkg.sqlite import plans\n")
    (pkg / "stray.py").write_text("")
    graph = import_graph(pkg)
    assert upward_imports(graph, lambda m: floor_of(m, base={"errors"})) == [
        "pkg.sqlite.x (sqlite) imports pkg.judge.verdict (judge), a higher floor",
        "pkg.stray: on no floor (move it into a floor folder, or add it to BASE)",
    ]


def test_a_notebook_kernel_does_not_import_scipy_stats():
    # every stage notebook's kernel imports the stages and the figures; scipy.stats alone
    # took 0.6-0.9 s of each kernel's start, for one binomial CDF (measure.timing uses
    # scipy.special.bdtr: the same ranks)
    import subprocess
    import sys

    code = (
        "import sys, perflab.inputs.context, perflab.stages, perflab.present.views, "
        "perflab.present.perf_figures, perflab.present.index_figures, perflab.present.figures; "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
