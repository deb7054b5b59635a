"""A saved model rewritten as salesradar wrote it before the package layout of issue 12.

A skops file (skops 0.x) is a zip: ``schema.json`` holds the object tree, each object a JSON
node with its ``__module__`` and ``__class__`` (how the loader finds the type), and every
array sits beside it as an ``.npy`` entry the tree names by id. Before the relayout our types
lived in other modules (``features.model.FeatureFrameEncoder``,
``features.categories.RareLevelGrouper``, ...), which is all an old save differs by: the
rewrite changes those two fields of our own nodes and copies every other entry byte for byte.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

# (module today, class) -> module the class had before the relayout.
OLD_MODULES: dict[tuple[str, str], str] = {
    ("features.model.scoring_model", "FeatureFrameEncoder"): "features.model",
    ("features.model.scoring_model", "OffsetBoostedClassifier"): "features.model",
    ("features.model.categories", "RareLevelGrouper"): "features.categories",
}
SCHEMA = "schema.json"


def _rename(node: object, renamed: list[str]) -> None:
    """Rewrite, in place, the ``__module__`` of every node of a type in ``OLD_MODULES``."""
    if isinstance(node, dict):
        old = OLD_MODULES.get((node.get("__module__"), node.get("__class__")))  # type: ignore[arg-type]
        if old is not None:
            node["__module__"] = old
            renamed.append(f"{old}.{node['__class__']}")
        for child in node.values():
            _rename(child, renamed)
    elif isinstance(node, list):
        for child in node:
            _rename(child, renamed)


def save_as_before_the_layout(source: Path, target: Path) -> list[str]:
    """Copy the skops file ``source`` to ``target`` with our types under their old module names;
    return the old ``module.Class`` names written (one per node renamed)."""
    renamed: list[str] = []
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == SCHEMA:
                schema = json.loads(data)
                _rename(schema, renamed)
                data = json.dumps(schema, indent=2).encode("utf-8")
            new.writestr(info, data)
    return renamed
