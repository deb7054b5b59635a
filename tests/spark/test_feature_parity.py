"""The Spark engine computes the DuckDB engine's feature tables and labels, row for row.

Each hypothesis example is one export of many independent small histories (the online-parity
tests' strategy: empty histories, one event, events on and a microsecond around the cutoffs,
exact duplicates, ties), so one Spark run checks dozens of edge cases; both query plans (one
join; windowed join + timeline) are compared.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from features.compute.engines.spark.loading import copy_to_spark
from features.compute.snapshots import build_feature_table, build_training_set
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.registry import feature_specs
from tests.features.compute.test_online_parity import BASE, _events, _rows
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary
from tests.spark.frames import assert_same_table

# Each example costs a few Spark jobs (seconds on local[2]): few examples, many entities each.
FEW = settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))

GROUP = st.tuples(_events(Task.CHURN), st.lists(st.integers(0, 200), min_size=3, max_size=3))
OUTCOME_DAYS = st.one_of(st.none(), st.integers(0, 460))


def _export(task: Task, groups, outcomes):
    """One export whose entities are the groups' entities, renamed apart; lead outcomes
    (``converted_at``) or churn dates (``churned_at``) from ``outcomes``, cycled."""
    key = TASK_TABLES[task].key
    outcome = "converted_at" if task is Task.LEADS else "churned_at"
    entities, events = [], []
    for g, (drawn, created_days) in enumerate(groups):
        group_entities, group_events = _rows(task, drawn, created_days)
        for entity in group_entities:
            entity[key] = f"g{g}-{entity[key]}"
            day = outcomes[len(entities) % len(outcomes)] if outcomes else None
            entity[outcome] = None if day is None else BASE + timedelta(days=day)
            entities.append(entity)
        for event in group_events:
            event[key] = f"g{g}-{event[key]}"
            if task is Task.LEADS and event["type"] == "order":
                event["type"] = "demo"
            events.append(event)
    return make_export(task, entities, events)


def _feature_tables(spark, task, groups, cutoff_days) -> None:
    export = _export(task, groups, [])
    copy = copy_to_spark(export, session=spark)
    try:
        key = TASK_TABLES[task].key
        entities = export.con.execute(f"SELECT {key} FROM {TASK_TABLES[task].entity_table}")
        cutoffs = [BASE + timedelta(days=d) for d in cutoff_days]
        pairs = pd.DataFrame(
            [(e, c) for (e,) in entities.fetchall() for c in cutoffs],
            columns=["entity_id", "cutoff"],
        )
        vocabulary = sim_vocabulary(task)
        specs = feature_specs(task, vocabulary)
        for timeline in (False, True):
            tables = [
                build_feature_table(
                    source,
                    task=task,
                    pairs=pairs,
                    specs=specs,
                    vocabulary=vocabulary,
                    timeline=timeline,
                )
                for source in (export, copy)
            ]
            assert_same_table(*tables, keys=["entity_id", "cutoff"])
    finally:
        copy.close()
        export.close()


@FEW
@given(
    groups=st.lists(GROUP, min_size=1, max_size=12),
    cutoff_days=st.lists(st.integers(0, 450), min_size=1, max_size=3),
)
@example(groups=[([], [0, 5, 10])], cutoff_days=[30])  # no events at all
def test_customer_features_match_duckdb(spark, groups, cutoff_days):
    _feature_tables(spark, Task.CHURN, groups, cutoff_days)


@FEW
@given(
    groups=st.lists(GROUP, min_size=1, max_size=12),
    cutoff_days=st.lists(st.integers(0, 450), min_size=1, max_size=3),
)
def test_lead_features_match_duckdb(spark, groups, cutoff_days):
    _feature_tables(spark, Task.LEADS, groups, cutoff_days)


def _one_event_on_the_cutoff():
    event = {
        "entity": 0,
        "day": 30,
        "jitter": timedelta(0),
        "type": "order",
        "value": 5.0,
        "channel": "web",
        "direction": "inbound",
    }
    tie = {**event, "channel": "email", "value": 7.0}  # same instant, another channel
    return [([event], [0, 0, 0]), ([event, tie], [0, 1, 2]), ([], [3, 4, 5])]


def test_edge_cases_match_duckdb(spark):
    """One event exactly on a cutoff, two events tied in time, entities without events."""
    for task in Task:
        _feature_tables(spark, task, _one_event_on_the_cutoff(), [30, 31, 400])


@FEW
@given(
    groups=st.lists(GROUP, min_size=1, max_size=12),
    outcomes=st.lists(OUTCOME_DAYS, min_size=1, max_size=8),
    cutoff_days=st.lists(st.integers(0, 450), min_size=1, max_size=4, unique=True),
)
def test_training_sets_and_labels_match_duckdb(spark, groups, outcomes, cutoff_days):
    """Eligibility, labels and features of ``build_training_set``, both tasks, same rows."""
    for task in Task:
        export = _export(task, groups, outcomes)
        copy = copy_to_spark(export, session=spark)
        try:
            cutoffs = [BASE + timedelta(days=d) for d in cutoff_days]
            window = {"task": task, "cutoffs": cutoffs, "horizon": timedelta(days=60)}
            vocabulary = sim_vocabulary(task)
            duck, spark_set = (
                build_training_set(source, **window, vocabulary=vocabulary)
                for source in (export, copy)
            )
            assert spark_set.feature_names == duck.feature_names
            assert_same_table(duck.frame, spark_set.frame, keys=["entity_id", "cutoff", "label"])
        finally:
            copy.close()
            export.close()
