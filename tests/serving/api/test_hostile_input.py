"""Inputs that used to reach a 500 (fault and fuzz testing, issue 14): each is a 4xx naming
the field, and no error body ever repeats what the caller sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.api.services import Services
from serving.store.database import ScoreRow
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import NOW, auth

AS_OF = "2025-12-01T00:00:00Z"
# Both ends of the calendar, pushed past it by the conversion to UTC.
OVERFLOWING = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
HUGE = "1" + "0" * 400  # an integer literal no float can hold
ROUTES = {"leads": "/v1/leads/score", "customers": "/v1/customers/score"}


def customer(customer_id: str = "C-1", **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "created_at": "2025-01-01T00:00:00Z",
        "owner_id": "rep-0",
        "annual_value": 1000.0,
        "attributes": {"plan": "pro"},
        "events": [{"occurred_at": "2025-11-01T00:00:00Z", "type": "order", "value": 10.0}],
        **extra,
    }


def entity(collection: str) -> dict[str, Any]:
    return lead(events=3) if collection == "leads" else customer()


def post_raw(client: TestClient, token: str, path: str, content: bytes | str) -> Any:
    headers = {**auth(token), "Content-Type": "application/json"}
    return client.post(path, content=content, headers=headers)


def entity_errors(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "error", result
    errors: list[dict[str, str]] = result["errors"]
    return errors


@pytest.mark.parametrize("collection", sorted(ROUTES))
@pytest.mark.parametrize("stamp", OVERFLOWING)
def test_timestamps_overflowing_in_utc_name_their_field(
    client: TestClient, keys: dict[str, str], collection: str, stamp: str
) -> None:
    path = ROUTES[collection]
    body = {"as_of": stamp, collection: [entity(collection)]}
    response = client.post(path, json=body, headers=auth(keys["crm"]))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["field"] == "as_of" and "out of range" in error["message"]

    for field, change in (
        ("created_at", lambda e: e.update(created_at=stamp)),
        ("events[0].occurred_at", lambda e: e["events"][0].update(occurred_at=stamp)),
    ):
        item = entity(collection)
        change(item)
        body = {"as_of": AS_OF, collection: [item]}
        (error,) = entity_errors(client.post(path, json=body, headers=auth(keys["crm"])))
        assert error["field"] == f"{collection}[0].{field}"
        assert error["type"] == "value_error" and "out of range" in error["message"]


@pytest.mark.parametrize("collection", sorted(ROUTES))
@pytest.mark.parametrize(
    ("field", "placeholder"),
    [
        ("attributes.employees", '"employees": 0'),
        ("events[0].value", '"value": 0'),
    ],
)
def test_a_number_too_large_for_a_float_names_its_field(
    client: TestClient, keys: dict[str, str], collection: str, field: str, placeholder: str
) -> None:
    item = entity(collection)
    item["attributes"]["employees"] = 0
    item["events"][0]["value"] = 0
    content = json.dumps({"as_of": AS_OF, collection: [item]})
    content = content.replace(placeholder, placeholder[:-1] + HUGE, 1)
    (error,) = entity_errors(post_raw(client, keys["crm"], ROUTES[collection], content))
    assert error["field"] == f"{collection}[0].{field}"


@pytest.mark.parametrize("collection", sorted(ROUTES))
@pytest.mark.parametrize(
    "field", ["id", "owner_id", "account_id", "attributes.industry", "events[0].channel"]
)
def test_a_lone_surrogate_names_its_field(
    client: TestClient, keys: dict[str, str], collection: str, field: str
) -> None:
    item = entity(collection)
    key = {"id": "lead_id" if collection == "leads" else "customer_id"}.get(field, field)
    placeholder = "SURROGATE-HERE"
    if key.startswith("attributes."):
        # The categorical attribute the model reads, so the value would reach the reasons.
        name = "industry" if collection == "leads" else "plan"
        item["attributes"][name] = placeholder
        key = f"attributes.{name}"
    elif key.startswith("events"):
        item["events"][0]["channel"] = placeholder
    else:
        item[key] = placeholder
    content = json.dumps({"as_of": AS_OF, collection: [item]}).replace(placeholder, "\\ud800")
    (error,) = entity_errors(post_raw(client, keys["crm"], ROUTES[collection], content))
    assert error["field"] == f"{collection}[0].{key}"


def test_an_invalid_id_is_not_repeated_as_the_entity_id(
    client: TestClient, keys: dict[str, str]
) -> None:
    content = json.dumps({"leads": [lead("X" * 300, events=0)]})
    response = post_raw(client, keys["crm"], ROUTES["leads"], content)
    (result,) = response.json()["results"]
    assert result["entity_id"] is None
    assert [e["field"] for e in result["errors"]] == ["leads[0].lead_id"]


@pytest.fixture
def published(services: Services) -> Services:
    """One published run holding a lead and a customer of rep-0."""
    run = services.store.begin_run(as_of=datetime(2025, 10, 1), started_at=NOW)
    rows = [
        ScoreRow(kind, entity_id, "rep-0", 0.6, 60, tier, 10.0, [], "m", "1", datetime(2025, 10, 1))
        for kind, entity_id, tier in (("lead", "L-1", "hot"), ("customer", "C-1", "high"))
    ]
    services.store.write_scores(run, rows)
    services.store.publish(run, published_at=NOW)
    return services


@pytest.mark.parametrize("route", ["/v1/lists/hot-leads", "/v1/lists/at-risk"])
@pytest.mark.parametrize("who", ["crm", "rep0"])
@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, 10**9 + 1])
def test_a_list_offset_beyond_the_bound_names_offset(
    client: TestClient, keys: dict[str, str], published: Services, route: str, who: str, offset: int
) -> None:
    response = client.get(f"{route}?offset={offset}", headers=auth(keys[who]))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["field"] == "offset" and error["type"] == "less_than_equal"


def test_the_largest_offset_still_pages(
    client: TestClient, keys: dict[str, str], published: Services
) -> None:
    response = client.get("/v1/lists/hot-leads?offset=1000000000", headers=auth(keys["crm"]))
    assert response.status_code == 200 and response.json()["items"] == []


@pytest.mark.parametrize("path", sorted(ROUTES.values()))
def test_invalid_utf8_names_the_byte(client: TestClient, keys: dict[str, str], path: str) -> None:
    content = b'{"as_of": "\xff\xfe"}'
    response = post_raw(client, keys["crm"], path, content)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == [
        {"field": "body", "message": "body is not valid UTF-8 at byte 11", "type": "invalid_utf8"}
    ]


@pytest.mark.parametrize("path", sorted(ROUTES.values()))
@pytest.mark.parametrize(
    "content", ["[" * 10_000 + "]" * 10_000, '{"leads": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001]
)
def test_deep_nesting_names_the_limit(
    client: TestClient, keys: dict[str, str], path: str, content: str
) -> None:
    response = post_raw(client, keys["crm"], path, content)
    assert response.status_code == 400, response.text
    (error,) = response.json()["detail"]
    assert error["field"] == "body" and error["type"] == "nesting_too_deep"
    assert error["message"].startswith("body nested deeper than 200 levels (at line 1 column ")


# --- No echo -------------------------------------------------------------------------------

SECRET = "sk_live_51SECRETdoNotEcho9f8e7d"
Change = Callable[[dict[str, Any]], None]
# Every kind of field a scoring entity has, each given the secret where it is not valid.
ENTITY_CHANGES: dict[str, Change] = {
    "created_at": lambda e: e.update(created_at=SECRET),
    "id_too_long": lambda e: e.update(lead_id=SECRET * 20, customer_id=SECRET * 20),
    "owner_id_type": lambda e: e.update(owner_id=[SECRET]),
    "account_id_too_long": lambda e: e.update(account_id=SECRET * 20),
    "amount": lambda e: e.update(expected_value=SECRET, annual_value=SECRET),
    "unknown_field": lambda e: e.update(surprise=SECRET),
    "attribute_list": lambda e: e["attributes"].update(size=[SECRET]),
    "attribute_long": lambda e: e["attributes"].update(size=SECRET * 20),
    "event_time": lambda e: e["events"][0].update(occurred_at=SECRET),
    "event_value": lambda e: e["events"][0].update(value=SECRET),
    "event_type_long": lambda e: e["events"][0].update(type=SECRET * 20),
    "event_channel": lambda e: e["events"][0].update(channel={"x": SECRET}),
    "event_extra": lambda e: e["events"][0].update(mood=SECRET),
}


@pytest.mark.parametrize("collection", sorted(ROUTES))
@pytest.mark.parametrize("change", sorted(ENTITY_CHANGES))
def test_per_entity_errors_never_echo_input(
    client: TestClient, keys: dict[str, str], collection: str, change: str
) -> None:
    item = entity(collection)
    ENTITY_CHANGES[change](item)
    item.pop("customer_id" if collection == "leads" else "lead_id", None)
    item.pop("annual_value" if collection == "leads" else "expected_value", None)
    body = {"as_of": AS_OF, collection: [item]}
    response = client.post(ROUTES[collection], json=body, headers=auth(keys["crm"]))
    errors = entity_errors(response)
    assert SECRET not in response.text
    assert all(set(e) == {"field", "message", "type"} and e["type"] for e in errors)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/leads/score", {"as_of": SECRET, "leads": [lead(events=0)]}),
        ("POST", "/v1/leads/score", {"as_of": 5, "leads": SECRET}),
        ("POST", "/v1/customers/score", {"as_of": [SECRET], "customers": [customer()]}),
        ("POST", "/v1/customers/score", f'{{"customers": "{SECRET}'),
        ("GET", f"/v1/leads/{SECRET}", None),
        ("GET", f"/v1/customers/{SECRET}", None),
        ("GET", f"/v1/lists/hot-leads?limit={SECRET}", None),
        ("GET", f"/v1/lists/hot-leads?offset={SECRET}", None),
        ("GET", f"/v1/lists/hot-leads?min_value={SECRET}", None),
        ("GET", f"/v1/lists/at-risk?tier={SECRET}", None),
        ("GET", f"/v1/lists/at-risk?rank_by={SECRET}", None),
        ("GET", f"/v1/lists/at-risk?format={SECRET}", None),
        ("GET", f"/v1/lists/at-risk?owner_id={SECRET}", None),
        ("GET", f"/v1/lists/at-risk?run_id={SECRET}", None),
    ],
)
def test_request_errors_never_echo_input(
    client: TestClient, keys: dict[str, str], method: str, path: str, body: object
) -> None:
    headers = auth(keys["crm"])
    if isinstance(body, str):
        response = post_raw(client, keys["crm"], path, body)
    else:
        response = client.request(method, path, json=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert SECRET not in response.text
    assert all(set(e) == {"field", "message", "type"} for e in response.json()["detail"])
