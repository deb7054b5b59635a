"""The reps' pages: "my at-risk customers", "my hot leads", an entity page, CSV downloads.

Lists come from ``serving.routers.lists.build_list`` and entities from
``serving.routers.entities.read_stored``, the API's own functions with the signed-in rep as
the principal, so a page shows exactly the rows and the owner scope the API would (another
rep's entity is a 404, like a missing one). Times are the service clock's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from features.tasks import Task
from serving.actions import ActionInputError, RepAction, parse_action
from serving.deps import ServicesDep
from serving.errors import field_error
from serving.routers.entities import read_stored
from serving.routers.lists import CustomerTiers, LeadTiers, Offset, RankBy, RunId, build_list
from serving.schemas.responses import ID_AND_VALUE_NAMES
from serving.store import EntityKind
from serving.tiers import TIER_NAMES
from serving.web import views
from serving.web.forms import read_form, require_csrf
from serving.web.rendering import PAGE_HEADERS, PageRoute, SessionDep, WebStateDep, render

router = APIRouter(prefix="/web", route_class=PageRoute, include_in_schema=False)
PAGE_ROWS = 50
HISTORY_RUNS = 12
SEGMENT: dict[EntityKind, str] = {"customer": "customers", "lead": "leads"}
TASK: dict[EntityKind, Task] = {"customer": Task.CHURN, "lead": Task.LEADS}
LIST_PATH: dict[EntityKind, str] = {"customer": "/web/at-risk", "lead": "/web/hot-leads"}
TITLES: dict[EntityKind, str] = {"customer": "My at-risk customers", "lead": "My hot leads"}
VALUE_HEADINGS: dict[EntityKind, str] = {"customer": "Value at risk", "lead": "Expected value"}
ACTION_FIELDS = frozenset({"action", "note"})


def entity_href(kind: EntityKind, entity_id: str) -> str:
    """The entity page's path (the id percent-encoded, so any id is one path segment)."""
    return f"/web/{SEGMENT[kind]}/{quote(entity_id, safe='')}"


def _query(**params: Any) -> str:
    pairs = [
        (k, v)
        for k, value in params.items()
        if value is not None
        for v in (value if isinstance(value, list) else [value])
    ]
    return urlencode(pairs)


def _list_page(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    kind: EntityKind,
    tier: list[str] | None,
    rank_by: str,
    offset: int,
    run_id: str | None,
) -> Response:
    task = TASK[kind]
    default_tiers = services.settings.default_tiers(task)
    page = build_list(
        services.store,
        session.principal,
        kind,
        tiers_allowed=TIER_NAMES[task],
        default_tiers=default_tiers,
        now=services.clock(),
        owner=None,
        tier=tier,
        min_value=None,
        rank_by=rank_by,  # type: ignore[arg-type]
        limit=PAGE_ROWS,
        offset=offset,
        fmt="json",
        run_id=run_id,
    )
    pinned = {"tier": tier, "rank_by": rank_by, "run_id": page["run_id"]}
    previous = max(offset - PAGE_ROWS, 0)
    context = {
        "kind": kind,
        "title": TITLES[kind],
        "page": page,
        "id_name": ID_AND_VALUE_NAMES[kind][0],
        "value_name": ID_AND_VALUE_NAMES[kind][1],
        "value_heading": VALUE_HEADINGS[kind],
        "extra_columns": views.extra_columns(page["items"]),
        "tiers_allowed": TIER_NAMES[task],
        "tiers_shown": tier or list(default_tiers),
        "rank_by": rank_by,
        "list_path": LIST_PATH[kind],
        "csv_href": f"{LIST_PATH[kind]}.csv?{_query(**pinned)}",
        "next_href": (
            f"{LIST_PATH[kind]}?{_query(**pinned, offset=offset + PAGE_ROWS)}"
            if offset + PAGE_ROWS < page["total"]
            else None
        ),
        "previous_href": (
            f"{LIST_PATH[kind]}?{_query(**pinned, offset=previous)}" if offset > 0 else None
        ),
        "entity_href": entity_href,
    }
    return render(request, "list.html", context, session=session)


