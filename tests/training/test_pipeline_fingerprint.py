"""An export's content fingerprint: the same bytes anywhere give the same one, any edit another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from features.fingerprint import export_fingerprint
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
