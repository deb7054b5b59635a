"""The training reference: a compact profile of the shipped model's training distribution.

Logged at training time as the run artifact ``monitoring/reference.json`` so drift can be measured
later without keeping training rows. Per numeric feature: interior quantile bin edges of the
non-missing values and the row count per bin; per categorical feature: the count per level; for
both, the missing count. The same for the model's calibrated probability ("score").

The rows profiled are those of the last cutoff the shipped model was fitted on: the population a
batch run scores (every eligible entity at one time) is one cutoff, and the most recent one is the
closest the training data gets to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.model.scoring_model import ScoringModel
from training.evaluation import rows_at
from training.trainer import TrainedTask

REFERENCE_ARTIFACT = "monitoring/reference.json"
REFERENCE_FORMAT = 1
SCORE = "__score__"  # the profile entry of the calibrated probability


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each (non-missing) value: 0..len(edges), a value equal to an edge goes left.

    ``edges`` are interior edges, so the first and last bins are open-ended: a later value below
    or above everything seen in training still lands in a bin.
    """
    return np.searchsorted(edges, values, side="left")


def numeric_profile(values: np.ndarray, *, bins: int) -> dict[str, Any]:
    """``{"kind": "numeric", "edges", "counts", "missing", "rows"}`` of a float array.

    Edges are the distinct interior quantiles (``bins`` equal-frequency bins before ties merge
    them); ``counts`` has one entry per bin (``len(edges) + 1``).
    """
    values = np.asarray(values, dtype="float64")
    known = values[~np.isnan(values)]
    quantiles = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(np.quantile(known, quantiles)) if len(known) else np.array([])
    counts = np.bincount(bin_index(known, edges), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "missing": int(len(values) - len(known)),
        "rows": len(values),
    }


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    """``{"kind": "categorical", "levels": {level: count}, "missing", "rows"}`` of a column."""
    known = values.dropna().astype(str)
    return {
        "kind": "categorical",
        "levels": {str(k): int(v) for k, v in known.value_counts().sort_index().items()},
        "missing": int(values.isna().sum()),
        "rows": len(values),
    }


def build_reference(
    model: ScoringModel, rows: pd.DataFrame, *, bins: int, cutoff: str
) -> dict[str, Any]:
    """The profile of ``rows`` (feature rows with the model's columns) and of their scores.

    ``cutoff`` (ISO date of the rows) is recorded for the report. Raises ``ValueError`` on an
    empty frame: a reference of nothing would make every later run look drifted.
    """
    if rows.empty:
        raise ValueError("cannot build a drift reference from zero rows")
    features: dict[str, Any] = {}
    for spec in model.feature_specs:
        column = rows[spec.name]
        if spec.dtype == "numeric":
            features[spec.name] = numeric_profile(column.to_numpy(dtype="float64"), bins=bins)
        else:
            features[spec.name] = categorical_profile(column)
    scores = model.predict_proba(rows)
    features[SCORE] = numeric_profile(scores, bins=bins)
    return {
        "format": REFERENCE_FORMAT,
        "cutoff": cutoff,
        "rows": len(rows),
        "bins": bins,
        "features": features,
    }


def check_reference(data: Mapping[str, Any], *, where: str) -> Mapping[str, Any]:
    """``data`` if it is a reference of the current format, else ``ValueError`` naming ``where``."""
    if data.get("format") != REFERENCE_FORMAT or not isinstance(data.get("features"), dict):
        raise ValueError(f"{where}: not a drift reference of format {REFERENCE_FORMAT}")
    return data


def training_reference(
    trained: TrainedTask, *, bins: int, model: ScoringModel | None = None
) -> dict[str, Any]:
    """The reference of a trained task: its shipped model on its last shipped cutoff's rows.

    ``model`` scores those rows instead (the logistic regression trained beside the trees,
    ``training.simple_pack``): the same rows, so its feature profiles are the trees' and its
    score profile is its own.
    """
    last = trained.shipped_cutoffs[-1]
    return build_reference(
        trained.model if model is None else model,
        rows_at(trained.frame, [last]),
        bins=bins,
        cutoff=f"{last:%Y-%m-%d}",
    )
