"""Health probes (no key needed), ``/metrics`` and the OpenAPI document (key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.deps import ALL_ROLES, ModelDep, ServicesDep, allow
from serving.keys import Role
from serving.query_parameters import reject_unknown_query_parameters

router = APIRouter()


@router.get(
    "/health/live", tags=["health"], dependencies=[Depends(reject_unknown_query_parameters)]
)
async def live() -> dict[str, str]:
    """The process answers. Depends on nothing external, on purpose.

    ``async`` (as is ``ready``): answered on the event loop, so a thread pool full of slow
    requests cannot keep the probes from answering."""
    return {"status": "live"}


@router.get(
    "/health/ready",
    tags=["health"],
    responses={503: {"description": "not ready"}},
    dependencies=[Depends(reject_unknown_query_parameters)],
)
async def ready(models: ModelDep) -> JSONResponse:
    """200 when at least one task is served and no task is still loading or failed to load.

    A task with no champion (a lead-only or customer-only deployment) does not block readiness;
    ``tasks`` says per task what is served, and why not, in words that hold no file path or URL
    (no key is needed here); a lock-free read that never waits on a reload.
    """
    body: dict[str, Any] = {
        "status": "ready" if models.ready else "not ready",
        "registry": models.registry_state,
        "models": {
            task.value: (m.version if (m := models.current(task)) else None)
            for task in models.tasks
        },
        "tasks": models.task_states(internals=False),
    }
    return JSONResponse(body, status_code=200 if models.ready else 503)


@router.get("/metrics", tags=["health"], dependencies=[Depends(allow(Role.CRM, Role.ADMIN))])
def metrics(services: ServicesDep) -> Response:
    """Prometheus text format, from this app's own registry."""
    # Refreshed per scrape, so swaps by the poller show up without a hook into the manager.
    for task in services.models.tasks:
        if (m := services.models.current(task)) is not None:
            services.metrics.set_model(task.value, m.name, m.version, m.source)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/openapi.json", include_in_schema=False, dependencies=[Depends(allow(*ALL_ROLES))])
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document (with examples), for key holders only."""
    return JSONResponse(request.app.openapi())
