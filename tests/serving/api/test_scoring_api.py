"""Online scoring: every field the CRM reads, per-entity errors, and parity with the batch path."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from features.compute.online import OnlineEntity
from features.contract.tasks import Task
from serving.api.services import Services
from tests.features.vocabkit import sim_vocabulary
from tests.serving.appkit import NOW, auth


def lead(lead_id: str = "L-1", *, events: int = 50, **extra: Any) -> dict[str, Any]:
    start = datetime(2025, 10, 1)
    kinds = ("email_open", "call", "meeting", "demo", "quote")
    return {
        "lead_id": lead_id,
        "created_at": "2025-09-20T08:00:00Z",
        "owner_id": "rep-0",
        "expected_value": 20000.0,
        "attributes": {"industry": "retail"},
        "events": [
            {
                "occurred_at": (start + timedelta(days=i)).isoformat() + "Z",
                "type": kinds[i % 5],
                "value": 1500.0 if kinds[i % 5] == "quote" else None,
                "channel": "phone",
                "direction": "outbound",
                "outcome": "done",
            }
            for i in range(events)
        ],
        **extra,
    }


def test_scores_a_lead_with_every_field(client: TestClient, keys: dict[str, str]) -> None:
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [lead()]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["as_of"] == "2025-12-01T00:00:00Z"
    (result,) = payload["results"]
    assert result["status"] == "scored" and result["lead_id"] == "L-1"
    assert 0.0 <= result["probability"] <= 1.0
    assert result["score"] == round(100 * result["probability"])
    expected_tier = (
        "hot"
        if result["probability"] >= 0.5
        else ("warm" if result["probability"] >= 0.2 else "cold")
    )
    assert result["tier"] == expected_tier
    assert result["expected_value"] == result["probability"] * 20000.0
    assert result["deal_value"] == 20000.0
    assert result["model"] == {"name": "salesradar-leads", "version": "1"}
    assert 3 <= len(result["reasons"]) <= 5
    keys = {"feature", "value", "contribution", "text", "background"}
    assert all(keys == set(r) for r in result["reasons"])
    flags = [r["background"] for r in result["reasons"]]
    assert flags == sorted(flags)  # actionable reasons first (features.model.reasons)
    contributions = [abs(r["contribution"]) for r in result["reasons"]]
    assert contributions == sorted(contributions, reverse=True)


def test_as_of_defaults_to_request_time(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/leads/score", json={"leads": [lead()]}, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == NOW.isoformat() + "Z"


def test_events_at_or_after_as_of_do_not_change_the_score(
    client: TestClient, keys: dict[str, str]
) -> None:
    base = lead(events=20)
    later = dict(
        base,
        events=[
            *base["events"],
            {"occurred_at": "2025-12-01T00:00:00Z", "type": "quote", "value": 90000.0},
        ],
    )
    as_of = "2025-12-01T00:00:00Z"
    responses = [
        client.post(
            "/v1/leads/score", json={"as_of": as_of, "leads": [x]}, headers=auth(keys["crm"])
        ).json()["results"][0]
        for x in (base, later)
    ]
    assert responses[0]["probability"] == responses[1]["probability"]


def test_one_bad_entity_does_not_fail_the_batch(client: TestClient, keys: dict[str, str]) -> None:
    bad_type = lead("L-2", expected_value="lots")
    future = lead("L-3")
    future["events"][4]["occurred_at"] = "2030-01-01T00:00:00Z"
    body = {
        "as_of": "2025-12-01T00:00:00Z",
        "leads": [lead("L-1"), bad_type, future, lead("L-1"), 7],
    }
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["scored", "error", "error", "error", "error"]
    assert results[1]["errors"] == [
        {
            "field": "leads[1].expected_value",
            "message": "Input should be a valid number",
            "type": "float_type",
        }
    ]
    assert results[2]["errors"] == [
        {
            "field": "leads[2].events[4].occurred_at",
            "message": "is in the future",
            "type": "future_timestamp",
        }
    ]
    assert results[3]["errors"] == [
        {
            "field": "leads[3].lead_id",
            "message": "appears more than once in this request",
            "type": "duplicate_id",
        }
    ]
    assert results[4]["entity_id"] is None and results[4]["errors"][0]["field"] == "leads[4]"


def test_customer_value_at_risk(client: TestClient, keys: dict[str, str]) -> None:
    customer = {
        "customer_id": "C-9",
        "created_at": "2024-01-01T00:00:00Z",
        "owner_id": "rep-1",
        "annual_value": 50000.0,
        "attributes": {"plan": "pro"},
        "events": [
            {"occurred_at": f"2025-{m:02d}-03T10:00:00Z", "type": "order", "value": 900.0}
            for m in range(1, 8)
        ],
    }
    body = {"as_of": "2025-12-01T00:00:00Z", "customers": [customer]}
    response = client.post("/v1/customers/score", json=body, headers=auth(keys["admin"]))
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["tier"] in {"high", "medium", "low"}
    assert result["value_at_risk"] == result["probability"] * 50000.0
    assert result["model"]["name"] == "salesradar-churn"


def _request(row: Any, events: Any, key: str, fields: tuple[str, ...]) -> OnlineEntity:
    """An export row and its events as an API request's entity (NaN read as absent)."""
    return OnlineEntity(
        entity_id=row[key],
        record={"created_at": row["created_at"].to_pydatetime(), **{f: row[f] for f in fields}},
        events=[
            {k: (None if isinstance(v, float) and v != v else v) for k, v in event.items()}
            for event in events[events[key] == row[key]]
            .drop(columns=key)
            .astype(object)
            .to_dict("records")
        ],
    )


