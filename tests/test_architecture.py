"""The package graph has the shape docs/architecture.md describes: layered, without cycles.

import-linter (``make lint``) enforces the layer contracts; these tests add what it does not say in one
place: no module-level cycle anywhere (deferred imports included, which Python forgives and the design
does not), and the diagram in the architecture document is the one the code draws today.
"""

from tools import import_graph


def test_no_package_depends_on_itself_through_another():
    edges = import_graph.package_graph()
    assert import_graph.cycles({a: set(b) for a, b in edges.items()}) == []


def test_no_module_cycle():
    assert import_graph.cycles(import_graph.module_graph(type_only=False)) == []


def test_core_imports_only_models():
    edges = import_graph.package_graph()
    assert set(edges.get("civid", {})) <= {"models"}
    assert edges.get("models", {}) == {}
    assert edges.get("matcher", {}) == {}


def test_architecture_document_shows_the_current_graph():
    documented = import_graph.documented_diagram(import_graph.DOC.read_text(encoding="utf-8"))
    assert documented == import_graph.mermaid(import_graph.package_graph()), (
        "the package graph changed: run `python -m tools.import_graph --write-docs` and say why in the text"
    )
