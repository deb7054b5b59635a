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

from features.contract.tasks import Task
from features.definitions.btyd import BtydFeatures
from features.definitions.vocabulary import Vocabulary
from features.model.scoring_model import FeatureSpecLike, ScoringModel
from training.btyd import boost_candidates, boost_feature, choose_boost, with_btyd_features
from training.config import TrainingConfig
from training.evaluation import Evaluation, evaluate, rows_at
from training.linear import fit_linear_model
from training.refit import fit_cross_calibrated
from training.splits import TemporalSplit, choose_split
from training.tree_fit import ModelDataError, fit_scoring_model

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
    """What a run produced. ``model`` ships; ``evaluated`` is the model the test figures belong
    to (the same object when nothing was refit; None without a temporal test)."""

    task: Task
    horizon: timedelta
    seed: int
    split: TemporalSplit  # the evaluated model's cutoffs
    model: ScoringModel
    linear: ScoringModel | None  # the logistic-regression model, calibrated like the trees
    evaluation: Evaluation | None
    frame: pd.DataFrame  # every labelled cutoff, as built by features
    leakage: LeakageResult
    evaluated: ScoringModel | None = None
    shipped_cutoffs: tuple[datetime, ...] = ()  # what the shipped trees and calibrator saw
    calibration_blocks: tuple[tuple[datetime, ...], ...] = ()  # empty: held-out calibration

    @property
    def refit(self) -> bool:
        return self.evaluated is not self.model

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
    no_test: bool = False,
) -> TrainedTask:
    """Evaluate on later time, then fit the model that ships.

    With a temporal test (``choose_split``): the most recent ``config.split.test_cutoffs``
    labelled cutoffs are the test set and nothing from them reaches the evaluated model's fit or
    calibration; the logistic baseline is fit on the train cutoffs. Then, when
    ``config.split.refit_on_all``, the shipped model is refit on every labelled cutoff with a
    cross-fitted calibration (``training.refit``); otherwise the evaluated model ships. Without
    a temporal test (too little history, or ``no_test``) the refit model ships unevaluated.
    ``vocabulary`` is the one ``frame``'s features were built over; both models carry it.
    Raises ``ModelDataError`` (with found and needed) on too few cutoffs or positives.
    Deterministic for a seed.
    """
    check_training_frame(frame, specs)
    split = plan_split(frame, config=config, horizon=horizon, no_test=no_test)
    check_train_positives(frame, split, task=task, min_positives=config.split.min_positives)
    # The derived BG/NBD features' parameters are fitted once, on the train cutoffs only (they
    # read histories, no labels), and both the evaluated and the shipped model carry them.
    frame, specs, btyd = with_btyd_features(
        frame, specs, vocabulary, fit_cutoffs=split.train, horizon=horizon, seed=seed
    )
    evaluated, linear, evaluation = None, None, None
    if split.has_test:
        evaluated, linear, evaluation = _evaluate_split(
            frame,
            specs,
            split,
            task=task,
            vocabulary=vocabulary,
            btyd=btyd,
            horizon=horizon,
            config=config,
            seed=seed,
        )
    parts = {
        "task": task,
        "horizon": horizon,
        "seed": seed,
        "split": split,
        "linear": linear,
        "evaluation": evaluation,
        "frame": frame,
        "leakage": leakage,
        "evaluated": evaluated,
    }
    if evaluated is not None and not config.split.refit_on_all:
        return TrainedTask(**parts, model=evaluated, shipped_cutoffs=split.fit)
    shipped_cutoffs = tuple(sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime()))
    shipped, blocks = fit_cross_calibrated(
        frame,
        specs,
        task=task,
        vocabulary=vocabulary,
        btyd=btyd,
        seed=seed,
        folds=config.split.calibration_folds,
        calibration_method=config.trees.calibration,
        params=config.trees.params,
        min_level_count=config.trees.min_level_count,
        # The start the evaluation chose (or the configured one when nothing was evaluated).
        boost_from=evaluated.boost_from
        if evaluated is not None
        else boost_feature(btyd, mode=config.trees.boost_from_btyd),
    )
    shipped.metadata.update(
        _shipped_metadata(evaluated, shipped_cutoffs, blocks, horizon=horizon, seed=seed)
    )
    return TrainedTask(
        **parts, model=shipped, shipped_cutoffs=shipped_cutoffs, calibration_blocks=tuple(blocks)
    )


def plan_split(
    frame: pd.DataFrame, *, config: TrainingConfig, horizon: timedelta, no_test: bool
) -> TemporalSplit:
    """The split of the labelled cutoffs in ``frame`` (see ``training.splits.choose_split``)."""
    return choose_split(
        pd.to_datetime(frame["cutoff"].unique()).to_pydatetime(),
        test=config.split.test_cutoffs,
        calibration=config.split.calibration_cutoffs,
        horizon=horizon,
        embargo=config.split.embargo,
        no_test=no_test,
    )


