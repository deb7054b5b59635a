"""Bad input always gets a 4xx that names the JSON field, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys


def post(client: TestClient, token: str, content: bytes | str, path: str = "/v1/leads/score"):
    headers = {**auth(token), "Content-Type": "application/json"}
    return client.post(path, content=content, headers=headers)


def fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [d["field"] for d in response.json()["detail"]]


def test_malformed_json(client: TestClient, keys: dict[str, str]) -> None:
    response = post(client, keys["crm"], '{"leads": [')
    assert response.status_code == 422
    assert fields(response) == ["body"]
    assert response.json()["detail"][0]["message"].startswith("malformed JSON at character")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('{"leads": "L-1"}', "leads"),
        ('{"leads": []}', "leads"),
        ('{"leads": [{}], "extra": 1}', "extra"),
        ('{"as_of": "yesterday", "leads": [{}]}', "as_of"),
        ('{"as_of": 1767225600, "leads": [{}]}', "as_of"),
        ('{"as_of": "2099-01-01T00:00:00Z", "leads": [{}]}', "as_of"),
        ("[1, 2]", "body"),
    ],
)
def test_envelope_errors_name_the_field(
    client: TestClient, keys: dict[str, str], content: str, field: str
) -> None:
    response = post(client, keys["crm"], content)
    assert response.status_code == 422, response.text
    assert fields(response) == [field]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda x: x.update(expected_value="NaN-literal"), "leads[0].expected_value"),
        (lambda x: x.update(expected_value=True), "leads[0].expected_value"),
        (lambda x: x.update(expected_value=-5.0), "leads[0].expected_value"),
        (lambda x: x.update(owner_id=17), "leads[0].owner_id"),
        (lambda x: x.update(created_at="2025-13-45"), "leads[0].created_at"),
        (lambda x: x.update(surprise="x"), "leads[0].surprise"),
        (lambda x: x["events"][2].update(mood="happy"), "leads[0].events[2].mood"),
        (lambda x: x["events"][2].update(type=3), "leads[0].events[2].type"),
        (lambda x: x["attributes"].update(created_at="x"), "leads[0].attributes"),
        (lambda x: x["attributes"].update(size=[1]), "leads[0].attributes.size"),
        (lambda x: x.update(created_at="2025-12-05T00:00:00Z"), "leads[0].created_at"),
    ],
)
def test_entity_errors_name_the_field(
    client: TestClient, keys: dict[str, str], mutate: object, field: str
) -> None:
    entity = lead(events=5)
    mutate(entity)  # type: ignore[operator]
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [entity]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "error"
    assert [e["field"] for e in result["errors"]] == [field]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(
    client: TestClient, keys: dict[str, str], literal: str
) -> None:
    content = (
        '{"leads": [{"lead_id": "L", "created_at": "2025-01-01", "owner_id": "o", '
        f'"expected_value": {literal}, "attributes": {{"size": {literal}}}}}]}}'
    )
    response = post(client, keys["crm"], content)
    assert response.status_code == 200, response.text
    errors = response.json()["results"][0]["errors"]
    assert sorted(e["field"] for e in errors) == [
        "leads[0].attributes.size",
        "leads[0].expected_value",
    ]
    assert all("finite" in e["message"] for e in errors)


def test_nan_in_a_query_parameter(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/lists/at-risk?min_value=nan", headers=auth(keys["crm"]))
    assert response.status_code == 422 and fields(response) == ["min_value"]


def test_too_many_entities(client: TestClient, keys: dict[str, str]) -> None:
    body = {"leads": [lead(f"L{i}", events=0) for i in range(1001)]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 422 and fields(response) == ["leads"]


def test_too_many_events_per_entity(client: TestClient, keys: dict[str, str]) -> None:
    entity = lead(events=1)
    entity["events"] = entity["events"] * 10_001
    response = client.post("/v1/leads/score", json={"leads": [entity]}, headers=auth(keys["crm"]))
    assert response.json()["results"][0]["errors"][0]["field"] == "leads[0].events"


@pytest.fixture
def small_client(tmp_path: Path, champions: FolderChampions) -> Iterator[tuple[TestClient, dict]]:
    services = build_test_services(
        tmp_path, champions, max_body_bytes=2_000, max_events_per_request=30
    )
    keys = create_keys(services)
    with TestClient(create_app(services)) as test_client:
        yield test_client, keys


def test_oversize_body_by_content_length(small_client: tuple[TestClient, dict]) -> None:
    client, keys = small_client
    response = post(client, keys["crm"], b'{"leads": [' + b" " * 5_000 + b"]}")
    assert response.status_code == 413
    assert fields(response) == ["body"]


def test_oversize_body_streamed_without_length(small_client: tuple[TestClient, dict]) -> None:
    client, keys = small_client
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b" " * 500

    response = client.post(
        "/v1/leads/score",
        content=chunks(),
        headers={**auth(keys["crm"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert fields(response) == ["body"]


def test_events_per_request_limit(tmp_path: Path, champions: FolderChampions) -> None:
    services = build_test_services(tmp_path, champions, max_events_per_request=30)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        body = {"leads": [lead("A", events=20), lead("B", events=20)]}
        response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 422 and fields(response) == ["leads"]
    assert response.json()["detail"][0]["message"] == "40 events in total; at most 30 per request"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("offset=-1", "offset"),
        ("rank_by=vibes", "rank_by"),
        ("tier=lukewarm", "tier"),
        ("format=xlsx", "format"),
    ],
)
def test_list_query_errors(
    client: TestClient, keys: dict[str, str], query: str, field: str
) -> None:
    response = client.get(f"/v1/lists/hot-leads?{query}", headers=auth(keys["crm"]))
    assert response.status_code == 422 and fields(response) == [field]


def test_body_limit_stops_reading_as_soon_as_the_limit_is_passed() -> None:
    """The middleware itself: 10 chunks of 500 bytes offered, a 1,200-byte limit, 3 read."""
    import asyncio

    from serving.api.limits import BodySizeLimit

    received, sent = [], []

    async def receive() -> dict:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 500, "more_body": len(received) < 10}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope: dict, receive: object, send: object) -> None:
        raise AssertionError("the application must not run")

    scope = {"type": "http", "method": "POST", "headers": []}
    asyncio.run(BodySizeLimit(app, max_bytes=1_200)(scope, receive, send))  # type: ignore[arg-type]
    assert len(received) == 3
    assert sent[0]["status"] == 413


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/v1/lists/at-risk?owner_id=CSM-018", "rep0"),
        ("/v1/lists/hot-leads?limit=5&ownr=x", "rep0"),
        ("/v1/models?verbose=1", "crm"),
        ("/health/ready?x=1", None),
        ("/health/live?x=1", None),
    ],
)
def test_unknown_query_parameters_are_refused_by_name(
    client: TestClient, keys: dict[str, str], path: str, role: str | None
) -> None:
    headers = auth(keys[role]) if role else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["type"] == "unknown_query_parameter"
    assert error["field"] in {"owner_id", "ownr", "verbose", "x"}
    assert error["message"].startswith("unknown query parameter; this route takes: ")


def test_known_query_parameters_still_pass(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/lists/at-risk?limit=5&offset=0", headers=auth(keys["rep0"]))
    assert response.status_code == 200, response.text


def test_an_anonymous_caller_is_refused_before_its_parameters_are_read(client: TestClient) -> None:
    assert client.get("/v1/lists/at-risk?owner_id=x").status_code == 401
