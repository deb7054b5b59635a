"""FastAPI dependencies as named ``Annotated`` aliases, and the role gate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.message import Message
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from serving.api.authentication import PRINCIPAL_SCOPE_KEY, UNAUTHENTICATED, bearer_token
from serving.api.errors import field_error
from serving.api.query_parameters import check_query_parameters
from serving.api.services import Services
from serving.champions.lifecycle import ModelManager
from serving.settings import Settings
from serving.store.database import ScoreStore
from serving.store.keys import Principal, Role


# Pure lookups are ``async`` so that FastAPI runs them on the event loop instead of paying a
# thread-pool hop each. The key lookup is too: it is one primary-key query (well under a
# millisecond), cheaper on the loop than the hop, and it runs on every request.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_store(services: ServicesDep) -> ScoreStore:
    return services.store


async def get_models(services: ServicesDep) -> ModelManager:
    return services.models


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


StoreDep = Annotated[ScoreStore, Depends(get_store)]
ModelDep = Annotated[ModelManager, Depends(get_models)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller behind ``Authorization: Bearer <key>``; 401 for missing/unknown/revoked keys.

    Usually already authenticated by ``serving.api.authentication.AuthenticationGate`` before the
    body was read; routes the gate leaves open (docs pages) authenticate here.
    """
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None:
        token = bearer_token(request.scope)
        principal = services.keys.authenticate(token) if token else None
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail=[field_error("Authorization", UNAUTHENTICATED, "auth")],
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def allow(*roles: Role) -> Callable[[Principal, Request], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise); records them for tests."""

    async def gate(principal: PrincipalDep, request: Request) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status_code=403,
                detail=[
                    field_error("Authorization", f"role {principal.role} may not do this", "auth")
                ],
            )
        # After the key: an anonymous caller learns nothing about a route's parameters.
        check_query_parameters(request)
        return principal

    gate.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
    return gate


ALL_ROLES = (Role.CRM, Role.REP, Role.ADMIN)


NOT_JSON = "send the body as JSON with Content-Type: application/json"


def is_json_media_type(content_type: str | None) -> bool:
    """True for ``application/json`` and ``application/*+json`` (any parameters, such as
    ``charset``), the media types FastAPI parses a body of; False for any other or none."""
    if not content_type:
        return False
    # The standard library's header parser, as FastAPI's own check uses.
    header = Message()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def require_json_body(request: Request) -> None:
    """415 (field ``Content-Type``, type ``unsupported_media_type``) for a body route called
    without a JSON media type. FastAPI leaves such a body unparsed, which would be refused as
    "Input should be a valid dictionary" whatever it holds. Listed after the role gate, so an
    unauthorised caller still gets 403."""
    if not is_json_media_type(request.headers.get("content-type")):
        raise HTTPException(415, [field_error("Content-Type", NOT_JSON, "unsupported_media_type")])


JsonBody = Depends(require_json_body)
