"""docs/architecture.md draws the package graph the code has today.

The layers and the absence of cycles are import-linter's contracts (``[tool.importlinter]``, run by
``make lint``): it reads every import, deferred ones inside functions included, so they are not checked a
second time here. What it cannot know is whether the document's diagram is still the true one.

The graph is read in a fresh interpreter: late in the suite, threads that earlier tests left running can change
the interpreter's recursion limit while ``ast.parse`` runs, and CPython 3.11 then fails the parse with
"AST constructor recursion depth mismatch" (seen once in CI) — a fault of the test process, not of the code read.
"""

import subprocess
import sys
from pathlib import Path

from tools import import_graph

ROOT = Path(__file__).resolve().parent.parent
DRAW = "from tools import import_graph; print(import_graph.mermaid(import_graph.package_graph()), end='')"


def test_architecture_document_shows_the_current_graph():
    documented = import_graph.documented_diagram(import_graph.DOC.read_text(encoding="utf-8"))
    drawn = subprocess.run(
        [sys.executable, "-c", DRAW], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert documented == drawn, (
        "the package graph changed: run `python -m tools.import_graph --write-docs` and say why in the text"
    )
