"""The FastAPI app factory. Settings and services are built by the entry point and passed in."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from serving.api.authentication import AuthenticationGate
from serving.api.errors import install_error_handlers
from serving.api.limits import BodySizeLimit
from serving.api.openapi import install_openapi
from serving.api.request_ids import RequestObserver
from serving.api.routers import entities, health, lists, models, scoring
from serving.api.services import Services
from serving.champions.lifecycle import ChampionPoller
from serving.web import install_pages

logger = logging.getLogger(__name__)

SERVING_GC_THRESHOLDS = (50_000, 20, 20)
OPENAPI_URL = "/v1/openapi.json"
DESCRIPTION = (
    "Hot leads and customers at risk of leaving silently, scored from CRM history.\n\n"
    "Send `Authorization: Bearer <API key>`; each route lists the roles it lets in "
    '(`x-roles`). Every error reads `{"detail": [{"field", "message", "type"}]}`.'
)


def create_app(services: Services, *, load_models: bool = True) -> FastAPI:
    """An app serving ``services``; with ``load_models`` the champions load at startup.

    Startup never waits on the registry: the first load runs in a background thread and the
    app answers at once (``/health/live`` 200, ``/health/ready`` 503 with the tasks
    ``loading``), unless ``settings.startup_wait_seconds`` holds requests back for at most that
    long. The poller then checks the champion alias every ``settings.poll_seconds`` (0 disables
    it).
    """
    settings = services.settings

    def settle() -> None:
        """After the first load: which versions serve (log and gauges), and the long-lived heap
        out of the GC's way."""
        log_served_models(services)
        if settings.gc_freeze:
            # Libraries and models live as long as the process: keep them out of the cyclic
            # collector, whose full passes otherwise walk them all (~0.2 s every few large
            # requests). Then collect young objects less often: a 1,000-entity request makes
            # ~10^5 short-lived containers, almost all freed by reference counting, and the
            # default thresholds ran ~100 young and ~1 full collection per request (~14 ms, seen
            # with gc.callbacks); at 50,000 a request runs about two. Process-wide, so tests
            # that start many apps turn it off.
            gc.collect()
            gc.freeze()
            gc.set_threshold(*SERVING_GC_THRESHOLDS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if load_models:
            loaded = services.models.load_in_background(then=settle)
            if settings.startup_wait_seconds > 0:
                await asyncio.to_thread(loaded.wait, settings.startup_wait_seconds)
        else:
            settle()
        poller = ChampionPoller(services.models, interval=settings.poll_seconds)
        poller.start()
        try:
            yield
        finally:
            poller.stop()

    # The OpenAPI document holds routes and shapes only (no keys, no data), so it and the docs
    # pages are open; their scripts and styles come from the installed fastapi-offline package.
    app = FastAPIOffline(
        title="salesradar",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url=OPENAPI_URL,
        static_url="/docs/static",
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (scoring, entities, lists, models, health):
        app.include_router(module.router)
    install_openapi(app, max_page_size=settings.max_page_size)
    install_pages(app, services)  # first middleware added: innermost, inside the key gate
    # Added last = outermost: every response, including the 413s of the limit, is counted,
    # logged and carries its request id.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuthenticationGate, services=services)  # outside the limit: no body read
    app.add_middleware(RequestObserver, metrics=services.metrics)
    return app


def log_served_models(services: Services) -> None:
    """Log, per task, the model version served (and from where), or why none is."""
    models = services.models
    for task in models.tasks:
        if (m := models.current(task)) is not None:
            services.metrics.set_model(task.value, m.name, m.version, m.source)
            logger.info(
                "serving %s: %s version %s (from %s, artifact %s)",
                task.value,
                m.name,
                m.version,
                m.source,
                m.artifact_hash[:12],
            )
        else:
            state = models.task_states()[task.value]
            logger.warning("not serving %s: %s", task.value, state["detail"] or state["state"])
