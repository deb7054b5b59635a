"""Shared serving fixtures: scores stores on SQLite and PostgreSQL, a tiny model, an app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import create_app
from serving.api.services import Services
from serving.store.database import ScoreStore
from tests.serving.appkit import FolderChampions, build_test_services, create_keys
from tests.serving.factories import fit_model, make_export
from tests.serving.postgres import PostgresServer, create_database, start_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL of an empty scores database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('scores') / 'scores.db'}"
    server = request.getfixturevalue("postgres_server")
    return create_database(server)


@pytest.fixture
def store(store_url: str) -> Iterator[ScoreStore]:
    score_store = ScoreStore.from_url(store_url)
    score_store.create_schema()
    yield score_store
    score_store.engine.dispose()


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[Task, tuple[Path, dict[str, str]]]:
    """Both tasks' tiny real models, saved once per session: task -> (folder, sha256)."""
    export = make_export(seed=11)
    root = tmp_path_factory.mktemp("artifacts")
    out = {}
    for task in Task:
        folder = root / task.value / "v1"
        out[task] = (folder, fit_model(export, task, seed=3).save(folder))
    export.close()
    return out


@pytest.fixture
def champions(trained: dict[Task, tuple[Path, dict[str, str]]]) -> FolderChampions:
    source = FolderChampions()
    for task, (folder, sha256) in trained.items():
        source.publish(task, "1", folder, sha256)
    return source


@pytest.fixture
def services(tmp_path: Path, champions: FolderChampions) -> Services:
    return build_test_services(tmp_path, champions)


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    return create_keys(services)


@pytest.fixture
def client(services: Services, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client
