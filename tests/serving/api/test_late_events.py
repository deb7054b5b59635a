"""Events at or after ``as_of`` are ignored by the features: each scored entity says so."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.api.test_hostile_input import customer
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import auth

AS_OF = "2025-12-01T00:00:00Z"


def _late(at: str, kind: str) -> dict[str, object]:
    return {"occurred_at": at, "type": kind, "value": 10.0}


def _warnings(result: dict[str, object]) -> list[object]:
    assert result["status"] == "scored", result
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    return [w for w in warnings if w["code"] == "events_after_as_of"]


def test_lead_events_at_or_after_as_of_are_counted_and_located(
    client: TestClient, keys: dict[str, str]
) -> None:
    sent = lead(events=3)
    # One exactly at as_of (excluded: features read events strictly before it), one after it,
    # between them one before it.
    sent["events"][1:1] = [_late(AS_OF, "quote"), _late("2025-12-02T00:00:00Z", "demo")]
    body = {"as_of": AS_OF, "leads": [sent, lead("L-2", events=3)]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert _warnings(first) == [
        {
            "field": "events[1].occurred_at",
            "code": "events_after_as_of",
            "message": "2 event(s) at or after as_of; features read only events strictly "
            "before as_of, so they were ignored",
        }
    ]
    assert _warnings(second) == []


def test_customer_events_after_as_of_are_warned_about(
    client: TestClient, keys: dict[str, str]
) -> None:
    sent = customer(events=[_late("2025-12-05T00:00:00Z", "order")])
    body = {"as_of": AS_OF, "customers": [sent, customer("C-2")]}
    response = client.post("/v1/customers/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert [(w["field"], w["message"][:11]) for w in _warnings(first)] == [
        ("events[0].occurred_at", "1 event(s) ")
    ]
    assert _warnings(second) == []
