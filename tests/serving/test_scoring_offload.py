"""Large scoring requests run off the event loop: health checks are answered meanwhile."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

import serving.routers.scoring as scoring_routes
from serving.app import create_app
from serving.services import Services
from tests.serving.appkit import auth
from tests.serving.test_scoring_api import lead


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
