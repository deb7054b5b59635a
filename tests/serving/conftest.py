"""Shared serving fixtures: scores stores on SQLite and PostgreSQL, a tiny model, an app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from serving.store import ScoreStore
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
