"""Where champions come from: the MLflow registry, behind a small protocol, with bounded waits.

``MlflowChampionSource`` resolves ``<model name>@champion`` to a version, reads the artifact
hashes and test metrics recorded on that version's run, and downloads the artifact. Every call
runs under a hard timeout, so an unreachable registry degrades the service instead of hanging it.
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlparse

from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import (
    SCORING_MODEL_PATH,
    SCORING_MODEL_PATH_TAG,
    SHA256_TAG_PREFIX,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Ours first; the other spellings are accepted from versions registered by other tools.
SHA256_PREFIXES = (SHA256_TAG_PREFIX, "sha256/", "sha256:")


class RegistryUnavailable(RuntimeError):
    """The registry did not answer in time or answered with an error."""


class RegistryTimeout(RegistryUnavailable):
    """The registry did not answer within the bound (it may hold the connection open forever)."""


class UnverifiableVersion(LookupError):
    """The registry answered with a champion that has no recorded artifact hashes.

    An answer, not an outage: the registry is fine, this version cannot be verified, so it is
    never served.
    """


class NoChampion(LookupError):
    """The registry answered: no version of the task's model holds the champion alias.

    Not a failure: a team with only one half of a CRM trains only one task.
    """


@dataclass(frozen=True)
class ChampionRef:
    task: Task
    name: str
    version: str
    run_id: str | None
    sha256: Mapping[str, str]  # artifact file (relative path) -> hex digest, as recorded
    metrics: Mapping[str, Any] = field(default_factory=dict)
    artifact_path: str = SCORING_MODEL_PATH  # run artifact folder holding the ScoringModel files


class ChampionSource(Protocol):
    def resolve(self, task: Task) -> ChampionRef:
        """The task's champion; raises ``NoChampion`` when the registry has none,
        ``UnverifiableVersion`` when the champion has no recorded hashes and
        ``RegistryUnavailable`` (``RegistryTimeout`` when it did not answer) when it cannot be
        asked."""
        ...

    def download(self, ref: ChampionRef, destination: Path) -> Path:
        """Download the artifact into ``destination``; return the folder holding its files."""
        ...


def call_with_timeout(fn: Callable[[], T], *, timeout: float, what: str) -> T:
    """Run ``fn`` in a daemon thread and give up after ``timeout`` seconds.

    A daemon thread (not an executor) so that a registry call stuck in a socket can never block
    interpreter shutdown; the abandoned thread ends when its call finally returns.
    """
    results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            results.put((True, fn()))
        except BaseException as exc:  # reported to the caller below, not swallowed
            results.put((False, exc))

    threading.Thread(target=run, name=f"registry:{what}", daemon=True).start()
    try:
        ok, value = results.get(timeout=timeout)
    except queue.Empty:
        raise RegistryTimeout(
            f"{what}: no answer within {timeout:g} s (a slow registry: raise "
            "SALESRADAR_REGISTRY_TIMEOUT_SECONDS)"
        ) from None
    if not ok:
        if isinstance(value, (NoChampion, UnverifiableVersion)):  # answers, not outages
            raise value
        raise RegistryUnavailable(f"{what}: {value}") from value
    return value  # type: ignore[no-any-return]


def recorded_hashes(tags: Mapping[str, str], params: Mapping[str, str]) -> dict[str, str]:
    """Artifact digests recorded on a run: ``sha256.<file>`` tags/params or an ``artifact_sha256``
    JSON tag (file -> digest)."""
    hashes: dict[str, str] = {}
    for source in (params, tags):
        for key, value in source.items():
            for prefix in SHA256_PREFIXES:
                if key.startswith(prefix):
                    hashes[key[len(prefix) :]] = value
        if "artifact_sha256" in source:
            hashes.update(json.loads(source["artifact_sha256"]))
    return hashes


def find_artifact_folder(root: Path, files: Mapping[str, str]) -> Path:
    """The folder under ``root`` that holds every hashed file (artifacts may be nested)."""
    for candidate in (root, *sorted(p for p in root.rglob("*") if p.is_dir())):
        if all((candidate / name).is_file() for name in files):
            return candidate
    raise RegistryUnavailable(f"downloaded artifact lacks the hashed files {sorted(files)}")


def embedded_artifact_root(tracking_uri: str) -> Path | None:
    """Where an embedded sqlite store keeps its artifacts: ``mlartifacts`` beside the database
    (the layout ``training.tracking`` creates); None for a tracking server or any other store."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    return Path(tracking_uri.removeprefix(prefix)).resolve().parent / "mlartifacts"


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(uri) if not parsed.scheme and Path(uri).is_absolute() else None


