"""The evaluation metrics: ranking, calibration and lift at the reps' capacity.

All functions take the labels and scores of one test set (one or more cutoffs, never rows the
model was fitted or calibrated on). Scores for naive baselines need not be probabilities: only
ranking metrics are computed for them.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

RANKING_METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "precision_at_k", "recall_at_k")
PROBABILITY_METRICS = ("brier", "log_loss", "ece")


def expected_calibration_error(labels: np.ndarray, proba: np.ndarray, *, bins: int) -> float:
    """Weighted mean |observed rate - mean predicted| over equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    # The right edge belongs to the last bin so a probability of exactly 1 is counted.
    index = np.clip(np.digitize(proba, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(labels[mask].mean() - proba[mask].mean())
    return float(total / len(labels))


def top_k_order(scores: np.ndarray) -> np.ndarray:
    """Row indices from highest to lowest score; ties keep row order (deterministic)."""
    return np.argsort(-scores, kind="stable")


def top_decile_lift(labels: np.ndarray, scores: np.ndarray) -> float:
    """Positive rate in the top 10% by score divided by the overall positive rate."""
    k = max(1, int(np.ceil(len(labels) * 0.1)))
    top = labels[top_k_order(scores)[:k]]
    base = labels.mean()
    return float(top.mean() / base) if base > 0 else float("nan")


def capacity_metrics(
    labels: np.ndarray, scores: np.ndarray, values: np.ndarray, *, capacity: int
) -> dict[str, float]:
    """Precision, recall and revenue share captured when reps work the top ``capacity`` rows.

    Revenue share = value of the positives in the top k / value of all positives; rows with an
    unknown value count as zero revenue (they cannot be weighted), never as an average.
    """
    k = min(capacity, len(labels))
    top = top_k_order(scores)[:k]
    positives = labels.sum()
    known = np.nan_to_num(values, nan=0.0)
    revenue = (known * labels).sum()
    return {
        "precision_at_k": float(labels[top].mean()) if k else float("nan"),
        "recall_at_k": float(labels[top].sum() / positives) if positives else float("nan"),
        "revenue_share_at_k": float((known[top] * labels[top]).sum() / revenue)
        if revenue > 0
        else float("nan"),
    }


def score_metrics(
    labels: np.ndarray, scores: np.ndarray, values: np.ndarray, *, capacity: int
) -> dict[str, float]:
    """Ranking metrics of any score (model or naive baseline)."""
    both_classes = 0 < labels.sum() < len(labels)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both_classes else float("nan"),
        "top_decile_lift": top_decile_lift(labels, scores),
        **capacity_metrics(labels, scores, values, capacity=capacity),
    }


def probability_metrics(
    labels: np.ndarray, proba: np.ndarray, values: np.ndarray, *, capacity: int, ece_bins: int
) -> dict[str, float]:
    """Ranking plus calibration metrics of calibrated probabilities."""
    clipped = np.clip(proba, 1e-6, 1 - 1e-6)  # log loss is undefined at exactly 0 or 1
    return {
        **score_metrics(labels, proba, values, capacity=capacity),
        "brier": float(brier_score_loss(labels, proba)),
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "ece": expected_calibration_error(labels, proba, bins=ece_bins),
    }
