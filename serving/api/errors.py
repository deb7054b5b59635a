"""Error responses that always name the offending field, and never echo raw input back.

Every 4xx body reads ``{"detail": [{"field": ..., "message": ..., "type": ...}]}``. Echoing the
input is avoided on purpose: a NaN in it would make the JSON encoder fail and turn bad input
into a 500, and secrets pasted in the wrong place would end up in logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.api.limits import BODY_SCOPE_KEY
from serving.api.schemas.requests import error_message, format_location

# pydantic-core's JSON parser (jiter) refuses nesting past 200 levels; Python's json module,
# which FastAPI parses with, gives up near the interpreter's recursion limit (~1,000), so any
# body it cannot nest through is deeper than this too.
JSON_NESTING_LIMIT = 200


def field_error(field: str, message: str, kind: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": kind}


def _field_of(loc: Sequence[Any], kind: str) -> str:
    source, *rest = loc if loc else ("body",)
    if kind == "json_invalid" or not rest:
        return str(source)
    # Query/path parameters are named as they are; body fields by their JSON path.
    return format_location(tuple(rest))


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx") or {}
        position = error["loc"][-1] if len(error.get("loc", ())) > 1 else "?"
        return f"malformed JSON at character {position}: {ctx.get('error', error['msg'])}"
    return error_message(error)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        field_error(_field_of(e.get("loc", ()), e.get("type", "")), _message(e), e["type"])
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def body_parse_error(cause: BaseException | None, body: bytes | None) -> dict[str, str] | None:
    """The field error for a JSON body the framework could not parse, or None if unknown.

    FastAPI answers 400 "There was an error parsing the body" for anything but a JSON syntax
    error, chaining the real cause: invalid UTF-8 (``UnicodeDecodeError``, whose ``start`` is
    the byte offset) or nesting deeper than the parser's recursion allows (``RecursionError``).
    For the latter the body is read again by pydantic-core's parser (nesting limit
    ``JSON_NESTING_LIMIT``), which says where the limit was passed.
    """
    if isinstance(cause, UnicodeDecodeError):
        message = f"body is not valid UTF-8 at byte {cause.start}"
        return field_error("body", message, "invalid_utf8")
    if isinstance(cause, RecursionError):
        where = ""
        if body is not None:
            try:
                pydantic_core.from_json(body)
            except ValueError as exc:
                _, _, where = str(exc).partition(" at ")
        message = f"body nested deeper than {JSON_NESTING_LIMIT} levels" + (
            f" (at {where})" if where else ""
        )
        return field_error("body", message, "nesting_too_deep")
    return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, list):
        detail: Any = exc.detail
    elif exc.status_code == 400 and (
        parsed := body_parse_error(exc.__cause__, request.scope.get(BODY_SCOPE_KEY))
    ):
        detail = [parsed]
    else:
        detail = [field_error("", str(exc.detail), "http_error")]
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
