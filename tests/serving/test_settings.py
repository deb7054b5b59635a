"""Serving reads the same MLflow variable as training, and its own prefixed one wins."""

from __future__ import annotations

import pytest

from features.contract.tasks import Task
from features.model.tiers import DEFAULT_TIER_CUTOFFS
from serving.settings import Settings


def test_default_is_the_embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SALESRADAR_MLFLOW_TRACKING_URI", raising=False)
    assert Settings().mlflow_tracking_uri == "sqlite:///models/mlflow.db"


def test_mlflow_tracking_uri_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESRADAR_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert Settings().mlflow_tracking_uri == "http://127.0.0.1:5000"


def test_prefixed_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert Settings().mlflow_tracking_uri == "sqlite:///elsewhere.db"
    assert Settings(mlflow_tracking_uri="sqlite:///x.db").mlflow_tracking_uri == "sqlite:///x.db"


def test_each_task_is_tiered_by_its_own_cut_offs_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESRADAR_CHURN_TIERS__HIGH", "0.7")
    monkeypatch.setenv("SALESRADAR_CHURN_TIERS__MEDIUM", "0.4")
    settings = Settings()
    assert (
        settings.tier_thresholds(Task.CHURN).high,
        settings.tier_thresholds(Task.CHURN).medium,
    ) == (0.7, 0.4)
    leads = settings.tier_thresholds(Task.LEADS)
    assert (leads.high, leads.medium) == DEFAULT_TIER_CUTOFFS[Task.LEADS]
