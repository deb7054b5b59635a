"""The API drops an event sent twice in two notations, like the batch path does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from serving.api.schemas.requests import ScoreLeadsRequest
from tests.serving.appkit import auth

QUOTE = {"type": "quote", "channel": "email", "direction": "outbound"}


def _lead(lead_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "created_at": "2025-09-01T00:00:00Z",
        "owner_id": "rep-0",
        "expected_value": 5000.0,
        "events": events,
    }


def test_the_same_event_in_two_notations_scores_like_one(
    client: TestClient, keys: dict[str, str]
) -> None:
    twice = [
        {**QUOTE, "occurred_at": "2025-11-01T10:00:00Z", "value": 1200},
        {**QUOTE, "occurred_at": "2025-11-01 12:00:00+02:00", "value": 1200.0},
    ]
    body = {
        "as_of": "2025-12-01T00:00:00Z",
        "leads": [_lead("both", twice), _lead("once", twice[:1])],
    }
    # The request schema turns both notations into the same naive-UTC instant and number, so
    # the online features (tests/features/contract/test_duplicate_notations.py) drop one as a
    # duplicate.
    parsed = ScoreLeadsRequest.model_validate(body).leads[0].events
    assert parsed[0] == parsed[1]
    assert parsed[0]["occurred_at"] == datetime(2025, 11, 1, 10)
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    both, once = response.json()["results"]
    assert both["status"] == once["status"] == "scored"
    for field in ("probability", "score", "tier", "reasons"):
        assert both[field] == once[field], field
