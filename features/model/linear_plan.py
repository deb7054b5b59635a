"""A calibrated logistic-regression ``ScoringModel`` compiled for scoring, with exact reasons.

The simple model (``training.linear``: ``Pipeline(preprocess, LogisticRegression)``, imputation,
scaling and one-hot encoding in a ``ColumnTransformer``) is served like the trees when the
promotion rule prefers it (``training.promotion``). Its log-odds are linear in the preprocessed
columns ``z``: ``intercept + w . z``. The contribution of a feature is the sum over the columns it
expands to of ``w_j (z_j - m_j)``, ``m`` the columns' mean over the rows the regression was
fitted on, and the bias is ``intercept + w . m``, so every row's contributions add up to its
log-odds exactly (up to float rounding). On a numeric feature ``x`` scaled as ``(x - mu) / s``
that is ``(w / s)(x - mean x)``: coefficient times distance from the training mean, in log-odds.
Method: the linear SHAP values with a training-mean background (Lundberg and Lee, 2017; shap's
``LinearExplainer`` with independent features); a missing-value indicator counts for its
feature. The means are stored with the model (``LINEAR_MEANS_KEY`` in its metadata).

The probability is the fitted calibrator on those log-odds, as ``CalibratedClassifierCV``
computes it. Time-free, like the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features.compute.rows import FeatureRows, FeatureTable
from features.model.artifact_contract import ModelIntegrityError
from features.model.frame_values import FeatureFrameError
from features.model.scoring_plan import ModelScores

# The metadata key of the preprocessed columns' training means (one float per column).
LINEAR_MEANS_KEY = "linear_column_means"


def as_object(frame: Any) -> Any:
    """Text columns as plain objects: SimpleImputer and OneHotEncoder reject pandas' str dtype
    mixed with missing values. Lives here, not in training, because a saved model names it."""
    return frame.astype("object")


def is_linear(pipeline: Pipeline) -> bool:
    """Whether a fitted ``Pipeline`` ends in a logistic regression (the simple model)."""
    return isinstance(pipeline[-1], LogisticRegression)


def column_owners(preprocess: Any, feature_names: Sequence[str]) -> npt.NDArray[np.int64]:
    """For each preprocessed column, the position of the feature it comes from, shape (m,).

    Reads the fitted ``ColumnTransformer`` of ``training.linear``: a ``numeric`` block (the
    imputed values, then one missing indicator per feature ``indicator_.features_`` names) and a
    ``categorical`` block (one-hot: a feature's kept levels, plus one column for its infrequent
    levels when it has any). ``ModelIntegrityError`` if the shape is not that one.
    """
    position = {name: i for i, name in enumerate(feature_names)}
    owners: list[int] = []
    for block, transformer, columns in preprocess.transformers_:
        if block == "remainder" or len(columns) == 0:
            continue
        if block == "numeric":
            imputer = transformer[0]
            owners += [position[c] for c in columns]
            indicator = getattr(imputer, "indicator_", None)
            if indicator is not None:
                owners += [position[columns[i]] for i in indicator.features_]
        elif block == "categorical":
            encoder = transformer[-1]
            for i, name in enumerate(columns):
                levels = len(encoder.categories_[i])
                infrequent = encoder.infrequent_categories_[i]
                width = levels if infrequent is None else levels - len(infrequent) + 1
                owners += [position[name]] * width
        else:
            raise ModelIntegrityError(f"unexpected preprocessing block {block!r}")
    return np.asarray(owners, dtype=np.int64)


def column_means(pipeline: Pipeline, frame: pd.DataFrame) -> list[float]:
    """The preprocessed columns' means over ``frame`` (the rows the regression was fitted on):
    the centre of the contributions, stored under ``LINEAR_MEANS_KEY``."""
    # sklearn's transform is untyped, so numpy types the result as Any.
    means: list[float] = (
        np.asarray(pipeline[0].transform(frame), dtype=np.float64).mean(axis=0).tolist()
    )
    return means


@dataclass(frozen=True)
class LinearPlan:
    """A calibrated logistic-regression pipeline ready to score (see the module docstring)."""

    feature_names: tuple[str, ...]
    pipeline: Pipeline
    calibrator: Any  # sklearn's fitted _SigmoidCalibration or IsotonicRegression
    coefficients: np.ndarray  # w, shape (m,)
    intercept: float
    owners: npt.NDArray[np.int64]  # feature position of each preprocessed column, shape (m,)
    means: np.ndarray  # m, shape (m,)

    @classmethod
    def build(
        cls,
        estimator: CalibratedClassifierCV,
        pipeline: Pipeline,
        feature_names: Sequence[str],
        means: Sequence[float] | None,
    ) -> LinearPlan:
        """Compile ``estimator``; ``ModelIntegrityError`` when it is not one binary calibrated
        logistic regression or ``means`` (from the model's metadata) do not fit its columns."""
        regression = pipeline[-1]
        calibrated = estimator.calibrated_classifiers_
        if (
            len(calibrated) != 1
            or len(calibrated[0].calibrators) != 1
            or len(regression.classes_) != 2
        ):
            raise ModelIntegrityError("expected one binary calibrated logistic regression")
        names = tuple(feature_names)
        owners = column_owners(pipeline[0], names)
        coefficients = np.asarray(regression.coef_[0], dtype=np.float64)
        if means is None or len(means) != len(coefficients) or len(owners) != len(coefficients):
            raise ModelIntegrityError(
                f"logistic regression: {len(coefficients)} coefficients, {len(owners)} mapped "
                f"columns, {None if means is None else len(means)} means in {LINEAR_MEANS_KEY}"
            )
        return cls(
            feature_names=names,
            pipeline=pipeline,
            calibrator=calibrated[0].calibrators[0],
            coefficients=coefficients,
            intercept=float(regression.intercept_[0]),
            owners=owners,
            means=np.asarray(means, dtype=np.float64),
        )

    def encode(self, frame: FeatureTable) -> pd.DataFrame:
        """The model's feature columns, in order, as a frame (rows from ``features.compute.online``
        become one); ``FeatureFrameError`` naming any column the input lacks."""
        if isinstance(frame, FeatureRows):
            frame = frame.to_frame()
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            raise FeatureFrameError(f"feature frame lacks column(s): {', '.join(missing)}")
        return frame[list(self.feature_names)]

    def columns(self, encoded: pd.DataFrame) -> np.ndarray:
        """The preprocessed matrix ``z``, shape (n, m)."""
        # sklearn's transform is untyped, so numpy types the result as Any.
        columns: np.ndarray = np.asarray(self.pipeline[0].transform(encoded), dtype=np.float64)
        return columns

    def raw_score(self, encoded: pd.DataFrame) -> np.ndarray:
        """Log-odds per row, shape (n,): ``intercept + w . z``."""
        score: np.ndarray = self.columns(encoded) @ self.coefficients + self.intercept
        return score

    def contributions(self, encoded: pd.DataFrame) -> np.ndarray:
        """Log-odds per feature and the bias (last column), shape (n, n_features + 1); each row
        adds up to ``raw_score``."""
        return self._contributions(self.columns(encoded))

    def _contributions(self, columns: np.ndarray) -> np.ndarray:
        terms = (columns - self.means) * self.coefficients
        out = np.zeros((columns.shape[0], len(self.feature_names) + 1), dtype=np.float64)
        # Sum each feature's columns (its levels, its missing indicator) into its own slot.
        # On the transposes (views), so the index is the plain integer array numpy's stubs accept.
        np.add.at(out.T, self.owners, terms.T)
        out[:, -1] = self.intercept + float(self.means @ self.coefficients)
        return out

    def probability(self, raw_score: np.ndarray) -> np.ndarray:
        """Calibrated P(label = 1) from the log-odds, as ``CalibratedClassifierCV`` does."""
        probability = np.asarray(self.calibrator.predict(raw_score), dtype=np.float64)
        probability[(probability > 1.0) & (probability <= 1.0 + 1e-5)] = 1.0
        return probability

    def score(self, frame: FeatureTable) -> ModelScores:
        """Preprocess ``frame`` once; calibrated probability, log-odds and contributions."""
        columns = self.columns(self.encode(frame))
        raw_score = columns @ self.coefficients + self.intercept
        return ModelScores(
            probability=self.probability(raw_score),
            raw_score=raw_score,
            contributions=self._contributions(columns),
        )
