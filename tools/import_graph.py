"""The package import graph, read from the code with `ast` (no import runs).

    python -m tools.import_graph            # the package graph as a table of edges
    python -m tools.import_graph --modules  # module-level cycles
    python -m tools.import_graph --mermaid  # the diagram docs/architecture.md embeds
    python -m tools.import_graph --write-docs  # refresh that diagram in docs/architecture.md

Every `import` counts, deferred ones inside functions included: a deferred import hides a cycle from
Python, not from the design. Imports under `if TYPE_CHECKING:` count for the layers (a type is a dependency
too) but not for module cycles: they run nothing, and two models that point at each other through a
relationship need each other's name for their annotations.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "console", "idp", "kyc", "abis", "enrollment", "matcher", "models", "civid")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def _imports(path: Path, module: str, *, type_only: bool = True) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = set() if type_only else _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # "from idp import tokens" imports the module idp.tokens
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def module_graph(*, type_only: bool = True) -> dict[str, set[str]]:
    """Module -> the civid modules it imports; ``type_only=False`` leaves out imports under TYPE_CHECKING."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            if "migrations" in path.parts:
                continue
            modules[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {t for t in _imports(path, name, type_only=type_only) if t in modules and t != name}
    return graph


def package_graph(graph: dict[str, set[str]] | None = None) -> dict[str, dict[str, int]]:
    graph = module_graph() if graph is None else graph
    edges: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for source, targets in graph.items():
        for target in targets:
            a, b = source.split(".")[0], target.split(".")[0]
            if a != b:
                edges[a][b] += 1
    return {a: dict(b) for a, b in edges.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- import-graph:begin (python -m tools.import_graph --write-docs) -->", "<!-- import-graph:end -->"


def mermaid(edges: dict[str, dict[str, int]]) -> str:
    """The package graph as a Mermaid diagram. Edges only, no counts: the picture changes when the shape
    does, not with every new import line."""
    lines = ["```mermaid", "graph TD"]
    for source in PACKAGES:
        for target in PACKAGES:
            if edges.get(source, {}).get(target):
                lines.append(f"    {source} --> {target}")
    lines.append("```")
    return "\n".join(lines)


def documented_diagram(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def write_docs(diagram: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + diagram + "\n" + text[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="list module-level cycles")
    parser.add_argument("--mermaid", action="store_true", help="print the package diagram")
    parser.add_argument("--write-docs", action="store_true", help="refresh the diagram in docs/architecture.md")
    args = parser.parse_args()
    graph = module_graph()
    edges = package_graph(graph)
    if args.mermaid:
        print(mermaid(edges))
        return 0
    if args.write_docs:
        write_docs(mermaid(edges))
        return 0
    if args.modules:
        for component in cycles(module_graph(type_only=False)):
            print("cycle:", " ".join(component))
        return 0
    print(f"{'from':<12} {'to':<12} imports")
    for source in PACKAGES:
        for target, count in sorted(edges.get(source, {}).items()):
            print(f"{source:<12} {target:<12} {count}")
    package_cycles = cycles({a: set(b) for a, b in edges.items()})
    print("package cycles:", package_cycles or "none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
