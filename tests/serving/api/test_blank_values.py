"""Ids made only of spaces and event types made only of separators name nothing: the request
schema refuses each with its JSON field path and a message saying so (a per-entity error, as
every entity field error is; the other entities are scored)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import auth

BLANK_ID = "must not be blank: an id made only of spaces names nothing"
BLANK_TYPE = "must not be blank: a type made only of spaces, '-' and '_' names nothing"


def _errors(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["field"], e["message"], e["type"]) for e in result["errors"]]


def test_blank_lead_ids_owners_and_event_types_are_refused_by_field(
    client: TestClient, keys: dict[str, str]
) -> None:
    blank_type = lead("L-3", events=3)
    blank_type["events"][1]["type"] = " -_\u3000"
    spaced_type = lead("L-4", events=3)
    spaced_type["events"][0]["type"] = " Demo "  # a name with spaces around it is a name
    leads = [
        lead("   ", events=3),
        lead("L-2", events=3, owner_id=" \t", account_id="\u00a0"),  # a no-break space too
        blank_type,
        spaced_type,
    ]
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": leads}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["status"], r.get("entity_id")) for r in results[:3]] == [
        ("error", None),  # a blank id is not repeated back
        ("error", "L-2"),
        ("error", "L-3"),
    ]
    mismatch = "string_pattern_mismatch"
    assert _errors(results[0]) == [("leads[0].lead_id", BLANK_ID, mismatch)]
    assert sorted(_errors(results[1])) == [
        ("leads[1].account_id", BLANK_ID, mismatch),
        ("leads[1].owner_id", BLANK_ID, mismatch),
    ]
    assert _errors(results[2]) == [("leads[2].events[1].type", BLANK_TYPE, mismatch)]
    assert results[3]["status"] == "scored"


def test_a_blank_customer_id_is_refused_by_field(client: TestClient, keys: dict[str, str]) -> None:
    customer = {
        "customer_id": "  ",
        "created_at": "2025-01-05T00:00:00Z",
        "owner_id": "rep-0",
        "events": [{"occurred_at": "2025-11-01T00:00:00Z", "type": "order", "value": 10.0}],
    }
    body = {"as_of": "2025-12-01T00:00:00Z", "customers": [customer]}
    response = client.post("/v1/customers/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert _errors(result) == [("customers[0].customer_id", BLANK_ID, "string_pattern_mismatch")]
