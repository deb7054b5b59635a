"""Batch (DuckDB) and online (numpy) features agree on random histories and cutoffs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.compute.online import online_feature_frame
from features.compute.snapshots import build_feature_table
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import (
    assert_frames_match,
    make_export,
    online_entities,
)
from tests.features.vocabkit import SIM_TYPES, sim_vocabulary

BASE = datetime(2024, 1, 1)
# Offsets that land exactly on, and a microsecond either side of, window boundaries.
JITTER = st.sampled_from(
    [timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1), timedelta(hours=12)]
)


def _events(task: Task) -> st.SearchStrategy[list[dict[str, object]]]:
    types = [*SIM_TYPES[task], "other", None]
    event = st.fixed_dictionaries(
        {
            "entity": st.integers(0, 2),
            "day": st.integers(0, 420),
            "jitter": JITTER,
            "type": st.sampled_from(types),
            "value": st.one_of(st.none(), st.sampled_from([0.0, 1.5, 10.0, 123.25])),
            "channel": st.sampled_from([None, "email", "phone", "web"]),
            "direction": st.sampled_from([None, "inbound", "outbound", "sideways"]),
        }
    )
    # Duplicating drawn events exercises exact-duplicate removal.
    return st.lists(event, max_size=25).flatmap(
        lambda evs: (
            st.lists(st.sampled_from(evs), max_size=5).map(lambda d: evs + d)
            if evs
            else st.just(evs)
        )
    )


def _rows(task: Task, drawn: list[dict[str, object]], created_days: list[int]):
    key = TASK_TABLES[task].key
    value_column = TASK_TABLES[task].value_column
    entities = [
        {
            key: f"e{i}",
            "created_at": BASE + timedelta(days=d),
            "owner_id": "o1",
            value_column: float(i * 10) if i else None,
        }
        for i, d in enumerate(created_days)
    ]
    events = [
        {
            key: f"e{e['entity']}",
            "occurred_at": BASE + timedelta(days=e["day"]) + e["jitter"],
            "type": e["type"],
            "value": e["value"],
            "channel": e["channel"],
            "direction": e["direction"],
            "outcome": None,
        }
        for e in drawn
    ]
    return entities, events


def _check_parity(task: Task, drawn, created_days, cutoff_days) -> None:
    entities, events = _rows(task, drawn, created_days)
    export = make_export(task, entities, events)
    specs = feature_specs(task, sim_vocabulary(task))
    names = [s.name for s in specs]
    cutoffs = [BASE + timedelta(days=d) for d in cutoff_days]
    pairs = pd.DataFrame(
        [(e[TASK_TABLES[task].key], c) for e in entities for c in cutoffs],
        columns=["entity_id", "cutoff"],
    )
    # Both query plans (one join; windowed join + timeline) against the numpy path.
    plans = [
        build_feature_table(
            export, task=task, pairs=pairs, specs=specs, timeline=t, vocabulary=sim_vocabulary(task)
        )
        for t in (False, True)
    ]
    requests = online_entities(task, entities, events)
    for cutoff in sorted(set(cutoffs)):
        online = online_feature_frame(
            task, requests, as_of=cutoff, specs=specs, vocabulary=sim_vocabulary(task)
        )
        for batch in plans:
            expected = batch[batch["cutoff"] == cutoff].set_index("entity_id")
            assert_frames_match(expected.loc[list(online.index)], online, names)
    export.close()


PARITY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PARITY
@given(
    drawn=_events(Task.LEADS),
    created_days=st.lists(st.integers(0, 200), min_size=3, max_size=3),
    cutoff_days=st.lists(st.integers(0, 450), min_size=1, max_size=3),
)
def test_lead_features_match_between_batch_and_online(drawn, created_days, cutoff_days):
    _check_parity(Task.LEADS, drawn, created_days, cutoff_days)


@PARITY
@given(
    drawn=_events(Task.CHURN),
    created_days=st.lists(st.integers(0, 200), min_size=3, max_size=3),
    cutoff_days=st.lists(st.integers(0, 450), min_size=1, max_size=3),
)
def test_customer_features_match_between_batch_and_online(drawn, created_days, cutoff_days):
    _check_parity(Task.CHURN, drawn, created_days, cutoff_days)


def test_parity_holds_for_an_entity_without_events():
    _check_parity(Task.CHURN, [], [0, 5, 10], [30])


def test_parity_holds_for_a_single_event():
    drawn = [
        {
            "entity": 0,
            "day": 3,
            "jitter": timedelta(0),
            "type": "order",
            "value": 5.0,
            "channel": "web",
            "direction": "inbound",
        }
    ]
    _check_parity(Task.CHURN, drawn, [0, 0, 0], [3, 4, 400])
