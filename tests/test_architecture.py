"""docs/architecture.md draws the package graph the code has today.

The layers and the absence of cycles are import-linter's contracts (``[tool.importlinter]``, run by
``make lint``): it reads every import, deferred ones inside functions included, so they are not checked a
second time here. What it cannot know is whether the document's diagram is still the true one.
"""

from tools import import_graph


def test_architecture_document_shows_the_current_graph():
    documented = import_graph.documented_diagram(import_graph.DOC.read_text(encoding="utf-8"))
    assert documented == import_graph.mermaid(import_graph.package_graph()), (
        "the package graph changed: run `python -m tools.import_graph --write-docs` and say why in the text"
    )
