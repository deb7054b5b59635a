"""Outcomes split by reps' recorded actions, on a handwritten run (exact figures)."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest

from features.contract.tasks import Task
from training.monitoring.outcomes import OBSERVATIONAL, RunOutcome, split_by_actions
from training.monitoring.report import action_metrics

JOINED = pd.DataFrame(
    {
        "entity_id": ["a", "b", "c", "d", "e"],
        "probability": [0.9, 0.8, 0.5, 0.2, 0.1],
        "tier": ["high", "high", "medium", "low", "low"],
        "label": [1, 0, 1, 0, 1],
        "value": [1.0] * 5,
    }
)
# "z" was not in the run: its action does not count.
ACTIONS = pd.DataFrame(
    {
        "entity_id": ["a", "a", "d", "z"],
        "action": ["contacted", "won back", "contacted", "lost"],
    }
)


def test_groups_tiers_and_kinds_are_exact() -> None:
    split = split_by_actions(JOINED, ACTIONS)
    assert split.actions == 3 and split.note == OBSERVATIONAL
    groups = {g.key: g for g in split.groups}
    assert list(groups) == ["recorded", "none", "action.contacted", "action.won_back"]
    recorded, none = groups["recorded"], groups["none"]
    assert (recorded.entities, recorded.positives, recorded.realised_rate) == (2, 1, 0.5)
    assert recorded.expected_rate == pytest.approx(0.55)
    assert (none.entities, none.positives) == (3, 2)
    assert none.expected_rate == pytest.approx((0.8 + 0.5 + 0.1) / 3)
    assert [(t.tier, t.entities, t.realised_rate) for t in recorded.tiers] == [
        ("high", 1, 1.0),
        ("low", 1, 0.0),
    ]
    assert groups["action.won_back"].entities == 1
    metrics = action_metrics(_outcome(split))
    assert metrics["actions.recorded.tier.high.realised_rate"] == 1.0
    assert metrics["actions.none.entities"] == 3.0


def test_no_action_at_all_gives_an_empty_group_and_says_na() -> None:
    split = split_by_actions(JOINED, ACTIONS.iloc[0:0])
    recorded = split.groups[0]
    assert recorded.entities == 0 and math.isnan(recorded.realised_rate)
    lines = _outcome(split).action_lines()
    assert lines[0].startswith(f"{OBSERVATIONAL}: of the 0 customers with a recorded action")
    assert "with a recorded action between 2026-01-01 and 2026-03-01, n/a;" in lines[0]
    assert "actions.recorded.realised_rate" not in action_metrics(_outcome(split))


def _outcome(split: object) -> RunOutcome:
    return RunOutcome(
        run_id="r", task=Task.CHURN, model_name="m", model_version="1",
        as_of=datetime(2026, 1, 1), window_end=datetime(2026, 3, 1), horizon_days=59,
        partial=False, scored=5, matched=5, positives=3, metrics={}, tiers=(),
        actions=split,  # type: ignore[arg-type]
    )  # fmt: skip
