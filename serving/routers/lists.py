"""``GET /v1/lists/hot-leads`` and ``GET /v1/lists/at-risk``: the reps' ranked work lists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from features.moments import iso_utc
from features.tasks import Task
from serving.deps import ALL_ROLES, PrincipalDep, SettingsDep, StoreDep, allow
from serving.errors import field_error
from serving.keys import Principal, Role
from serving.openapi import errors
from serving.schemas.fields import MAX_OFFSET
from serving.schemas.responses import (
    ID_AND_VALUE_NAMES,
    AtRiskPageOut,
    HotLeadsPageOut,
)
from serving.spreadsheet import render_csv
from serving.store import EntityKind, ScoreStore, StoredScore, UnknownRun
from serving.tiers import TIER_NAMES

router = APIRouter(prefix="/v1/lists", tags=["lists"])
CanRead = Depends(allow(*ALL_ROLES))

Owners = Annotated[
    list[str] | None,
    Query(alias="owner", description="owner_id(s) to keep (repeat the parameter for several)"),
]


def _tiers(task: Task) -> Any:
    """The repeatable ``tier`` parameter; values are checked in ``build_list`` so that an
    unknown tier is answered with the allowed ones (the enum documents them)."""
    allowed = list(TIER_NAMES[task])
    return Annotated[
        list[str] | None,
        Query(
            alias="tier",
            description=f"tier(s) to keep: {', '.join(allowed)}",
            json_schema_extra={"items": {"type": "string", "enum": allowed}},
        ),
    ]


LeadTiers = _tiers(Task.LEADS)
CustomerTiers = _tiers(Task.CHURN)
MinValue = Annotated[
    float | None,
    Query(ge=0, allow_inf_nan=False, description="keep rows whose weighted value is at least this"),
]
RankBy = Annotated[
    Literal["value", "probability"],
    Query(description="rank by the weighted value (unknown values last) or the probability"),
]
# The maximum is the max_page_size setting, written into the OpenAPI document by serving.openapi.
Limit = Annotated[int, Query(ge=1, description="rows per page (at most max_page_size)")]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (rank of the first row - 1)")
]
Format = Annotated[
    Literal["json", "csv"], Query(description="csv: the same rows as a spreadsheet (UTF-8)")
]
RunId = Annotated[
    str | None,
    Query(
        description="Read this run (the run_id a previous page returned) instead of the "
        "published one, so that every page of a listing comes from the same run. A run "
        "removed by retention (SALESRADAR_KEEP_RUNS) is a 404.",
    ),
]
# CSV has no body field to carry the run read, so it travels in this header.
RUN_ID_HEADER = "X-Run-ID"


def _list_responses(name: str) -> dict[int | str, dict[str, Any]]:
    csv_example = ",".join(CSV_HEADER) + "\r\n"
    return {
        200: {
            "description": "one page of the list (JSON), or all the page's rows as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": csv_example}},
            "headers": {
                "Content-Disposition": {
                    "description": f'CSV only: attachment; filename="{name}.csv"',
                    "schema": {"type": "string"},
                }
            },
        },
        **errors(404, 422),
    }


CSV_HEADER = (
    "rank",
    "entity_id",
    "owner_id",
    "score",
    "probability",
    "tier",
    "value",
    "top_reason",
    "as_of",
)


def _owner_scope(principal: Principal, requested: list[str] | None) -> list[str] | None:
    """Reps always get their own book (intersected with any owner filter they pass)."""
    if principal.role is not Role.REP:
        return requested
    own = [principal.owner_id] if principal.owner_id else []
    return own if requested is None else [o for o in own if o in requested]


def _items(kind: EntityKind, page_items: list[StoredScore], offset: int) -> list[dict[str, Any]]:
    id_name, value_name = ID_AND_VALUE_NAMES[kind]
    return [
        {
            "rank": offset + position + 1,
            id_name: s.entity_id,
            value_name: s.value,
            "entity_id": s.entity_id,
            "owner_id": s.owner_id,
            "probability": s.probability,
            "score": s.score,
            "tier": s.tier,
            "value": s.value,
            "top_reason": s.reasons[0]["text"] if s.reasons else None,
            "as_of": iso_utc(s.as_of),
        }
        for position, s in enumerate(page_items)
    ]


def build_list(
    store: ScoreStore,
    principal: Principal,
    kind: EntityKind,
    *,
    tiers_allowed: tuple[str, ...],
    owner: list[str] | None,
    tier: list[str] | None,
    min_value: float | None,
    rank_by: Literal["value", "probability"],
    limit: int,
    offset: int,
    fmt: str,
    run_id: str | None,
) -> Any:
    """One page of ``kind``'s list for ``principal`` (a rep: own book only), as JSON or CSV.

    ``run_id`` pins the run read (else the published one); the response always names the run
    it read (``run_id`` in JSON, the ``X-Run-ID`` header in CSV). Raises HTTPException 422
    for an unknown tier and 404 naming ``run_id`` (never echoing it) for a run that is not a
    published, kept run. Timestamps are ``iso_utc`` strings.
    """
    unknown = sorted(set(tier or ()) - set(tiers_allowed))
    if unknown:
        message = f"unknown tier; one of {', '.join(tiers_allowed)}"
        raise HTTPException(422, [field_error("tier", message, "enum")])
    try:
        page = store.list_scores(
            kind,
            owner_ids=_owner_scope(principal, owner),
            tiers=tier,
            min_value=min_value,
            rank_by=rank_by,
            limit=limit,
            offset=offset,
            run_id=run_id,
        )
    except UnknownRun:
        message = "no published run has this run_id (it may have been removed by retention)"
        raise HTTPException(404, [field_error("run_id", message, "not_found")]) from None
    items = _items(kind, page.items, offset)
    run_header = {RUN_ID_HEADER: page.run_id} if page.run_id else {}
    if fmt == "csv":
        rows = ([i[c] for c in CSV_HEADER] for i in items)
        name = "hot-leads" if kind == "lead" else "at-risk"
        return Response(
            render_csv(CSV_HEADER, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"', **run_header},
        )
    return {
        "items": items,
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "rank_by": rank_by,
        "run_id": page.run_id,
    }


@router.get(
    "/hot-leads",
    response_model=HotLeadsPageOut,
    dependencies=[CanRead],
    operation_id="listHotLeads",
    responses=_list_responses("hot-leads"),
)
def hot_leads(
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    owner: Owners = None,
    tier: LeadTiers = None,
    min_value: MinValue = None,
    rank_by: RankBy = "value",
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
    run_id: RunId = None,
) -> Any:
    """Leads ranked by expected value (or probability); ``format=csv`` for a spreadsheet."""
    _check_limit(limit, settings.max_page_size)
    return build_list(
        store,
        principal,
        "lead",
        tiers_allowed=TIER_NAMES[Task.LEADS],
        owner=owner,
        tier=tier,
        min_value=min_value,
        rank_by=rank_by,
        limit=limit,
        offset=offset,
        fmt=format,
        run_id=run_id,
    )


@router.get(
    "/at-risk",
    response_model=AtRiskPageOut,
    dependencies=[CanRead],
    operation_id="listAtRisk",
    responses=_list_responses("at-risk"),
)
def at_risk(
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    owner: Owners = None,
    tier: CustomerTiers = None,
    min_value: MinValue = None,
    rank_by: RankBy = "value",
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
    run_id: RunId = None,
) -> Any:
    """Customers ranked by value at risk (or probability); ``format=csv`` for a spreadsheet."""
    _check_limit(limit, settings.max_page_size)
    return build_list(
        store,
        principal,
        "customer",
        tiers_allowed=TIER_NAMES[Task.CHURN],
        owner=owner,
        tier=tier,
        min_value=min_value,
        rank_by=rank_by,
        limit=limit,
        offset=offset,
        fmt=format,
        run_id=run_id,
    )


def _check_limit(limit: int, maximum: int) -> None:
    if limit > maximum:
        raise HTTPException(422, [field_error("limit", f"at most {maximum}", "less_than_equal")])
