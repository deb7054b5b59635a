"""``GET /v1/leads/{id}`` and ``GET /v1/customers/{id}``: the latest stored score and its change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from features.contract.tasks import EntityKind
from features.contract.times import iso_utc
from serving.api.deps import ALL_ROLES, PrincipalDep, ServicesDep, allow
from serving.api.errors import field_error
from serving.api.openapi import errors
from serving.api.rendering import json_response
from serving.api.schemas.responses import ID_AND_VALUE_NAMES, StoredCustomerOut, StoredLeadOut
from serving.scoring.changes import describe_change
from serving.scoring.row_fields import entity_fields
from serving.store.database import ScoreStore
from serving.store.keys import Principal

router = APIRouter(prefix="/v1", tags=["scores"])
CanRead = Depends(allow(*ALL_ROLES))


def read_stored(
    store: ScoreStore, principal: Principal, kind: EntityKind, entity_id: str, *, currency: str
) -> dict[str, Any]:
    """Latest published score; another rep's entity answers exactly like a missing one.

    With the entity's display fields, last order / touch, its value labelled with
    ``currency``, and what changed since its previous score (``serving.scoring.changes``, exact from
    the stored contributions). Raises HTTPException 404 (field ``id``). Timestamps are
    ``iso_utc`` strings.
    """
    latest, previous = store.latest_with_previous(kind, entity_id)
    if latest is None or not principal.can_see(latest.owner_id):
        raise HTTPException(
            404, [field_error("id", f"no published score for this {kind}", "not_found")]
        )
    id_name, value_name = ID_AND_VALUE_NAMES[kind]
    # The route answers with json_response (no response-model pass), so times are written here.
    change = describe_change(
        latest,
        previous,
        latest_detail=store.run_detail(kind, entity_id, latest.run_id),
        previous_detail=None
        if previous is None
        else store.run_detail(kind, entity_id, previous.run_id),
    )
    return {
        id_name: latest.entity_id,
        value_name: latest.value,
        "entity_id": latest.entity_id,
        "owner_id": latest.owner_id,
        "probability": latest.probability,
        "score": latest.score,
        "tier": latest.tier,
        "value": latest.value,
        "reasons": latest.reasons,
        "model": {"name": latest.model_name, "version": latest.model_version},
        "as_of": iso_utc(latest.as_of),
        "published_at": None if latest.published_at is None else iso_utc(latest.published_at),
        "run_id": latest.run_id,
        "change": change,
        **entity_fields(kind, latest, currency),
    }


# Ids are the export's own and may hold "/" ("ACME/2024/12"): the ``path`` converter takes
# them whole, whether sent as is or as %2F (which the server decodes before routing).
# ``async`` on purpose: the only I/O is one primary-key lookup (well under a millisecond on
# SQLite or a nearby PostgreSQL), cheaper to run on the event loop than the thread hops a sync
# route takes for it and for response validation.
@router.get(
    "/leads/{lead_id:path}",
    response_model=StoredLeadOut,
    dependencies=[CanRead],
    operation_id="readLead",
    responses=errors(404),
)
async def read_lead(lead_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    """The lead's latest batch score with reasons, and what changed since the previous one."""
    currency = services.settings.currency
    return json_response(read_stored(services.store, principal, "lead", lead_id, currency=currency))


@router.get(
    "/customers/{customer_id:path}",
    response_model=StoredCustomerOut,
    dependencies=[CanRead],
    operation_id="readCustomer",
    responses=errors(404),
)
async def read_customer(
    customer_id: str, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """The customer's latest batch score with reasons, and what changed since the previous one."""
    currency = services.settings.currency
    return json_response(
        read_stored(services.store, principal, "customer", customer_id, currency=currency)
    )
