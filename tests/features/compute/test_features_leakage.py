"""Leakage guards: future events, row order and duplicates never change a feature."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.compute.snapshots import build_feature_query, build_feature_table
from features.compute.sql import compile_feature_query
from features.contract.tables import OUTCOME_COLUMNS
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import assert_frames_match, make_export
from tests.features.vocabkit import SIM_TYPES, sim_vocabulary

BASE = datetime(2024, 1, 1)
CUSTOMERS = [
    {"customer_id": f"c{i}", "created_at": BASE, "owner_id": "o1", "annual_value": 1.0}
    for i in range(3)
]


def _event_strategy():
    return st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(["c0", "c1", "c2"]),
            "occurred_at": st.integers(0, 400 * 24).map(lambda h: BASE + timedelta(hours=h)),
            "type": st.sampled_from([*SIM_TYPES[Task.CHURN], "other"]),
            "value": st.sampled_from([None, 1.0, 7.5]),
            "channel": st.sampled_from([None, "web", "phone"]),
            "direction": st.sampled_from([None, "inbound", "outbound"]),
            "outcome": st.none(),
        }
    )


def _features(events, cutoff):
    export = make_export(Task.CHURN, CUSTOMERS, events)
    pairs = pd.DataFrame({"entity_id": ["c0", "c1", "c2"], "cutoff": cutoff})
    frame = build_feature_table(
        export, task=Task.CHURN, pairs=pairs, vocabulary=sim_vocabulary(Task.CHURN)
    )
    export.close()
    return frame


NAMES = [s.name for s in feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN))]
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    past=st.lists(_event_strategy(), max_size=20),
    future=st.lists(_event_strategy(), min_size=1, max_size=10),
    cutoff_hours=st.integers(0, 400 * 24),
)
def test_events_at_or_after_the_cutoff_never_change_a_feature(past, future, cutoff_hours):
    cutoff = BASE + timedelta(hours=cutoff_hours)
    before = [e for e in past if e["occurred_at"] < cutoff]
    # Move every "future" event to the cutoff or later (the cutoff itself included).
    later = [
        {**e, "occurred_at": cutoff + (e["occurred_at"] - BASE) % timedelta(days=30)}
        for e in future
    ]
    assert_frames_match(_features(before, cutoff), _features(before + later, cutoff), NAMES)


@SETTINGS
@given(events=st.lists(_event_strategy(), max_size=25), seed=st.integers(0, 2**16))
def test_shuffled_and_duplicated_input_rows_change_nothing(events, seed):
    cutoff = BASE + timedelta(days=300)
    shuffled = pd.DataFrame(events).sample(frac=1.0, random_state=seed).to_dict("records")
    duplicated = shuffled + shuffled[: len(shuffled) // 2]
    reference = _features(events, cutoff)
    assert_frames_match(reference, _features(shuffled, cutoff), NAMES)
    assert_frames_match(reference, _features(duplicated, cutoff), NAMES)


def test_feature_sql_never_reads_an_outcome_column():
    outcome_columns = {c for columns in OUTCOME_COLUMNS.values() for c in columns}
    for task in Task:
        export = make_export(task, [], [])
        sql = compile_feature_query(
            build_feature_query(
                task,
                export,
                feature_specs(task, sim_vocabulary(task), export),
                sim_vocabulary(task),
            ),
            spine="spine_table",
            carry=["label"],
        )
        for column in outcome_columns:
            assert not re.search(rf"\b{column}\b", sql), (task, column)
        export.close()


def test_only_exact_duplicates_are_dropped():
    base = {
        "customer_id": "c0",
        "occurred_at": BASE + timedelta(days=1),
        "type": "order",
        "value": 5.0,
        "channel": "web",
        "direction": "inbound",
        "outcome": "ok",
    }
    events = [
        base,
        dict(base),  # exact duplicate: dropped
        {**base, "outcome": "late"},  # differs in a column no feature reads: kept
        {**base, "type": "webinar"},  # unknown types stay distinct from each other
        {**base, "type": "seminar"},
        {**base, "direction": "sideways"},
    ]
    frame = _features(events, BASE + timedelta(days=2))
    assert frame["event_count_7d"].tolist() == [5.0, 0.0, 0.0]
    assert frame["purchase_count_7d"].tolist() == [3.0, 0.0, 0.0]
