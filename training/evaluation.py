"""The evaluation pack: the model, the logistic baseline and the naive baselines on later time.

Every figure is computed on test cutoffs the model never saw (neither fit nor calibration), and
the rolling-origin backtest refits the trees once per origin so each origin is judged only with
what was knowable before it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from features.contract.tasks import Task
from features.definitions.btyd import add_btyd_features
from features.model.scoring_model import ScoringModel
from training.baselines import baseline_scores
from training.btyd import with_btyd_features
from training.config import TrainingConfig
from training.metrics import probability_metrics, score_metrics
from training.splits import backtest_origins, split_cutoffs
from training.tree_fit import ModelDataError, fit_scoring_model

logger = logging.getLogger(__name__)


@dataclass
class TestScores:
    """What the plots need: labels, values and each scorer's scores on the test rows."""

    labels: np.ndarray
    values: np.ndarray
    model: np.ndarray  # calibrated probability
    linear: np.ndarray  # logistic-regression probability
    baselines: dict[str, np.ndarray]
    # The model's exact contributions (log-odds, one column per feature, no bias): the beeswarm.
    contributions: np.ndarray | None = None


@dataclass(frozen=True)
class OriginScores:
    """One backtest origin's rows: what the manager card's realised rates are computed from."""

    cutoff: datetime
    labels: np.ndarray
    values: np.ndarray
    probability: np.ndarray  # calibrated, from the model fitted for that origin


@dataclass
class Evaluation:
    model: dict[str, float]
    linear: dict[str, float]
    baselines: dict[str, dict[str, float]]
    backtest: list[dict[str, object]]  # one row per origin cutoff
    importance: dict[str, float]  # mean |contribution| on the test rows, log-odds
    scores: TestScores
    notes: list[str] = field(default_factory=list)
    origin_scores: list[OriginScores] = field(default_factory=list)  # beside ``backtest``
    # The name of the scorer in ``linear`` / ``scores.linear``: the logistic regression beside
    # the trees, or the trees beside the logistic regression (``training.simple_pack``).
    beside: str = "logistic"

    def beats_baselines(self, metric: str) -> dict[str, bool]:
        """Per naive baseline: does the model beat it on ``metric``?"""
        return {
            name: bool(self.model[metric] > metrics[metric])
            for name, metrics in self.baselines.items()
        }


def rows_at(frame: pd.DataFrame, cutoffs: Sequence[datetime]) -> pd.DataFrame:
    """The rows of ``frame`` whose cutoff is one of ``cutoffs``."""
    return frame.loc[frame["cutoff"].isin(pd.to_datetime(list(cutoffs)))]


def evaluate(
    *,
    task: Task,
    model: ScoringModel,
    linear: Pipeline,
    frame: pd.DataFrame,
    test_cutoffs: Sequence[datetime],
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
) -> Evaluation:
    """Score the test cutoffs with every scorer and run the rolling-origin backtest."""
    test = rows_at(frame, test_cutoffs)
    labels = test["label"].to_numpy(dtype="int64")
    values = test["value"].to_numpy(dtype="float64")
    capacity = config.evaluation.capacity[task]
    # One scoring pass gives both (predict_proba and contributions would each run one).
    scored = model.score(test)
    proba = scored.probability
    linear_proba = linear.predict_proba(test[model.feature_names])[:, 1]
    naive = baseline_scores(test, config.baselines[task])
    contributions = scored.contributions[:, :-1]
    importance = dict(
        zip(model.feature_names, np.abs(contributions).mean(axis=0).tolist(), strict=True)
    )
    evaluation = Evaluation(
        model=probability_metrics(
            labels, proba, values, capacity=capacity, ece_bins=config.evaluation.ece_bins
        ),
        linear=probability_metrics(
            labels, linear_proba, values, capacity=capacity, ece_bins=config.evaluation.ece_bins
        ),
        baselines={
            name: score_metrics(labels, s, values, capacity=capacity) for name, s in naive.items()
        },
        backtest=[],
        importance=dict(sorted(importance.items(), key=lambda kv: -kv[1])),
        scores=TestScores(labels, values, proba, linear_proba, naive, contributions),
    )
    run_backtest(
        evaluation, task=task, model=model, frame=frame, horizon=horizon, config=config, seed=seed
    )
    return evaluation


