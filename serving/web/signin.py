"""Signing in with a rep key, once, and signing out (see ``serving.web.session``)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from serving.api.deps import ServicesDep
from serving.api.errors import field_error
from serving.api.query_parameters import reject_unknown_query_parameters
from serving.store.keys import Role
from serving.web.forms import csrf_refused, read_form, require_csrf
from serving.web.gate import SIGN_IN_PATH
from serving.web.rendering import PageRoute, SessionDep, WebStateDep, render
from serving.web.session import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    SIGN_IN_CSRF_COOKIE,
    SIGN_IN_MAX_AGE_SECONDS,
)

router = APIRouter(prefix="/web", route_class=PageRoute, include_in_schema=False)
HOME = "/web/at-risk"
KEY_FIELD = "key"
NEXT_FIELD = "next"
# Keys are ``sr_<12 hex>_<43 url-safe>``; anything much longer is not a key.
MAX_KEY_CHARS = 200
BAD_KEY = "not an active rep key (check it was copied whole, and is a rep's key)"
Next = Annotated[str | None, Query(alias="next", max_length=2000)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: ``target`` when it is a page of this site under
    ``/web`` (never another site, nor a scheme-relative ``//host``), else the at-risk list."""
    # A path starting "/web" can name neither another host nor a scheme; backslashes (read as
    # slashes by some browsers) and control characters are refused outright.
    if target and target.startswith("/web") and "\\" not in target and target.isprintable():
        return target
    return HOME


def _set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int
) -> None:
    """Set cookie ``name`` with the flags every cookie of the pages carries (script-proof,
    same-site only, secure over https, scoped to the pages)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
    )


def _sign_in_page(
    request: Request,
    state: WebStateDep,
    *,
    next_page: str,
    errors: list[dict[str, str]],
    status_code: int = 200,
) -> Response:
    cookie, token = state.codec.sign_in_token()
    context = {"token": token, "next": next_page, "errors": errors, "key_field": KEY_FIELD}
    response = render(request, "sign_in.html", context, status_code=status_code)
    _set_cookie(response, request, SIGN_IN_CSRF_COOKIE, cookie, max_age=SIGN_IN_MAX_AGE_SECONDS)
    return response


@router.get("/sign-in", dependencies=[Depends(reject_unknown_query_parameters)])
async def sign_in_form(request: Request, state: WebStateDep, next: Next = None) -> Response:
    """The sign-in form; ``next`` is the page to return to afterwards."""
    return _sign_in_page(request, state, next_page=safe_next(next), errors=[])


@router.post("/sign-in")
async def sign_in(request: Request, services: ServicesDep, state: WebStateDep) -> Response:
    """Check the rep key sent with the form (CSRF: the signed double-submit token) and open a
    session: 303 to the page asked for, with the session cookie. A wrong or non-rep key
    answers 401 with the form again; the key is never echoed back nor stored in the cookie.
    Every attempt counts against the address's allowance of unauthenticated requests
    (``SALESRADAR_ANONYMOUS_REQUESTS_PER_WINDOW``); past it, 429 with ``Retry-After`` before
    the form is read."""
    client = request.client
    retry_after = state.sign_in_limiter.hit(client.host if client else "unknown")
    if retry_after is not None:
        message = "too many sign-in attempts from this address; retry later"
        raise HTTPException(
            429,
            [field_error(KEY_FIELD, message, "rate_limited")],
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
        )
    form = await read_form(request, frozenset({KEY_FIELD, NEXT_FIELD}))
    if not state.codec.sign_in_token_matches(
        request.cookies.get(SIGN_IN_CSRF_COOKIE), form.get("csrf_token")
    ):
        raise csrf_refused()
    key = form.get(KEY_FIELD, "").strip()
    principal = services.keys.authenticate(key) if 0 < len(key) <= MAX_KEY_CHARS else None
    if principal is None or principal.role is not Role.REP:
        error = field_error(KEY_FIELD, BAD_KEY if key else "enter your rep key", "auth")
        return _sign_in_page(
            request,
            state,
            next_page=safe_next(form.get(NEXT_FIELD)),
            errors=[error],
            status_code=401,
        )
    cookie, _ = state.codec.open_session(principal.key_id)
    response = RedirectResponse(safe_next(form.get(NEXT_FIELD)), status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, cookie, max_age=SESSION_MAX_AGE_SECONDS)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep) -> Response:
    """End the session on this browser (CSRF-checked): the cookie is removed, 303 to the
    sign-in page. Revoking the key (``salesradar keys revoke``) ends all its sessions."""
    require_csrf(session.csrf_token, await read_form(request, frozenset()))
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
    )
    return response
