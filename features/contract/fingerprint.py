"""An export's content fingerprint: what makes a rerun "the same export".

Batch scoring records it on each run (``score_runs.export_sha256``) and the pipeline compares it,
so both sides read it from here. Hashing reads every byte of the export, so a process hashes an
export once: the pipeline hands its ``ExportFingerprint`` to the ``score`` it runs in-process
(``reuse_fingerprint``), never through a command-line value a user could mistype.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 1 << 20

# (path relative to the folder, size in bytes, modification time in ns) of one file.
FileStamp = tuple[str, int, int]


@dataclass(frozen=True)
class ExportFingerprint:
    """``sha256`` (hex) of the export in ``folder`` (resolved), with the ``stamps`` of the files
    it was computed from, in path order."""

    folder: Path
    sha256: str
    stamps: tuple[FileStamp, ...]

    def still_describes(self, folder: Path) -> bool:
        """Whether this fingerprint was taken of ``folder`` and no file has been added, removed,
        resized or modified since (by name, size and modification time: no byte is read)."""
        return folder.resolve() == self.folder and _stamps(folder) == self.stamps


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _stamps(folder: Path) -> tuple[FileStamp, ...]:
    stamps = []
    for path in _files(folder):
        stat = path.stat()
        stamps.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def hash_export(folder: Path) -> ExportFingerprint:
    """Hash every file under ``folder``: its path relative to ``folder``, its size and its
    bytes, files in path order, into one hex sha256 (with the files' stamps).

    Renaming, adding, removing or editing any file changes the hash; copying the folder
    elsewhere or touching its timestamps does not. Raises ``NotADirectoryError`` when
    ``folder`` is not one.
    """
    stamps = _stamps(folder)
    digest = hashlib.sha256()
    for relative_path, size, _ in stamps:
        relative = relative_path.encode("utf-8")
        digest.update(len(relative).to_bytes(8, "big") + relative)
        digest.update(size.to_bytes(8, "big"))
        with (folder / relative_path).open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
    return ExportFingerprint(folder.resolve(), digest.hexdigest(), stamps)


def export_fingerprint(folder: Path) -> str:
    """The hex sha256 of ``hash_export(folder)``; raises ``NotADirectoryError`` as it does."""
    return hash_export(folder).sha256


def reuse_fingerprint(folder: Path, known: ExportFingerprint | None) -> str:
    """``known``'s sha256 when it still describes ``folder`` (``ExportFingerprint.
    still_describes``), else ``folder`` hashed anew: a fingerprint of another folder, or of
    files changed since, is never recorded for this one."""
    if known is not None and known.still_describes(folder):
        return known.sha256
    return export_fingerprint(folder)
