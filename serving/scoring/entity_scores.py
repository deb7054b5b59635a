"""Turn feature rows into what reps and the CRM see: probability, score, tier, value, reasons.

One function serves online requests and the nightly batch, so both paths agree exactly. It
does not decide any time: the caller's feature frame was already built as of an explicit time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.compute.rows import FeatureTable
from features.contract.tasks import TASK_KINDS, EntityKind, Task
from serving.champions.served import ServedModel
from serving.protocols import Explain
from serving.scoring.tiers import assign_tiers, to_scores, weigh_values
from serving.settings import TierThresholds

TOP_REASONS = 5


@dataclass(frozen=True)
class EntityScore:
    entity_id: str
    probability: float
    score: int
    tier: str
    value: float | None  # expected value (leads) or value at risk (customers)
    reasons: list[dict[str, Any]]
    # Every feature's log-odds contribution, then the bias (features + 1), float64: what the
    # batch stores so "what changed" decomposes exactly (serving.scoring.changes).
    contributions: np.ndarray | None = None


def score_entities(
    served: ServedModel,
    frame: FeatureTable,
    *,
    entity_ids: Sequence[str],
    values: np.ndarray,
    thresholds: TierThresholds,
    explain: Explain,
) -> list[EntityScore]:
    """Score every row of ``frame`` (features only, in ``served.model.feature_names`` order).

    ``values`` holds the deal size (leads) or annual value (customers) per row, NaN if unknown.
    """
    model = served.model
    # One encoding, two booster passes; explain reads only the top reasons' columns of frame.
    scored = model.score(frame)
    probabilities = np.asarray(scored.probability, dtype=float)
    reasons = explain(model, frame, scored.contributions, top_k=TOP_REASONS)
    tiers = assign_tiers(served.task, probabilities, thresholds)
    scores = to_scores(probabilities)
    weighted = weigh_values(probabilities, np.asarray(values, dtype=float))
    return [
        EntityScore(
            entity_id=entity_id,
            probability=float(probabilities[i]),
            score=scores[i],
            tier=tiers[i],
            value=weighted[i],
            reasons=[
                {
                    "feature": r.feature,
                    "value": r.value,  # already plain: see features.model.reasons.Reason
                    "contribution": float(r.contribution),
                    "text": r.text,
                    "background": r.background,
                }
                for r in reasons[i]
            ],
            contributions=scored.contributions[i],
        )
        for i, entity_id in enumerate(entity_ids)
    ]


def entity_kind(task: Task) -> EntityKind:
    """The entity kind ``task`` scores (``features.contract.tasks.TASK_KINDS``)."""
    return TASK_KINDS[task]
