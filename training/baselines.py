"""Naive baselines: one feature as the score (e.g. days since last order for churn).

A model that cannot beat "call whoever went quiet longest" earns no place in front of reps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import UserError


def baseline_scores(frame: pd.DataFrame, baselines: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Score per baseline: the feature's value, negated when lower values signal the label.

    Missing values rank last (the baseline knows nothing about that row), so a baseline never
    gains from rows it cannot score.
    """
    scores: dict[str, np.ndarray] = {}
    for feature, direction in baselines.items():
        if feature not in frame.columns:
            raise UserError(
                f"naive baseline {feature!r} is not a feature of this training set; "
                f"fix [baselines] in the training config"
            )
        values = pd.to_numeric(frame[feature], errors="raise").to_numpy(dtype="float64")
        signed = values if direction == "higher" else -values
        finite = signed[~np.isnan(signed)]
        floor = finite.min() - 1.0 if finite.size else 0.0
        scores[feature] = np.where(np.isnan(signed), floor, signed)
    return scores
