"""An export's content fingerprint: the same bytes anywhere give the same one, any edit another."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from features.contract.fingerprint import export_fingerprint, hash_export, reuse_fingerprint
from tests.features.exportkit import write_valid_export


def test_a_copy_has_the_same_fingerprint_and_any_change_another(tmp_path: Path) -> None:
    export = write_valid_export(tmp_path / "a")
    original = export_fingerprint(export)
    assert len(original) == 64
    assert export_fingerprint(shutil.copytree(export, tmp_path / "b")) == original

    first = sorted(export.iterdir())[0]
    text = first.read_bytes()
    first.write_bytes(text + b"\n")
    assert export_fingerprint(export) != original
    first.write_bytes(text)
    assert export_fingerprint(export) == original

    first.rename(export / f"renamed-{first.name}")
    assert export_fingerprint(export) != original


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        export_fingerprint(tmp_path / "none")


def test_a_handed_over_fingerprint_is_reused_only_for_its_unchanged_folder(tmp_path: Path) -> None:
    export = write_valid_export(tmp_path / "a")
    known = hash_export(export)
    assert reuse_fingerprint(export, known) == known.sha256 == export_fingerprint(export)

    # Another folder with other bytes: hashed, never given this folder's hash.
    other = write_valid_export(tmp_path / "b")
    (other / "extra.txt").write_text("more\n")
    assert reuse_fingerprint(other, known) == export_fingerprint(other) != known.sha256

    # A file edited after the hash was taken (same size, later modification time): hashed anew.
    first = sorted(export.iterdir())[0]
    text = first.read_bytes()
    first.write_bytes(text[:-1] + (b"x" if text[-1:] != b"x" else b"y"))
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 1_000_000_000))
    assert reuse_fingerprint(export, known) == export_fingerprint(export) != known.sha256
