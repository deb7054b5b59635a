"""Seeded factories for frames shaped like ``features.compute.snapshots.build_training_set``."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from features.definitions.wording import Wording
from features.model.scoring_model import ModelFeature

SPECS: tuple[ModelFeature, ...] = (
    ModelFeature(
        "days_since_last_purchase",
        "numeric",
        Wording("Days since the last order"),
        "recency",
        "days",
    ),
    ModelFeature(
        "orders_90d", "numeric", Wording("Orders in the last 90 days"), "frequency", "count"
    ),
    ModelFeature("segment", "categorical", Wording("Customer segment"), "attributes", "category"),
)


def make_training_frame(
    *, seed: int, entities: int = 400, months: int = 6, start: datetime = datetime(2025, 1, 1)
) -> pd.DataFrame:
    """One row per entity and monthly cutoff with a label drawn from a known logistic model.

    ``days_since_last_purchase`` is missing for about 5% of rows and ``segment`` has a rare level
    ("f", ~1%) so the pipeline's missing-value and rare-level paths are exercised.
    """
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range(start, periods=months, freq="MS")
    rows = len(cutoffs) * entities
    days = rng.gamma(2.0, 20.0, size=rows)
    orders = rng.poisson(3.0, size=rows).astype(float)
    segment = rng.choice(
        ["a", "b", "c", "d", "e", "f"], size=rows, p=[0.3, 0.3, 0.2, 0.1, 0.09, 0.01]
    )
    effect = pd.Series(segment).map({"a": 0.0, "b": 0.5, "c": -0.5, "d": 1.0, "e": -1.0, "f": 0.0})
    logit = -1.5 + 0.03 * days - 0.35 * orders + effect.to_numpy()
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    days[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "entity_id": [f"C{i % entities:05d}" for i in range(rows)],
            "cutoff": np.repeat(cutoffs.to_numpy(), entities),
            "label": label,
            "value": rng.gamma(2.0, 5000.0, size=rows),
            "owner_id": [f"U{i % 7}" for i in range(rows)],
            "days_since_last_purchase": days,
            "orders_90d": orders,
            "segment": pd.Series(segment, dtype="str"),
        }
    )
