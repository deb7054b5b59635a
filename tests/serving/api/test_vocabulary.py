"""One vocabulary on the wire: lead_id / customer_id, deal_value, expected_value (probability x
deal_value), value_at_risk, with the first names kept as deprecated aliases; times in UTC
with a Z."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi.testclient import TestClient

from features.contract.times import iso_utc
from serving.api.services import Services
from tests.serving.api.test_scoring_api import lead
from tests.serving.api.test_stored_scores import scored  # noqa: F401  (fixture)
from tests.serving.appkit import auth

UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


def _score(client: TestClient, token: str, *leads: dict[str, Any]) -> list[dict[str, Any]]:
    body = {"as_of": "2025-12-01T00:00:00+01:00", "leads": list(leads)}
    response = client.post("/v1/leads/score", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == "2025-11-30T23:00:00Z"
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_deal_value_and_its_deprecated_name_score_alike(
    client: TestClient, keys: dict[str, str]
) -> None:
    old = lead("A")
    new = {k: v for k, v in lead("B").items() if k != "expected_value"} | {"deal_value": 20000.0}
    both = lead("C") | {"deal_value": 20000.0}
    by_old, by_new, by_both = _score(client, keys["crm"], old, new, both)
    assert by_new["status"] == by_old["status"] == "scored", (by_old, by_new)
    assert by_new["deal_value"] == by_old["deal_value"] == 20000.0
    assert by_new["expected_value"] == by_old["expected_value"] == by_new["probability"] * 20000
    assert by_new["probability"] == by_old["probability"]
    assert UTC_TEXT.fullmatch(by_new["as_of"])
    assert by_both["status"] == "error"
    (error,) = by_both["errors"]
    assert "deal_value" in error["message"] and "expected_value" in error["message"]
    assert error["type"] == "value_error"  # the validator's own type, as in a 422 item


def test_reads_and_lists_name_ids_and_values_by_task(
    client: TestClient,
    keys: dict[str, str],
    scored: Services,  # noqa: F811
) -> None:
    token = auth(keys["crm"])
    hot = client.get("/v1/lists/hot-leads", headers=token).json()["items"]
    risk = client.get("/v1/lists/at-risk", headers=token).json()["items"]
    assert hot and risk
    for item in hot:
        assert item["lead_id"] == item["entity_id"] and item["expected_value"] == item["value"]
        assert UTC_TEXT.fullmatch(item["as_of"])
    for item in risk:
        assert item["customer_id"] == item["entity_id"]
        assert item["value_at_risk"] == item["value"]
    lead_read = client.get(f"/v1/leads/{hot[0]['lead_id']}", headers=token).json()
    assert lead_read["lead_id"] == lead_read["entity_id"] == hot[0]["lead_id"]
    assert lead_read["expected_value"] == lead_read["value"]
    for key in ("as_of", "published_at"):
        assert UTC_TEXT.fullmatch(lead_read[key]), lead_read[key]
    changed = (
        client.get(f"/v1/customers/{item['customer_id']}", headers=token).json()["change"]
        for item in risk
    )
    change = next(c for c in changed if c is not None)
    assert UTC_TEXT.fullmatch(change["previous_as_of"])
    customer = client.get(f"/v1/customers/{risk[0]['customer_id']}", headers=token).json()
    assert customer["customer_id"] == risk[0]["customer_id"]
    assert customer["value_at_risk"] == customer["value"]
    spreadsheet = client.get("/v1/lists/at-risk?format=csv", headers=token).text
    rows = list(csv.DictReader(io.StringIO(spreadsheet)))
    assert rows and all(UTC_TEXT.fullmatch(row["as_of"]) for row in rows)
    models = client.get("/v1/models", headers=token).json()
    assert all(UTC_TEXT.fullmatch(m["loaded_at"]) for m in models["models"])


def test_iso_utc_writes_z_and_drops_empty_fractions() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    assert iso_utc(datetime(2026, 11, 2, 9)) == "2026-11-02T09:00:00Z"
    assert iso_utc(datetime(2026, 11, 2, 9, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-11-02T07:00:00Z"
    )
    # Sub-second digits are dropped (truncated): no time shown here means anything below one.
    assert iso_utc(datetime(2026, 11, 2, 9, 0, 59, 999_999, tzinfo=UTC)) == ("2026-11-02T09:00:59Z")
