"""An export's content fingerprint: what makes a rerun "the same export".

Batch scoring records it on each run (``score_runs.export_sha256``) and the pipeline compares it,
so both sides read it from here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def export_fingerprint(folder: Path) -> str:
    """Hex sha256 over every file under ``folder``: its path relative to ``folder``, its size
    and its bytes, files in path order.

    Renaming, adding, removing or editing any file changes it; copying the folder elsewhere or
    touching its timestamps does not. Raises ``NotADirectoryError`` when ``folder`` is not one.
    """
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix().encode("utf-8")
        digest.update(len(relative).to_bytes(8, "big") + relative)
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()
