"""The production tree fit: a seeded LightGBM pipeline, fitted on earlier cutoffs and
calibrated on later ones, returned as the served unit (``features.model.scoring_model``).

``training`` owns the fit; ``features.model`` holds only what a fitted model is and how it loads,
so loading a model never needs this module. The pipeline's own classes
(``FeatureFrameEncoder``, ``OffsetBoostedClassifier``) stay in ``features.model.scoring_model``:
a saved model names them by their module path, and serving must be able to load it.

Time semantics: cutoffs order the rows. The fit never splits at random: calibration rows are
strictly later than every row the trees see (``split_by_cutoff``). Nothing here reads a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from features.contract.tasks import Task
from features.definitions.btyd import BtydFeatures
from features.definitions.vocabulary import Vocabulary
from features.errors import UserError
from features.model.booster_names import lightgbm_name
from features.model.scoring_model import (
    FeatureFrameEncoder,
    FeatureSpecLike,
    ModelFeature,
    OffsetBoostedClassifier,
    ScoringModel,
)

logger = logging.getLogger(__name__)

# Defaults for a quick, deterministic fit; training passes its own from training/config.toml.
DEFAULT_TREE_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 7,  # as training/config.toml: small trees, explained by table lookup
    "min_child_samples": 40,
    "reg_lambda": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "n_jobs": 1,
}


class ModelDataError(UserError):
    """The training data cannot support a model (too few rows, positives or cutoffs)."""


def build_tree_pipeline(
    feature_specs: Sequence[FeatureSpecLike],
    *,
    seed: int,
    params: Mapping[str, Any] | None = None,
    min_level_count: int = 20,
    boost_from: str | None = None,
) -> Pipeline:
    """An unfitted ``Pipeline(encode, model)`` with native categorical splits; seeded.

    ``boost_from`` names a feature holding a prior probability of the label: the trees then
    start from its log-odds (``OffsetBoostedClassifier``); None: from a constant, as LightGBM
    does. ``ValueError`` if it names no numeric feature of ``feature_specs``.
    """
    tree_params = {**DEFAULT_TREE_PARAMS, **(params or {})}
    trees = lgb.LGBMClassifier(
        **tree_params,
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    model: BaseEstimator = trees
    if boost_from is not None:
        if boost_from not in {s.name for s in feature_specs if s.dtype == "numeric"}:
            raise ValueError(f"boost_from {boost_from!r} is not a numeric feature of the model")
        model = OffsetBoostedClassifier(trees, offset_feature=boost_from)
    encoder = FeatureFrameEncoder(
        features=[s.name for s in feature_specs],
        categorical_features=[s.name for s in feature_specs if s.dtype == "categorical"],
        min_level_count=min_level_count,
    )
    return Pipeline([("encode", encoder), ("model", model)])


def tree_fit_params(feature_specs: Sequence[FeatureSpecLike]) -> dict[str, list[str]]:
    """The fit parameters of a ``build_tree_pipeline`` pipeline: ``pipeline.fit(X, y, **these)``.

    They give the booster each feature's ``lightgbm_name`` (LightGBM would rewrite or refuse a
    name such as ``"Umsatz mio"``, and the fitted model's check against its features would then
    fail) and the categorical features by those names (LightGBM's default reads them from the
    frame's columns, which keep the user's spelling).
    """
    return {
        "model__feature_name": [lightgbm_name(s.name) for s in feature_specs],
        "model__categorical_feature": [
            lightgbm_name(s.name) for s in feature_specs if s.dtype == "categorical"
        ],
    }


def split_by_cutoff(
    frame: pd.DataFrame, *, calibration_cutoffs: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (fit, calibration): the last ``calibration_cutoffs`` cutoffs calibrate.

    Never random: calibration rows are strictly later in time than every fit row.
    """
    cutoffs = sorted(pd.unique(frame["cutoff"]))
    if len(cutoffs) <= calibration_cutoffs:
        raise ModelDataError(
            f"need more than {calibration_cutoffs} cutoff(s) to fit and then calibrate on later "
            f"time; found {len(cutoffs)}"
        )
    first_calibration = cutoffs[-calibration_cutoffs]
    later = frame["cutoff"] >= first_calibration
    return frame.loc[~later], frame.loc[later]


def check_positives(labels: pd.Series, *, needed: int, what: str) -> None:
    """Raise ``ModelDataError`` unless ``labels`` hold ``needed`` positives and negatives."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives < needed:
        raise ModelDataError(f"{what}: found {positives} positive label(s), need at least {needed}")
    if negatives < needed:
        raise ModelDataError(f"{what}: found {negatives} negative label(s), need at least {needed}")


def fit_scoring_model(
    frame: pd.DataFrame,
    feature_specs: Sequence[FeatureSpecLike],
    *,
    task: Task,
    vocabulary: Vocabulary,
    seed: int,
    calibration_cutoffs: int = 1,
    calibration_method: str = "isotonic",
    params: Mapping[str, Any] | None = None,
    min_level_count: int = 20,
    min_positives: int = 1,
    metadata: Mapping[str, Any] | None = None,
    btyd: BtydFeatures | None = None,
    boost_from: str | None = None,
) -> ScoringModel:
    """Fit trees on the earlier cutoffs of ``frame`` and calibrate on its last cutoff(s).

    ``frame`` is a training-set frame (``cutoff``, ``label`` and one column per spec). Rows of
    the last ``calibration_cutoffs`` cutoffs never reach the trees, so the calibrator sees
    scores on later time, as the model will in production. Deterministic for a seed.
    ``vocabulary`` is the one the frame's features were built over; it ships with the model,
    as do ``btyd``, the parameters of the frame's derived BTYD features
    (``features.definitions.btyd``). ``boost_from`` names a feature holding a prior probability the
    trees start from (``build_tree_pipeline``); the calibrator then reads the offset-included
    log-odds.
    """
    fit_rows, calibration_rows = split_by_cutoff(frame, calibration_cutoffs=calibration_cutoffs)
    check_positives(fit_rows["label"], needed=min_positives, what="fit cutoffs")
    check_positives(calibration_rows["label"], needed=1, what="calibration cutoffs")
    names = [s.name for s in feature_specs]
    pipeline = build_tree_pipeline(
        feature_specs,
        seed=seed,
        params=params,
        min_level_count=min_level_count,
        boost_from=boost_from,
    )
    pipeline.fit(fit_rows[names], fit_rows["label"].astype(int), **tree_fit_params(feature_specs))
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibration_method)
    calibrated.fit(calibration_rows[names], calibration_rows["label"].astype(int))
    logger.info(
        "fitted %s model on %d rows, calibrated on %d rows",
        task,
        len(fit_rows),
        len(calibration_rows),
    )
    return ScoringModel(
        task=task,
        feature_specs=tuple(ModelFeature.from_spec(s) for s in feature_specs),
        estimator=calibrated,
        vocabulary=vocabulary,
        metadata=dict(metadata or {}),
        btyd=btyd,
    )
