"""Error responses that always name the offending field, and never echo raw input back.

Every 4xx body reads ``{"detail": [{"field": ..., "message": ..., "type": ...}]}``. Echoing the
input is avoided on purpose: a NaN in it would make the JSON encoder fail and turn bad input
into a 500, and secrets pasted in the wrong place would end up in logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.schemas.requests import format_location


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
    return str(error["msg"])


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        field_error(_field_of(e.get("loc", ()), e.get("type", "")), _message(e), e["type"])
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, list):
        detail: Any = exc.detail
    else:
        detail = [field_error("", str(exc.detail), "http_error")]
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
