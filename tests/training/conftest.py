"""Shared fixtures: a fast config for the factory frames, a trained task, an MLflow store."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pandas as pd
import pytest

from features.contract.tasks import Task
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS, make_training_frame
from training.config import TrainingConfig, load_config
from training.trainer import LeakageResult, TrainedTask, train_task

HORIZON = timedelta(days=60)


@pytest.fixture(scope="session")
def config() -> TrainingConfig:
    """The shipped config with fewer trees and the factory's baseline features."""
    shipped = load_config()
    return dataclasses.replace(
        shipped,
        trees=dataclasses.replace(
            shipped.trees, params={**shipped.trees.params, "n_estimators": 60}
        ),
        baselines={
            Task.CHURN: {"days_since_last_purchase": "higher", "orders_90d": "lower"},
            Task.LEADS: {"days_since_last_purchase": "higher", "orders_90d": "lower"},
        },
    )


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_training_frame(seed=11, entities=600, months=9)


def train_churn(
    frame: pd.DataFrame, config: TrainingConfig, *, seed: int = 4, no_test: bool = False
) -> TrainedTask:
    """``train_task`` on a factory frame: churn, the factory specs, 60-day horizon, no leakage."""
    return train_task(
        frame,
        SPECS,
        task=Task.CHURN,
        vocabulary=sim_vocabulary(Task.CHURN),
        horizon=HORIZON,
        config=config,
        seed=seed,
        leakage=LeakageResult(()),
        no_test=no_test,
    )


@pytest.fixture(scope="session")
def trained(frame: pd.DataFrame, config: TrainingConfig) -> TrainedTask:
    return train_churn(frame, config)


@pytest.fixture(scope="session")
def untested(frame: pd.DataFrame, config: TrainingConfig) -> TrainedTask:
    """``trained``'s twin with ``--no-test``: every cutoff trains, nothing is evaluated. Shared
    (four test modules read it): a test must not change it."""
    return train_churn(frame, config, no_test=True)
