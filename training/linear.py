"""The logistic-regression baseline: imputation, scaling and one-hot encoding in one Pipeline.

Trained beside the trees on the same training cutoffs; it shows how much the trees add.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from features.model import ModelFeature
from training.config import LinearConfig


def _as_object(frame: object) -> object:
    """Text columns as plain objects: SimpleImputer and OneHotEncoder reject pandas' str dtype
    mixed with missing values."""
    return frame.astype("object")  # type: ignore[attr-defined]


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
                    FunctionTransformer(_as_object, feature_names_out="one-to-one"),
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
