"""Large scoring requests run off the event loop (health checks are answered meanwhile), and
every request is scored and labelled by the one model it read."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import serving.api.routers.scoring as scoring_routes
from features.contract.tasks import Task
from serving.api.app import create_app
from serving.api.services import Services
from serving.champions.served import ServedModel
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import auth


def _blocking_score_online(release: threading.Event, seen: list[str]) -> Any:
    real = scoring_routes.score_online

    def score_online(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        # Held until the health check has been answered (or 2 s: the test then fails on order).
        release.wait(timeout=2)
        return real(*args, **kwargs)

    return score_online


@pytest.mark.parametrize("entities", [1, scoring_routes.INLINE_ENTITIES + 1])
def test_health_is_answered_while_a_large_request_is_scored(
    services: Services, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, entities: int
) -> None:
    release, threads = threading.Event(), []
    monkeypatch.setattr(scoring_routes, "score_online", _blocking_score_online(release, threads))
    app = create_app(services)
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [lead(f"L{i}") for i in range(entities)]}
    order: list[str] = []

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):

            async def score() -> None:
                response = await client.post(
                    "/v1/leads/score", json=body, headers=auth(keys["crm"])
                )
                assert response.status_code == 200, response.text
                order.append("score")

            async def health() -> None:
                while not threads:  # the scoring work has started
                    await asyncio.sleep(0.001)
                response = await client.get("/health/live")
                assert response.status_code == 200
                order.append("health")
                release.set()

            await asyncio.wait_for(asyncio.gather(score(), health()), timeout=30)

    asyncio.run(main())
    if entities > scoring_routes.INLINE_ENTITIES:
        assert order == ["health", "score"]
        assert threads[0] != threading.main_thread().name
    else:
        # One entity is scored inline on the event loop: health waits for it.
        assert order == ["score", "health"]
        assert threads[0] == threading.main_thread().name


def test_a_request_is_scored_and_labelled_by_the_model_it_started_with(
    services: Services, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A champion swap lands while the request is in flight: every later read sees version 999.
    first = services.models.current  # bound before the app loads models; read lazily below
    reads: list[str] = []

    def current(task: Task) -> ServedModel | None:
        served = first(task)
        if served is None or task is not Task.LEADS:
            return served
        reads.append(task.value)
        return served if len(reads) == 1 else dataclasses.replace(served, version="999")

    app = create_app(services)
    with TestClient(app) as client:
        monkeypatch.setattr(services.models, "current", current)
        body = {"as_of": "2025-12-01T00:00:00Z", "leads": [lead("L1")]}
        response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["model"]["version"] == "1"
    assert reads == ["leads"]
