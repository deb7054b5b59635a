"""Templates, page state and errors rendered as pages for the reps' routes.

``PageRoute`` makes every ``/web`` route answer its errors as an HTML page with the same
status and the same ``{field, message}`` items the API would send as JSON, so a bad filter or
form is a readable page, never a JSON body nor a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from serving.api.authentication import AnonymousLimiter
from serving.api.deps import ServicesDep
from serving.api.errors import field_error
from serving.api.query_parameters import check_query_parameters
from serving.api.services import Services
from serving.store.actions import ActionStore
from serving.web import views
from serving.web.gate import WEB_SESSION_SCOPE_KEY, WebSession
from serving.web.session import CSRF_FIELD, SessionCodec

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(
    signed=views.signed, amount=views.whole_amount, show=views.display, heading=views.heading
)
# Pages hold a rep's book: never cached, never framed, no scripts at all, nothing sent to
# other sites in the Referer.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class WebState:
    """What the pages use beyond ``Services``: the cookie codec, the actions store, and the
    per-address count of sign-in attempts."""

    codec: SessionCodec
    actions: ActionStore
    sign_in_limiter: AnonymousLimiter


def web_state(request: Request) -> WebState:
    """The pages' ``WebState``, set on the app by ``serving.web.install_pages``."""
    state: WebState = request.app.state.web
    return state


def signed_in(request: Request) -> WebSession:
    """The rep the session gate admitted (``serving.web.gate``); refuses unknown query
    parameters (422 naming them), as the API does."""
    session: WebSession | None = request.scope.get(WEB_SESSION_SCOPE_KEY)
    if session is None:  # only reachable if the gate is not installed: fail closed
        raise HTTPException(401, [field_error("session", "sign in first", "auth")])
    check_query_parameters(request)
    return session


WebStateDep = Annotated[WebState, Depends(web_state)]
SessionDep = Annotated[WebSession, Depends(signed_in)]


@dataclass(frozen=True)
class RepPage:
    """Everything a signed-in page needs: the services, the pages' state, the rep."""

    services: Services
    state: WebState
    session: WebSession


async def rep_page(services: ServicesDep, state: WebStateDep, session: SessionDep) -> RepPage:
    """The three together, for routes that need all of them."""
    return RepPage(services=services, state=state, session=session)


RepPageDep = Annotated[RepPage, Depends(rep_page)]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    session: WebSession | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``template`` rendered with ``context`` (plus the rep and their CSRF token when signed
    in), with ``PAGE_HEADERS`` and ``headers``."""
    full = {"session": session, "csrf_field": CSRF_FIELD, **context}
    return TEMPLATES.TemplateResponse(
        request,
        template,
        full,
        status_code=status_code,
        headers={**PAGE_HEADERS, **(headers or {})},
    )


def error_page(
    request: Request,
    status_code: int,
    errors: list[dict[str, str]],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error page listing ``errors`` (``{field, message, type}`` items), with ``headers``
    (``Retry-After`` of a 429)."""
    session: WebSession | None = request.scope.get(WEB_SESSION_SCOPE_KEY)
    context = {"status_code": status_code, "errors": errors}
    return render(
        request, "error.html", context, status_code=status_code, session=session, headers=headers
    )


def _validation_items(exc: RequestValidationError) -> list[dict[str, str]]:
    # Named by parameter, with pydantic's rule (which never repeats the input it refused).
    return [
        field_error(str(e["loc"][-1]) if e.get("loc") else "request", e["msg"], e["type"])
        for e in exc.errors()
    ]


class PageRoute(APIRoute):
    """An ``APIRoute`` whose HTTP and validation errors are HTML pages (see module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as exc:
                items: list[Any] = exc.detail if isinstance(exc.detail, list) else []
                if not items:
                    items = [field_error("request", str(exc.detail), "http")]
                return error_page(request, exc.status_code, items, exc.headers)
            except RequestValidationError as exc:
                return error_page(request, 422, _validation_items(exc))

        return page_handler
