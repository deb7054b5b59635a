"""A scoring body sent as anything but JSON gets 415 naming ``application/json``."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.serving.api.test_hostile_input import customer
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import auth

BODIES = {
    "/v1/leads/score": {"as_of": "2025-12-01T00:00:00Z", "leads": [lead(events=3)]},
    "/v1/customers/score": {"as_of": "2025-12-01T00:00:00Z", "customers": [customer()]},
}
REFUSED = {
    "detail": [
        {
            "field": "Content-Type",
            "message": "send the body as JSON with Content-Type: application/json",
            "type": "unsupported_media_type",
        }
    ]
}


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_json_body_not_sent_as_json_is_415(
    client: TestClient, keys: dict[str, str], path: str, content_type: str | None
) -> None:
    headers = auth(keys["crm"]) | ({"Content-Type": content_type} if content_type else {})
    response = client.post(path, content=json.dumps(BODIES[path]), headers=headers)
    assert response.status_code == 415, response.text
    assert response.json() == REFUSED


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.crm+json"]
)
def test_json_media_types_are_scored(
    client: TestClient, keys: dict[str, str], path: str, content_type: str
) -> None:
    headers = auth(keys["crm"]) | {"Content-Type": content_type}
    response = client.post(path, content=json.dumps(BODIES[path]), headers=headers)
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["scored"]


def test_the_role_is_checked_before_the_media_type(
    client: TestClient, keys: dict[str, str]
) -> None:
    headers = auth(keys["rep0"]) | {"Content-Type": "text/plain"}
    response = client.post("/v1/leads/score", content="{}", headers=headers)
    assert response.status_code == 403, response.text


def test_the_document_lists_415_for_the_scoring_routes(client: TestClient) -> None:
    paths = client.get("/v1/openapi.json").json()["paths"]
    for path in BODIES:
        refused = paths[path]["post"]["responses"]["415"]
        assert refused["content"]["application/json"]["example"] == REFUSED
