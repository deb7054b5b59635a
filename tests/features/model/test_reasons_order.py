"""Actionable reasons first: the order rule and the family metadata it is decided from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract.tasks import Task
from features.definitions.btyd import BgNbdParameters, BtydFeatures
from features.definitions.registry import btyd_specs, engineered_definitions, value_spec
from features.definitions.wording import Wording
from features.model.reasons import EVENT_FAMILIES, explain, is_background
from features.model.scoring_model import ModelFeature
from tests.features.vocabkit import sim_vocabulary


@pytest.mark.parametrize("task", list(Task))
def test_a_family_is_actionable_exactly_when_its_definitions_read_events(task: Task) -> None:
    vocabulary = sim_vocabulary(task)
    definitions = engineered_definitions(task, vocabulary)
    for definition in definitions:
        reads_events = bool(definition.aggregates())
        assert (definition.family in EVENT_FAMILIES) == reads_events, definition.name
    # Every event family is used, and the entity's own value and age are background.
    assert {d.family for d in definitions if d.aggregates()} <= EVENT_FAMILIES
    assert is_background(value_spec(task).family)
    assert is_background("attribute") and is_background("tenure")
    assert is_background("a family nobody declared")  # never promoted by accident


def test_the_derived_buying_pattern_features_are_actionable() -> None:
    btyd = BtydFeatures(BgNbdParameters(1.0, 10.0, 1.5, 3.0), horizon_days=90)
    for spec in btyd_specs(sim_vocabulary(Task.CHURN), btyd):
        assert not is_background(spec.family)  # computed from the purchase events


SPECS = (
    ModelFeature("plan", "categorical", Wording("Plan"), "attribute", "category"),
    ModelFeature(
        "orders_90d", "numeric", Wording("Orders in the last 90 days"), "activity", "count"
    ),
    ModelFeature("annual_value", "numeric", Wording("Annual value"), "attribute", "currency"),
    ModelFeature(
        "days_since_last_order", "numeric", Wording("Days since the last order"), "recency", "days"
    ),
    ModelFeature("tenure_days", "numeric", Wording("Days as a customer"), "tenure", "days"),
)


class _Model:
    feature_specs = SPECS


def test_actionable_reasons_come_first_and_background_ones_are_marked() -> None:
    frame = pd.DataFrame(
        {
            "plan": ["pro", "basic"],
            "orders_90d": [0.0, 4.0],
            "annual_value": [90_000.0, 1_000.0],
            "days_since_last_order": [64.0, 3.0],
            "tenure_days": [400.0, 20.0],
        }
    )
    contributions = np.array(
        [
            [-1.5, 0.4, -0.9, 0.2, 0.05, -2.0],  # the two strongest are background
            [0.0, -0.3, 0.0, -0.6, 0.0, -2.0],  # actionable only; zeros are never reasons
        ]
    )
    first, second = explain(_Model(), frame, contributions, top_k=4)
    assert [(r.feature, r.background) for r in first] == [
        ("orders_90d", False),
        ("days_since_last_order", False),
        ("plan", True),
        ("annual_value", True),
    ]
    assert [r.feature for r in second] == ["days_since_last_order", "orders_90d"]
    # top_k still picks by strength: tenure (0.05) is the fifth and is left out.
    assert "tenure_days" not in {r.feature for r in first}
