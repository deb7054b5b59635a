"""Unknown query parameters are refused, never ignored.

A typo such as ``?owner_id=CSM-018`` for ``?owner=CSM-018`` would otherwise return the whole
book with 200. Each route's declared query parameters (its own and its dependencies', by their
public alias) are collected once per route; anything else is a 422 naming the parameter.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from serving.api.errors import field_error

_ALLOWED: dict[int, frozenset[str]] = {}


def _declared(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


def check_query_parameters(request: Request) -> None:
    """Raise ``HTTPException(422)`` naming every query parameter the matched route does not
    take (each with the ones it does); routes outside FastAPI's ``APIRoute`` are left alone."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _ALLOWED.get(id(route))
    if allowed is None:
        allowed = _ALLOWED[id(route)] = frozenset(_declared(route.dependant))
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        message = f"unknown query parameter; this route takes: {takes}"
        raise HTTPException(
            422, [field_error(name, message, "unknown_query_parameter") for name in unknown]
        )


async def reject_unknown_query_parameters(request: Request) -> None:
    """The check as a dependency, for routes without the role gate (which runs it itself)."""
    check_query_parameters(request)
