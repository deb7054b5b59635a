"""Fixtures of the reps' pages: a scores database with two reps' books, an app, its keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.services import Services
from tests.serving.appkit import FolderChampions, build_test_services, create_keys
from tests.serving.web.bookkit import SECRET, publish_book


@pytest.fixture
def web_services(tmp_path: Path) -> Services:
    """Services over a fresh scores database holding the two published runs of ``bookkit``
    (no model: the pages read stored scores only)."""
    services = build_test_services(tmp_path, FolderChampions(), session_secret=SECRET)
    publish_book(services.store)
    return services


@pytest.fixture
def web_keys(web_services: Services) -> dict[str, str]:
    return create_keys(web_services)


@pytest.fixture
def web_client(web_services: Services, web_keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(web_services, load_models=False)) as test_client:
        yield test_client