def _list_csv(
    services: ServicesDep,
    session: SessionDep,
    kind: EntityKind,
    tier: list[str] | None,
    rank_by: str,
    run_id: str | None,
) -> Response:
    task = TASK[kind]
    response: Response = build_list(
        services.store,
        session.principal,
        kind,
        tiers_allowed=TIER_NAMES[task],
        default_tiers=services.settings.default_tiers(task),
        now=services.clock(),
        owner=None,
        tier=tier,
        min_value=None,
        rank_by=rank_by,  # type: ignore[arg-type]
        limit=services.settings.max_page_size,
        offset=0,
        fmt="csv",
        run_id=run_id,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("")
async def home(session: SessionDep) -> Response:
    """The at-risk list is the reps' start page."""
    return RedirectResponse(LIST_PATH["customer"], status_code=303)


@router.get("/at-risk")
def at_risk_page(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    tier: CustomerTiers = None,
    rank_by: RankBy = "value",
    offset: Offset = 0,
    run_id: RunId = None,
) -> Response:
    """The rep's at-risk customers, ``PAGE_ROWS`` a page, filtered by tier and sorted."""
    return _list_page(request, services, session, "customer", tier, rank_by, offset, run_id)


@router.get("/hot-leads")
def hot_leads_page(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    tier: LeadTiers = None,
    rank_by: RankBy = "value",
    offset: Offset = 0,
    run_id: RunId = None,
) -> Response:
    """The rep's hot leads, ``PAGE_ROWS`` a page, filtered by tier and sorted."""
    return _list_page(request, services, session, "lead", tier, rank_by, offset, run_id)


@router.get("/at-risk.csv")
def at_risk_csv(
    services: ServicesDep,
    session: SessionDep,
    tier: CustomerTiers = None,
    rank_by: RankBy = "value",
    run_id: RunId = None,
) -> Response:
    """The at-risk list as the API's CSV (first ``max_page_size`` rows, same filters)."""
    return _list_csv(services, session, "customer", tier, rank_by, run_id)


@router.get("/hot-leads.csv")
def hot_leads_csv(
    services: ServicesDep,
    session: SessionDep,
    tier: LeadTiers = None,
    rank_by: RankBy = "value",
    run_id: RunId = None,
) -> Response:
    """The hot-lead list as the API's CSV (first ``max_page_size`` rows, same filters)."""
    return _list_csv(services, session, "lead", tier, rank_by, run_id)


def _entity_page(
    request: Request,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
    kind: EntityKind,
    entity_id: str,
    *,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    stored = read_stored(services.store, session.principal, kind, entity_id)  # 404: not theirs
    history = services.store.history(kind, entity_id, limit=HISTORY_RUNS)
    reasons = [
        {**r, "direction": views.direction_words(kind, float(r["contribution"]))}
        for r in stored["reasons"]
    ]
    context = {
        "kind": kind,
        "entity": stored,
        "entity_id": entity_id,
        "value_heading": VALUE_HEADINGS[kind],
        "reasons": reasons,
        "change": stored["change"],
        "spark": views.sparkline([h.score for h in reversed(history)]),
        "actions": state.actions.for_entity(kind, entity_id),
        "action_choices": list(RepAction),
        "action_href": entity_href(kind, entity_id) + "/actions",
        "list_path": LIST_PATH[kind],
        "list_title": TITLES[kind],
        "errors": errors or [],
        "form": form or {},
        "direction_words": lambda c: views.direction_words(kind, c),
    }
    return render(request, "entity.html", context, status_code=status_code, session=session)


@router.get("/customers/{entity_id}")
def customer_page(
    request: Request,
    entity_id: str,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
) -> Response:
    """A customer of the rep's book: score, tier, reasons, what changed, history, actions."""
    return _entity_page(request, services, state, session, "customer", entity_id)


@router.get("/leads/{entity_id}")
def lead_page(
    request: Request,
    entity_id: str,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
) -> Response:
    """A lead of the rep's book: score, tier, reasons, what changed, history, actions."""
    return _entity_page(request, services, state, session, "lead", entity_id)


async def _record(
    request: Request,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
    kind: EntityKind,
    entity_id: str,
) -> Response:
    form = await read_form(request, ACTION_FIELDS)
    require_csrf(session.csrf_token, form)
    stored = read_stored(services.store, session.principal, kind, entity_id)  # 404: not theirs
    try:
        if "action" not in form:
            parse_action("")  # the one "unknown action; one of ..." message
        state.actions.record(
            entity_kind=kind,
            entity_id=entity_id,
            owner_id=stored["owner_id"],
            action=form["action"],
            note=form.get("note", ""),
            recorded_at=services.clock(),
            recorded_by_key_id=session.principal.key_id,
            recorded_by_owner_id=session.principal.owner_id,
            run_id=stored["run_id"],
            score=stored["score"],
            tier=stored["tier"],
        )
    except ActionInputError as exc:
        errors = [field_error(exc.field, exc.message, "value_error")]
        return _entity_page(
            request,
            services,
            state,
            session,
            kind,
            entity_id,
            errors=errors,
            form=form,
            status_code=422,
        )
    return RedirectResponse(entity_href(kind, entity_id) + "#actions", status_code=303)


@router.post("/customers/{entity_id}/actions")
async def record_customer_action(
    request: Request,
    entity_id: str,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
) -> Response:
    """Record what the rep did about the customer (CSRF-checked); 303 back to its page, or
    the page again with the error (422) for an unknown action or a note too long."""
    return await _record(request, services, state, session, "customer", entity_id)


@router.post("/leads/{entity_id}/actions")
async def record_lead_action(
    request: Request,
    entity_id: str,
    services: ServicesDep,
    state: WebStateDep,
    session: SessionDep,
) -> Response:
    """Record what the rep did about the lead (CSRF-checked); as for customers."""
    return await _record(request, services, state, session, "lead", entity_id)


@router.get("/actions.csv")
def actions_csv(state: WebStateDep, session: SessionDep) -> Response:
    """Every action recorded on the rep's own leads and customers, as CSV."""
    text, _ = state.actions.export_csv(owner_id=session.principal.owner_id or "")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": 'attachment; filename="actions.csv"',
        },
    )
