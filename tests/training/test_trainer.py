"""train_task: temporal split, positives check, evaluation pack, determinism."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from features.model import ModelDataError
from features.tasks import Task
from tests.features.vocabkit import sim_vocabulary
from tests.training.conftest import HORIZON
from tests.training.factories import SPECS
from training.baselines import baseline_scores
from training.card import render_model_card
from training.config import TrainingConfig
from training.trainer import LeakageResult, TrainedTask, train_task


def test_split_is_temporal_with_embargo(trained: TrainedTask) -> None:
    split = trained.split
    assert split.test == (datetime(2025, 9, 1),)
    # 2025-07-01 + 60 days = 2025-08-30 <= 2025-09-01; 2025-08-01 + 60 days is later.
    assert split.calibration == (datetime(2025, 7, 1),)
    assert split.train == tuple(datetime(2025, m, 1) for m in range(1, 7))
    assert trained.counts()["test_rows"] == 600
    assert trained.counts()["train_rows"] == 3600
    assert trained.model.metadata["test_cutoffs"] == ["2025-09-01T00:00:00"]


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
    assert trained.model.metadata["thresholds"]["capacity"] == 200.0


def test_same_data_and_seed_give_the_same_metrics(
    trained: TrainedTask, frame: pd.DataFrame, config: TrainingConfig
) -> None:
    again = train_task(
        frame,
        SPECS,
        task=Task.CHURN,
        vocabulary=sim_vocabulary(Task.CHURN),
        horizon=HORIZON,
        config=config,
        seed=4,
        leakage=LeakageResult(()),
    )
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
        train_task(
            rare,
            SPECS,
            task=Task.CHURN,
            vocabulary=sim_vocabulary(Task.CHURN),
            horizon=HORIZON,
            config=config,
            seed=4,
            leakage=LeakageResult(()),
        )


def test_missing_column_is_named(frame: pd.DataFrame, config: TrainingConfig) -> None:
    with pytest.raises(ModelDataError, match=r"lacks column\(s\): segment"):
        train_task(
            frame.drop(columns=["segment"]),
            SPECS,
            task=Task.CHURN,
            vocabulary=sim_vocabulary(Task.CHURN),
            horizon=HORIZON,
            config=config,
            seed=4,
            leakage=LeakageResult(()),
        )


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
