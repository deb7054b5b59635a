"""The registered scorer's pinned requirements cover every library its code imports.

A fresh environment gets only ``training.pyfunc.SCORER_LIBRARIES`` (and what they depend on):
a first-party module on the scorer's import path that imports another library would load in
this checkout and fail in every deployment (as ``pycountry`` did when the settings started
checking currency codes). Quick: no model, no virtualenv.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from training.pyfunc import SCORER_LIBRARIES

FIRST_PARTY = ("features", "serving", "training")

# Import serving.champions.pyfunc as MLflow does (through the entry file's import), then list the
# first-party modules that came with it.
PROBE = """
import json, sys
import mlflow.models
import serving.champions.pyfunc
print(json.dumps(sorted(
    (name, getattr(module, "__file__", None))
    for name, module in sys.modules.items()
    if name.split(".")[0] in ("features", "serving", "training")
)))
"""


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported at module level (not inside functions) by ``path``."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.slow  # 47 s measured
def test_every_library_the_scorer_imports_is_pinned_with_the_model() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    loaded = [(name, file) for name, file in json.loads(probe.stdout) if file]
    assert any(name == "serving.champions.pyfunc" for name, _ in loaded)
    imported: set[str] = set()
    for _name, file in loaded:
        imported |= _module_level_imports(Path(file))
    third_party = {
        name
        for name in imported - set(FIRST_PARTY) - {"__future__"}
        if name not in sys.stdlib_module_names
    }
    distributions = packages_distributions()
    pinned = {canonicalize_name(lib) for lib in SCORER_LIBRARIES}
    missing = {
        name: distributions.get(name)
        for name in third_party
        if not {canonicalize_name(d) for d in distributions.get(name, [name])} & pinned
    }
    assert not missing, f"imported by the scorer's code but not pinned with the model: {missing}"
