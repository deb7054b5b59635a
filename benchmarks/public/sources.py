"""Getting a dataset out of the wheel that ships it: ``pip download`` with an exact pin, then read
the file from the wheel (a zip) and check its SHA-256. Nothing is installed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WheelFile:
    """One file inside one pinned wheel, with the SHA-256 it must have."""

    package: str
    version: str
    member: str  # path inside the wheel
    sha256: str


def download_wheel(package: str, version: str, *, into: Path, timeout: float = 600) -> Path:
    """The wheel of ``package==version`` in ``into`` (downloaded with pip if not there yet)."""
    stem = package.replace("-", "_")
    found = sorted(into.glob(f"{stem}-{version}-*.whl"))
    if not found:
        into.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                f"{package}=={version}",
                "-d",
                str(into),
            ],
            check=True,
            timeout=timeout,
        )
        found = sorted(into.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip downloaded no wheel for {package}=={version} into {into}")
    return found[0]


def read_wheel_file(source: WheelFile, *, wheels: Path) -> bytes:
    """The bytes of ``source.member``; raises ``ValueError`` if its SHA-256 differs."""
    wheel = download_wheel(source.package, source.version, into=wheels)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(source.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise ValueError(
            f"{source.package}=={source.version}:{source.member} has SHA-256 {digest}, "
            f"expected {source.sha256}"
        )
    return data
