"""``GET /v1/lists/hot-leads`` and ``GET /v1/lists/at-risk``: the reps' ranked work lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from features.contract.tasks import KIND_TASKS, EntityKind, Task
from features.contract.times import iso_utc
from features.model.tiers import TIER_NAMES
from serving.api.deps import ALL_ROLES, PrincipalDep, ServicesDep, allow
from serving.api.errors import field_error
from serving.api.openapi import errors
from serving.api.schemas.fields import MAX_OFFSET
from serving.api.schemas.responses import ID_AND_VALUE_NAMES, AtRiskPageOut, HotLeadsPageOut
from serving.scoring.row_fields import LAST_ACTIVITY_NAMES, VALUE_LABELS, entity_fields
from serving.scoring.spreadsheet import render_csv
from serving.store.database import ListedScore, ScoreStore, UnknownRun
from serving.store.keys import Principal, Role

router = APIRouter(prefix="/v1/lists", tags=["lists"])
CanRead = Depends(allow(*ALL_ROLES))

Owners = Annotated[
    list[str] | None,
    Query(
        alias="owner",
        description="owner_id(s) to keep (repeat the parameter for several); a rep key may "
        "name only its own owner_id (403 otherwise)",
    ),
]


def _tier_query(task: Task) -> Any:
    """The repeatable ``tier`` parameter; values are checked in ``build_list`` so that an
    unknown tier is answered with the allowed ones (the enum documents them)."""
    allowed = list(TIER_NAMES[task])
    return Query(
        alias="tier",
        description=f"tier(s) to keep: {', '.join(allowed)} (default: the "
        "SALESRADAR_HOT_LEADS_DEFAULT_TIERS / SALESRADAR_AT_RISK_DEFAULT_TIERS setting, "
        "hot and warm leads, high- and medium-risk customers)",
        json_schema_extra={"items": {"type": "string", "enum": allowed}},
    )


LeadTiers = Annotated[list[str] | None, _tier_query(Task.LEADS)]
CustomerTiers = Annotated[list[str] | None, _tier_query(Task.CHURN)]
MinValue = Annotated[
    float | None,
    Query(ge=0, allow_inf_nan=False, description="keep rows whose weighted value is at least this"),
]
RankBy = Annotated[
    Literal["value", "probability"],
    Query(description="rank by the weighted value (unknown values last) or the probability"),
]
# The maximum is the max_page_size setting, written into the OpenAPI document by
# serving.api.openapi.
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
# CSV has no body field to carry the run read (nor its freshness), so they travel in headers.
RUN_ID_HEADER = "X-Run-ID"
PUBLISHED_AT_HEADER = "X-Published-At"
AS_OF_AGE_HEADER = "X-As-Of-Age-Days"
# What a positive / negative contribution does, in words, per list.
DIRECTION_WORDS: dict[EntityKind, tuple[str, str]] = {
    "customer": ("raises risk", "lowers risk"),
    "lead": ("raises the chance to buy", "lowers the chance to buy"),
}


def _list_responses(kind: EntityKind) -> dict[int | str, dict[str, Any]]:
    name = LIST_NAMES[kind]
    csv_example = ",".join(csv_header(kind)) + "\r\n"
    return {
        200: {
            "description": "one page of the list (JSON), or all the page's rows as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": csv_example}},
            "headers": {
                "Content-Disposition": {
                    "description": f'CSV only: attachment; filename="{name}.csv"',
                    "schema": {"type": "string"},
                },
                RUN_ID_HEADER: {
                    "description": "CSV only: the run read (null in JSON's run_id: absent)",
                    "schema": {"type": "string"},
                },
                PUBLISHED_AT_HEADER: {
                    "description": "CSV only: when the run read was published (ISO 8601 UTC)",
                    "schema": {"type": "string", "format": "date-time"},
                },
                AS_OF_AGE_HEADER: {
                    "description": "CSV only: whole days from the run's as_of to the request",
                    "schema": {"type": "integer"},
                },
            },
        },
        **errors(404, 409, 422),
    }


LIST_NAMES: dict[EntityKind, str] = {"lead": "hot-leads", "customer": "at-risk"}
# The first release's columns, unchanged for the spreadsheets built on them (``probability``
# and ``value`` unrounded; ``top_reason`` is now the strongest reason for the score).
LEGACY_CSV_HEADER = (
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


PROBABILITY_DECIMALS = 3  # CSV: enough to rank by, without 17 digits of noise


def csv_header(
    kind: EntityKind, *, currency: str = "", display: Sequence[str] = ()
) -> tuple[str, ...]:
    """The CSV columns of ``kind``'s list: the legacy ones, the labelled, rounded ones, then
    the value labelled with ``currency`` ("Value at risk (EUR)"), the last order / touch and
    one column per display field (named as in the export; ``display_<name>`` when that name is
    taken)."""
    _, value_name = ID_AND_VALUE_NAMES[kind]
    fixed = (
        *LEGACY_CSV_HEADER,
        "probability_rounded",
        f"{value_name}_rounded",
        "reason_for",
        "reason_for_direction",
        "reason_against",
        "reason_against_direction",
        "score_delta",
        "new_in_tier",
    )
    last_name, _ = LAST_ACTIVITY_NAMES[kind]
    labelled = (f"{VALUE_LABELS[kind]} ({currency or 'currency'})", last_name)
    taken = {*fixed, *labelled}
    shown = tuple(f"display_{d}" if d in taken else d for d in display)
    return (*fixed, *labelled, *shown)


# A rep naming another owner used to get an empty page, as if that book were empty: refused.
OTHER_OWNER = "a rep key reads only its own book; other owners are for crm and admin keys"


def _owner_scope(principal: Principal, requested: list[str] | None) -> list[str] | None:
    """The owner ids a list page keeps: ``requested`` (None: every owner) for crm and admin
    keys; a rep's own book, which ``owner`` may name. Raises HTTPException 403 (field
    ``owner``, type ``forbidden_owner``) when a rep key's ``owner`` names anyone else."""
    if principal.role is not Role.REP:
        return requested
    own = [principal.owner_id] if principal.owner_id else []
    if requested is not None and set(requested) - set(own):
        raise HTTPException(403, [field_error("owner", OTHER_OWNER, "forbidden_owner")])
    return own