def check_train_positives(
    frame: pd.DataFrame, split: TemporalSplit, *, task: Task, min_positives: int
) -> None:
    """``ModelDataError`` saying found and needed when the train cutoffs hold too few positives."""
    positives = int(rows_at(frame, split.train)["label"].sum())
    if positives < min_positives:
        raise ModelDataError(
            f"{task}: found {positives} positive label(s) in the {len(split.train)} training "
            f"cutoff(s) {_window(split.train)}; need at least {min_positives}"
        )


def _evaluate_split(
    frame: pd.DataFrame,
    specs: Sequence[FeatureSpecLike],
    split: TemporalSplit,
    *,
    task: Task,
    vocabulary: Vocabulary,
    btyd: BtydFeatures | None,
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
) -> tuple[ScoringModel, ScoringModel, Evaluation]:
    """Fit on train, calibrate on the calibration cutoffs, evaluate on the test cutoffs.

    With ``[trees].boost_from_btyd = "auto"`` and BTYD features, trees from a constant and from
    the BG/NBD prior are both fitted and the one ranking the calibration cutoffs better is
    evaluated (``training.btyd.choose_boost``; the AUCs go in its metadata).
    """
    candidates = [
        fit_scoring_model(
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
            boost_from=boost_from,
        )
        for boost_from in boost_candidates(btyd, mode=config.trees.boost_from_btyd)
    ]
    model = candidates[0]
    if len(candidates) > 1:
        model, aucs = choose_boost(candidates, rows_at(frame, split.calibration))
        model.metadata["boost_from_calibration_roc_auc"] = aucs
        logger.info("%s: trees from %s (calibration ROC AUC %s)", task, model.boost_from, aucs)
    # The simple model is fitted and calibrated on the trees' own cutoffs, so promotion can
    # serve it in their place (training.promotion) with the same time semantics.
    linear = fit_linear_model(
        rows_at(frame, split.train),
        rows_at(frame, split.calibration),
        model,
        config=config.linear,
        calibration_method=config.trees.calibration,
        seed=seed,
        metadata=_window_metadata(split, horizon),
    )
    evaluation = evaluate(
        task=task,
        model=model,
        linear=linear.estimator,
        frame=frame,
        test_cutoffs=split.test,
        horizon=horizon,
        config=config,
        seed=seed,
    )
    capacity = config.evaluation.capacity[task]
    model.metadata.update(
        metrics=evaluation.model,
        thresholds=_thresholds(evaluation.scores.model, capacity),
        seed=seed,
    )
    linear.metadata.update(
        metrics=evaluation.linear,
        thresholds=_thresholds(evaluation.scores.linear, capacity),
        seed=seed,
    )
    logger.info("%s: test %s", task, evaluation.model)
    return model, linear, evaluation


def _shipped_metadata(
    evaluated: ScoringModel | None,
    cutoffs: Sequence[datetime],
    blocks: Sequence[Sequence[datetime]],
    *,
    horizon: timedelta,
    seed: int,
) -> dict[str, object]:
    """What the shipped model saw, and what was evaluated (``evaluated`` None: nothing)."""
    return {
        "horizon_days": horizon.days,
        "seed": seed,
        "fit_cutoffs": [c.isoformat() for c in cutoffs],
        "calibration_blocks": [[c.isoformat() for c in block] for block in blocks],
        "temporal_test": evaluated is not None,
        "evaluated": dict(evaluated.metadata) if evaluated is not None else None,
    }


def _window(cutoffs: Sequence[datetime]) -> str:
    return f"{cutoffs[0]:%Y-%m-%d}..{cutoffs[-1]:%Y-%m-%d}" if cutoffs else "(none)"


def _window_metadata(split: TemporalSplit, horizon: timedelta) -> dict[str, object]:
    return {
        "horizon_days": horizon.days,
        "train_cutoffs": [c.isoformat() for c in split.train],
        "calibration_cutoffs": [c.isoformat() for c in split.calibration],
        "test_cutoffs": [c.isoformat() for c in split.test],
    }


def _thresholds(test_proba: np.ndarray, capacity: int) -> dict[str, float]:
    """Probability cut points seen on the test set (one scorer's probabilities, shape (n,)):
    the reps' capacity and the top decile."""
    proba = np.sort(test_proba)[::-1]
    k = min(capacity, len(proba))
    return {
        "capacity": float(capacity),
        "proba_at_capacity": float(proba[k - 1]) if k else float("nan"),
        "proba_top_decile": float(np.quantile(proba, 0.9)) if len(proba) else float("nan"),
    }


def feature_list(model: ScoringModel) -> list[dict[str, object]]:
    """The model's features as plain dicts (logged with the run); ``description`` in the saved
    form of ``features.definitions.wording.Wording.to_dict`` ({"label", "cases"})."""
    return [
        {"name": s.name, "dtype": s.dtype, "unit": s.unit, "description": s.description.to_dict()}
        for s in model.feature_specs
    ]
