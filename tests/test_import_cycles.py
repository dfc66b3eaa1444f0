"""No import circles inside ``relay_lite``: the layers import downward only.

The rule, checked on the source (``ast``), not by importing:

- Every ``import`` / ``from ... import`` of a ``relay_lite`` module counts, relative or
  absolute, at module level **and inside functions**: a lazy import still makes a runtime
  dependency (it only moves the moment the circle would bite), so it may not close a
  circle either. ``from .pkg import name`` counts as an import of ``pkg.name`` when that
  is a module, else of ``pkg``.
- Imports under ``if TYPE_CHECKING:`` do not count: they never run, and a typed API needs
  names from both ends of a link (``ChatRequest.client`` is a ``Client``).
- Importing ``relay_lite.a.b`` runs the package ``relay_lite.a``'s ``__init__`` too; that
  implicit edge does not count (it would tie every module to the top-level package), only
  explicit imports do.

Besides the graph, each module must import on its own in a fresh interpreter, which
catches a circle that the rules above let through at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

PACKAGE = "relay_lite"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> Optional[str]:
    """The absolute module name ``node`` imports from (None: outside relay_lite)."""
    if node.level == 0:
        return node.module
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _runtime_imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The relay_lite modules ``tree`` imports when it runs (TYPE_CHECKING blocks skipped)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            if target is not None:
                for alias in node.names:
                    # "from .protocols import openai" imports the module protocols.openai.
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


def import_graph() -> dict[str, set[str]]:
    """Each relay_lite module -> the relay_lite modules it imports at run time."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[module] = _runtime_imports(tree, module, path.name == "__init__.py")
    return graph


def find_cycle(graph: dict[str, set[str]]) -> Optional[list[str]]:
    """One import circle as a path ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path.pop())
                on_path = set(path)
                continue
            if nxt in on_path:
                return path[path.index(nxt) :] + [nxt]
            if nxt in done:
                continue
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_sees_relative_absolute_and_function_level_imports() -> None:
    source = (
        "from . import _models\n"
        "from ._errors import RelayError\n"
        "import relay_lite._sse\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ._client import Client\n"
        "def later():\n"
        "    from .protocols import openai\n"
    )
    found = _runtime_imports(ast.parse(source), "relay_lite._chat", False)
    assert found == {
        "relay_lite._models",
        "relay_lite._errors",
        "relay_lite._sse",
        "relay_lite.protocols.openai",
    }


def test_find_cycle_names_the_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_relay_lite_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


# __main__ runs the command line when imported; its imports are in the graph above.
@pytest.mark.parametrize("module", sorted(set(MODULES) - {f"{PACKAGE}.__main__"}))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=str(ROOT.parent),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
