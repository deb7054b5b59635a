"""Test wiring: a folder-backed champion source and Services pointed at temporary folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from features.contract.tasks import TASK_TABLES, Task
from serving.api.metrics import ServiceMetrics
from serving.api.services import Services
from serving.champions.lifecycle import ModelManager
from serving.champions.local_copies import LocalCopies
from serving.champions.source import ChampionRef, NoChampion, RegistryUnavailable
from serving.settings import Settings
from serving.store.database import ScoreStore
from serving.store.keys import KeyStore, Role
from serving.wiring import build_online_features, build_warm_up, load_scoring_model

NOW = datetime(2026, 1, 15, 12, 0)


@dataclass
class FolderChampions:
    """Champions as saved model folders; ``down`` simulates an unreachable registry."""

    folders: dict[Task, tuple[str, Path, dict[str, str]]] = field(default_factory=dict)
    down: bool = False
    resolved: int = 0

    def publish(self, task: Task, version: str, folder: Path, sha256: dict[str, str]) -> None:
        self.folders[task] = (version, folder, sha256)

    def resolve(self, task: Task) -> ChampionRef:
        self.resolved += 1
        if self.down:
            raise RegistryUnavailable("connection refused")
        if task not in self.folders:
            raise NoChampion(f"no version of {TASK_TABLES[task].model_name} is aliased 'champion'")
        version, _, sha256 = self.folders[task]
        name = TASK_TABLES[task].model_name
        return ChampionRef(task, name, version, f"run-{version}", sha256, {"test_auc": 0.81})

    def download(self, ref: ChampionRef, destination: Path) -> Path:
        _, folder, _ = self.folders[ref.task]
        target = destination / "artifact"
        shutil.copytree(folder, target)
        return target


def build_test_services(
    root: Path,
    source: FolderChampions,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    **overrides: object,
) -> Services:
    settings = Settings(
        scores_url=f"sqlite:///{root / 'scores.db'}",
        served_dir=root / "served",
        poll_seconds=0,
        # Tests read models right after startup: let it wait for the first load.
        **{"gc_freeze": False, "startup_wait_seconds": 120, **overrides},  # type: ignore[arg-type]
    )
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    from features.model.reasons import explain

    models = ModelManager(
        source=source,
        copies=LocalCopies(settings.served_dir),
        loader=load_scoring_model,
        warm=build_warm_up(build_online_features, explain, settings),
        clock=clock,  # type: ignore[arg-type]
    )
    return Services(
        settings=settings,
        store=store,
        keys=KeyStore(store.engine),
        models=models,
        metrics=ServiceMetrics(),
        features=build_online_features,
        explain=explain,
        clock=clock,
    )


def create_keys(services: Services) -> dict[str, str]:
    """Bearer headers' tokens: crm, admin, rep-0 and rep-1."""
    keys = {}
    for name, role, owner in (
        ("crm", Role.CRM, None),
        ("admin", Role.ADMIN, None),
        ("rep0", Role.REP, "rep-0"),
        ("rep1", Role.REP, "rep-1"),
    ):
        _, token = services.keys.create(role=role, owner_id=owner, label=name, created_at=NOW)
        keys[name] = token
    return keys


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
