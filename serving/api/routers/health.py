"""Health probes (no key needed) and ``/metrics`` (key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.api.deps import ModelDep, ServicesDep, allow
from serving.api.query_parameters import reject_unknown_query_parameters
from serving.api.schemas.responses import LiveOut, ReadyOut
from serving.store.keys import Role

router = APIRouter()
_EXPOSITION_EXAMPLE = (
    "# HELP salesradar_http_requests_total HTTP requests answered\n"
    "# TYPE salesradar_http_requests_total counter\n"
    'salesradar_http_requests_total{method="GET",route="/v1/models",status="200"} 3.0\n'
)


@router.get(
    "/health/live",
    tags=["health"],
    response_model=LiveOut,
    operation_id="live",
    dependencies=[Depends(reject_unknown_query_parameters)],
)
async def live() -> dict[str, str]:
    """The process answers. Depends on nothing external, on purpose.

    ``async`` (as is ``ready``): answered on the event loop, so a thread pool full of slow
    requests cannot keep the probes from answering."""
    return {"status": "live"}


@router.get(
    "/health/ready",
    tags=["health"],
    response_model=ReadyOut,
    operation_id="ready",
    responses={503: {"model": ReadyOut, "description": "not ready (same body, with why)"}},
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


@router.get(
    "/metrics",
    tags=["health"],
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {
                CONTENT_TYPE_LATEST: {"schema": {"type": "string"}, "example": _EXPOSITION_EXAMPLE}
            },
        }
    },
    dependencies=[Depends(allow(Role.CRM, Role.ADMIN))],
)
def metrics(services: ServicesDep) -> Response:
    """Prometheus text format, from this app's own registry."""
    text = services.metrics.exposition(services.models, services.store, now=services.clock())
    return Response(text, media_type=CONTENT_TYPE_LATEST)
