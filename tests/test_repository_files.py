"""The committed files themselves: nothing a merge or a machine left behind.

A merge that kept its conflict markers ships them to readers (docs/serving.md once did), and a
package-registry URL or a path of one machine makes the repository depend on that machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFLICT = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)
MACHINE = re.compile(r"(/work/|/tmp/bash_jobs|/home/[a-z]+/|pypi\.org|files\.pythonhosted\.org)")


def _tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = []
    for name in listed.split("\0"):
        path = ROOT / name
        if name and path.is_file() and path.suffix not in {".png", ".parquet", ".gz", ".jpg"}:
            paths.append(path)
    return paths


def test_no_file_holds_merge_conflict_markers() -> None:
    """Every tracked text file is free of ``<<<<<<<``, ``=======`` and ``>>>>>>>`` lines."""
    found = []
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [
            f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
            for m in CONFLICT.finditer(text)
        ]
    assert not found, f"merge conflict markers left in: {found}"


def test_no_file_names_a_package_registry_or_a_machine_path() -> None:
    """No tracked file points at a package index or at a directory of one machine."""
    this = Path(__file__).resolve()
    found = []
    for path in _tracked_text_files():
        if path.resolve() == this:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in MACHINE.finditer(text)]
    assert not found, f"machine paths or registry URLs in: {found}"
