"""No import cycle inside features/, training/ and serving/: their modules form a DAG.

Every ``import`` and ``from ... import`` that runs counts, at module level or inside a function
(a lazy import only hides a cycle); one under ``if TYPE_CHECKING:`` never runs and is for
annotations only, so it is not an edge. Parent packages, which Python imports on the way, are not
edges either.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "training", "serving")


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The first-party modules ``tree`` imports (``from a import b`` is ``a.b`` when that is a
    module, else ``a``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known and name != module}


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the first-party modules it imports, over every ``.py`` file of ``packages``."""
    paths = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    files = {_module_name(root, path): path for path in paths}
    known = set(files)
    return {
        name: _imported(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
        for name, path in files.items()
    }


def test_the_graph_sees_every_package_and_a_lazy_import() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert {name.split(".")[0] for name in graph} == set(PACKAGES)
    assert "features.compute.online" in graph["serving.wiring"]
    # Imported inside a function only (the manager card's monitoring results):
    assert "training.monitoring.cli" in graph["training.cli"]


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.a import thing\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    (package / "d.py").write_text("from . import c\n")
    with pytest.raises(CycleError) as found:
        TopologicalSorter(import_graph(tmp_path, ("pkg",))).prepare()
    assert set(found.value.args[1]) == {"pkg.a", "pkg.b"}
    assert import_graph(tmp_path, ("pkg",))["pkg.c"] == set()  # annotations only: no edge
    assert import_graph(tmp_path, ("pkg",))["pkg.d"] == {"pkg.c"}  # relative import


def test_no_import_cycle_in_features_training_serving() -> None:
    try:
        TopologicalSorter(import_graph(ROOT, PACKAGES)).prepare()
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


# docs/internal-api.md: training -> features <- serving; nothing imports upward or sideways.
ALLOWED_IMPORTS = {
    "features": {"features"},
    "training": {"training", "features"},
    "serving": {"serving", "features"},
}


def test_packages_import_only_downward() -> None:
    graph = import_graph(ROOT, PACKAGES)
    upward = sorted(
        f"{module} -> {imported}"
        for module, imports in graph.items()
        for imported in imports
        if imported.split(".")[0] not in ALLOWED_IMPORTS[module.split(".")[0]]
    )
    assert upward == []
    # The fit is training's: the served unit does not reach it.
    assert "training.tree_fit" in graph["training.trainer"]
    assert not any(name.startswith("training") for name in graph["features.model.scoring_model"])
