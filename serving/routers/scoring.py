"""``POST /v1/leads/score`` and ``POST /v1/customers/score``: online scoring for the CRM."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from features.tasks import Task
from serving.deps import ServicesDep, allow
from serving.errors import field_error
from serving.keys import Role
from serving.online import Failure, score_online
from serving.rendering import json_response
from serving.schemas.requests import (
    CustomerIn,
    EntityIn,
    InvalidEntity,
    LeadIn,
    ScoreCustomersRequest,
    ScoreLeadsRequest,
)
from serving.schemas.responses import ScoreCustomersResponse, ScoreLeadsResponse
from serving.scoring import EntityScore
from serving.services import Services

router = APIRouter(prefix="/v1", tags=["scoring"])
CanScore = Depends(allow(Role.CRM, Role.ADMIN))


def _decide_as_of(services: Services, requested: datetime | None) -> tuple[datetime, datetime]:
    """``as_of`` defaults to the time the request was received; later than that is refused."""
    received_at = services.clock()
    if requested is None:
        return received_at, received_at
    if requested > received_at + timedelta(seconds=services.settings.future_skew_seconds):
        raise HTTPException(422, [field_error("as_of", "is in the future", "future_timestamp")])
    return requested, received_at


def _check_load(services: Services, task: Task, items: Sequence[Any], collection: str) -> None:
    if services.models.current(task) is None:
        raise HTTPException(503, [field_error("", f"no verified {task} model loaded", "not_ready")])
    events = sum(len(i.events) for i in items if isinstance(i, EntityIn))
    limit = services.settings.max_events_per_request
    if events > limit:
        message = f"{events} events in total; at most {limit} per request"
        raise HTTPException(422, [field_error(collection, message, "too_many_events")])


def _render(
    services: Services,
    task: Task,
    items: Sequence[EntityIn | InvalidEntity],
    results: Sequence[EntityScore | Failure],
    as_of: datetime,
) -> list[dict[str, Any]]:
    served = services.models.current(task)
    assert served is not None
    model = {"name": served.name, "version": served.version}
    out: list[dict[str, Any]] = []
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if isinstance(result, Failure):
            errors = [{"field": f, "message": m} for f, m in result.errors]
            out.append(
                {"status": "error", "index": index, "entity_id": result.entity_id, "errors": errors}
            )
            continue
        assert isinstance(item, EntityIn)
        body = {
            "status": "scored",
            "owner_id": item.owner_id,
            "probability": result.probability,
            "score": result.score,
            "tier": result.tier,
            "reasons": result.reasons,
            "model": model,
            "as_of": as_of,
        }
        if isinstance(item, LeadIn):
            body |= {
                "lead_id": result.entity_id,
                "expected_value": result.value,
                "deal_value": item.expected_value,
            }
        else:
            assert isinstance(item, CustomerIn)
            body |= {
                "customer_id": result.entity_id,
                "value_at_risk": result.value,
                "annual_value": item.annual_value,
            }
        out.append(body)
    services.metrics.count_tiers(
        task.value, (r.tier for r in results if isinstance(r, EntityScore))
    )
    failures = sum(isinstance(r, Failure) for r in results)
    if failures:
        services.metrics.entity_errors.labels(task=task.value).inc(failures)
    return out


# The scoring routes are ``async`` on purpose: their work is CPU-bound numpy/LightGBM with no
# I/O, so a worker thread would buy no concurrency (the GIL), only two thread hops per request,
# which cost more than the scoring itself for one entity on a loaded machine.
@router.post("/leads/score", response_model=ScoreLeadsResponse, dependencies=[CanScore])
async def score_leads(body: ScoreLeadsRequest, services: ServicesDep) -> Response:
    """Score 1 to 1,000 leads from their attributes and events, as of ``as_of``."""
    as_of, received_at = _decide_as_of(services, body.as_of)
    _check_load(services, Task.LEADS, body.leads, "leads")
    results = score_online(
        services, Task.LEADS, body.leads, as_of=as_of, received_at=received_at, collection="leads"
    )
    rendered = _render(services, Task.LEADS, body.leads, results, as_of)
    return json_response({"as_of": as_of, "results": rendered})


@router.post("/customers/score", response_model=ScoreCustomersResponse, dependencies=[CanScore])
async def score_customers(body: ScoreCustomersRequest, services: ServicesDep) -> Response:
    """Score 1 to 1,000 customers' risk of leaving (explicitly or silently), as of ``as_of``."""
    as_of, received_at = _decide_as_of(services, body.as_of)
    _check_load(services, Task.CHURN, body.customers, "customers")
    results = score_online(
        services,
        Task.CHURN,
        body.customers,
        as_of=as_of,
        received_at=received_at,
        collection="customers",
    )
    rendered = _render(services, Task.CHURN, body.customers, results, as_of)
    return json_response({"as_of": as_of, "results": rendered})