def store_relative_folder(artifact_uri: str, *, recorded_root: str, root: Path) -> Path | None:
    """A run's artifact folder resolved against the store it is read from.

    MLflow records absolute artifact locations, so a copied or moved store would read (and
    serve) the original's files. The part of ``artifact_uri`` below the experiment's recorded
    artifact root is taken relative to ``root``, this store's own. None when either location is
    not a local path, when the recorded root is not the embedded layout's (a folder named like
    ``root``; a store someone set up with artifacts elsewhere reads them where it says), or the
    run's artifacts lie outside the recorded root.
    """
    run_path, recorded = _local_path(artifact_uri), _local_path(recorded_root)
    if run_path is None or recorded is None or recorded.name != root.name:
        return None
    try:
        return root / run_path.relative_to(recorded)
    except ValueError:
        return None


class MlflowChampionSource:
    """The MLflow registry at ``tracking_uri``; champions are the versions under ``alias``."""

    def __init__(self, *, tracking_uri: str, alias: str, timeout: float) -> None:
        self.tracking_uri = tracking_uri
        self.alias = alias
        self.timeout = timeout

    def _client(self) -> Any:
        from mlflow import MlflowClient  # heavy import, only when a registry is used

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def resolve(self, task: Task) -> ChampionRef:
        name = TASK_TABLES[task].model_name

        def lookup() -> ChampionRef:
            from mlflow.exceptions import MlflowException

            client = self._client()
            try:
                registered = client.get_registered_model(name)
            except MlflowException as exc:
                if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                    raise NoChampion(f"no model named {name} is registered") from None
                raise
            if self.alias not in (registered.aliases or {}):
                raise NoChampion(f"no version of {name} is aliased {self.alias!r}")
            version = client.get_model_version_by_alias(name, self.alias)
            tags: dict[str, str] = dict(version.tags or {})
            params: dict[str, str] = {}
            metrics: dict[str, Any] = {}
            if version.run_id:
                run = client.get_run(version.run_id)
                tags = {**run.data.tags, **tags}
                params = dict(run.data.params)
                metrics = dict(run.data.metrics)
            hashes = recorded_hashes(tags, params)
            if not hashes:
                raise UnverifiableVersion(
                    f"{name} v{version.version} is an unverifiable version: no artifact sha256 "
                    "is recorded on it or its run"
                )
            path = tags.get(SCORING_MODEL_PATH_TAG, SCORING_MODEL_PATH)
            return ChampionRef(
                task, name, str(version.version), version.run_id, hashes, metrics, path
            )

        return call_with_timeout(lookup, timeout=self.timeout, what=f"resolve {name}@{self.alias}")

    def download(self, ref: ChampionRef, destination: Path) -> Path:
        def fetch() -> Path:
            # The ScoringModel files are a run artifact (docs/training.md), next to the MLflow
            # flavor that ``mlflow models serve`` uses.
            if ref.run_id is None:
                raise RegistryUnavailable(f"{ref.name} v{ref.version} has no run")
            client = self._client()
            own = self._own_artifacts(client, ref)
            if own is not None:
                shutil.copytree(own, destination / ref.artifact_path)
                return find_artifact_folder(destination / ref.artifact_path, ref.sha256)
            local = client.download_artifacts(ref.run_id, ref.artifact_path, str(destination))
            return find_artifact_folder(Path(local), ref.sha256)

        return call_with_timeout(fetch, timeout=self.timeout * 6, what=f"download {ref.name}")

    def _own_artifacts(self, client: Any, ref: ChampionRef) -> Path | None:
        """An embedded store's artifact folder of ``ref``, resolved against the store itself
        (``store_relative_folder``); None for stores whose artifacts MLflow fetches."""
        root = embedded_artifact_root(self.tracking_uri)
        if root is None:
            return None
        run = client.get_run(ref.run_id)
        recorded = client.get_experiment(run.info.experiment_id).artifact_location
        folder = store_relative_folder(run.info.artifact_uri, recorded_root=recorded, root=root)
        if folder is None:
            return None
        if not (folder / ref.artifact_path).is_dir():
            raise RegistryUnavailable(
                f"{ref.name} v{ref.version}: no artifacts at {folder / ref.artifact_path} "
                f"(the store recorded them under {recorded})"
            )
        return folder / ref.artifact_path
