"""Golden values on tiny handwritten histories, for every feature family, on both paths."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest

from features.compute.online import online_feature_frame
from features.compute.snapshots import build_feature_table
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import make_export, online_entities
from tests.features.vocabkit import sim_vocabulary

CUTOFF = datetime(2024, 7, 1)
NAN = math.nan

CUSTOMERS = [
    {
        "customer_id": "c1",
        "created_at": datetime(2024, 1, 1),
        "owner_id": "o1",
        "annual_value": 900.0,
    },
    {
        "customer_id": "c2",
        "created_at": datetime(2024, 6, 1),
        "owner_id": "o1",
        "annual_value": None,
    },
]


def _event(key, entity, when, type_, value=None, channel=None, direction=None):
    return {
        key: entity,
        "occurred_at": when,
        "type": type_,
        "value": value,
        "channel": channel,
        "direction": direction,
        "outcome": None,
    }


CUSTOMER_EVENTS = [
    _event("customer_id", "c1", datetime(2024, 1, 10), "order", 100.0),  # 173 days before
    _event("customer_id", "c1", datetime(2024, 2, 9), "order", 50.0),  # 143
    _event("customer_id", "c1", datetime(2024, 4, 9), "order", 80.0),  # 83
    _event("customer_id", "c1", datetime(2024, 6, 21), "order", 40.0),  # 10
    _event("customer_id", "c1", datetime(2024, 6, 1), "support_ticket", direction="inbound"),  # 30
    _event("customer_id", "c1", datetime(2024, 6, 1), "support_ticket", direction="inbound"),
    _event("customer_id", "c1", datetime(2024, 6, 25), "check_in", direction="outbound"),  # 6
    _event("customer_id", "c1", datetime(2024, 6, 30), "webinar"),  # 1, unknown type
    _event("customer_id", "c1", datetime(2024, 7, 1), "order", 999.0),  # at the cutoff
    _event("customer_id", "c1", datetime(2024, 8, 1), "order", 999.0),  # after
]

CUSTOMER_GOLDEN = {
    "event_count_7d": (2.0, 0.0),
    "event_count_30d": (4.0, 0.0),  # an event exactly 30 days back is inside the window
    "event_count_90d": (5.0, 0.0),
    "event_count_180d": (7.0, 0.0),
    "event_count_365d": (7.0, 0.0),
    "days_since_last_event": (1.0, NAN),
    "event_trend_30d": (4.0, 0.0),
    "event_trend_90d": (3.0, 0.0),
    "purchase_count_30d": (1.0, 0.0),
    "purchase_count_90d": (2.0, 0.0),
    "purchase_count_180d": (4.0, 0.0),
    "purchase_value_30d": (40.0, 0.0),
    "purchase_value_90d": (120.0, 0.0),
    "purchase_value_365d": (270.0, 0.0),
    "days_since_last_purchase": (10.0, NAN),
    "purchase_trend_30d": (1.0, 0.0),
    "purchase_trend_90d": (0.0, 0.0),
    "support_ticket_count_30d": (1.0, 0.0),  # the exact duplicate is dropped
    "days_since_last_support_ticket": (30.0, NAN),
    "support_ticket_trend_30d": (1.0, 0.0),
    "days_since_last_check_in": (6.0, NAN),
    "check_in_count_7d": (1.0, 0.0),
    "customer_tenure_days": (182.0, 30.0),
    "median_days_between_purchases": (60.0, NAN),  # gaps 30, 60, 73
    "days_overdue_vs_purchase_cadence": (-50.0, NAN),
    "purchase_value_trend_90d": (-30.0, 0.0),  # 120 in the last 90 days vs 150 before
    "share_of_months_with_purchase_12m": (4 / 12, 0.0),
    "inbound_share_90d": (0.5, NAN),
    "support_ticket_90d_vs_usual": (1.0, 0.0),
    "purchase_count_all": (4.0, 0.0),
    "days_since_first_purchase": (173.0, NAN),
    "other_count_7d": (1.0, 0.0),  # the webinar, a type outside the vocabulary
    "days_since_last_other": (1.0, NAN),
    "annual_value": (900.0, NAN),
}

LEADS = [
    {
        "lead_id": "L1",
        "created_at": datetime(2024, 3, 1),
        "owner_id": "o1",
        "expected_value": 5000.0,
    },
    {"lead_id": "L2", "created_at": datetime(2024, 3, 5), "owner_id": "o2"},
]
LEAD_CUTOFF = datetime(2024, 3, 11)
LEAD_EVENTS = [
    _event("lead_id", "L1", datetime(2024, 3, 1, 12), "call", None, "phone", "outbound"),
    _event("lead_id", "L1", datetime(2024, 3, 2), "email_open", None, "email", "inbound"),
    _event("lead_id", "L1", datetime(2024, 3, 3), "call", None, "phone", "outbound"),
    _event("lead_id", "L1", datetime(2024, 3, 4), "email_reply", None, "email", "inbound"),
    _event("lead_id", "L1", datetime(2024, 3, 8), "meeting", None, "video", "outbound"),
    _event("lead_id", "L1", datetime(2024, 3, 10), "demo", None, "video", "outbound"),
    _event("lead_id", "L1", datetime(2024, 3, 10), "quote", 4000.0, "email", "outbound"),
    _event("lead_id", "L1", datetime(2024, 3, 11), "call", None, "zoom", "outbound"),
    _event("lead_id", "L2", datetime(2024, 3, 6), "email_open", None, None, "inbound"),
]
LEAD_GOLDEN = {
    "event_count_7d": (4.0, 1.0),
    "event_count_30d": (7.0, 1.0),
    "email_reply_count_7d": (1.0, 0.0),
    "meeting_count_7d": (1.0, 0.0),
    "demo_count_7d": (1.0, 0.0),
    "quote_value_30d": (4000.0, 0.0),
    "days_since_last_email_reply": (7.0, NAN),
    "days_since_last_call": (8.0, NAN),
    "days_since_last_event": (1.0, 5.0),
    "lead_age_days": (10.0, 6.0),
    "inbound_share_90d": (2 / 7, 1.0),
    "days_to_first_touch": (0.5, NAN),
    # A reply is the first inbound event: L1's email open on 3/2, after one outbound call.
    "touches_before_first_reply": (1.0, 0.0),
    "last_touch_channel": ("video", NAN),  # a tie in time goes to the greatest channel name
    "expected_value": (5000.0, NAN),
}


def _assert_golden(frame: pd.DataFrame, golden: dict[str, tuple[object, object]]) -> None:
    for name, expected in golden.items():
        actual = frame[name].tolist()
        for got, want in zip(actual, expected, strict=True):
            if isinstance(want, float) and math.isnan(want):
                assert pd.isna(got), (name, actual)
            elif isinstance(want, float):
                assert got == pytest.approx(want, rel=1e-12), (name, actual)
            else:
                assert got == want, (name, actual)


@pytest.mark.parametrize(
    ("task", "entities", "events", "cutoff", "golden"),
    [
        (Task.CHURN, CUSTOMERS, CUSTOMER_EVENTS, CUTOFF, CUSTOMER_GOLDEN),
        (Task.LEADS, LEADS, LEAD_EVENTS, LEAD_CUTOFF, LEAD_GOLDEN),
    ],
    ids=["churn", "leads"],
)
def test_golden_values_on_both_paths(task, entities, events, cutoff, golden):
    export = make_export(task, entities, events)
    key = "customer_id" if task is Task.CHURN else "lead_id"
    pairs = pd.DataFrame({"entity_id": [e[key] for e in entities], "cutoff": cutoff})
    batch = build_feature_table(export, task=task, pairs=pairs, vocabulary=sim_vocabulary(task))
    assert batch["entity_id"].tolist() == [e[key] for e in entities]
    _assert_golden(batch, golden)
    online = online_feature_frame(
        task,
        online_entities(task, entities, events),
        as_of=cutoff,
        specs=feature_specs(task, sim_vocabulary(task)),
        vocabulary=sim_vocabulary(task),
    )
    _assert_golden(online, golden)
