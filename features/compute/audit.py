"""Leakage audit: flag attribute columns that look like information from after the outcome.

CRM fields such as "loss reason" or "contract end date" are often filled in only once a lead has
converted or a customer has left. As static attributes they would sit in every training row and
make a model that looks perfect offline and is useless live. Two checks, on the training rows
(i.e. at the training cutoffs):

* a single feature separates the labels too well: ROC AUC above ``max_auc`` (default 0.95),
  with missing values scored as their own level and a category scored by its level's label
  rate out of fold (so rare levels of a random code cannot memorise the labels);
* the value is present only on rows of one label, more often than chance would allow.

Training refuses flagged features and reports each ``LeakageFinding.reason``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import TargetEncoder

from features.compute.snapshots import TrainingSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeakageFinding:
    """A feature that looks like post-outcome information, and why."""

    feature: str
    reason: str


# Folds for the out-of-fold level rates: sklearn's default for TargetEncoder.
_FOLDS = 5


def _out_of_fold_rates(
    levels: pd.Series, labels: npt.NDArray[np.int64], entities: pd.Series
) -> npt.NDArray[np.float64] | None:
    """Each row's level label rate estimated on the other folds, or ``None`` if too few rows.

    A level's rate measured on the rows it then scores memorises the label whenever levels are
    rare (a random postcode with ~2.5 rows per level separates the labels with ROC AUC ~0.95),
    so the rate comes from scikit-learn's ``TargetEncoder.fit_transform``, which cross-fits:
    a row's value is its level's shrunk label rate on the other folds (the fold's overall rate
    for a level unseen there). Folds keep an entity's rows (several cutoffs) together, so a
    level cannot be learnt from the same lead at another cutoff.
    Fewer folds on small sets; ``None`` when a label or the entities are too few for two folds.
    """
    minority = int(min(labels.sum(), len(labels) - labels.sum()))
    folds = min(_FOLDS, minority, int(entities.nunique()))
    if folds < 2:
        return None
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=0)
    codes = levels.to_numpy(dtype=object).reshape(-1, 1)
    # Integer group codes: GroupKFold's np.isin over object (string) ids is quadratic.
    groups = pd.factorize(entities)[0]
    splits = list(splitter.split(codes, labels, groups=groups))
    encoder = TargetEncoder(target_type="binary", cv=splits)
    return np.asarray(encoder.fit_transform(codes, labels)[:, 0], dtype=np.float64)


def _scores(
    column: pd.Series, labels: npt.NDArray[np.int64], entities: pd.Series
) -> npt.NDArray[np.float64] | None:
    """A score per row: the value itself (numeric) or its level's out-of-fold label rate
    (categorical, see ``_out_of_fold_rates``; ``None`` when that cannot be estimated)."""
    if pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
        values = column.to_numpy(dtype=np.float64)
        missing = np.isnan(values)
        floor = np.nanmin(values) - 1.0 if (~missing).any() else 0.0
        return np.where(missing, floor, values)
    levels = column.astype(object).where(column.notna(), "\0missing").astype(str)
    return _out_of_fold_rates(levels, labels, entities)


def _separation(
    column: pd.Series, labels: npt.NDArray[np.int64], entities: pd.Series
) -> float | None:
    scores = _scores(column, labels, entities)
    if scores is None:
        return None
    auc = float(roc_auc_score(labels, scores))
    return max(auc, 1.0 - auc)


def _presence_finding(
    name: str, column: pd.Series, labels: npt.NDArray[np.int64], max_chance: float
) -> LeakageFinding | None:
    present = column.notna().to_numpy(copy=True)
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
        # An empty string is as absent as a missing value.
        present &= column.astype(object).map(lambda v: v != "").to_numpy(dtype=bool)
    count = int(present.sum())
    if count == 0 or count == len(column):
        return None
    rate = float(labels.mean())
    for label, share in ((1, rate), (0, 1.0 - rate)):
        if (labels[present] == label).all() and share**count < max_chance:
            return LeakageFinding(
                name,
                f"present only on rows with label {label} ({count} of {count}); "
                f"by chance that would happen with probability {share**count:.1e}, so the "
                "value is probably filled in once the outcome is known",
            )
    return None


def audit_leakage(
    training_set: TrainingSet,
    *,
    features: Sequence[str] | None = None,
    max_auc: float = 0.95,
    max_chance: float = 1e-3,
) -> list[LeakageFinding]:
    """Findings for the attribute features of a training set (or for ``features``).

    Looks only at the rows given (the training cutoffs); a feature can be flagged for both
    reasons. Without both labels present no AUC is computed, nor for a categorical feature
    when fewer than two rows (or entities) carry the rarer label (no two folds to cross-fit).
    Returns the findings, feature by feature, for the caller to report; they are logged at
    INFO only.
    """
    frame = training_set.frame
    if features is None:
        specs = training_set.specs
        features = [s.name for s in specs if s.family == "attribute"] if specs else []
    labels = frame["label"].to_numpy(dtype=np.int64)
    both_labels = len(np.unique(labels)) == 2
    findings: list[LeakageFinding] = []
    for name in features:
        column = frame[name]
        if both_labels and column.notna().any():
            auc = _separation(column, labels, frame["entity_id"])
            if auc is not None and auc > max_auc:
                findings.append(
                    LeakageFinding(
                        name,
                        f"on its own it separates the labels with ROC AUC {auc:.3f} "
                        f"(> {max_auc}) at the training cutoffs; real predictors rarely do, "
                        "post-outcome fields do",
                    )
                )
        if both_labels:
            finding = _presence_finding(name, column, labels, max_chance)
            if finding is not None:
                findings.append(finding)
    for finding in findings:
        # INFO, not WARNING: the caller reports the findings it gets back (train prints each,
        # the run records them), so a WARNING line would say the same thing twice.
        logger.info("leakage suspected in %s: %s", finding.feature, finding.reason)
    return findings
