"""The reps' pages: "my at-risk customers", "my hot leads", an entity page, CSV downloads.

Lists come from ``serving.api.routers.lists.build_list`` and entities from
``serving.api.routers.entities.read_stored``, the API's own functions with the signed-in rep as
the principal, so a page shows exactly the rows and the owner scope the API would (another
rep's entity is a 404, like a missing one). Times are the service clock's.

No ``from __future__ import annotations`` here: ``_add_routes`` defines each kind's routes in
a closure, and FastAPI must read the kind's own ``tier`` annotation as the functions are made.
"""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from features.contract.tasks import KIND_TASKS, EntityKind
from features.model.tiers import TIER_NAMES
from serving.api.errors import field_error
from serving.api.routers.entities import read_stored
from serving.api.routers.lists import CustomerTiers, LeadTiers, Offset, RankBy, RunId, build_list
from serving.api.schemas.responses import ID_AND_VALUE_NAMES
from serving.store.actions import ActionInputError, RepAction, parse_action
from serving.web import views
from serving.web.forms import read_form, require_csrf
from serving.web.paths import SEGMENT, entity_href
from serving.web.rendering import PAGE_HEADERS, PageRoute, RepPage, RepPageDep, render

router = APIRouter(prefix="/web", route_class=PageRoute, include_in_schema=False)
PAGE_ROWS = 50
HISTORY_RUNS = 12
LIST_PATH: dict[EntityKind, str] = {"customer": "/web/at-risk", "lead": "/web/hot-leads"}
TITLES: dict[EntityKind, str] = {"customer": "My at-risk customers", "lead": "My hot leads"}
VALUE_HEADINGS: dict[EntityKind, str] = {"customer": "Value at risk", "lead": "Expected value"}
ACTION_FIELDS = frozenset({"action", "note"})


def _query(**params: Any) -> str:
    """A query string of ``params`` (lists repeated, None left out)."""
    pairs = [
        (name, v)
        for name, value in params.items()
        if value is not None
        for v in (value if isinstance(value, list) else [value])
    ]
    return urlencode(pairs)


def _read_list(page: RepPage, kind: EntityKind, **query: Any) -> Any:
    """``build_list`` for the signed-in rep, never another owner (``owner`` is not offered)."""
    services = page.services
    task = KIND_TASKS[kind]
    return build_list(
        services.store,
        page.session.principal,
        kind,
        tiers_allowed=TIER_NAMES[task],
        default_tiers=services.settings.default_tiers(task),
        now=services.clock(),
        owner=None,
        min_value=None,
        currency=services.settings.currency,
        **query,
    )


def _list_page(
    request: Request, page: RepPage, kind: EntityKind, query: dict[str, Any]
) -> Response:
    """One page of ``kind``'s list, with links to the next and previous pages of its run."""
    body = _read_list(page, kind, limit=PAGE_ROWS, fmt="json", **query)
    offset, path = query["offset"], LIST_PATH[kind]
    pinned = {"tier": query["tier"], "rank_by": query["rank_by"], "run_id": body["run_id"]}
    more = offset + PAGE_ROWS < body["total"]
    context = {
        "kind": kind,
        "title": TITLES[kind],
        "page": body,
        "id_name": ID_AND_VALUE_NAMES[kind][0],
        "value_name": ID_AND_VALUE_NAMES[kind][1],
        "value_heading": VALUE_HEADINGS[kind],
        "extra_columns": views.extra_columns(body["items"]),
        "tiers_allowed": TIER_NAMES[KIND_TASKS[kind]],
        "tiers_shown": query["tier"] or page.services.settings.default_tiers(KIND_TASKS[kind]),
        "rank_by": query["rank_by"],
        "list_path": path,
        "csv_href": f"{path}.csv?{_query(**pinned)}",
        "next_href": f"{path}?{_query(**pinned, offset=offset + PAGE_ROWS)}" if more else None,
        "previous_href": (
            f"{path}?{_query(**pinned, offset=max(offset - PAGE_ROWS, 0))}" if offset else None
        ),
        "entity_href": entity_href,
    }
    return render(request, "list.html", context, session=page.session)


def _list_csv(page: RepPage, kind: EntityKind, query: dict[str, Any]) -> Response:
    limit = page.services.settings.max_page_size
    response: Response = _read_list(page, kind, limit=limit, offset=0, fmt="csv", **query)
    response.headers["Cache-Control"] = "no-store"
    return response


