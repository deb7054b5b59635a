"""The served scoring unit: a calibrated gradient-boosted-trees pipeline and its safe persistence.

A ``ScoringModel`` wraps one fitted scikit-learn ``Pipeline(encode, model)`` (a
``FeatureFrameEncoder`` then a LightGBM ``LGBMClassifier``) inside a
``CalibratedClassifierCV(FrozenEstimator(pipeline))`` whose calibrator was fitted on cutoffs
*later* than every cutoff the trees saw, so calibration is judged on unseen time.

Time semantics: the model itself is time-free. Every frame it scores holds feature values that
``features`` computed as of an explicit time from events strictly before it; the model adds no
notion of "now".

Persistence uses safe formats only: the estimator goes through ``skops.io`` with an explicit
trusted-type list (never ``trusted=True``, never pickle) and everything else is plain JSON.
``save`` returns the sha256 of each file; ``load`` verifies them before anything is parsed.

Serving imports this module; it never imports ``training``. The production fit that builds
such a model (``build_tree_pipeline``, ``fit_scoring_model``) is ``training.tree_fit``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import skops.io as sio
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from features.contract.tasks import Task
from features.definitions.btyd import BtydFeatures, is_btyd_feature
from features.definitions.vocabulary import Vocabulary, VocabularyError
from features.definitions.wording import Wording, WordingError
from features.model.artifact_contract import ModelIntegrityError, file_sha256, verify_sha256
from features.model.categories import RareLevelGrouper
from features.model.frame_values import FeatureFrameError, as_float, as_text, offset_log_odds
from features.model.linear_plan import LINEAR_MEANS_KEY, LinearPlan, is_linear
from features.model.scoring_plan import ModelScores, PriorOffset, ScoringPlan

if TYPE_CHECKING:
    # Annotations only: a logistic-regression model loads without LightGBM, and the fit that
    # builds trees lives in training.tree_fit.
    import lightgbm as lgb

    from features.compute.rows import FeatureTable
    from features.model.linear_plan import LinearPlan

logger = logging.getLogger(__name__)

# 2: the event vocabulary is part of the model; 3: churn models carry BG/NBD parameters;
# 4: the manifest says which feature's probability, if any, the trees boosted from (boost_from);
# 5: each feature's description is a structured wording, {"label": ..., "cases": [{"when": ...,
#    "text": ...}]} (``features.definitions.wording.Wording.to_dict``), no longer one string
FORMAT_VERSION = 5
# Still loaded: a version-3 model has no boost_from and boosts from a constant; versions 3 and 4
# hold each description as one "label | key: sentence" string (``Wording.from_legacy_text``).
READABLE_FORMAT_VERSIONS = (3, 4, 5)
ESTIMATOR_FILE = "model.skops"
MANIFEST_FILE = "model.json"

# Every type in a saved estimator that skops does not trust by default. Loading refuses any
# file that needs a type outside this list, so a tampered or foreign file cannot run code.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "features.model.categories.RareLevelGrouper",
    "features.model.scoring_model.FeatureFrameEncoder",
    "features.model.scoring_model.OffsetBoostedClassifier",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # The logistic-regression model (features.model.linear_plan), served when promotion prefers it.
    "features.model.linear_plan.as_object",
    "numpy.dtype",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
)

# The names models saved before the package layout of issue 12 (features.model, ...) hold:
# such a file cannot load under the new names, and says so in one line.
SAVED_BEFORE_THE_LAYOUT: tuple[str, ...] = (
    "features.categories.RareLevelGrouper",  # now features.model.categories.RareLevelGrouper
    "features.model.FeatureFrameEncoder",  # now features.model.scoring_model.FeatureFrameEncoder
    # now features.model.scoring_model.OffsetBoostedClassifier
    "features.model.OffsetBoostedClassifier",
    "features.linear_plan.as_object",  # now features.model.linear_plan.as_object
)


class SavedBeforeTheLayout(ModelIntegrityError):
    """A saved estimator names our types as they were before issue 12's package layout.

    ``str()`` is ``"<file>: <reason>"``; ``reason`` alone says what happened and what to do
    without the file's path, for places that must not show paths (``/health/ready``).
    """

    reason = (
        "this model was saved by salesradar before the package layout changed;"
        " retrain it (salesradar train ... --promote)"
    )

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: {self.reason}")


class FeatureSpecLike(Protocol):
    """What the model reads from a ``features.definitions.registry.FeatureSpec``."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def description(self) -> Wording: ...
    @property
    def family(self) -> str: ...
    @property
    def unit(self) -> str: ...


