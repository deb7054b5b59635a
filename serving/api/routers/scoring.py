"""``POST /v1/leads/score`` and ``POST /v1/customers/score``: online scoring for the CRM."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from features.contract.tasks import Task
from features.contract.times import iso_utc
from serving.api.deps import JsonBody, ServicesDep, allow
from serving.api.errors import field_error
from serving.api.openapi import errors
from serving.api.rendering import json_response
from serving.api.schemas.requests import (
    CustomerIn,
    EntityIn,
    InvalidEntity,
    LeadIn,
    ScoreCustomersRequest,
    ScoreLeadsRequest,
)
from serving.api.schemas.responses import ScoreCustomersResponse, ScoreLeadsResponse
from serving.api.services import Services
from serving.champions.served import ServedModel
from serving.scoring.entity_scores import EntityScore
from serving.scoring.request_scoring import (
    Failure,
    check_as_of,
    entity_warnings,
    score_online,
)
from serving.store.keys import Role

router = APIRouter(prefix="/v1", tags=["scoring"])
CanScore = Depends(allow(Role.CRM, Role.ADMIN))


def _decide_as_of(services: Services, requested: datetime | None) -> tuple[datetime, datetime]:
    """``as_of`` defaults to the time the request was received; later than that is refused."""
    received_at = services.clock()
    if requested is None:
        return received_at, received_at
    skew = timedelta(seconds=services.settings.future_skew_seconds)
    if errors := check_as_of(requested, received_at=received_at, skew=skew):
        raise HTTPException(422, [field_error(*error) for error in errors])
    return requested, received_at


def _check_load(
    services: Services, task: Task, items: Sequence[Any], collection: str
) -> ServedModel:
    """The model to score with (read once per request), after the request's size checks."""
    served = services.models.current(task)
    if served is None:
        reason = services.models.unavailable_reason(task)
        raise HTTPException(503, [field_error("", reason, "not_ready")])
    events = sum(len(i.events) for i in items if isinstance(i, EntityIn))
    limit = services.settings.max_events_per_request
    if events > limit:
        message = f"{events} events in total; at most {limit} per request"
        raise HTTPException(422, [field_error(collection, message, "too_many_events")])
    return served


def _render(
    services: Services,
    served: ServedModel,
    items: Sequence[EntityIn | InvalidEntity],
    results: Sequence[EntityScore | Failure],
    as_of: datetime,
) -> list[dict[str, Any]]:
    task = served.task
    as_of_text = iso_utc(as_of)
    model = {"name": served.name, "version": served.version}
    out: list[dict[str, Any]] = []
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if isinstance(result, Failure):
            out.append(
                {
                    "status": "error",
                    "index": index,
                    "entity_id": result.entity_id,
                    "errors": result.error_bodies(),
                }
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
            "warnings": entity_warnings(served, item, as_of=as_of),
            "model": model,
            "as_of": as_of_text,
        }
        if isinstance(item, LeadIn):
            body |= {
                "lead_id": result.entity_id,
                "expected_value": result.value,
                "deal_value": item.deal_size,
            }
        else:
            assert isinstance(item, CustomerIn)
            body |= {
                "customer_id": result.entity_id,
                "value_at_risk": result.value,
                "annual_value": item.annual_value,
            }
        out.append(body)
    services.metrics.observe_scores(
        task.value, ((r.tier, r.score) for r in results if isinstance(r, EntityScore))
    )
    failures = sum(isinstance(r, Failure) for r in results)
    if failures:
        services.metrics.entity_errors.labels(task=task.value).inc(failures)
    return out


# Up to this many entities a request is scored on the event loop: the work is CPU-bound numpy
# and LightGBM, so a worker thread would buy nothing but two thread hops, which cost more than
# scoring one entity. Larger requests (~0.1 ms of work per entity) move to a worker thread, one
# at a time, so that health checks and small requests are answered while they run (NumPy and
# LightGBM release the GIL for much of the work; Python hands it over every few ms otherwise).
INLINE_ENTITIES = 32
_LARGE_REQUESTS = anyio.CapacityLimiter(1)


async def _score_and_render(
    services: Services,
    task: Task,
    items: Sequence[EntityIn | InvalidEntity],
    *,
    requested_as_of: datetime | None,
    collection: str,
) -> Response:
    as_of, received_at = _decide_as_of(services, requested_as_of)
    served = _check_load(services, task, items, collection)

    def work() -> Response:
        results = score_online(
            services, served, items, as_of=as_of, received_at=received_at, collection=collection
        )
        rendered = _render(services, served, items, results, as_of)
        return json_response({"as_of": iso_utc(as_of), "results": rendered})

    if len(items) <= INLINE_ENTITIES:
        return work()
    return await anyio.to_thread.run_sync(work, limiter=_LARGE_REQUESTS)


@router.post(
    "/leads/score",
    response_model=ScoreLeadsResponse,
    dependencies=[CanScore, JsonBody],
    operation_id="scoreLeads",
    responses=errors(503),
)
async def score_leads(body: ScoreLeadsRequest, services: ServicesDep) -> Response:
    """Score 1 to 1,000 leads from their attributes and events, as of ``as_of``."""
    return await _score_and_render(
        services, Task.LEADS, body.leads, requested_as_of=body.as_of, collection="leads"
    )


@router.post(
    "/customers/score",
    response_model=ScoreCustomersResponse,
    dependencies=[CanScore, JsonBody],
    operation_id="scoreCustomers",
    responses=errors(503),
)
async def score_customers(body: ScoreCustomersRequest, services: ServicesDep) -> Response:
    """Score 1 to 1,000 customers' risk of leaving (explicitly or silently), as of ``as_of``."""
    return await _score_and_render(
        services, Task.CHURN, body.customers, requested_as_of=body.as_of, collection="customers"
    )
