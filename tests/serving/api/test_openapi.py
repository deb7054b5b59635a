"""The OpenAPI document as served: open, complete, pinned by a snapshot, true to the wire.

Refresh the snapshot after an intended API change (then review its diff):

    SALESRADAR_REFRESH_OPENAPI_SNAPSHOT=1 .venv/bin/python -m pytest \\
        tests/serving/api/test_openapi.py -k snapshot
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient

from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import auth

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
PROTECTED_STATUSES = {"401", "403", "422", "429"}
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def test_docs_pages_load_and_every_asset_is_served_here(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
        assets += re.findall(r"""url:\s*["']([^"']+)["']""", response.text)
        assert assets, page
        for url in assets:
            assert not re.match(r"(?i)(https?:)?//", url), f"{page} loads {url} from elsewhere"
            assert client.get(url).status_code == 200, url
    swagger = client.get("/docs").text
    assert "/v1/openapi.json" in swagger
    assert (
        client.get("/docs/static/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )


def test_spec_is_served_without_a_key(client: TestClient) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_snapshot_matches_served_spec(client: TestClient) -> None:
    served = client.get("/v1/openapi.json").json()
    text = json.dumps(served, indent=2, sort_keys=True) + "\n"
    if os.environ.get("SALESRADAR_REFRESH_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == served, (
        "the served OpenAPI document changed; if intended, refresh the snapshot "
        "(see this module's docstring) and review its diff"
    )


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_protected_routes_declare_bearer_and_their_errors(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids)
    for method, path, op in _operations(spec):
        anonymous = client.request(method.upper(), path.replace("{", "").replace("}", ""))
        if path.startswith("/health/"):
            assert "security" not in op and anonymous.status_code != 401
            continue
        assert op["security"] == [{"bearer": []}], path
        assert anonymous.status_code == 401, path
        assert set(op["responses"]) >= PROTECTED_STATUSES, path
        for status in PROTECTED_STATUSES:
            assert op["responses"][status]["content"]["application/json"]["schema"] == ERROR_REF
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = spec["components"]["schemas"]["FieldErrorOut"]
    assert set(error["required"]) == {"field", "message", "type"}


def test_spec_states_limits_enums_and_content_types(client: TestClient, services: Any) -> None:
    spec = client.get("/v1/openapi.json").json()
    hot = spec["paths"]["/v1/lists/hot-leads"]["get"]
    params = {p["name"]: p["schema"] for p in hot["parameters"]}
    assert params["limit"]["maximum"] == services.settings.max_page_size
    assert params["tier"]["items"]["enum"] == ["hot", "warm", "cold"]
    assert "text/csv" in hot["responses"]["200"]["content"]
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain; version=1.0.0; charset=utf-8"]
    schemas = spec["components"]["schemas"]
    assert schemas["CustomerScored"]["properties"]["tier"]["enum"] == ["high", "medium", "low"]
    assert schemas["LeadListItemOut"]["properties"]["entity_id"]["deprecated"] is True
    assert "404" in spec["paths"]["/v1/leads/{lead_id}"]["get"]["responses"]
    assert "503" in spec["paths"]["/v1/leads/score"]["post"]["responses"]
    assert "413" in spec["paths"]["/v1/leads/score"]["post"]["responses"]


def test_real_responses_conform_to_the_spec(client: TestClient, keys: dict[str, str]) -> None:
    """Responses of each kind (scored and failed entities, errors, CSV, metrics) validate."""
    schema = schemathesis.openapi.from_dict(client.get("/v1/openapi.json").json())
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [lead("A"), {"lead_id": 1}]}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/v1/leads/score", {"json": body, "headers": auth(keys["crm"])}),
        ("POST", "/v1/leads/score", {"json": {"leads": []}, "headers": auth(keys["crm"])}),
        ("POST", "/v1/leads/score", {"json": body, "headers": auth(keys["rep0"])}),
        ("POST", "/v1/leads/score", {"json": body}),
        ("GET", "/v1/leads/{lead_id}", {"headers": auth(keys["crm"])}),
        ("GET", "/v1/lists/hot-leads", {"params": {"format": "csv"}, "headers": auth(keys["crm"])}),
        ("GET", "/v1/lists/at-risk", {"params": {"limit": 10**6}, "headers": auth(keys["crm"])}),
        ("GET", "/v1/models", {"headers": auth(keys["rep0"])}),
        ("GET", "/metrics", {"headers": auth(keys["admin"])}),
        ("GET", "/health/ready", {}),
    ]
    statuses = []
    for method, template, kwargs in calls:
        operation = schema[template][method]
        response = client.request(method, template.replace("{lead_id}", "NOPE"), **kwargs)
        statuses.append(response.status_code)
        path_parameters = {"lead_id": "NOPE"} if "{lead_id}" in template else None
        case = operation.Case(headers=kwargs.get("headers"), path_parameters=path_parameters)
        case.validate_response(response, checks=CONFORMANCE_CHECKS)
    assert statuses == [200, 422, 403, 401, 404, 200, 422, 200, 200, 200]


def _conformance_checks() -> list[Any]:
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [status_code_conformance, content_type_conformance, response_schema_conformance]


CONFORMANCE_CHECKS = _conformance_checks()


def test_every_response_has_an_example_that_validates(client: TestClient) -> None:
    from serving.api.schemas import responses as r

    models = {
        "scoreLeads": r.ScoreLeadsResponse,
        "scoreCustomers": r.ScoreCustomersResponse,
        "readLead": r.StoredLeadOut,
        "readCustomer": r.StoredCustomerOut,
        "listHotLeads": r.HotLeadsPageOut,
        "listAtRisk": r.AtRiskPageOut,
        "listModels": r.ModelsOut,
        "reloadModels": r.ReloadOut,
        "live": r.LiveOut,
        "ready": r.ReadyOut,
    }
    spec = client.get("/v1/openapi.json").json()
    for _, path, op in _operations(spec):
        for status, response in op["responses"].items():
            for media_type, content in response["content"].items():
                assert "example" in content, (path, status, media_type)
                if media_type != "application/json":
                    continue
                model = models[op["operationId"]] if status in ("200", "502") else r.ErrorOut
                if op["operationId"] == "ready" and status == "503":
                    model = r.ReadyOut
                model.model_validate(content["example"])