def test_online_matches_batch_features(services: Services) -> None:
    """The same lead scored online and through the batch table gets the same probability."""
    from features.compute.snapshots import build_scoring_table
    from features.contract.export import export_from_frames
    from serving.wiring import build_online_features, model_specs
    from tests.serving.factories import make_frames

    services.models.reload()
    served = services.models.current(Task.LEADS)
    assert served is not None
    frames = make_frames(seed=5, leads=30, customers=5)
    export = export_from_frames(**frames)
    as_of = datetime(2025, 9, 1)
    batch = build_scoring_table(
        export,
        task=Task.LEADS,
        as_of=as_of,
        specs=model_specs(served.model),
        vocabulary=sim_vocabulary(Task.LEADS),
    )
    leads, events = frames["leads"], frames["lead_events"]
    row = leads[leads["lead_id"].isin(batch["entity_id"])].iloc[0]
    entity = _request(row, events, "lead_id", ("owner_id", "expected_value", "industry"))
    online = build_online_features(Task.LEADS, served.model, [entity], as_of=as_of)
    offline = batch[batch["entity_id"] == row["lead_id"]]
    assert served.model.predict_proba(online)[0] == served.model.predict_proba(offline)[0]


def test_online_matches_batch_for_customers_with_derived_features(services: Services) -> None:
    """A churn model with BG/NBD features: every customer's derived values and probability are
    the same online (FeatureRows) as through the batch table (pandas), within 1e-9."""
    from features.compute.snapshots import build_scoring_table
    from features.contract.export import export_from_frames
    from features.definitions.btyd import add_btyd_features
    from serving.wiring import build_online_features, model_specs
    from tests.serving.factories import make_frames

    services.models.reload()
    served = services.models.current(Task.CHURN)
    assert served is not None and served.model.btyd is not None
    frames = make_frames(seed=5, leads=5, customers=40)
    export = export_from_frames(**frames)
    as_of = datetime(2025, 9, 1)
    batch = build_scoring_table(
        export,
        task=Task.CHURN,
        as_of=as_of,
        specs=model_specs(served.model),
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    export.close()
    batch = add_btyd_features(batch, served.model.btyd).set_index("entity_id")
    customers, events = frames["customers"], frames["customer_events"]
    entities = [
        _request(row, events, "customer_id", ("owner_id", "annual_value", "plan"))
        for _, row in customers[customers["customer_id"].isin(batch.index)].iterrows()
    ]
    online = build_online_features(Task.CHURN, served.model, entities, as_of=as_of)
    offline = batch.loc[list(online.entity_ids)]
    assert len(online) > 10
    for name in served.model.btyd.names:
        assert np.allclose(online.values(name), offline[name], rtol=1e-9, atol=1e-9), name
        assert np.isfinite(online.values(name)).all(), name
    assert np.allclose(
        served.model.predict_proba(online), served.model.predict_proba(offline), atol=1e-12
    )


def test_inputs_read_differently_are_warned_about(client: TestClient, keys: dict[str, str]) -> None:
    sent = lead(events=6, attributes={"lead_source": "web"})
    sent["events"][1]["type"] = "Webinar"
    sent["events"][4]["type"] = "Webinar"  # one warning per type, at its first occurrence
    sent["events"][2]["type"] = " Email-Open"  # a respelling of a known type: no warning
    sent["events"][3]["direction"] = "Inbound "  # a respelling of a known direction: no warning
    sent["events"][5]["direction"] = "incoming"  # counts as neither inbound nor outbound
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [sent, lead("L-2", events=3)]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == "scored"
    assert first["warnings"] == [
        {
            "field": "events[1].type",
            "code": "unknown_event_type",
            "message": "event type 'Webinar' is not in the model's vocabulary; counted as 'other'",
        },
        {
            "field": "events[5].direction",
            "code": "unknown_direction",
            "message": "not inbound or outbound; the event counts as neither",
        },
        {
            "field": "attributes.lead_source",
            "code": "unused_attribute",
            "message": "the model was not trained on this attribute; ignored",
        },
        {
            "field": "attributes.industry",
            "code": "missing_attribute",
            "message": "the model was trained on this attribute; read as unknown",
        },
    ]
    assert second["warnings"] == []


def test_models_list_the_vocabulary_and_attributes(
    client: TestClient, keys: dict[str, str]
) -> None:
    response = client.get("/v1/models", headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    by_task = {m["task"]: m for m in response.json()["models"]}
    leads, churn = by_task["leads"], by_task["churn"]
    assert leads["event_types"]["email_reply"] == ["email_reply"]
    assert leads["activity_types"] == [] and leads["attributes"] == ["industry"]
    assert churn["event_types"]["purchase"] == ["order"]
    assert churn["activity_types"] == ["order"]
