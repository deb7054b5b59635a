"""Online features: request validation, attributes from the record, order and time handling."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from features.compute.online import OnlineEntity, OnlineInputError, online_feature_frame
from features.compute.snapshots import build_scoring_table, missing_attributes
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import assert_frames_match, make_export
from tests.features.vocabkit import sim_vocabulary

AS_OF = datetime(2024, 7, 1)
RECORD = {"created_at": "2024-01-01T00:00:00", "owner_id": "o1", "annual_value": 120.0}


def _order(when: str, value: float | None = 10.0) -> dict[str, object]:
    return {"occurred_at": when, "type": "order", "value": value}


def test_rows_follow_input_order_and_ignore_events_from_as_of_on():
    entities = [
        OnlineEntity("z", RECORD, [_order("2024-06-30T00:00:00"), _order("2024-07-01T00:00:00")]),
        OnlineEntity("a", RECORD, []),
    ]
    frame = online_feature_frame("churn", entities, as_of=AS_OF, vocabulary=sim_vocabulary("churn"))
    assert frame.index.tolist() == ["z", "a"] and frame.index.name == "entity_id"
    assert frame["purchase_count_7d"].tolist() == [1.0, 0.0]
    assert frame["days_since_last_purchase"].tolist()[0] == 1.0
    assert math.isnan(frame["days_since_last_purchase"].tolist()[1])
    assert list(frame.columns) == [s.name for s in feature_specs("churn", sim_vocabulary("churn"))]


def test_timestamps_with_offsets_are_converted_to_utc():
    entity = OnlineEntity(
        "c", RECORD, [_order("2024-06-30T02:00:00+02:00"), _order(datetime(2024, 6, 29))]
    )
    as_of = datetime(2024, 7, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    frame = online_feature_frame("churn", [entity], as_of=as_of, vocabulary=sim_vocabulary("churn"))
    assert frame["days_since_last_purchase"].tolist() == [1.0]
    assert frame["median_days_between_purchases"].tolist() == [1.0]


@pytest.mark.parametrize(
    ("entity", "field"),
    [
        (OnlineEntity("c", {"owner_id": "o1"}, []), "entities[0].record.created_at"),
        (OnlineEntity("c", RECORD, [{"type": "order"}]), "entities[0].events[0].occurred_at"),
        (OnlineEntity("c", RECORD, [_order("yesterday")]), "entities[0].events[0].occurred_at"),
        (OnlineEntity("c", RECORD, [_order("2024-01-02", "12")]), "entities[0].events[0].value"),
        (
            OnlineEntity("c", RECORD, [_order("2024-01-02", float("inf"))]),
            "entities[0].events[0].value",
        ),
        (
            OnlineEntity("c", RECORD, [{**_order("2024-01-02"), "channel": 3}]),
            "entities[0].events[0].channel",
        ),
        (
            OnlineEntity("c", {**RECORD, "annual_value": "lots"}, []),
            "entities[0].record.annual_value",
        ),
        # Datetimes and plain dicts, as the API hands them over (the inline-checked path).
        (
            OnlineEntity("c", RECORD, [_order(datetime(2024, 1, 2)), _order(AS_OF, True)]),  # type: ignore[arg-type]
            "entities[0].events[1].value",
        ),
        (
            OnlineEntity("c", RECORD, [_order(datetime(2024, 1, 2), float("nan"))]),  # type: ignore[arg-type]
            "entities[0].events[0].value",
        ),
        (
            OnlineEntity("c", RECORD, [{**_order(datetime(2024, 1, 2)), "outcome": 1}]),  # type: ignore[arg-type]
            "entities[0].events[0].outcome",
        ),
        (OnlineEntity("c", RECORD, ["an event"]), "entities[0].events[0]"),
    ],
)
def test_malformed_fields_raise_an_error_naming_the_field(entity, field):
    with pytest.raises(OnlineInputError) as info:
        online_feature_frame("churn", [entity], as_of=AS_OF, vocabulary=sim_vocabulary("churn"))
    assert info.value.field == field


@pytest.mark.parametrize(
    "event",
    [
        {"occurred_at": datetime(2024, 1, 2, 3, 4, 5, 6), "type": "order", "value": 3},
        {"occurred_at": datetime(2024, 1, 2), "type": "order", "value": 2.5, "channel": "web"},
        {"occurred_at": datetime(2024, 1, 2), "type": None, "value": None, "outcome": "won"},
        {"occurred_at": datetime(2024, 1, 2), "type": "call", "note": "not a contract field"},
        {"occurred_at": datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=-5)))},
    ],
)
def test_inline_event_check_reads_events_as_the_field_by_field_one(event):
    from features.compute.online import _checked_event_key, _event_key

    assert _event_key(event, "entities[0]", 0) == _checked_event_key(event, "entities[0].events[0]")


def _export_with_attributes():
    customers = [
        {
            "customer_id": f"c{i}",
            "created_at": datetime(2024, 1, 1),
            "owner_id": "o1",
            "account_id": "a1" if i < 3 else None,
            "annual_value": 100.0 * i,
            "plan": ["basic", "pro"][i % 2],
            "seats": float(i % 3),
        }
        for i in range(6)
    ]
    events = [
        {
            "customer_id": f"c{i}",
            "occurred_at": datetime(2024, 5, i + 1),
            "type": "order",
            "value": 5.0,
            "channel": "web",
            "direction": "inbound",
            "outcome": None,
        }
        for i in range(6)
    ]
    accounts = pd.DataFrame({"account_id": ["a1"], "industry": ["retail"]})
    return customers, events, make_export(Task.CHURN, customers, events, accounts=accounts)


def test_attribute_columns_match_the_batch_scoring_table():
    customers, events, export = _export_with_attributes()
    specs = feature_specs("churn", sim_vocabulary("churn"), export)
    assert [s.name for s in specs][-4:] == ["annual_value", "plan", "seats", "industry"]
    batch = build_scoring_table(
        export, task="churn", as_of=AS_OF, specs=specs, vocabulary=sim_vocabulary("churn")
    )
    requests = []
    for customer, event in zip(customers, events, strict=True):
        record = {k: v for k, v in customer.items() if k != "customer_id" and v is not None}
        if customer["account_id"]:
            record["industry"] = "retail"
        own = [{k: v for k, v in event.items() if k != "customer_id" and v is not None}]
        requests.append(OnlineEntity(customer["customer_id"], record, own))
    online = online_feature_frame(
        "churn", requests, as_of=AS_OF, specs=specs, vocabulary=sim_vocabulary("churn")
    )
    assert_frames_match(batch.set_index("entity_id"), online, [s.name for s in specs])


def test_missing_and_unknown_attributes_become_missing_values():
    _, _, export = _export_with_attributes()
    specs = feature_specs("churn", sim_vocabulary("churn"), export)
    record = {"created_at": "2024-01-01", "favourite_colour": "teal"}
    frame = online_feature_frame(
        "churn",
        [OnlineEntity("c9", record, [])],
        as_of=AS_OF,
        specs=specs,
        vocabulary=sim_vocabulary("churn"),
    )
    assert pd.isna(frame.loc["c9", "plan"]) and pd.isna(frame.loc["c9", "industry"])
    assert math.isnan(frame.loc["c9", "seats"]) and math.isnan(frame.loc["c9", "annual_value"])
    assert "favourite_colour" not in frame.columns


def test_an_export_without_a_model_attribute_reads_it_as_unknown_like_the_api():
    customers, events, export = _export_with_attributes()
    specs = feature_specs("churn", sim_vocabulary("churn"), export)
    customers = [{k: v for k, v in c.items() if k != "plan"} for c in customers]
    without = make_export(Task.CHURN, customers, events)  # no plan, no accounts
    assert missing_attributes(without, Task.CHURN, specs) == ["plan", "industry"]
    batch = build_scoring_table(
        without, task="churn", as_of=AS_OF, specs=specs, vocabulary=sim_vocabulary("churn")
    )
    assert batch["plan"].isna().all() and batch["industry"].isna().all()
    assert batch["seats"].notna().any()
    requests = [
        OnlineEntity(
            c["customer_id"],
            {k: v for k, v in c.items() if k != "customer_id" and v is not None},
            [{k: v for k, v in e.items() if k != "customer_id" and v is not None}],
        )
        for c, e in zip(customers, events, strict=True)
    ]
    online = online_feature_frame(
        "churn", requests, as_of=AS_OF, specs=specs, vocabulary=sim_vocabulary("churn")
    )
    assert_frames_match(batch.set_index("entity_id"), online, [s.name for s in specs])
