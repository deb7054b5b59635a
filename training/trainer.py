"""Fit one task on a point-in-time training set: split by time, fit, calibrate, evaluate.

Pure: frames in, fitted models and figures out. Reading the export and logging to MLflow live at
the edges (``training.cli``, ``training.tracking``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from features.model import (
    FeatureSpecLike,
    ModelDataError,
    ScoringModel,
    fit_scoring_model,
)
from features.tasks import Task
from features.vocabulary import Vocabulary
from training.btyd import with_btyd_features
from training.config import TrainingConfig
from training.evaluation import Evaluation, evaluate, rows_at
from training.linear import build_linear_pipeline
from training.splits import TemporalSplit, split_cutoffs

logger = logging.getLogger(__name__)

KEY_COLUMNS = ("entity_id", "cutoff", "label", "value", "owner_id")


@dataclass(frozen=True)
class LeakageResult:
    """The leakage audit's findings as plain text (feature, reason)."""

    findings: tuple[tuple[str, str], ...]

    @property
    def passed(self) -> bool:
        return not self.findings


@dataclass
class TrainedTask:
    task: Task
    horizon: timedelta
    seed: int
    split: TemporalSplit
    model: ScoringModel
    linear: Pipeline
    evaluation: Evaluation
    frame: pd.DataFrame  # every labelled cutoff, as built by features
    leakage: LeakageResult

    @property
    def test_frame(self) -> pd.DataFrame:
        return rows_at(self.frame, self.split.test)

    def counts(self) -> dict[str, int]:
        """Rows and positives per part of the split."""
        counts: dict[str, int] = {}
        for part in ("train", "calibration", "test"):
            rows = rows_at(self.frame, getattr(self.split, part))
            counts[f"{part}_rows"] = len(rows)
            counts[f"{part}_positives"] = int(rows["label"].sum())
        return counts


def check_training_frame(frame: pd.DataFrame, specs: Sequence[FeatureSpecLike]) -> None:
    """Raise ``ModelDataError`` naming any column the training set lacks."""
    missing = [c for c in (*KEY_COLUMNS, *(s.name for s in specs)) if c not in frame.columns]
    if missing:
        raise ModelDataError(f"training set lacks column(s): {', '.join(missing)}")
    if frame.empty:
        raise ModelDataError("training set is empty: no entity is eligible at any cutoff")


def train_task(
    frame: pd.DataFrame,
    specs: Sequence[FeatureSpecLike],
    *,
    task: Task,
    vocabulary: Vocabulary,
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
    leakage: LeakageResult,
) -> TrainedTask:
    """Fit the trees (calibrated on later time) and the logistic baseline; evaluate both.

    ``vocabulary`` is the one ``frame``'s features were built over; it ships with the model.

    The most recent ``config.split.test_cutoffs`` labelled cutoffs are the test set; nothing
    from them reaches fitting or calibration. Deterministic for a seed.
    """
    check_training_frame(frame, specs)
    cutoffs = sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime())
    split = split_cutoffs(
        cutoffs,
        test=config.split.test_cutoffs,
        calibration=config.split.calibration_cutoffs,
        horizon=horizon,
        embargo=config.split.embargo,
    )
    # The derived BG/NBD features' parameters are fitted on the train cutoffs only.
    frame, specs, btyd = with_btyd_features(
        frame, specs, vocabulary, fit_cutoffs=split.train, horizon=horizon, seed=seed
    )
    train_rows = rows_at(frame, split.train)
    positives = int(train_rows["label"].sum())
    if positives < config.split.min_positives:
        raise ModelDataError(
            f"{task}: found {positives} positive label(s) in the {len(split.train)} training "
            f"cutoff(s) {_window(split.train)}; need at least {config.split.min_positives}"
        )
    model = fit_scoring_model(
        rows_at(frame, split.fit),
        specs,
        task=task,
        vocabulary=vocabulary,
        seed=seed,
        calibration_cutoffs=len(split.calibration),
        calibration_method=config.trees.calibration,
        params=config.trees.params,
        min_level_count=config.trees.min_level_count,
        metadata=_window_metadata(split, horizon),
        btyd=btyd,
    )
    names = model.feature_names
    linear = build_linear_pipeline(model.feature_specs, config=config.linear, seed=seed)
    linear.fit(train_rows[names], train_rows["label"].astype(int))
    evaluation = evaluate(
        task=task,
        model=model,
        linear=linear,
        frame=frame,
        test_cutoffs=split.test,
        horizon=horizon,
        config=config,
        seed=seed,
    )
    model.metadata.update(
        metrics=evaluation.model,
        thresholds=_thresholds(evaluation, config.evaluation.capacity[task]),
        seed=seed,
    )
    logger.info("%s: test %s", task, evaluation.model)
    return TrainedTask(task, horizon, seed, split, model, linear, evaluation, frame, leakage)


def _window(cutoffs: Sequence[datetime]) -> str:
    return f"{cutoffs[0]:%Y-%m-%d}..{cutoffs[-1]:%Y-%m-%d}" if cutoffs else "(none)"


def _window_metadata(split: TemporalSplit, horizon: timedelta) -> dict[str, object]:
    return {
        "horizon_days": horizon.days,
        "train_cutoffs": [c.isoformat() for c in split.train],
        "calibration_cutoffs": [c.isoformat() for c in split.calibration],
        "test_cutoffs": [c.isoformat() for c in split.test],
    }


def _thresholds(evaluation: Evaluation, capacity: int) -> dict[str, float]:
    """Probability cut points seen on the test set: the reps' capacity and the top decile."""
    proba = np.sort(evaluation.scores.model)[::-1]
    k = min(capacity, len(proba))
    return {
        "capacity": float(capacity),
        "proba_at_capacity": float(proba[k - 1]) if k else float("nan"),
        "proba_top_decile": float(np.quantile(proba, 0.9)) if len(proba) else float("nan"),
    }


def feature_list(model: ScoringModel) -> list[dict[str, str]]:
    """The model's features as plain dicts (logged with the run)."""
    return [
        {"name": s.name, "dtype": s.dtype, "unit": s.unit, "description": s.description}
        for s in model.feature_specs
    ]