@dataclass(frozen=True)
class ModelFeature:
    """A feature spec as the model was trained on it.

    The saved model keeps its own copy so that a later edit of the registry (a reworded
    description, a new feature) cannot change what a trained model means or how it explains.
    """

    name: str
    dtype: str  # "numeric" | "categorical"
    description: Wording
    family: str
    unit: str

    @classmethod
    def from_spec(cls, spec: FeatureSpecLike) -> ModelFeature:
        return cls(
            name=str(spec.name),
            dtype=str(spec.dtype),
            description=spec.description,
            family=str(spec.family),
            unit=str(spec.unit),
        )


class FeatureFrameEncoder(TransformerMixin, BaseEstimator):
    """Type a feature frame for LightGBM, one output column per input feature, in order.

    Numeric features become ``float64`` (missing stays NaN: the trees learn where it goes).
    Categorical features go through ``features.model.categories.RareLevelGrouper``: a pandas
    ``Categorical`` with the levels seen at least ``min_level_count`` times in the fit frame;
    rarer and unseen levels map to ``"__other__"`` so a level that appears once at scoring time
    cannot get its own, unlearned split.

    ``features`` lists every feature in the model's order; those named in
    ``categorical_features`` are categorical, the rest numeric. The output keeps that order, one
    column per feature, which is what lets the booster's contributions map back to the
    registry's features one to one.
    """

    def __init__(
        self,
        features: Sequence[str] = (),
        categorical_features: Sequence[str] = (),
        min_level_count: int = 20,
    ) -> None:
        self.features = features
        self.categorical_features = categorical_features
        self.min_level_count = min_level_count

    def fit(self, X: pd.DataFrame, y: object = None) -> FeatureFrameEncoder:
        self._check_columns(X)
        texts = self._texts(X)
        self.grouper_ = RareLevelGrouper(min_frequency=self.min_level_count).fit(texts)
        self.levels_ = dict(self.grouper_.categories_)
        self.feature_names_in_ = np.asarray(self._ordered_names(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_columns(X)
        grouped = self.grouper_.transform(self._texts(X))
        columns: dict[str, pd.Series] = {}
        for name in self._ordered_names():
            if name in self.levels_:
                columns[name] = grouped[name]
            else:
                columns[name] = as_float(X[name], name)
        return pd.DataFrame(columns, index=X.index)

    def _texts(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {name: as_text(X[name], name) for name in self.categorical_features}, index=X.index
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self._ordered_names(), dtype=object)

    def _ordered_names(self) -> list[str]:
        return list(self.features)

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [c for c in self._ordered_names() if c not in X.columns]
        if missing:
            raise FeatureFrameError(f"feature frame lacks column(s): {', '.join(missing)}")


class OffsetBoostedClassifier(ClassifierMixin, BaseEstimator):
    """A LightGBM classifier boosted from a per-row prior instead of a constant.

    ``offset_feature`` names a column of the (encoded) frame holding a prior probability of
    the positive class; its log-odds (``offset_log_odds``) are LightGBM's ``init_score``
    (the offset of a GLM), so the trees learn only what the prior misses. The model's raw
    log-odds are the booster's raw score plus the same offset: ``decision_function``, and
    ``features.model.scoring_plan`` from the same function. Method: LightGBM's ``init_score``
    (boosting from an existing model's predictions); used with the BG/NBD probability of no
    purchase (``features.definitions.btyd``) as the prior of a churn model.

    ``offset_mean_`` is the offset's mean over the fit rows: contributions give the offset's
    column ``offset - offset_mean_`` and the bias ``offset_mean_`` (the SHAP value of an
    additive term, centred on the training data as TreeSHAP's bias is).
    """

    def __init__(
        self, classifier: lgb.LGBMClassifier | None = None, offset_feature: str = ""
    ) -> None:
        self.classifier = classifier
        self.offset_feature = offset_feature

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        *,
        feature_name: list[str] | str = "auto",
        categorical_feature: list[str] | str = "auto",
    ) -> OffsetBoostedClassifier:
        """Fit the trees on ``X`` (an encoded frame holding ``offset_feature``) from the offset.

        ``feature_name`` and ``categorical_feature`` go to ``LGBMClassifier.fit`` as they are
        (the booster's names, ``training.tree_fit.tree_fit_params``).
        """
        if self.classifier is None:
            raise ValueError("OffsetBoostedClassifier needs a classifier")
        offset = self._offset(X)
        self.classifier_ = clone(self.classifier).fit(
            X,
            y,
            init_score=offset,
            feature_name=feature_name,
            categorical_feature=categorical_feature,
        )
        self.classes_ = self.classifier_.classes_
        self.n_features_in_ = self.classifier_.n_features_in_
        self.offset_mean_ = float(offset.mean())
        return self

    @property
    def booster_(self) -> lgb.Booster:
        """The fitted trees (they exclude the offset)."""
        booster: lgb.Booster = self.classifier_.booster_
        return booster

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds per row, shape (n,): the trees' raw score plus the offset."""
        return np.asarray(np.asarray(self.classifier_.predict(X, raw_score=True)) + self._offset(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated (P(class 0), P(class 1)) per row, shape (n, 2)."""
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more likely class per row, shape (n,)."""
        return np.asarray(self.classes_[(self.decision_function(X) > 0).astype(int)])

    def _offset(self, X: pd.DataFrame) -> np.ndarray:
        if self.offset_feature not in X.columns:
            raise FeatureFrameError(f"feature frame lacks column(s): {self.offset_feature}")
        return offset_log_odds(X[self.offset_feature].to_numpy(dtype=np.float64))


@dataclass
class ScoringModel:
    """A calibrated, explainable scoring model for one task (see the module docstring)."""

    task: Task
    feature_specs: tuple[ModelFeature, ...]
    estimator: CalibratedClassifierCV
    vocabulary: Vocabulary  # the event kinds its features expand (features.definitions.vocabulary)
    metadata: dict[str, Any] = field(default_factory=dict)
    # BG/NBD parameters of its derived features (features.definitions.btyd); None: no such features.
    btyd: BtydFeatures | None = None
    _plan: ScoringPlan | LinearPlan | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        derived = tuple(n for n in self.feature_names if is_btyd_feature(n))
        expected = () if self.btyd is None else self.btyd.names
        if sorted(derived) != sorted(expected):
            raise ValueError(
                f"BTYD features {list(derived)} do not match the model's parameters "
                f"(which give {list(expected)})"
            )

    @property
    def feature_names(self) -> list[str]:
        return [s.name for s in self.feature_specs]

    @property
    def pipeline(self) -> Pipeline:
        """The fitted (uncalibrated) ``Pipeline(encode, model)``."""
        frozen = self.estimator.calibrated_classifiers_[0].estimator
        return frozen.estimator if isinstance(frozen, FrozenEstimator) else frozen

    @property
    def boost_from(self) -> str | None:
        """The feature whose prior probability the trees boosted from, or None (a constant).

        Read from the fitted estimator (``OffsetBoostedClassifier``), so it cannot disagree
        with what scores; the manifest records it and ``load`` checks the two agree.
        """
        classifier = self.pipeline[-1]
        if isinstance(classifier, OffsetBoostedClassifier):
            return str(classifier.offset_feature)
        return None

    def predict_proba(self, frame: FeatureTable) -> np.ndarray:
        """Calibrated P(label = 1) per row, shape (n,)."""
        return self.score(frame).probability

    def raw_score(self, frame: FeatureTable) -> np.ndarray:
        """The booster's raw log-odds per row (before calibration), shape (n,)."""
        plan = self.plan()
        return plan.raw_score(plan.encode(frame))

    def contributions(self, frame: FeatureTable) -> np.ndarray:
        """Exact additive contributions (TreeSHAP), shape (n, n_features + 1).

        Columns follow ``feature_names``; the last column is the bias. Each row sums to
        ``raw_score`` (log-odds, before calibration), including native categorical splits.
        """
        plan = self.plan()
        return plan.contributions(plan.encode(frame))

    def score(self, frame: FeatureTable) -> ModelScores:
        """Calibrated probabilities and contributions of ``frame``, encoding it once.

        The same numbers as ``predict_proba`` and ``contributions`` (which call this), for the
        cost of one encoding and two booster passes instead of two encodings and three.
        """
        return self.plan().score(frame)

    def plan(self) -> ScoringPlan | LinearPlan:
        """The model's per-model constant work (column order, category codes), built once.

        Built on first use (the service's warm-up pass does it before a model is swapped in);
        two threads racing here build equal plans, so no lock is needed. A logistic-regression
        model (the simple model promotion may prefer) compiles to a ``LinearPlan``.
        """
        if self._plan is None:
            if is_linear(self.pipeline):
                self._plan = LinearPlan.build(
                    self.estimator,
                    self.pipeline,
                    self.feature_names,
                    self.metadata.get(LINEAR_MEANS_KEY),
                )
                return self._plan
            encoder, classifier = self.pipeline[0], self.pipeline[-1]
            offset = None
            if isinstance(classifier, OffsetBoostedClassifier):
                offset = PriorOffset(
                    position=list(self.feature_names).index(classifier.offset_feature),
                    mean=classifier.offset_mean_,
                )
                classifier = classifier.classifier_
            self._plan = ScoringPlan.build(
                self.estimator, encoder, classifier, self.feature_names, offset=offset
            )
        return self._plan

    def save(self, directory: Path) -> dict[str, str]:
        """Write the model into ``directory`` (created if needed); return {file: sha256}."""
        directory.mkdir(parents=True, exist_ok=True)
        sio.dump(self.estimator, directory / ESTIMATOR_FILE)
        manifest = {
            "format_version": FORMAT_VERSION,
            "task": str(self.task),
            "feature_specs": [_spec_to_dict(s) for s in self.feature_specs],
            "vocabulary": self.vocabulary.to_dict(),
            "btyd": None if self.btyd is None else self.btyd.to_dict(),
            "boost_from": self.boost_from,
            "metadata": self.metadata,
            "libraries": {name: version(name) for name in _LIBRARIES},
        }
        (directory / MANIFEST_FILE).write_text(
            json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
        )
        return {name: file_sha256(directory / name) for name in (ESTIMATOR_FILE, MANIFEST_FILE)}

    @classmethod
    def load(
        cls, directory: Path, *, expected_sha256: Mapping[str, str] | None = None
    ) -> ScoringModel:
        """Load a saved model; with ``expected_sha256``, verify every file before parsing it.

        Raises ``ModelIntegrityError`` when a file is missing, a hash differs, or the estimator
        needs a type outside ``TRUSTED_TYPES``.
        """
        for name in (ESTIMATOR_FILE, MANIFEST_FILE):
            if not (directory / name).is_file():
                raise ModelIntegrityError(f"{directory / name}: file missing")
        if expected_sha256 is not None:
            unhashed = {ESTIMATOR_FILE, MANIFEST_FILE} - set(expected_sha256)
            if unhashed:
                raise ModelIntegrityError(f"expected hashes lack {', '.join(sorted(unhashed))}")
            verify_sha256(directory, expected_sha256)
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("format_version") not in READABLE_FORMAT_VERSIONS:
            raise ModelIntegrityError(
                f"{directory / MANIFEST_FILE}: format_version {manifest.get('format_version')!r}"
                f", expected one of {', '.join(map(str, READABLE_FORMAT_VERSIONS))}"
            )
        _warn_on_library_drift(manifest.get("libraries", {}))
        path = directory / ESTIMATOR_FILE
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if set(untrusted) & set(SAVED_BEFORE_THE_LAYOUT):
            raise SavedBeforeTheLayout(path)
        if untrusted:
            raise ModelIntegrityError(f"{path}: refuses untrusted type(s) {', '.join(untrusted)}")
        estimator = sio.load(path, trusted=list(TRUSTED_TYPES))
        try:
            vocabulary = Vocabulary.from_dict(manifest["vocabulary"])
        except (KeyError, VocabularyError) as error:
            raise ModelIntegrityError(f"{directory / MANIFEST_FILE}: vocabulary: {error}") from None
        try:
            saved = manifest["btyd"]
            btyd = None if saved is None else BtydFeatures.from_dict(saved)
            model = cls(
                task=Task(manifest["task"]),
                feature_specs=_specs_from_manifest(manifest),
                estimator=estimator,
                vocabulary=vocabulary,
                metadata=manifest["metadata"],
                btyd=btyd,
            )
            # Version 3 predates boosting from a prior: its trees start from a constant.
            recorded = manifest["boost_from"] if manifest["format_version"] >= 4 else None
        except (KeyError, TypeError, ValueError) as error:
            raise ModelIntegrityError(f"{directory / MANIFEST_FILE}: {error}") from None
        if recorded != model.boost_from:
            raise ModelIntegrityError(
                f"{directory / MANIFEST_FILE}: boost_from {recorded!r} but the estimator boosts "
                f"from {model.boost_from!r}"
            )
        return model


_LIBRARIES = ("lightgbm", "scikit-learn", "skops", "numpy", "pandas")


def _spec_to_dict(spec: ModelFeature) -> dict[str, object]:
    """One feature of the manifest; its description in the saved form of ``Wording.to_dict``."""
    return {**dataclasses.asdict(spec), "description": spec.description.to_dict()}


def _specs_from_manifest(manifest: Mapping[str, Any]) -> tuple[ModelFeature, ...]:
    """The manifest's features; descriptions of format versions before 5 are one string.

    Raises ``KeyError``/``TypeError`` for a malformed entry and ``WordingError`` (naming the
    feature's field) for a malformed description.
    """
    legacy = manifest["format_version"] < 5
    specs = []
    for index, saved in enumerate(manifest["feature_specs"]):
        where = f"feature_specs[{index}].description"
        description = saved["description"]
        if legacy:
            if not isinstance(description, str):
                raise WordingError(f"{where}: expected a string in format version < 5")
            wording = Wording.from_legacy_text(description)
        else:
            wording = Wording.from_dict(description, where)
        specs.append(ModelFeature(**{**saved, "description": wording}))
    return tuple(specs)


def _warn_on_library_drift(saved: Mapping[str, str]) -> None:
    for name, saved_version in saved.items():
        if version(name) != saved_version:
            logger.warning(
                "model saved with %s %s, loading with %s", name, saved_version, version(name)
            )
