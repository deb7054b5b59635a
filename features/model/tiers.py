"""Tier names, the default probability cut-offs and the cut itself, shared by both sides.

Serving assigns tiers with cut-offs from its settings (``SALESRADAR_LEAD_TIERS__HIGH`` ...,
defaulting to ``DEFAULT_TIER_CUTOFFS``); training's manager card reports realised rates per tier
at the same defaults. One home, so the card and the lists never disagree on what "hot" means.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from features.contract.tasks import Task

# Top to bottom. The API's response schemas type a tier with these; TIER_NAMES is read from them.
LeadTier = Literal["hot", "warm", "cold"]
CustomerTier = Literal["high", "medium", "low"]

TIER_NAMES: dict[Task, tuple[str, ...]] = {
    Task.LEADS: get_args(LeadTier),
    Task.CHURN: get_args(CustomerTier),
}

# (high, medium): a probability at or above ``high`` is the top tier, at or above ``medium`` the
# middle one.
DEFAULT_TIER_CUTOFFS: dict[Task, tuple[float, float]] = {
    Task.LEADS: (0.5, 0.2),
    Task.CHURN: (0.5, 0.25),
}


def tier_positions(probabilities: np.ndarray, *, high: float, medium: float) -> np.ndarray:
    """Tier position per probability (shape (n,), int): 0 top (``>= high``), 1 middle
    (``>= medium``), 2 bottom. Index ``TIER_NAMES[task]`` with it for the names."""
    return np.where(probabilities >= high, 0, np.where(probabilities >= medium, 1, 2))


def scores_of(probabilities: np.ndarray) -> np.ndarray:
    """The 0-100 score reps see, ``round(100 * probability)`` half to even (int, shape (n,))."""
    return np.asarray(np.rint(100 * np.asarray(probabilities, dtype="float64")), dtype="int64")
