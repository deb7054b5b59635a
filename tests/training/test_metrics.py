"""Metrics on handwritten scores with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    capacity_metrics,
    expected_calibration_error,
    probability_metrics,
    top_decile_lift,
)


def test_expected_calibration_error_by_hand() -> None:
    labels = np.array([0, 1, 1, 0])
    proba = np.array([0.1, 0.9, 0.8, 0.3])
    # bin [0, .5): rate 0 vs mean .2 over 2 rows; bin [.5, 1]: rate 1 vs .85 over 2 rows.
    assert expected_calibration_error(labels, proba, bins=2) == pytest.approx(
        (2 * 0.2 + 2 * 0.15) / 4
    )


def test_probability_one_lands_in_the_last_bin() -> None:
    assert expected_calibration_error(np.array([1]), np.array([1.0]), bins=10) == 0.0


def test_top_decile_lift_by_hand() -> None:
    labels = np.array([1, 1] + [0] * 16 + [1, 1])
    scores = np.arange(20, 0, -1).astype(float)  # row 0 scores highest
    # Top 2 of 20 are both positive; the base rate is 4/20: lift = 1 / 0.2.
    assert top_decile_lift(labels, scores) == pytest.approx(5.0)


def test_capacity_metrics_by_hand() -> None:
    result = capacity_metrics(
        np.array([1, 0, 1, 0]),
        np.array([0.9, 0.8, 0.1, 0.2]),
        np.array([100.0, 50.0, 300.0, np.nan]),
        capacity=2,
    )
    assert result == {"precision_at_k": 0.5, "recall_at_k": 0.5, "revenue_share_at_k": 0.25}


def test_probability_metrics_perfect_ranking() -> None:
    labels = np.array([0, 0, 1, 1])
    result = probability_metrics(
        labels, np.array([0.0, 0.0, 1.0, 1.0]), np.ones(4), capacity=2, ece_bins=10
    )
    assert result["roc_auc"] == 1.0
    assert result["pr_auc"] == 1.0
    assert result["brier"] == 0.0
    assert result["ece"] == 0.0
    assert result["log_loss"] == pytest.approx(-math.log(1 - 1e-6))


def test_single_class_test_set_gives_nan_auc_not_an_error() -> None:
    result = probability_metrics(
        np.zeros(3, dtype=int), np.array([0.1, 0.2, 0.3]), np.ones(3), capacity=1, ece_bins=10
    )
    assert math.isnan(result["roc_auc"])
    assert math.isnan(result["recall_at_k"])
