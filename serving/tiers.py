"""Tiers, 0-100 scores and revenue weighting, all cut on the calibrated probability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from features.tasks import Task

if TYPE_CHECKING:  # settings validates its default tiers against TIER_NAMES: no import cycle
    from serving.settings import TierThresholds

TIER_NAMES: dict[Task, tuple[str, str, str]] = {
    Task.LEADS: ("hot", "warm", "cold"),
    Task.CHURN: ("high", "medium", "low"),
}


def assign_tiers(task: Task, probabilities: np.ndarray, thresholds: TierThresholds) -> list[str]:
    """Top tier at or above ``thresholds.high``, middle at or above ``medium``, else bottom."""
    top, middle, bottom = TIER_NAMES[task]
    return [
        top if p >= thresholds.high else middle if p >= thresholds.medium else bottom
        for p in probabilities.tolist()
    ]


def to_scores(probabilities: np.ndarray) -> list[int]:
    """The 0-100 score reps see: ``round(100 * probability)`` (half to even, like Python)."""
    return [round(100 * p) for p in probabilities.tolist()]


def weigh_values(probabilities: np.ndarray, values: np.ndarray) -> list[float | None]:
    """Probability-weighted revenue: expected value won (leads) or value at risk (customers).

    ``values`` is the lead's expected deal size or the customer's annual value; NaN (unknown)
    stays unknown rather than becoming 0, so it sorts last instead of looking worthless.
    """
    weighted = probabilities * values
    return [None if np.isnan(v) else float(v) for v in weighted.tolist()]
