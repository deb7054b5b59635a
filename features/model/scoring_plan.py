"""A fitted ``ScoringModel`` compiled for fast scoring: encode once into numpy, two booster passes.

``ScoringModel.predict_proba`` / ``contributions`` / ``score`` run through a ``ScoringPlan`` built
once per model (column order, category codes, the calibrator), instead of the scikit-learn
pipeline's pandas path, which encoded the frame again for each call and dominated latency
(tens of milliseconds for one row). The numbers are the pipeline's: tests hold the plan to the
``CalibratedClassifierCV`` pipeline bit for bit. Time-free, like the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.isotonic import IsotonicRegression

from features.compute.rows import FeatureRows, FeatureTable
from features.model.artifact_contract import ModelIntegrityError
from features.model.booster_names import lightgbm_name
from features.model.frame_values import (
    FeatureFrameError,
    as_float,
    check_text,
    check_text_dtype,
    offset_log_odds,
)
from features.model.shap_tables import ShapTables

if TYPE_CHECKING:
    import lightgbm as lgb  # annotations only: loading a model imports only what it holds


@dataclass(frozen=True)
class ModelScores:
    """What one scoring pass returns; rows follow the scored frame."""

    probability: np.ndarray  # calibrated P(label = 1), shape (n,)
    raw_score: np.ndarray  # the booster's log-odds before calibration, shape (n,)
    contributions: np.ndarray  # log-odds per feature + bias (last), shape (n, n_features + 1)


@dataclass(frozen=True)
class CategoryCodes:
    """How one categorical feature reaches the booster: text level -> the code LightGBM saw.

    Reproduces ``FeatureFrameEncoder`` (rare and unseen levels -> the "other" level) followed by
    LightGBM's own pandas handling (categories aligned to those it was trained with, then their
    integer codes, missing -> NaN): a numpy row meets the same tree splits as the pandas frame.
    """

    position: int
    name: str
    codes: Mapping[str, float]
    other: float

    def encode(self, series: pd.Series) -> np.ndarray:
        """Codes of ``series`` as float64; missing stays NaN."""
        check_text(series, self.name)
        positions, uniques = pd.factorize(series, use_na_sentinel=True)
        # One lookup per distinct level, not per row; the extra last slot is the NaN of -1.
        table = np.array(
            [self.codes.get(str(level), self.other) for level in uniques] + [math.nan],
            dtype=np.float64,
        )
        return np.asarray(table[positions])

    def encode_cells(self, cells: np.ndarray, dtype: Any) -> np.ndarray:
        """``encode`` for a few cells (an object array of one column of dtype ``dtype``)."""
        missing = pd.isna(cells)
        check_text_dtype(dtype, self.name, all_missing=bool(missing.all()))
        return np.array(
            [
                math.nan if gone else self.codes.get(str(level), self.other)
                for level, gone in zip(cells.tolist(), missing.tolist(), strict=True)
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class PriorOffset:
    """The prior log-odds the trees were boosted from (``OffsetBoostedClassifier``).

    ``position`` is the prior probability's column in the encoded matrix; ``mean`` its
    log-odds' mean over the fit rows, which the contributions move into the bias.
    """

    position: int
    mean: float

    def log_odds(self, encoded: np.ndarray) -> np.ndarray:
        """The offset per row, shape (n,) (``features.model.frame_values.offset_log_odds``)."""
        return offset_log_odds(encoded[:, self.position])


# From this many rows on (batch chunks), the booster uses every core. Online requests stay on one
# thread: with 256 here, a 1,000-lead request measured p50 233 ms / p99 301 ms against
# 248 / 262 ms on one thread (the API client and OpenMP's spinning threads share 2 cores).
PARALLEL_ROWS = 2_000

# Up to this many rows (online requests), one object copy of the frame is cheaper than pandas'
# per-column selection machinery; beyond, selecting float blocks avoids boxing every cell.
SMALL_FRAME_ROWS = 32


@dataclass(frozen=True)
class ScoringPlan:
    """A fitted calibrated pipeline compiled for numpy: encode once, two booster passes.

    ``encode`` types a feature frame into the float matrix the booster received from the
    pipeline (numeric features as float64, categorical ones as their training codes);
    ``probability`` applies the fitted calibrator directly to the booster's response, exactly as
    ``CalibratedClassifierCV.predict_proba`` does (scikit-learn prefers ``decision_function``,
    which LightGBM >= 4.7 has: the raw log-odds; otherwise ``predict_proba``'s P(class 1));
    ``contributions`` are the booster's TreeSHAP values, looked up in ``shap`` tables when the
    trees are small enough (``features.model.shap_tables``), else computed by the booster. Tests
    hold all three to the scikit-learn pipeline: probabilities bit-identical, contributions to 1e-12
    (the tables add the same terms in another order). Time-free, like the model.
    """

    feature_names: tuple[str, ...]
    numeric_positions: tuple[int, ...]
    categorical: tuple[CategoryCodes, ...]
    booster: lgb.Booster
    calibrator: Any  # sklearn's fitted _SigmoidCalibration or IsotonicRegression
    calibrates_raw_score: bool  # True: the calibrator reads log-odds; False: P(class 1)
    num_threads: int
    shap: ShapTables | None  # None: trees too large for tables; the booster computes TreeSHAP
    offset: PriorOffset | None = None  # None: the trees boosted from a constant

    @classmethod
    def build(
        cls,
        estimator: CalibratedClassifierCV,
        encoder: Any,
        classifier: lgb.LGBMClassifier,
        feature_names: Sequence[str],
        *,
        offset: PriorOffset | None,
    ) -> ScoringPlan:
        """Compile a fitted model: ``estimator`` the calibrated whole, ``encoder`` its
        ``FeatureFrameEncoder``, ``classifier`` the trees (unwrapped from an
        ``OffsetBoostedClassifier``, whose prior is ``offset``; the caller, ``ScoringModel.plan``,
        knows the estimator types). ``ModelIntegrityError`` if its shape is not the one we fit.
        """
        booster = classifier.booster_
        names = tuple(feature_names)
        # Column i of the contributions is booster feature i: it must be feature_names[i].
        booster_names = tuple(lightgbm_name(name) for name in names)
        if tuple(booster.feature_name()) != booster_names or tuple(encoder.features) != names:
            raise ModelIntegrityError("booster feature order differs from the model's features")
        calibrated = estimator.calibrated_classifiers_
        if (
            len(calibrated) != 1
            or calibrated[0].method not in ("sigmoid", "isotonic")
            or len(calibrated[0].calibrators) != 1
            or len(estimator.classes_) != 2
        ):
            raise ModelIntegrityError("expected one binary sigmoid or isotonic calibrator")
        trained = iter(booster.pandas_categorical or [])
        categorical = []
        for position, name in enumerate(names):
            if name not in encoder.levels_:
                continue
            booster_codes = {level: float(code) for code, level in enumerate(next(trained))}
            codes = {level: booster_codes.get(level, math.nan) for level in encoder.levels_[name]}
            other = codes[encoder.grouper_.other_label]
            categorical.append(CategoryCodes(position, name, codes, other))
        taken = {c.position for c in categorical}
        n_jobs = classifier.n_jobs
        return cls(
            feature_names=names,
            numeric_positions=tuple(i for i in range(len(names)) if i not in taken),
            categorical=tuple(categorical),
            booster=booster,
            calibrator=calibrated[0].calibrators[0],
            # The response CalibratedClassifierCV itself would pick, first match wins.
            calibrates_raw_score=getattr(calibrated[0].estimator, "decision_function", None)
            is not None,
            # The classifier's own thread setting; <= 0 / None means LightGBM's default.
            num_threads=n_jobs if isinstance(n_jobs, int) and n_jobs > 0 else 0,
            shap=ShapTables.build(booster),
            offset=offset,
        )

    def encode(self, frame: FeatureTable) -> np.ndarray:
        """The float64 matrix the booster scores, one column per feature in model order."""
        if isinstance(frame, FeatureRows):
            return self._encode_rows(frame)
        # tolist(): iterating an Arrow-backed column index costs a Python call per name.
        columns = {name: i for i, name in enumerate(frame.columns.tolist())}
        missing = [n for n in self.feature_names if n not in columns]
        if missing:
            raise FeatureFrameError(f"feature frame lacks column(s): {', '.join(missing)}")
        encoded = np.empty((len(frame), len(self.feature_names)), dtype=np.float64)
        dtypes = frame.dtypes.to_numpy()
        bulk = [
            i
            for i in self.numeric_positions
            if dtypes[columns[self.feature_names[i]]] == np.float64
        ]
        small = len(frame) <= SMALL_FRAME_ROWS
        cells = frame.to_numpy(dtype=object) if small else None
        if bulk:
            # One block copy by position instead of one Series per column (or a label lookup).
            where = [columns[self.feature_names[i]] for i in bulk]
            if cells is not None:
                encoded[:, bulk] = cells[:, where].astype(np.float64)
            else:
                encoded[:, bulk] = frame.iloc[:, where].to_numpy(np.float64)
        for position in sorted(set(self.numeric_positions) - set(bulk)):
            name = self.feature_names[position]
            encoded[:, position] = as_float(frame[name], name).to_numpy()
        for category in self.categorical:
            at = columns[category.name]
            encoded[:, category.position] = (
                category.encode_cells(cells[:, at], dtypes[at])
                if cells is not None
                else category.encode(frame[category.name])
            )
        return encoded

    def _encode_rows(self, rows: FeatureRows) -> np.ndarray:
        """``encode`` for rows straight from ``features.compute.online``: no pandas on the way."""
        missing = [n for n in self.feature_names if n not in rows.positions]
        if missing:
            raise FeatureFrameError(f"feature frame lacks column(s): {', '.join(missing)}")
        at = [rows.positions[name] for name in self.feature_names]
        categorical = {c.position for c in self.categorical}
        for position, name in enumerate(self.feature_names):
            if (at[position] in rows.text) != (position in categorical):
                kind = "categorical" if position in categorical else "numeric"
                raise FeatureFrameError(f"{kind} feature {name!r} holds values of the other kind")
        encoded = rows.numeric[:, at]
        for category in self.categorical:
            encoded[:, category.position] = [
                math.nan if level is None else category.codes.get(str(level), category.other)
                for level in rows.text[at[category.position]]
            ]
        return encoded

    def probability(self, encoded: np.ndarray, raw_score: np.ndarray | None = None) -> np.ndarray:
        """Calibrated P(label = 1): sklearn's calibrator on the booster's response.

        ``raw_score`` (from ``raw_score(encoded)``) saves a booster pass when the calibrator
        reads log-odds.
        """
        if self.calibrates_raw_score:
            response = self.raw_score(encoded) if raw_score is None else raw_score
        else:
            response = np.asarray(self.booster.predict(encoded, num_threads=self._threads(encoded)))
        probability = np.asarray(self.calibrate(response), dtype=np.float64)
        # As CalibratedClassifierCV: a probability a hair above 1 is 1.
        probability[(probability > 1.0) & (probability <= 1.0 + 1e-5)] = 1.0
        return probability

    def calibrate(self, response: np.ndarray) -> np.ndarray:
        """The fitted calibrator applied to booster responses (log-odds or P(class 1))."""
        calibrator = self.calibrator
        if type(calibrator) is IsotonicRegression:
            # IsotonicRegression.predict minus its input validation (the response is a finite
            # float64 vector made just above): the same clip, the same fitted interpolation,
            # the same cast back. A test holds it to predict on every row.
            clipped = (
                np.clip(response, calibrator.X_min_, calibrator.X_max_)
                if calibrator.out_of_bounds == "clip"
                else response
            )
            return np.asarray(calibrator.f_(clipped)).astype(clipped.dtype)
        return np.asarray(calibrator.predict(response))

    def raw_score(self, encoded: np.ndarray) -> np.ndarray:
        """The model's raw log-odds per row, shape (n,): the trees' plus any prior offset."""
        trees = np.asarray(
            self.booster.predict(encoded, raw_score=True, num_threads=self._threads(encoded))
        )
        return trees if self.offset is None else trees + self.offset.log_odds(encoded)

    def contributions(self, encoded: np.ndarray) -> np.ndarray:
        """Log-odds per feature and the bias (last column), shape (n, n_features + 1).

        Each row sums to ``raw_score``. A prior offset counts for its feature, centred:
        its column gains ``offset - mean`` and the bias ``mean`` (``PriorOffset``).
        """
        if self.shap is not None:
            contributions = self.shap.contributions(encoded)
        else:
            contributions = np.asarray(
                self.booster.predict(encoded, pred_contrib=True, num_threads=self._threads(encoded))
            )
        if self.offset is not None:
            contributions[:, self.offset.position] += (
                self.offset.log_odds(encoded) - self.offset.mean
            )
            contributions[:, -1] += self.offset.mean
        return contributions

    def score(self, frame: FeatureTable) -> ModelScores:
        """Encode ``frame`` once; calibrated probability, raw score and contributions."""
        encoded = self.encode(frame)
        raw_score = self.raw_score(encoded)
        return ModelScores(
            probability=self.probability(encoded, raw_score),
            raw_score=raw_score,
            contributions=self.contributions(encoded),
        )

    def _threads(self, encoded: np.ndarray) -> int:
        """The model's own thread setting, or every core (0) for a batch-sized matrix.

        Rows are scored independently, so the thread count never changes a number; it only
        pays off when there are enough rows to split (TreeSHAP on deep trees costs ~0.2 ms a
        row). OMP_NUM_THREADS caps "every core" where the machine is shared.
        """
        return 0 if encoded.shape[0] >= PARALLEL_ROWS else self.num_threads
