"""The OpenAPI document as served: what the wire really does, described in one place.

Routes declare their own success bodies, ``operation_id``s and the errors their logic raises
(``errors(404, 503)``). What every route shares is filled in here from the routes themselves,
so that a new route cannot forget it: the bearer security scheme and the 401/403 answers of
the role gate (with the roles each route lets in), the 422 of request validation and of the
unknown-query-parameter check, the 413 of the body limit, and the ``limit`` maximum, which is a
setting and so is only known when the app is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from serving.api.schemas.responses import ErrorOut

BEARER = "bearer"

_ERROR_DESCRIPTIONS = {
    400: "the body could not be read as JSON at all (not UTF-8, nested too deep)",
    401: "missing, unknown or revoked API key (with `WWW-Authenticate: Bearer`)",
    403: "the key's role may not call this route; lists: a rep key's `owner` names another owner",
    404: (
        "no such entity, or not in the caller's book (both answer alike); lists: an unknown "
        "`run_id`"
    ),
    409: "lists: the run read holds no scores of this list's task (its run did not score it)",
    413: "request body larger than the configured limit",
    415: "the body was not sent as `application/json`",
    422: "invalid input: each error names its field (body path, query or path parameter)",
    429: "too many unauthenticated requests; retry after `Retry-After` seconds",
    503: "no model is served for this task (the reason is in `message`)",
}

_ERROR_EXAMPLES = {
    400: ("body", "body is not valid UTF-8 at byte 17", "invalid_utf8"),
    401: ("Authorization", "missing, unknown or revoked API key", "auth"),
    403: ("Authorization", "role rep may not do this", "auth"),
    404: ("id", "no score for lead 'L-1042'", "not_found"),
    409: (
        "run_id",
        "the run read has no churn scores (its batch run did not score churn)",
        "task_not_scored",
    ),
    413: ("body", "request body exceeds the limit of 4194304 bytes", "body_too_large"),
    415: (
        "Content-Type",
        "send the body as JSON with Content-Type: application/json",
        "unsupported_media_type",
    ),
    422: ("limit", "at most 500", "less_than_equal"),
    429: ("", "too many requests", "rate_limited"),
    503: ("", "no champion model is served for leads", "not_ready"),
}


def _example(status: int) -> dict[str, Any]:
    field, message, kind = _ERROR_EXAMPLES[status]
    return {"detail": [{"field": field, "message": message, "type": kind}]}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error ``statuses``, each with the real error body and example.

    Raises ``KeyError`` for a status this module does not describe."""
    return {
        status: {
            "model": ErrorOut,
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"example": _example(status)}},
        }
        for status in statuses
    }


def _allowed_roles(dependant: Dependant) -> frozenset[str] | None:
    """The roles of the route's gate (``serving.api.deps.allow``), or None for an open route."""
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(str(r) for r in roles)
        if (found := _allowed_roles(sub)) is not None:
            return found
    return None


def _operations(
    schema: dict[str, Any], app: FastAPI
) -> Iterator[tuple[Dependant, set[str], dict[str, Any]]]:
    """Each documented operation: its dependency tree, HTTP methods and OpenAPI operation."""
    # Included routers are nested in app.routes; FastAPI's own walk flattens them with paths.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            for method in context.methods or ():
                operation = schema["paths"][context.path_format][method.lower()]
                yield route.dependant, set(context.methods or ()), operation


def _add_error(operation: dict[str, Any], status: int) -> None:
    operation["responses"].setdefault(str(status), _ref_error(status))


def _ref_error(status: int) -> dict[str, Any]:
    return {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorOut"},
                "example": _example(status),
            }
        },
    }


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """An instance of ``schema`` built from the ``examples`` its fields declare.

    ``$ref``s are followed into ``components``; a union takes its first non-null branch, a
    list one item, a mapping one entry; a field without an example gets a neutral value of
    its type. Used to give every JSON response an example (Swagger UI and ReDoc draw one the
    same way; clients such as mock servers only read an explicit one)."""
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    if "examples" in schema:
        return schema["examples"][0]
    if "const" in schema or "enum" in schema:
        return schema.get("const", (schema.get("enum") or [None])[0])
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return example_of(branches[0], components, depth)
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        return {
            name: example_of(sub, components, depth + 1)
            for name, sub in schema["properties"].items()
        }
    if kind == "object":
        values = schema.get("additionalProperties")
        return {"key": example_of(values, components, depth + 1)} if values else {}
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)] if depth < 4 else []
    neutral = {"string": "text", "integer": 1, "number": 1.0, "boolean": True, "null": None}
    return neutral.get(kind) if isinstance(kind, str) else None


def build_openapi(app: FastAPI, *, max_page_size: int) -> dict[str, Any]:
    """The app's OpenAPI 3.1 document, completed as described in the module docstring.

    ``max_page_size`` is the ``limit`` maximum the list routes enforce (a setting)."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key made with `salesradar keys create` (roles: crm, rep, admin)",
    }
    # FastAPI's own validation error shape is never sent: every 4xx reads like ErrorOut.
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    for dependant, methods, operation in _operations(schema, app):
        operation["responses"].pop("422", None)
        _add_error(operation, 422)
        roles = _allowed_roles(dependant)
        if roles is not None:
            operation["security"] = [{BEARER: []}]
            operation["x-roles"] = sorted(roles)
            _add_error(operation, 401)
            _add_error(operation, 403)
            _add_error(operation, 429)
            operation["responses"]["429"]["headers"] = {
                "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
            }
        if "requestBody" in operation:
            _add_error(operation, 400)
            _add_error(operation, 415)
        if {"POST", "PUT", "PATCH"} & methods:
            _add_error(operation, 413)
        for response in operation["responses"].values():
            content = response.get("content", {}).get("application/json")
            if content is not None and "example" not in content and "schema" in content:
                content["example"] = example_of(content["schema"], components["schemas"])
        for parameter in operation.get("parameters", ()):
            if parameter["name"] == "limit" and parameter["in"] == "query":
                parameter["schema"]["maximum"] = max_page_size
    return schema


def install_openapi(app: FastAPI, *, max_page_size: int) -> None:
    """Make ``app.openapi()`` return (and cache) ``build_openapi``'s document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, max_page_size=max_page_size)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
