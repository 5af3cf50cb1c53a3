"""The layers of ``wsol`` import downwards only, and no two modules import each other in a cycle.

Every ``import wsol.X`` and ``from wsol.X import`` in every module, at any depth (function-level
imports included), is read from the source with :mod:`ast`. A module in package ``P`` may
import from its own package or from packages strictly lower in :data:`LAYERS`; the module
graph inside the package has no cycle. docs/architecture.md draws the same order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wsol"

# Lowest first. A module may import its own package and anything listed before it.
LAYERS = (
    "errors",
    "keys",
    "run_files",
    "registry",
    "utils",
    "config",
    "data",
    "metrics",
    "visualize",
    "models",
    "explainers",
    "methods",
    "checkpoints",
    "report",
    "evaluation",
    "engine",
    "cli",
    "__init__",
)
RANK = {name: i for i, name in enumerate(LAYERS)}


def unit(module: str) -> str:
    """The layer a dotted module ``wsol.a.b`` belongs to (``a``; ``__init__`` for ``wsol`` itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def wsol_imports(path: Path) -> set[str]:
    """Dotted ``wsol.*`` modules ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "wsol"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _top(node.module) == "wsol":
            # a name may be a submodule: from wsol import keys
            found |= {_submodule_or_package(node.module, a.name) for a in node.names}
    return found


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def _submodule_or_package(package: str, name: str) -> str:
    candidate = PACKAGE.parent.joinpath(*f"{package}.{name}".split("."))
    return f"{package}.{name}" if candidate.with_suffix(".py").is_file() or candidate.is_dir() else package


MODULES = {module_name(p): wsol_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_layer_is_ranked():
    units = {unit(m) for m in MODULES}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to LAYERS and docs/architecture.md"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_downwards(module):
    own = unit(module)
    upward = sorted(i for i in MODULES[module] if RANK.get(unit(i), -1) > RANK[own])
    assert not upward, f"{module} ({own}) imports higher layers: {upward}"


def test_no_import_cycles():
    def resolve(name: str) -> str | None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: {r for i in deps if (r := resolve(i)) and r != m} for m, deps in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from wsol.engine import train\n")
    assert wsol_imports(tmp_path / "m.py") == {"wsol.engine"}
    assert RANK[unit("wsol.engine")] > RANK[unit("wsol.evaluation.loop")]
