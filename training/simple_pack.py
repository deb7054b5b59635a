"""The logistic-regression model's own evaluation pack: what a served simple version needs.

With ``[promotion] serve_simple_model = true`` a run's logistic-regression model may be registered
and made champion in place of the trees (``training.promotion``, ``training.simple_model``). So
training then evaluates it as the trees are evaluated and logs, under ``simple_model_pack/`` of the
training run, what a version needs of its own: the model card, the manager card's facts, the
evaluation plots (the same figures, on the same temporal test set) and the monitoring reference
(the profile of ITS score distribution, which ``salesradar monitor`` measures score drift
against). ``register_simple_model`` copies them to the new version's run at a training run's
paths. Without the setting nothing is logged here, and such a run's simple model is not served
(its version would lack a card, plots and a reference of its own).

``simple_view`` is the trained task seen from the logistic regression: ``model`` and ``evaluated``
are it (fitted on the trees' train cutoffs, calibrated on their calibration cutoffs, shipped as
tested: nothing is refit, so its fitted cutoffs are ``split.fit``); its test figures and scores are
the evaluation's logistic ones, with the trees beside it (``Evaluation.beside``); its
contributions are its exact linear ones (``features.model.linear_plan``); its rolling-origin
backtest fits a logistic regression per origin on cutoffs before that origin only, as the trees'
backtest refits the trees (``training.evaluation.run_backtest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from features.model.scoring_model import ScoringModel
from training.btyd import with_btyd_features
from training.card import render_model_card
from training.config import TrainingConfig
from training.evaluation import Evaluation, OriginScores, TestScores, rows_at, score_origin
from training.linear import fit_linear_model
from training.manager_card import MANAGER_FACTS, card_facts
from training.monitoring.reference import REFERENCE_ARTIFACT, training_reference
from training.monitoring.store import json_safe
from training.plots import write_plots
from training.splits import backtest_origins, split_cutoffs
from training.trainer import TrainedTask
from training.tree_fit import ModelDataError

SIMPLE_PACK_PATH = "simple_model_pack"
PACK_MODEL_CARD = f"{SIMPLE_PACK_PATH}/model_card.md"
PACK_FACTS = f"{SIMPLE_PACK_PATH}/{MANAGER_FACTS}"
PACK_PLOTS = f"{SIMPLE_PACK_PATH}/plots"
PACK_REFERENCE = f"{SIMPLE_PACK_PATH}/{REFERENCE_ARTIFACT}"
SIMPLE_PACK_TAG = "simple_model_pack"  # run tag, "logged" once every file above is
PACK_LOGGED = "logged"
# The manager card's version until promotion registers the model (and writes its number in).
UNREGISTERED = "not registered"
TREES = "trees"  # the scorer beside the logistic regression in its tables and plots


def simple_view(trained: TrainedTask, config: TrainingConfig) -> TrainedTask | None:
    """``trained`` seen from its logistic-regression model (see the module docstring), or None
    when there is no such model or no temporal test to judge it on.

    Figures: test metrics as ``trained.evaluation.linear`` (the same test rows and capacity);
    importance is the mean |contribution| (log-odds) per feature on the test rows. Deterministic
    for the run's seed.
    """
    evaluation, linear = trained.evaluation, trained.linear
    if evaluation is None or linear is None:
        return None
    scores = evaluation.scores
    contributions = linear.score(trained.test_frame).contributions[:, :-1]
    importance = dict(
        zip(linear.feature_names, np.abs(contributions).mean(axis=0).tolist(), strict=True)
    )
    backtest, origins, notes = linear_backtest(trained, linear, config)
    view = Evaluation(
        model=dict(evaluation.linear),
        linear=dict(evaluation.model),
        baselines=evaluation.baselines,
        backtest=backtest,
        importance=dict(sorted(importance.items(), key=lambda kv: -kv[1])),
        scores=TestScores(
            labels=scores.labels,
            values=scores.values,
            model=scores.linear,
            linear=scores.model,
            baselines=scores.baselines,
            contributions=contributions,
        ),
        notes=notes,
        origin_scores=origins,
        beside=TREES,
    )
    return replace(
        trained,
        model=linear,
        evaluated=linear,
        linear=None,  # the trees stand beside it through ``view.linear`` / ``scores.linear``
        evaluation=view,
        shipped_cutoffs=trained.split.fit,
        calibration_blocks=(),
    )


def linear_backtest(
    trained: TrainedTask, linear: ScoringModel, config: TrainingConfig
) -> tuple[list[dict[str, object]], list[OriginScores], list[str]]:
    """(rows, origin scores, notes) of the logistic regression's rolling-origin backtest over
    the same origins as the trees': per origin, a logistic regression fitted and calibrated on
    cutoffs before it only (BG/NBD parameters refitted on its train cutoffs), scored on its rows;
    the newest origin reuses ``linear`` when that origin is its test cutoff. Rows carry the same
    keys as the trees' (``cutoff``, ``rows``, ``positives``, the probability metrics and each
    naive baseline's ROC AUC). An origin without enough earlier data is skipped with a note.
    """
    task, frame = trained.task, trained.frame
    cutoffs = sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime())
    rows_out: list[dict[str, object]] = []
    origins: list[OriginScores] = []
    notes: list[str] = []
    for origin in backtest_origins(cutoffs, origins=config.split.backtest_origins):
        try:
            fitted = (
                linear
                if [origin.isoformat()] == linear.metadata.get("test_cutoffs", [])
                else _fit_for_origin(trained, linear, cutoffs, origin, config)
            )
        except ModelDataError as exc:
            notes.append(f"backtest origin {origin:%Y-%m-%d} skipped: {exc}")
            continue
        rows = rows_at(frame, [origin])
        row, scores = score_origin(rows, fitted, origin, task=task, config=config)
        origins.append(scores)
        rows_out.append(row)
    return rows_out, origins, notes


def _fit_for_origin(
    trained: TrainedTask,
    linear: ScoringModel,
    cutoffs: Sequence[datetime],
    origin: datetime,
    config: TrainingConfig,
) -> ScoringModel:
    """A logistic regression fitted and calibrated for ``origin`` as ``training.evaluation``
    fits the trees for it; ``ModelDataError`` when the cutoffs before it cannot."""
    split = split_cutoffs(
        [c for c in cutoffs if c <= origin],
        test=1,
        calibration=config.split.calibration_cutoffs,
        horizon=trained.horizon,
        embargo=config.split.embargo,
    )
    fit_rows, specs, btyd = with_btyd_features(
        rows_at(trained.frame, split.fit),
        linear.feature_specs,
        linear.vocabulary,
        fit_cutoffs=split.train,
        horizon=trained.horizon,
        seed=trained.seed,
    )
    # ``fit_linear_model`` takes the task, features, vocabulary and BG/NBD parameters from a
    # template: the served model's, with this origin's own BG/NBD fit.
    template = replace(linear, feature_specs=tuple(specs), btyd=btyd)  # type: ignore[arg-type]
    return fit_linear_model(
        rows_at(fit_rows, split.train),
        rows_at(fit_rows, split.calibration),
        template,
        config=config.linear,
        calibration_method=config.trees.calibration,
        seed=trained.seed,
        metadata={},
    )


def log_simple_pack(
    trained: TrainedTask,
    config: TrainingConfig,
    *,
    as_of: datetime,
    model_name: str,
    staging: Path,
) -> bool:
    """Log the pack to the active MLflow run when ``[promotion] serve_simple_model`` is on and
    the run has a logistic-regression model with a temporal test; return whether it did.

    ``as_of`` is the run's training as-of (the manager card's "trained as of"); ``staging`` a
    scratch folder for the plots. The run is tagged ``SIMPLE_PACK_TAG`` = ``PACK_LOGGED`` last,
    so a tag means every file is there.
    """
    if not config.promotion.serve_simple_model:
        return False
    view = simple_view(trained, config)
    if view is None:
        return False
    capacity = config.evaluation.capacity[trained.task]
    mlflow.log_text(render_model_card(view, capacity=capacity), PACK_MODEL_CARD)
    facts = card_facts(
        view, capacity=capacity, as_of=as_of, model_name=model_name, version=UNREGISTERED
    )
    mlflow.log_dict(json_safe(facts), PACK_FACTS)
    for path in write_plots(view, staging / "simple_plots", bins=config.evaluation.ece_bins):
        mlflow.log_artifact(str(path), PACK_PLOTS)
    # Profiled on the trees' reference rows (the most recent labelled cutoff they shipped on):
    # the features' profiles match the trees', the score's is the logistic regression's.
    reference = training_reference(trained, bins=config.monitoring.reference_bins, model=view.model)
    mlflow.log_dict(reference, PACK_REFERENCE)
    mlflow.set_tag(SIMPLE_PACK_TAG, PACK_LOGGED)
    return True
