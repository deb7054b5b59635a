"""Tiers, 0-100 scores and revenue weighting, all cut on the calibrated probability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from features.contract.tasks import Task
from features.model.tiers import TIER_NAMES, scores_of, tier_positions

if TYPE_CHECKING:  # settings validates its default tiers against TIER_NAMES: no import cycle
    from serving.settings import TierThresholds


def assign_tiers(task: Task, probabilities: np.ndarray, thresholds: TierThresholds) -> list[str]:
    """Top tier at or above ``thresholds.high``, middle at or above ``medium``, else bottom."""
    names = TIER_NAMES[task]
    positions = tier_positions(probabilities, high=thresholds.high, medium=thresholds.medium)
    return [names[i] for i in positions.tolist()]


def to_scores(probabilities: np.ndarray) -> list[int]:
    """The 0-100 score reps see: ``round(100 * probability)`` (half to even, like Python)."""
    return [int(s) for s in scores_of(probabilities).tolist()]


def weigh_values(probabilities: np.ndarray, values: np.ndarray) -> list[float | None]:
    """Probability-weighted revenue: expected value won (leads) or value at risk (customers).

    ``values`` is the lead's expected deal size or the customer's annual value; NaN (unknown)
    stays unknown rather than becoming 0, so it sorts last instead of looking worthless.
    """
    weighted = probabilities * values
    return [None if np.isnan(v) else float(v) for v in weighted.tolist()]
