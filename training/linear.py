"""The logistic-regression model: imputation, scaling and one-hot encoding in one Pipeline.

Trained beside the trees on the same training cutoffs and calibrated like them on the same later
calibration cutoffs; it shows how much the trees add, and when the trees do not beat it by
``[promotion] prefer_simple_margin`` it is the model promotion registers and serves
(``features.model.linear_plan`` scores it and explains it with exact linear contributions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from features.model.linear_plan import LINEAR_MEANS_KEY, as_object, column_means
from features.model.scoring_model import ModelFeature, ScoringModel
from training.config import LinearConfig
from training.tree_fit import check_positives

# ScoringModel.metadata["model_kind"] of the logistic-regression model (the trees have none).
LOGISTIC_KIND = "logistic_regression"


def build_linear_pipeline(
    specs: Sequence[ModelFeature], *, config: LinearConfig, seed: int
) -> Pipeline:
    """An unfitted ``Pipeline(preprocess, LogisticRegression)`` for the given features."""
    numeric = [s.name for s in specs if s.dtype == "numeric"]
    categorical = [s.name for s in specs if s.dtype == "categorical"]
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "categorical",
                make_pipeline(
                    FunctionTransformer(as_object, feature_names_out="one-to-one"),
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=config.min_frequency,
                        sparse_output=False,
                    ),
                ),
                categorical,
            ),
        ]
    )
    model = LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def fit_linear_model(
    fit_rows: pd.DataFrame,
    calibration_rows: pd.DataFrame,
    template: ScoringModel,
    *,
    config: LinearConfig,
    calibration_method: str,
    seed: int,
    metadata: Mapping[str, object],
) -> ScoringModel:
    """The logistic regression fitted on ``fit_rows`` and calibrated on ``calibration_rows``
    (later cutoffs, the trees' own calibration rows, with their ``calibration_method``), as a
    servable ``ScoringModel`` with ``template``'s task, features, vocabulary and BTYD parameters.

    Both frames are training-set rows (``label`` and the template's features). ``metadata`` (the
    cutoffs and horizon, as the trees') is copied into the model's, with ``model_kind`` and the
    preprocessed columns' means over ``fit_rows`` that centre its contributions
    (``features.model.linear_plan``). ``ModelDataError`` when either part lacks a class.
    Deterministic for a seed.
    """
    names = template.feature_names
    check_positives(fit_rows["label"], needed=1, what="logistic regression fit cutoffs")
    check_positives(calibration_rows["label"], needed=1, what="calibration cutoffs")
    pipeline = build_linear_pipeline(template.feature_specs, config=config, seed=seed)
    pipeline.fit(fit_rows[names], fit_rows["label"].astype(int))
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibration_method)
    calibrated.fit(calibration_rows[names], calibration_rows["label"].astype(int))
    return ScoringModel(
        task=template.task,
        feature_specs=template.feature_specs,
        estimator=calibrated,
        vocabulary=template.vocabulary,
        metadata={
            **metadata,
            "model_kind": LOGISTIC_KIND,
            LINEAR_MEANS_KEY: column_means(pipeline, fit_rows[names]),
        },
        btyd=template.btyd,
    )