def directed_reasons(
    kind: EntityKind, reasons: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The first stored reason for the score and the first against it.

    ``reasons`` are the stored signed reasons in the order shown: actionable ones first, then
    background ones, strongest (largest absolute log-odds contribution) first in each group
    (``features.model.reasons``). "For" is the first with a positive contribution (it raises the
    risk / the chance to buy), "against" the first with a negative one; either is None when
    no stored reason has that sign (a contribution of exactly 0 is neither). Each is
    ``{feature, text, contribution, direction, background}``, the direction in words;
    ``background`` is false for reasons stored before it was recorded.
    """
    raises, lowers = DIRECTION_WORDS[kind]
    found: dict[bool, dict[str, Any]] = {}
    for reason in reasons:
        contribution = float(reason["contribution"])
        if contribution != 0.0 and (contribution > 0) not in found:
            found[contribution > 0] = {
                "feature": reason["feature"],
                "text": reason["text"],
                "contribution": contribution,
                "direction": raises if contribution > 0 else lowers,
                "background": bool(reason.get("background", False)),
            }
    return found.get(True), found.get(False)


def _items(
    kind: EntityKind,
    page_items: list[ListedScore],
    offset: int,
    *,
    has_previous: bool,
    currency: str,
) -> list[dict[str, Any]]:
    id_name, value_name = ID_AND_VALUE_NAMES[kind]
    items = []
    for position, s in enumerate(page_items):
        reason_for, reason_against = directed_reasons(kind, s.reasons)
        delta = None if s.previous_score is None else s.score - s.previous_score
        items.append(
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
                "reason_for": reason_for,
                "reason_against": reason_against,
                "top_reason": None if reason_for is None else reason_for["text"],
                "score_delta": delta,
                # Without any previous run there is nothing to be new against: null.
                "new_in_tier": (s.previous_tier != s.tier) if has_previous else None,
                "as_of": iso_utc(s.as_of),
                **entity_fields(kind, s, currency),
            }
        )
    return items


def _csv_row(kind: EntityKind, item: dict[str, Any], display: Sequence[str]) -> list[object]:
    """``item`` in ``csv_header``'s order: probability to ``PROBABILITY_DECIMALS``, the
    weighted value to whole currency units (half to even), each reason beside its direction in
    words, then the ``display`` fields (empty where the row has none)."""
    _, value_name = ID_AND_VALUE_NAMES[kind]
    last_name, _ = LAST_ACTIVITY_NAMES[kind]
    value = item[value_name]
    amount = None if item["money"] is None else item["money"]["amount"]
    shown = item["display"] or {}
    reason_for = item["reason_for"] or {}
    reason_against = item["reason_against"] or {}
    return [
        *(item[c] for c in LEGACY_CSV_HEADER),
        round(item["probability"], PROBABILITY_DECIMALS),
        None if value is None else round(value),
        reason_for.get("text"),
        reason_for.get("direction"),
        reason_against.get("text"),
        reason_against.get("direction"),
        item["score_delta"],
        item["new_in_tier"],
        amount,
        item[last_name],
        *(shown.get(d) for d in display),
    ]


def as_of_age_days(as_of: datetime, now: datetime) -> int:
    """Whole days from ``as_of`` to ``now`` (both naive UTC), rounded down; negative when
    ``as_of`` lies after ``now``."""
    return (now - as_of).days


def build_list(
    store: ScoreStore,
    principal: Principal,
    kind: EntityKind,
    *,
    tiers_allowed: tuple[str, ...],
    default_tiers: tuple[str, ...],
    now: datetime,
    owner: list[str] | None,
    tier: list[str] | None,
    min_value: float | None,
    rank_by: Literal["value", "probability"],
    limit: int,
    offset: int,
    fmt: str,
    run_id: str | None,
    currency: str,
) -> Any:
    """One page of ``kind``'s list for ``principal`` (a rep: own book only), as JSON or CSV.

    ``run_id`` pins the run read (else the published one); the response always names the run
    it read (``run_id`` in JSON, the ``X-Run-ID`` header in CSV), when that run was published
    and how old its ``as_of`` is at ``now`` (the request's clock, naive UTC). Without a
    ``tier`` filter the list holds ``default_tiers``. Money is labelled with ``currency`` (the
    ISO 4217 code of the export's values). Raises HTTPException 422
    for an unknown tier, 404 naming ``run_id`` (never echoing it) for a run that is not a
    published, kept run, and 409 naming ``run_id`` when the run read holds no score of
    ``kind`` at all (its batch run did not score that task). Timestamps are ``iso_utc`` strings.
    """
    unknown = sorted(set(tier or ()) - set(tiers_allowed))
    if unknown:
        message = f"unknown tier; one of {', '.join(tiers_allowed)}"
        raise HTTPException(422, [field_error("tier", message, "enum")])
    try:
        page = store.list_scores(
            kind,
            owner_ids=_owner_scope(principal, owner),
            tiers=tier or default_tiers,
            min_value=min_value,
            rank_by=rank_by,
            limit=limit,
            offset=offset,
            run_id=run_id,
        )
    except UnknownRun:
        message = "no published run has this run_id (it may have been removed by retention)"
        raise HTTPException(404, [field_error("run_id", message, "not_found")]) from None
    if page.run_id is not None and page.total == 0 and not store.run_scored(page.run_id, kind):
        # An empty list would read as "nobody at risk" when the run never scored the task.
        task = KIND_TASKS[kind]
        message = f"the run read has no {task} scores (its batch run did not score {task})"
        raise HTTPException(409, [field_error("run_id", message, "task_not_scored")])
    items = _items(
        kind,
        page.items,
        offset,
        has_previous=page.previous_run_id is not None,
        currency=currency,
    )
    published_at = None if page.published_at is None else iso_utc(page.published_at)
    age = None if page.as_of is None else as_of_age_days(page.as_of, now)
    if fmt == "csv":
        run_headers = (
            {
                RUN_ID_HEADER: page.run_id,
                PUBLISHED_AT_HEADER: published_at,
                AS_OF_AGE_HEADER: str(age),
            }
            if page.run_id and published_at is not None and age is not None
            else {}
        )
        # A run stores the same display fields on every row of a kind: the first row's name them.
        display = list(items[0]["display"] or {}) if items else []
        rows = (_csv_row(kind, i, display) for i in items)
        header = csv_header(kind, currency=currency, display=display)
        return Response(
            render_csv(header, rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{LIST_NAMES[kind]}.csv"',
                **run_headers,
            },
        )
    return {
        "published_at": published_at,
        "as_of_age_days": age,
        "previous_run_id": page.previous_run_id,
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
    responses=_list_responses("lead"),
)
def hot_leads(
    services: ServicesDep,
    principal: PrincipalDep,
    owner: Owners = None,
    tier: LeadTiers = None,
    min_value: MinValue = None,
    rank_by: RankBy = "value",
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
    run_id: RunId = None,
) -> Any:
    """Hot and warm leads (by default; ``tier`` asks for any) ranked by expected value (or
    probability), each with its reasons for and against and its change since the previous
    published run; ``format=csv`` for a spreadsheet."""
    _check_limit(limit, services.settings.max_page_size)
    return build_list(
        services.store,
        principal,
        "lead",
        tiers_allowed=TIER_NAMES[Task.LEADS],
        default_tiers=services.settings.default_tiers(Task.LEADS),
        now=services.clock(),
        owner=owner,
        tier=tier,
        min_value=min_value,
        rank_by=rank_by,
        limit=limit,
        offset=offset,
        fmt=format,
        run_id=run_id,
        currency=services.settings.currency,
    )


@router.get(
    "/at-risk",
    response_model=AtRiskPageOut,
    dependencies=[CanRead],
    operation_id="listAtRisk",
    responses=_list_responses("customer"),
)
def at_risk(
    services: ServicesDep,
    principal: PrincipalDep,
    owner: Owners = None,
    tier: CustomerTiers = None,
    min_value: MinValue = None,
    rank_by: RankBy = "value",
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
    run_id: RunId = None,
) -> Any:
    """High- and medium-risk customers (by default; ``tier`` asks for any) ranked by value at
    risk (or probability), each with its reasons for and against and its change since the
    previous published run; ``format=csv`` for a spreadsheet."""
    _check_limit(limit, services.settings.max_page_size)
    return build_list(
        services.store,
        principal,
        "customer",
        tiers_allowed=TIER_NAMES[Task.CHURN],
        default_tiers=services.settings.default_tiers(Task.CHURN),
        now=services.clock(),
        owner=owner,
        tier=tier,
        min_value=min_value,
        rank_by=rank_by,
        limit=limit,
        offset=offset,
        fmt=format,
        run_id=run_id,
        currency=services.settings.currency,
    )


def _check_limit(limit: int, maximum: int) -> None:
    if limit > maximum:
        raise HTTPException(422, [field_error("limit", f"at most {maximum}", "less_than_equal")])