def _entity_page(
    request: Request,
    page: RepPage,
    kind: EntityKind,
    entity_id: str,
    *,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The entity's page; ``errors`` and ``form`` re-show a refused action form."""
    store = page.services.store
    currency = page.services.settings.currency
    stored = read_stored(store, page.session.principal, kind, entity_id, currency=currency)  # 404
    history = store.history(kind, entity_id, limit=HISTORY_RUNS)
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
        "actions": page.state.actions.for_entity(kind, entity_id),
        "action_choices": list(RepAction),
        "action_href": entity_href(kind, entity_id) + "/actions",
        "list_path": LIST_PATH[kind],
        "list_title": TITLES[kind],
        "errors": errors or [],
        "form": form or {},
        "direction_words": lambda c: views.direction_words(kind, c),
    }
    return render(request, "entity.html", context, status_code=status_code, session=page.session)


async def _record(request: Request, page: RepPage, kind: EntityKind, entity_id: str) -> Response:
    """Read, check and store an action; refusals as described in ``_add_routes``."""
    form = await read_form(request, ACTION_FIELDS)
    session = page.session
    require_csrf(session.csrf_token, form)
    services = page.services
    stored = read_stored(  # 404: not theirs
        services.store, session.principal, kind, entity_id, currency=services.settings.currency
    )
    try:
        page.state.actions.record(
            entity_kind=kind,
            entity_id=entity_id,
            owner_id=stored["owner_id"],
            action=parse_action(form.get("action", "")).value,
            note=form.get("note", ""),
            recorded_at=page.services.clock(),
            recorded_by_key_id=session.principal.key_id,
            recorded_by_owner_id=session.principal.owner_id,
            run_id=stored["run_id"],
            score=stored["score"],
            tier=stored["tier"],
        )
    except ActionInputError as exc:
        errors = [field_error(exc.field, exc.message, "value_error")]
        return _entity_page(
            request, page, kind, entity_id, errors=errors, form=form, status_code=422
        )
    return RedirectResponse(entity_href(kind, entity_id) + "#actions", status_code=303)


@router.get("")
async def home(page: RepPageDep) -> Response:
    """The at-risk list is the reps' start page."""
    return RedirectResponse(LIST_PATH["customer"], status_code=303)


@router.get("/actions.csv")
def actions_csv(page: RepPageDep) -> Response:
    """Every action recorded on the rep's own leads and customers, as CSV."""
    text, _ = page.state.actions.export_csv(owner_id=page.session.principal.owner_id or "")
    headers = {**PAGE_HEADERS, "Content-Disposition": 'attachment; filename="actions.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def _add_routes(kind: EntityKind, tiers: Any) -> None:
    """Register ``kind``'s list page, its CSV, its entity page and its action form."""
    noun = "customer" if kind == "customer" else "lead"

    def list_page(
        request: Request,
        page: RepPageDep,
        tier: tiers = None,
        rank_by: RankBy = "value",
        offset: Offset = 0,
        run_id: RunId = None,
    ) -> Response:
        query = {"tier": tier, "rank_by": rank_by, "offset": offset, "run_id": run_id}
        return _list_page(request, page, kind, query)

    def list_csv(
        page: RepPageDep, tier: tiers = None, rank_by: RankBy = "value", run_id: RunId = None
    ) -> Response:
        return _list_csv(page, kind, {"tier": tier, "rank_by": rank_by, "run_id": run_id})

    def entity_page(request: Request, entity_id: str, page: RepPageDep) -> Response:
        return _entity_page(request, page, kind, entity_id)

    async def record_action(request: Request, entity_id: str, page: RepPageDep) -> Response:
        return await _record(request, page, kind, entity_id)

    list_page.__doc__ = f"{TITLES[kind]}, {PAGE_ROWS} a page, filtered by tier and sorted."
    list_csv.__doc__ = f"{TITLES[kind]} as the API's CSV (its first max_page_size rows)."
    entity_page.__doc__ = f"A {noun} of the rep's book: score, reasons, change, history."
    record_action.__doc__ = (
        f"Record what the rep did about the {noun} (CSRF-checked): 303 back to its page, or "
        "the page again with the error (422) for an unknown action or a note too long."
    )
    path = LIST_PATH[kind].removeprefix("/web")
    router.get(path)(list_page)
    router.get(path + ".csv")(list_csv)
    # Ids may hold "/" ("ACME/2024/12"), as on the API's stored-score routes: the ``path``
    # converter takes them whole, linked as %2F (``entity_href``, decoded before routing) or
    # typed as is. Metrics and logs still name the template (``path_format``), never the id.
    router.get(f"/{SEGMENT[kind]}/{{entity_id:path}}")(entity_page)
    router.post(f"/{SEGMENT[kind]}/{{entity_id:path}}/actions")(record_action)


_add_routes("customer", CustomerTiers)
_add_routes("lead", LeadTiers)


@router.get("/{path:path}")
async def no_such_page(path: str, page: RepPageDep) -> Response:
    """Any other address under ``/web``: a 404 page (registered last, after every page)."""
    raise HTTPException(404, [field_error("path", "no such page", "not_found")])
