"""Keys, roles and rep isolation: the whole role x endpoint matrix, and no route left out."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from serving.api.services import Services
from serving.store.keys import KeyRequestError, KeyStore, Role
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import NOW, auth

PUBLIC = "public"
# (method, path) -> roles allowed. A new route without an entry here fails the first test.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/leads/score"): frozenset({"crm", "admin"}),
    ("POST", "/v1/customers/score"): frozenset({"crm", "admin"}),
    ("GET", "/v1/leads/{lead_id}"): frozenset({"crm", "admin", "rep"}),
    ("GET", "/v1/customers/{customer_id}"): frozenset({"crm", "admin", "rep"}),
    ("GET", "/v1/lists/hot-leads"): frozenset({"crm", "admin", "rep"}),
    ("GET", "/v1/lists/at-risk"): frozenset({"crm", "admin", "rep"}),
    ("GET", "/v1/models"): frozenset({"crm", "admin", "rep"}),
    ("POST", "/v1/admin/reload"): frozenset({"admin"}),
    ("GET", "/metrics"): frozenset({"crm", "admin"}),
    ("GET", "/v1/openapi.json"): frozenset({PUBLIC}),
    ("GET", "/docs"): frozenset({PUBLIC}),
    ("GET", "/docs/oauth2-redirect"): frozenset({PUBLIC}),
    ("GET", "/redoc"): frozenset({PUBLIC}),
    ("GET", "/health/live"): frozenset({PUBLIC}),
    ("GET", "/health/ready"): frozenset({PUBLIC}),
}
BODIES = {
    "/v1/leads/score": {"as_of": "2025-12-01T00:00:00Z", "leads": [lead(events=3)]},
    "/v1/customers/score": {
        "customers": [{"customer_id": "C", "created_at": "2025-01-01", "owner_id": "rep-0"}]
    },
}


def _walk(routes: list[object], prefix: str = "") -> set[tuple[str, str]]:
    """Every (method, path) served, through routers included with ``include_router``.

    FastAPI 0.165 keeps included routers as nodes (``original_router``) instead of copying
    their routes, so the walk descends into them.
    """
    found: set[tuple[str, str]] = set()
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            found |= _walk(router.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
            continue
        if isinstance(route, Mount) and route.path in ("/docs/static", "/web/static"):
            continue  # the docs pages' and reps' pages' styles (test_openapi.py, web/)
        # FastAPI serves the OpenAPI document through a plain Starlette route (GET and HEAD).
        assert isinstance(route, APIRoute | Route), f"unexpected route {route}"
        found |= {
            (method, prefix + route.path_format)
            for method in route.methods or ()
            if method != "HEAD"
        }
    return found


def _routes(client: TestClient) -> set[tuple[str, str]]:
    return _walk(list(client.app.routes))  # type: ignore[attr-defined]


def test_every_route_has_a_matrix_entry(client: TestClient) -> None:
    # The reps' pages (/web) take a session cookie, not a key: tests/serving/web/ holds them.
    assert {r for r in _routes(client) if not r[1].startswith("/web")} == set(MATRIX)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_role_matrix(client: TestClient, keys: dict[str, str], method: str, path: str) -> None:
    url = path.replace("{lead_id}", "L0001").replace("{customer_id}", "C0001")
    body = BODIES.get(path)
    allowed = MATRIX[(method, path)]
    for who, token in (
        ("crm", keys["crm"]),
        ("admin", keys["admin"]),
        ("rep", keys["rep0"]),
        ("nobody", None),
    ):
        headers = auth(token) if token else {}
        response = client.request(method, url, json=body, headers=headers)
        if PUBLIC in allowed:
            assert response.status_code in (200, 503), (who, response.text)
        elif who == "nobody":
            assert response.status_code == 401, response.text
            assert response.headers["WWW-Authenticate"] == "Bearer"
        elif who in allowed:
            assert response.status_code not in (401, 403), (who, response.text)
        else:
            assert response.status_code == 403, (who, response.text)
            assert response.json()["detail"][0]["field"] == "Authorization"


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer sr_abc_def", "Basic dXNlcjpwYXNz", "sr_x_y", "Bearer "],
)
def test_bad_keys_are_401(client: TestClient, header: str) -> None:
    response = client.get("/v1/models", headers={"Authorization": header})
    assert response.status_code == 401


def test_revoked_key_stops_working(client: TestClient, services: Services) -> None:
    info, token = services.keys.create(role=Role.CRM, owner_id=None, label="t", created_at=NOW)
    assert client.get("/v1/models", headers=auth(token)).status_code == 200
    services.keys.revoke(info.key_id, revoked_at=NOW)
    assert client.get("/v1/models", headers=auth(token)).status_code == 401


def test_key_store_rules(services: Services) -> None:
    keys: KeyStore = services.keys
    with pytest.raises(KeyRequestError, match="needs --owner"):
        keys.create(role=Role.REP, owner_id=None, label=None, created_at=NOW)
    with pytest.raises(KeyRequestError, match="only applies to rep keys"):
        keys.create(role=Role.CRM, owner_id="rep-1", label=None, created_at=NOW)
    info, token = keys.create(role=Role.REP, owner_id="rep-1", label="ann", created_at=NOW)
    principal = keys.authenticate(token)
    assert principal is not None and principal.owner_id == "rep-1" and principal.role is Role.REP
    # Same key id, wrong secret: refused.
    assert keys.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    with pytest.raises(KeyRequestError, match="no active key"):
        keys.revoke("missing", revoked_at=NOW)
    keys.revoke(info.key_id, revoked_at=datetime(2026, 2, 1))
    listed = {k.key_id: k for k in keys.list()}
    assert listed[info.key_id].revoked_at == datetime(2026, 2, 1)
    with pytest.raises(KeyRequestError, match="no active key"):
        keys.revoke(info.key_id, revoked_at=NOW)
    # Only the digest is stored.
    with services.store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_sha256 FROM api_keys").scalars().all()
    assert all(len(s) == 64 and s not in token for s in stored)