def run_backtest(
    evaluation: Evaluation,
    *,
    task: Task,
    model: ScoringModel,
    frame: pd.DataFrame,
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
) -> None:
    """Append one row per origin: metrics of a model fitted only on cutoffs before it.

    The newest origin reuses ``model`` when it was fitted for exactly that test cutoff. An
    origin without enough earlier data is skipped with a note, not silently dropped.
    """
    cutoffs = sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime())
    main_test = model.metadata.get("test_cutoffs", [])
    for origin in backtest_origins(cutoffs, origins=config.split.backtest_origins):
        rows = rows_at(frame, [origin])
        if [origin.isoformat()] == main_test:
            fitted = model
        else:
            try:
                fitted = _fit_for_origin(frame, cutoffs, origin, model, horizon, config, seed)
            except ModelDataError as exc:
                evaluation.notes.append(f"backtest origin {origin:%Y-%m-%d} skipped: {exc}")
                continue
        row, scores = score_origin(rows, fitted, origin, task=task, config=config)
        evaluation.origin_scores.append(scores)
        evaluation.backtest.append(row)


def score_origin(
    rows: pd.DataFrame,
    fitted: ScoringModel,
    origin: datetime,
    *,
    task: Task,
    config: TrainingConfig,
) -> tuple[dict[str, object], OriginScores]:
    """One backtest origin: its row (``cutoff``, ``rows``, ``positives``, the probability
    metrics at the task's capacity, each naive baseline's ``<name>.roc_auc``) and its scores.

    ``rows`` are the origin's labelled rows as built by features; ``fitted`` is the model
    fitted for that origin, whose own BG/NBD parameters derive the BTYD features.
    """
    rows = add_btyd_features(rows, fitted.btyd)
    labels = rows["label"].to_numpy(dtype="int64")
    values = rows["value"].to_numpy(dtype="float64")
    proba = fitted.predict_proba(rows)
    capacity = config.evaluation.capacity[task]
    row: dict[str, object] = {"cutoff": origin, "rows": len(rows), "positives": int(labels.sum())}
    row.update(
        probability_metrics(
            labels, proba, values, capacity=capacity, ece_bins=config.evaluation.ece_bins
        )
    )
    for name, s in baseline_scores(rows, config.baselines[task]).items():
        row[f"{name}.roc_auc"] = score_metrics(labels, s, values, capacity=capacity)["roc_auc"]
    return row, OriginScores(origin, labels, values, proba)


def _fit_for_origin(
    frame: pd.DataFrame,
    cutoffs: Sequence[datetime],
    origin: datetime,
    model: ScoringModel,
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
) -> ScoringModel:
    split = split_cutoffs(
        [c for c in cutoffs if c <= origin],
        test=1,
        calibration=config.split.calibration_cutoffs,
        horizon=horizon,
        embargo=config.split.embargo,
    )
    # BTYD parameters refitted on the origin's own train cutoffs: the main model's saw later ones.
    fit_rows, specs, btyd = with_btyd_features(
        rows_at(frame, split.fit),
        model.feature_specs,
        model.vocabulary,
        fit_cutoffs=split.train,
        horizon=horizon,
        seed=seed,
    )
    return fit_scoring_model(
        fit_rows,
        specs,
        btyd=btyd,
        # As the evaluated model: from the prior iff it chose to (its own fit's prior here).
        boost_from=btyd.no_purchase_name if btyd and model.boost_from else None,
        task=model.task,
        vocabulary=model.vocabulary,
        seed=seed,
        calibration_cutoffs=len(split.calibration),
        calibration_method=config.trees.calibration,
        params=config.trees.params,
        min_level_count=config.trees.min_level_count,
    )


def metric_table(evaluation: Evaluation) -> Mapping[str, Mapping[str, float]]:
    """Scorer -> metrics, the model first, then the scorer beside it (``beside``) and the
    naive baselines: what the card and the CLI print."""
    return {
        "model": evaluation.model,
        evaluation.beside: evaluation.linear,
        **{f"naive: {name}": m for name, m in evaluation.baselines.items()},
    }
