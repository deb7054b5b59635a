"""The numpy backend of the definitions against its reference: the batch SQL over the request.

Each request's entities and events are loaded into a tiny export and run through the batch
DuckDB query at the request's cutoff; the online frame (numpy, every entity at once) must give
the same rows, numbers within 1e-9 and categories exactly (``assert_frames_match``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.compute.online import OnlineEntity, online_feature_frame
from features.compute.snapshots import build_feature_table
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import assert_frames_match, make_export
from tests.features.vocabkit import SIM_TYPES, sim_vocabulary

BASE = datetime(2024, 1, 1)
AS_OF = BASE + timedelta(days=400)
# Values whose sums depend on the order they are added in (0.1 + 0.2 + 0.3 style).
VALUES = st.one_of(st.none(), st.sampled_from([0.1, 0.2, 0.3, 1.0, 3.0, 123.25, 0.0]))


def _event(task: Task) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {
            # Few distinct days and hours: same-time events and window edges are common.
            "occurred_at": st.builds(
                lambda d, h: BASE + timedelta(days=d, hours=h),
                st.integers(0, 420),
                st.sampled_from([0, 0, 9]),
            ),
            "type": st.sampled_from([*SIM_TYPES[task], "other", None]),
            "value": VALUES,
            "channel": st.sampled_from([None, "email", "phone", "web"]),
            "direction": st.sampled_from([None, "inbound", "outbound"]),
        }
    )


def _entities(task: Task) -> st.SearchStrategy[list[OnlineEntity]]:
    value_column = TASK_TABLES[task].value_column
    entity = st.builds(
        lambda created, events: (
            {"created_at": BASE + timedelta(days=created), "owner_id": "o", value_column: 5.0},
            events,
        ),
        st.integers(0, 300),
        st.lists(_event(task), max_size=30),
    )
    return st.lists(entity, min_size=1, max_size=6).map(
        lambda drawn: [
            OnlineEntity(f"e{i}", record, events) for i, (record, events) in enumerate(drawn)
        ]
    )


def _reference(task: Task, entities: list[OnlineEntity], as_of: datetime) -> pd.DataFrame:
    """The batch SQL's rows for the request's entities at ``as_of`` (the reference)."""
    key = TASK_TABLES[task].key
    rows = [{key: e.entity_id, **e.record} for e in entities]
    events = [{key: e.entity_id, "outcome": None, **event} for e in entities for event in e.events]
    export = make_export(task, rows, events)
    pairs = pd.DataFrame({"entity_id": [e.entity_id for e in entities], "cutoff": as_of})
    try:
        specs = feature_specs(task, sim_vocabulary(task))
        table = build_feature_table(
            export, task=task, pairs=pairs, specs=specs, vocabulary=sim_vocabulary(task)
        )
    finally:
        export.close()
    return table.set_index("entity_id")


def _check(task: Task, entities: list[OnlineEntity], as_of: datetime = AS_OF) -> pd.DataFrame:
    specs = feature_specs(task, sim_vocabulary(task))
    online = online_feature_frame(task, entities, as_of=as_of, vocabulary=sim_vocabulary(task))
    expected = _reference(task, entities, as_of)
    assert online.index.tolist() == [e.entity_id for e in entities]
    assert_frames_match(expected.loc[list(online.index)], online, [s.name for s in specs])
    return online


NUMPY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@NUMPY
@given(entities=_entities(Task.LEADS))
def test_lead_features_in_numpy_match_the_sql_over_the_request(entities):
    _check(Task.LEADS, entities)


@NUMPY
@given(entities=_entities(Task.CHURN))
def test_customer_features_in_numpy_match_the_sql_over_the_request(entities):
    _check(Task.CHURN, entities)


def test_many_valued_events_sum_to_the_same_value() -> None:
    events = [
        {"occurred_at": AS_OF - timedelta(days=i + 1), "type": "order", "value": v}
        for i, v in enumerate([0.1, 0.2, 0.3, 1e6, 1.0, -1e6, 0.7, 0.1, 0.2, 0.3])
    ]
    record = {"created_at": BASE, "owner_id": "o", "annual_value": 1.0}
    entities = [OnlineEntity("a", record, events), OnlineEntity("b", record, events[:3])]
    frame = _check(Task.CHURN, entities)
    assert frame.index.tolist() == ["a", "b"]
    np.testing.assert_allclose(frame["purchase_value_30d"].tolist(), [2.9, 0.6], rtol=1e-9)


def test_no_entities_give_an_empty_frame_with_every_column() -> None:
    frame = online_feature_frame(Task.LEADS, [], as_of=AS_OF, vocabulary=sim_vocabulary(Task.LEADS))
    assert len(frame) == 0
    assert list(frame.columns) == [
        s.name for s in feature_specs(Task.LEADS, sim_vocabulary(Task.LEADS))
    ]


def test_median_gaps_count_only_gaps_ending_in_the_window() -> None:
    # Gaps that end more than 365 days back do not count; the one that ends in the window
    # does, however long. "even": 410, 30, 10, 40 -> 35; "odd": 570, 10, 15 -> 15; a single
    # order or only old gaps -> missing.
    def customer(name: str, days_back: list[int]) -> OnlineEntity:
        events = [{"occurred_at": AS_OF - timedelta(days=d), "type": "order"} for d in days_back]
        return OnlineEntity(name, {"created_at": BASE - timedelta(days=800)}, events)

    entities = [
        customer("even", [700, 600, 500, 90, 60, 50, 10]),
        customer("odd", [700, 600, 30, 20, 5]),
        customer("one", [3]),
        customer("old", [700, 500]),
    ]
    frame = _check(Task.CHURN, entities)
    values = frame["median_days_between_purchases"].tolist()
    assert values[:2] == [35.0, 15.0] and np.isnan(values[2]) and np.isnan(values[3])


def test_the_latest_channel_breaks_time_ties_by_the_greatest_name() -> None:
    at = AS_OF - timedelta(days=2)
    events = [
        {"occurred_at": at, "type": "call", "channel": "email"},
        {"occurred_at": at, "type": "meeting", "channel": "web"},
        {"occurred_at": at - timedelta(days=1), "type": "call", "channel": "zoom"},
        {"occurred_at": at + timedelta(hours=1), "type": "demo"},
    ]
    record = {"created_at": BASE, "owner_id": "o"}
    entities = [OnlineEntity("a", record, events), OnlineEntity("b", record, [])]
    frame = _check(Task.LEADS, [OnlineEntity("a", record, events)])
    assert frame["last_touch_channel"].tolist() == ["web"]
    frame = _check(Task.LEADS, entities)
    assert frame["last_touch_channel"].iloc[0] == "web"
    assert pd.isna(frame["last_touch_channel"].iloc[1])
