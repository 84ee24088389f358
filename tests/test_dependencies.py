"""Every third-party module the service imports is installed by its declared dependencies (not only by the
test extras): an installed wheel, as in the Docker image, must start."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = (
    "civid",
    "server",
    "enrollment",
    "matcher",
    "idp",
    "kyc",
    "crvs",
    "credentials",
    "abis",
    "models",
    "console",
    "notifications",
)
FIRST_PARTY = set(RUNTIME_PACKAGES) | {"tests", "benchmarks"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    """The declared distributions and everything they require (unconditionally), by normalised name."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for package in RUNTIME_PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in FIRST_PARTY and m not in sys.stdlib_module_names and m != "__future__"}


def _installed_by() -> dict[str, list[str]]:
    """Top-level module → distributions, from each distribution's file list (some wheels, like dlib-bin, ship
    no top_level.txt, which ``packages_distributions`` relies on)."""
    owners: dict[str, set[str]] = {}
    for distribution in metadata.distributions():
        for file in distribution.files or []:
            top = file.parts[0]
            if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
                continue
            owners.setdefault(top.split(".")[0], set()).add(distribution.metadata["Name"])
    return {module: sorted(names) for module, names in owners.items()}


def test_every_runtime_import_comes_from_a_declared_dependency() -> None:
    declared = {_name(r) for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    installed_by = _installed_by()
    available = _closure(declared)
    missing = {
        module: installed_by.get(module, ["?"])
        for module in _imported_modules()
        if not {_name(d) for d in installed_by.get(module, [])} & available
    }
    assert missing == {}, f"imported by the service but not installed by [project.dependencies]: {missing}"


def test_every_data_file_of_a_runtime_package_is_in_its_package_data() -> None:
    # `pip install .` (the Docker image) ships only the data files [tool.setuptools.package-data] names: a
    # template left out works from the source tree and fails in the image.
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    left_out = []
    for package in RUNTIME_PACKAGES:
        root = REPO / package
        shipped = {path for pattern in package_data.get(package, []) for path in root.glob(pattern)}
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and path not in shipped:
                left_out.append(str(path.relative_to(REPO)))
    assert left_out == [], f"not in [tool.setuptools.package-data], so missing from an installed wheel: {left_out}"
