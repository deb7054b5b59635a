"""The model that ships: trees fitted on every labelled cutoff, calibration cross-fitted.

After the temporal evaluation (fit on train, calibrate on later cutoffs, test on the latest),
the freshest outcomes — the calibration and test cutoffs — would be left out of the model that
is served. Here the trees are refit on every cutoff given, and the calibrator is still fitted on
scores the trees did not see: the cutoffs are cut into blocks of consecutive cutoffs; for each
block, trees fitted on the other blocks score it; the calibrator is fitted on those out-of-fold
scores; then the trees are fitted once more on all rows. That is what scikit-learn's
``CalibratedClassifierCV(ensemble=False)`` does, but it does not pass ``groups`` to its splitter
(1.9.1), so the out-of-fold scores come from ``cross_val_predict`` with ``GroupKFold`` and the
served unit keeps the evaluated model's shape, ``CalibratedClassifierCV(FrozenEstimator(pipeline))``
with its one calibrator fitted on those scores.

Caveat, stated on the model card: a held-out block's neighbours train its fold model, and their
label windows may overlap the block's; contiguous blocks keep that overlap to the block edges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GroupKFold, cross_val_predict

from features.contract.tasks import Task
from features.definitions.btyd import BtydFeatures
from features.definitions.vocabulary import Vocabulary
from features.model.scoring_model import FeatureSpecLike, ModelFeature, ScoringModel
from training.tree_fit import (
    ModelDataError,
    build_tree_pipeline,
    check_positives,
    tree_fit_params,
)

logger = logging.getLogger(__name__)


def cutoff_blocks(cutoffs: Sequence[datetime], *, folds: int) -> list[tuple[datetime, ...]]:
    """Sorted distinct ``cutoffs`` cut into ``min(folds, len)`` blocks of consecutive cutoffs,
    sizes differing by at most one (earlier blocks take the extra cutoff)."""
    ordered = sorted(set(cutoffs))
    count = min(folds, len(ordered))
    sizes = [len(ordered) // count + (i < len(ordered) % count) for i in range(count)]
    starts = np.cumsum([0, *sizes])
    return [tuple(ordered[starts[i] : starts[i + 1]]) for i in range(count)]


def fit_cross_calibrated(
    frame: pd.DataFrame,
    feature_specs: Sequence[FeatureSpecLike],
    *,
    task: Task,
    vocabulary: Vocabulary,
    btyd: BtydFeatures | None,
    seed: int,
    folds: int,
    calibration_method: str,
    params: Mapping[str, Any] | None,
    min_level_count: int,
    metadata: Mapping[str, Any] | None = None,
    boost_from: str | None = None,
) -> tuple[ScoringModel, list[tuple[datetime, ...]]]:
    """Fit trees on every row of ``frame`` and a calibrator on out-of-fold scores.

    ``frame`` is a training-set frame (``cutoff``, ``label``, one column per spec) holding at
    least 2 cutoffs. Returns the model and the cutoff blocks its calibration was cross-fitted
    over. Raises ``ModelDataError`` when a block's complement lacks positives or negatives.
    Deterministic for a seed. Time-free: which cutoffs to pass is the caller's decision.
    ``vocabulary`` is the one the frame's features were built over and ``btyd`` the parameters
    of its derived BG/NBD columns (or None); both ship with the model. ``boost_from``: the
    feature whose prior the trees start from (``build_tree_pipeline``), in every fold too, so
    the out-of-fold scores the calibrator reads include the offset as served scores do.
    """
    cutoffs = sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime())
    if len(cutoffs) < 2:
        raise ModelDataError(
            f"cross-fitted calibration needs at least 2 cutoffs; found {len(cutoffs)}"
        )
    blocks = cutoff_blocks(cutoffs, folds=folds)
    block_of = {c: i for i, block in enumerate(blocks) for c in block}
    groups = frame["cutoff"].map(lambda c: block_of[c.to_pydatetime()]).to_numpy()
    labels = frame["label"].astype(int)
    for i, block in enumerate(blocks):
        check_positives(
            labels[groups != i], needed=1, what=f"cutoffs outside {block[0]:%Y-%m-%d}.."
        )
    names = [s.name for s in feature_specs]
    pipeline = build_tree_pipeline(
        feature_specs,
        seed=seed,
        params=params,
        min_level_count=min_level_count,
        boost_from=boost_from,
    )
    # The calibrator reads the response CalibratedClassifierCV reads (it prefers decision_function).
    method = "decision_function" if hasattr(pipeline, "decision_function") else "predict_proba"
    out_of_fold = cross_val_predict(
        pipeline,
        frame[names],
        labels,
        groups=groups,
        cv=GroupKFold(n_splits=len(blocks)),
        method=method,
        params=tree_fit_params(feature_specs),
    )
    if method == "predict_proba":
        out_of_fold = out_of_fold[:, 1]
    pipeline.fit(frame[names], labels, **tree_fit_params(feature_specs))
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibration_method)
    calibrated.fit(frame[names], labels)
    # Refit the one calibrator on scores of trees that did not see the rows (see module doc).
    calibrated.calibrated_classifiers_[0].calibrators[0].fit(out_of_fold, labels)
    logger.info(
        "refit %s model on %d rows over %d cutoffs; calibration cross-fitted over %d blocks",
        task,
        len(frame),
        len(cutoffs),
        len(blocks),
    )
    model = ScoringModel(
        task=task,
        feature_specs=tuple(ModelFeature.from_spec(s) for s in feature_specs),
        estimator=calibrated,
        vocabulary=vocabulary,
        btyd=btyd,
        metadata=dict(metadata or {}),
    )
    return model, blocks
