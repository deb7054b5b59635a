"""The columnar evaluation of the registry equals the per-entity reference, bit for bit."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.online import (
    OnlineEntity,
    _distinct_events,
    _engineered_columns,
    _microseconds,
    _plan,
    online_feature_frame,
)
from features.registry import feature_specs
from features.tasks import TASK_TABLES, Task
from tests.features.vocabkit import SIM_TYPES, sim_vocabulary

BASE = datetime(2024, 1, 1)
AS_OF = BASE + timedelta(days=400)
# Values whose sums depend on the order they are added in (0.1 + 0.2 + 0.3 style).
VALUES = st.one_of(st.none(), st.sampled_from([0.1, 0.2, 0.3, 1e16, 1.0, 3.0, 123.25, 0.0]))


def _event(task: Task) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {
            # Few distinct days and hours: same-time events and window edges are common.
            "occurred_at": st.builds(
                lambda d, h: (BASE + timedelta(days=d, hours=h)).isoformat(),
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
        lambda i, created, events: OnlineEntity(
            f"e{i}",
            {"created_at": BASE + timedelta(days=created), "owner_id": "o", value_column: 5.0},
            events,
        ),
        st.integers(0, 10**6),
        st.integers(0, 300),
        st.lists(_event(task), max_size=30),
    )
    return st.lists(entity, min_size=1, max_size=6)


def _both_paths(task: Task, entities: list[OnlineEntity]) -> tuple[dict, dict]:
    plan = _plan(task, tuple(feature_specs(task, sim_vocabulary(task))), sim_vocabulary(task))
    assert plan.columnar is not None, "every registry definition has a columnar form"
    cutoff = _microseconds(AS_OF, "as_of")
    events = [_distinct_events(e, cutoff=cutoff, where="x") for e in entities]
    columnar = _engineered_columns(plan, events, cutoff=cutoff)
    reference = _engineered_columns(dataclasses.replace(plan, columnar=None), events, cutoff=cutoff)
    return columnar, reference


def _assert_identical(columnar: dict, reference: dict) -> None:
    assert columnar.keys() == reference.keys()
    for name, expected in reference.items():
        got = columnar[name]
        if isinstance(got, np.ndarray):
            want = np.array([np.nan if v is None else v for v in expected], dtype=np.float64)
            np.testing.assert_array_equal(got, want, err_msg=name, strict=True)
        else:
            assert list(got) == list(expected), name


EXACT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXACT
@given(entities=_entities(Task.LEADS))
def test_lead_features_are_identical_columnar_and_per_entity(entities):
    _assert_identical(*_both_paths(Task.LEADS, entities))


@EXACT
@given(entities=_entities(Task.CHURN))
def test_customer_features_are_identical_columnar_and_per_entity(entities):
    _assert_identical(*_both_paths(Task.CHURN, entities))


def test_many_valued_events_sum_in_numpy_order() -> None:
    events = [
        {"occurred_at": (AS_OF - timedelta(days=i + 1)).isoformat(), "type": "order", "value": v}
        for i, v in enumerate([0.1, 0.2, 0.3, 1e16, 1.0, -1e16, 0.7, 0.1, 0.2, 0.3])
    ]
    record = {"created_at": BASE, "owner_id": "o", "annual_value": 1.0}
    entities = [OnlineEntity("a", record, events), OnlineEntity("b", record, events[:3])]
    columnar, reference = _both_paths(Task.CHURN, entities)
    _assert_identical(columnar, reference)
    frame = online_feature_frame(
        Task.CHURN, entities, as_of=AS_OF, vocabulary=sim_vocabulary(Task.CHURN)
    )
    assert frame.index.tolist() == ["a", "b"]


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
        events = [
            {"occurred_at": (AS_OF - timedelta(days=d)).isoformat(), "type": "order"}
            for d in days_back
        ]
        return OnlineEntity(name, {"created_at": BASE - timedelta(days=800)}, events)

    entities = [
        customer("even", [700, 600, 500, 90, 60, 50, 10]),
        customer("odd", [700, 600, 30, 20, 5]),
        customer("one", [3]),
        customer("old", [700, 500]),
    ]
    columnar, reference = _both_paths(Task.CHURN, entities)
    _assert_identical(columnar, reference)
    gaps = [name for name in columnar if name.startswith("median_days_between_purchases")]
    values = columnar[gaps[0]].tolist()
    assert values[:2] == [35.0, 15.0] and np.isnan(values[2]) and np.isnan(values[3])
