"""The served unit's artifact contract: what training writes to MLflow and serving reads back.

One home for the names both sides must agree on (``training.tracking`` writes them,
``serving.champions.source`` and ``serving.champions.pyfunc`` read them) and for the one sha256
check every model file passes before it is parsed. A run's layout: the ``ScoringModel`` files under
``SCORING_MODEL_PATH``, each file's hex sha256 as a run and model-version tag
``SHA256_TAG_PREFIX + <file>``; the registry alias ``CHALLENGER`` on a freshly trained version and
``CHAMPION`` on the one served.

Pure: no MLflow import, no I/O beyond reading the files it hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

SCORING_MODEL_PATH = "scoring_model"  # run artifact folder of the ScoringModel files
# The scorer pyfunc's artifact key for the same files (training.pyfunc logs,
# serving.champions.pyfunc reads).
SCORING_MODEL_ARTIFACT = "scoring_model"
SCORING_MODEL_PATH_TAG = "scoring_model.path"  # model-version tag naming that folder
SHA256_TAG_PREFIX = "sha256."  # tag "sha256.<file>" = hex digest of that artifact file
CHALLENGER = "challenger"  # registry alias of the version training just registered
CHAMPION = "champion"  # registry alias of the version serving loads

# Read 1 MiB at a time: model files can be large, and memory stays flat.
_BLOCK = 1 << 20


class ModelIntegrityError(Exception):
    """A saved model is missing a file, fails its sha256 check, or needs an untrusted type."""


def file_sha256(path: Path) -> str:
    """Hex sha256 (64 lowercase hex characters) of the bytes of the file at ``path``.

    Raises ``OSError`` when the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(directory: Path, expected: Mapping[str, str]) -> None:
    """Check every file named in ``expected`` (path relative to ``directory`` -> hex sha256).

    Each file is hashed once. Raises ``ModelIntegrityError`` naming the file when ``expected`` is
    empty (nothing to verify against), a file is missing, or its digest differs.
    """
    if not expected:
        raise ModelIntegrityError(f"{directory}: no recorded hashes to verify against")
    for name, digest in sorted(expected.items()):
        path = directory / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path}: file missing")
        actual = file_sha256(path)
        if actual != digest:
            raise ModelIntegrityError(f"{path}: sha256 {actual} != expected {digest}")
