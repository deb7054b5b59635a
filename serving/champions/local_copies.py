"""Verified local copies of served models under ``models/served/<task>/``.

Each version lives in ``v<version>/`` next to a ``manifest.json`` (name, version, run, metrics,
sha256 per file); ``current.json`` names the version last verified and served. Both are written
to a temporary file and renamed, so a crash never leaves a half-written pointer behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from features.contract.tasks import Task
from features.model.artifact_contract import ModelIntegrityError, verify_sha256
from serving.champions.source import ChampionRef


def _write_json_atomically(path: Path, payload: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    os.replace(tmp, path)


class LocalCopies:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, task: Task, version: str) -> Path:
        return self.root / task.value / f"v{version}"

    def keep(self, ref: ChampionRef, artifact_folder: Path) -> Path:
        """Copy verified files in (not yet current: see ``make_current``); returns the folder."""
        target = self.folder(ref.task, ref.version)
        staging = target.with_name(target.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for name in ref.sha256:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(artifact_folder / name, staging / name)
            verify_sha256(staging, ref.sha256)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # nothing half-written stays behind
            raise
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        manifest = {
            "task": ref.task.value,
            "name": ref.name,
            "version": ref.version,
            "run_id": ref.run_id,
            "sha256": dict(ref.sha256),
            "metrics": dict(ref.metrics),
        }
        _write_json_atomically(target / "manifest.json", manifest)
        return target

    def current_version(self, task: Task) -> str | None:
        """The version ``current.json`` points at, or None when there is no pointer."""
        pointer = self.root / task.value / "current.json"
        if not pointer.is_file():
            return None
        return str(json.loads(pointer.read_text())["version"])

    def discard(self, task: Task, version: str) -> None:
        """Remove the copy of a version that failed to load; the current copy is never removed."""
        if version != self.current_version(task):
            shutil.rmtree(self.folder(task, version), ignore_errors=True)

    def check_current(self, task: Task) -> str | None:
        """Re-verify the current copy of ``task`` against its manifest: None when it is intact
        (or there is none), else what is wrong (the message names the file)."""
        try:
            found = self.current(task)
            if found is not None:
                ref, folder = found
                verify_sha256(folder, ref.sha256)
        except (OSError, ValueError, KeyError, ModelIntegrityError) as exc:
            return f"local copy of {task.value}: {exc}"
        return None

    def make_current(self, task: Task, version: str) -> None:
        """Point ``current.json`` at a copy, once it has loaded and warmed successfully."""
        _write_json_atomically(self.root / task.value / "current.json", {"version": version})

    def current(self, task: Task) -> tuple[ChampionRef, Path] | None:
        """The last verified copy of ``task`` (re-verified by the caller before use)."""
        version = self.current_version(task)
        if version is None:
            return None
        folder = self.folder(task, version)
        manifest = json.loads((folder / "manifest.json").read_text())
        ref = ChampionRef(
            task=task,
            name=manifest["name"],
            version=manifest["version"],
            run_id=manifest["run_id"],
            sha256=manifest["sha256"],
            metrics=manifest["metrics"],
        )
        return ref, folder
