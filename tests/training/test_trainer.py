"""train_task: temporal split, positives check, evaluation pack, determinism."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import _SigmoidCalibration

from tests.training.conftest import train_churn
from tests.training.factories import SPECS
from training.baselines import baseline_scores
from training.card import render_model_card
from training.config import TrainingConfig
from training.trainer import TrainedTask
from training.tree_fit import ModelDataError, build_tree_pipeline


def test_split_is_temporal_with_embargo(trained: TrainedTask) -> None:
    split = trained.split
    assert split.test == (datetime(2025, 9, 1),)
    # 2025-07-01 + 60 days = 2025-08-30 <= 2025-09-01; 2025-08-01 + 60 days is later.
    assert split.calibration == (datetime(2025, 7, 1),)
    assert split.train == tuple(datetime(2025, m, 1) for m in range(1, 7))
    assert trained.counts()["test_rows"] == 600
    assert trained.counts()["train_rows"] == 3600
    assert trained.evaluated.metadata["test_cutoffs"] == ["2025-09-01T00:00:00"]
    assert trained.model.metadata["evaluated"]["test_cutoffs"] == ["2025-09-01T00:00:00"]


def test_evaluation_pack_is_complete(trained: TrainedTask) -> None:
    evaluation = trained.evaluation
    assert set(evaluation.model) == {
        "roc_auc",
        "pr_auc",
        "top_decile_lift",
        "precision_at_k",
        "recall_at_k",
        "revenue_share_at_k",
        "brier",
        "log_loss",
        "ece",
    }
    assert set(evaluation.baselines) == {"days_since_last_purchase", "orders_90d"}
    assert [row["cutoff"] for row in evaluation.backtest] == [
        datetime(2025, 7, 1),
        datetime(2025, 8, 1),
        datetime(2025, 9, 1),
    ]
    # The newest origin is the main test set, scored by the main model.
    assert evaluation.backtest[-1]["roc_auc"] == evaluation.model["roc_auc"]
    assert evaluation.beats_baselines("roc_auc") == {
        "days_since_last_purchase": True,
        "orders_90d": True,
    }
    assert list(evaluation.importance) == sorted(
        evaluation.importance, key=lambda n: -evaluation.importance[n]
    )
    assert trained.evaluated.metadata["thresholds"]["capacity"] == 200.0


def test_same_data_and_seed_give_the_same_metrics(
    trained: TrainedTask, frame: pd.DataFrame, config: TrainingConfig
) -> None:
    again = train_churn(frame, config)
    assert again.evaluation.model == trained.evaluation.model
    assert again.evaluation.backtest == trained.evaluation.backtest


def test_too_few_positives_is_a_clear_error(frame: pd.DataFrame, config: TrainingConfig) -> None:
    rare = frame.copy()
    keep = rare.index[rare["label"] == 1][:30]
    rare["label"] = 0
    rare.loc[keep, "label"] = 1
    train_positives = int(rare.loc[keep, "cutoff"].le(pd.Timestamp("2025-06-01")).sum())
    with pytest.raises(
        ModelDataError,
        match=rf"churn: found {train_positives} positive label\(s\) in the 6 training cutoff\(s\) "
        r"2025-01-01\.\.2025-06-01; need at least 50",
    ):
        train_churn(rare, config)


def test_missing_column_is_named(frame: pd.DataFrame, config: TrainingConfig) -> None:
    with pytest.raises(ModelDataError, match=r"lacks column\(s\): segment"):
        train_churn(frame.drop(columns=["segment"]), config)


def test_baseline_direction_and_missing_values_rank_last() -> None:
    frame = pd.DataFrame({"days": [5.0, np.nan, 1.0]})
    higher = baseline_scores(frame, {"days": "higher"})["days"]
    lower = baseline_scores(frame, {"days": "lower"})["days"]
    assert list(np.argsort(-higher, kind="stable")) == [0, 2, 1]
    assert list(np.argsort(-lower, kind="stable")) == [2, 0, 1]


def test_model_card_names_window_counts_and_baselines(trained: TrainedTask) -> None:
    card = render_model_card(trained, capacity=200, version="3")
    assert card.startswith("# Model card: churn (version 3)\n")
    assert "- Temporal test cutoffs: 2025-09-01 to 2025-09-01 (1) (600 rows," in card
    assert "| naive: days_since_last_purchase |" in card
    assert "| 2025-08-01 | 600 |" in card
    assert "Leakage audit passed." in card


def test_the_shipped_model_is_refit_on_every_cutoff_with_out_of_fold_calibration(
    trained: TrainedTask, frame: pd.DataFrame, config: TrainingConfig
) -> None:
    months = tuple(datetime(2025, m, 1) for m in range(1, 10))
    assert trained.refit
    assert trained.shipped_cutoffs == months
    assert trained.calibration_blocks == (
        months[0:2],
        months[2:4],
        months[4:6],
        months[6:8],
        (months[8],),
    )
    meta = trained.model.metadata
    assert meta["fit_cutoffs"] == [m.isoformat() for m in months]
    assert meta["temporal_test"] is True
    assert meta["evaluated"]["metrics"] == trained.evaluation.model
    # By hand: each block scored (log-odds, what the sigmoid reads) by trees fitted on the other
    # blocks, a sigmoid fitted on those scores, trees fitted on everything.
    names = [s.name for s in SPECS]
    params = {
        "seed": 4,
        "params": config.trees.params,
        "min_level_count": config.trees.min_level_count,
    }
    out_of_fold = np.empty(len(frame))
    for block in trained.calibration_blocks:
        held = frame["cutoff"].isin(pd.to_datetime(list(block))).to_numpy()
        fold = build_tree_pipeline(SPECS, **params).fit(
            frame.loc[~held, names], frame.loc[~held, "label"]
        )
        out_of_fold[held] = fold.decision_function(frame.loc[held, names])
    sigmoid = _SigmoidCalibration().fit(out_of_fold, frame["label"].to_numpy())
    shipped = trained.model.estimator.calibrated_classifiers_[0].calibrators[0]
    np.testing.assert_allclose([shipped.a_, shipped.b_], [sigmoid.a_, sigmoid.b_], rtol=1e-9)
    everything = build_tree_pipeline(SPECS, **params).fit(frame[names], frame["label"])
    np.testing.assert_allclose(
        trained.model.pipeline.predict_proba(frame[names]), everything.predict_proba(frame[names])
    )


def test_without_refit_the_evaluated_model_ships(
    frame: pd.DataFrame, config: TrainingConfig
) -> None:
    no_refit = dataclasses.replace(
        config, split=dataclasses.replace(config.split, refit_on_all=False)
    )
    trained = train_churn(frame, no_refit)
    assert trained.model is trained.evaluated
    assert not trained.refit
    assert trained.shipped_cutoffs == trained.split.fit


def test_no_test_trains_on_every_cutoff_and_evaluates_nothing(
    trained: TrainedTask, untested: TrainedTask, frame: pd.DataFrame
) -> None:
    assert untested.split.test == ()
    assert untested.split.why_no_test == "--no-test was given"
    assert untested.evaluation is None and untested.evaluated is None
    assert untested.model.metadata["temporal_test"] is False
    # Same cutoffs, data and seed as the refit of the tested run: the same shipped model.
    np.testing.assert_array_equal(
        untested.model.predict_proba(frame), trained.model.predict_proba(frame)
    )
    card = render_model_card(untested, capacity=200)
    assert "- No temporal test: --no-test was given." in card
    assert "## Test metrics" not in card
