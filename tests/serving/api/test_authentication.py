"""Authentication comes before the body: 401 without reading it, 429 for anonymous floods."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.api.authentication import AnonymousLimiter, AuthenticationGate
from tests.serving.appkit import NOW, FolderChampions, auth, build_test_services, create_keys

ROUTES = ("/v1/leads/score", "/v1/customers/score")


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer sr_abc_def", "Basic dXNlcjpwYXNz"])
def test_an_unauthenticated_bad_body_is_401_not_422(
    client: TestClient, path: str, header: str | None
) -> None:
    headers = {"Content-Type": "application/json"} | ({"Authorization": header} if header else {})
    response = client.post(path, content=b'{"leads": [', headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"][0]["field"] == "Authorization"


def test_the_gate_answers_without_reading_the_body(tmp_path: Path) -> None:
    """The middleware itself: an anonymous 3.9 MB upload is never received, nor the app run."""
    services = build_test_services(tmp_path, FolderChampions())
    received, sent = [], []

    async def receive() -> dict:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 3_900_000, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope: dict, receive: object, send: object) -> None:
        raise AssertionError("the application must not run")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/leads/score",
        "headers": [(b"content-length", b"3900000")],
        "client": ("203.0.113.9", 5000),
    }
    asyncio.run(AuthenticationGate(app, services=services)(scope, receive, send))  # type: ignore[arg-type]
    assert received == []
    assert sent[0]["status"] == 401
    assert (b"connection", b"close") in sent[0]["headers"]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def limited(tmp_path: Path, champions: FolderChampions) -> tuple[TestClient, dict, Clock]:
    clock = Clock()
    services = build_test_services(
        tmp_path, champions, clock=clock, anonymous_requests_per_window=5
    )
    keys = create_keys(services)
    with TestClient(create_app(services, load_models=False)) as client:
        yield client, keys, clock


def test_an_anonymous_flood_is_429_with_retry_after(
    limited: tuple[TestClient, dict, Clock],
) -> None:
    client, keys, clock = limited
    statuses = [client.post("/v1/leads/score", content=b"{}").status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    refused = client.get("/v1/models", headers={"Authorization": "Bearer sr_no_such"})
    assert refused.status_code == 429
    # NOW is 12:00:00 sharp: the 60-second window ends in 60 s.
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["detail"][0]["type"] == "rate_limited"
    # A valid key from the same address is neither counted nor limited; probes stay open.
    for _ in range(10):
        assert client.get("/v1/models", headers=auth(keys["crm"])).status_code == 200
    assert client.get("/health/live").status_code == 200
    # The next window starts afresh.
    clock.now = NOW + timedelta(seconds=60)
    assert client.get("/v1/models").status_code == 401


def test_the_limiter_counts_per_address_and_window() -> None:
    clock = Clock()
    limiter = AnonymousLimiter(2, 10.0, clock)
    assert [limiter.hit("a"), limiter.hit("a")] == [None, None]
    assert limiter.hit("a") == 10.0
    assert limiter.hit("b") is None  # another address has its own count
    clock.now = NOW + timedelta(seconds=7.5)
    assert limiter.hit("a") == 2.5
    clock.now = NOW + timedelta(seconds=10)
    assert limiter.hit("a") is None
