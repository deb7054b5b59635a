"""The evaluation plots: hand-checked figures behind them, dated backtests, the lists' value order,
capped segments, and every PNG written for a tested run (none for an untested one)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from features.contract.tasks import Task
from features.definitions.wording import Wording
from features.model.scoring_model import ModelFeature
from training.config import TrainingConfig
from training.plots import write_plots
from training.plots_reading import (
    MAX_LEVELS,
    MAX_SEGMENT_COLUMNS,
    backtest_by_date,
    beeswarm,
    decile_lift,
    score_histogram,
    segment_columns,
    segment_table,
    value_captured,
    value_gains,
)
from training.trainer import TrainedTask

matplotlib.use("Agg")
import matplotlib.pyplot as plt

READING_PLOTS = {
    "lift_by_decile.png",
    "shap_beeswarm.png",
    "backtest_by_date.png",
    "value_gains.png",
    "score_histogram.png",
    "calibration_by_segment.png",
}


def test_decile_lift_by_hand() -> None:
    labels = np.array([1, 1, 1, 0] + [0] * 16)
    scores = np.linspace(1.0, 0.0, 20)  # already highest first: deciles are pairs of rows
    lift = decile_lift(labels, scores)
    base = 3 / 20
    assert lift.tolist() == pytest.approx([1.0 / base, 0.5 / base] + [0.0] * 8)
    assert np.isnan(decile_lift(np.zeros(20, dtype=int), scores)).all()


def test_value_captured_by_hand_unknown_value_counts_zero() -> None:
    labels = np.array([1, 0, 1, 1])
    values = np.array([100.0, 500.0, 300.0, np.nan])
    captured = value_captured(labels, values, np.array([2, 1, 0, 3]))
    assert captured.tolist() == pytest.approx([0.75, 0.75, 1.0, 1.0])


def test_value_gains_draws_the_lists_order_first(trained: TrainedTask) -> None:
    assert trained.evaluation is not None
    fig, ax = plt.subplots()
    value_gains(ax, trained.evaluation, Task.CHURN)
    labels = [line.get_label() for line in ax.get_lines()]
    plt.close(fig)
    assert labels[:3] == [
        "lists: value at risk (probability x value)",
        "probability alone",
        "value alone",
    ]


def test_backtest_axis_is_dated(trained: TrainedTask) -> None:
    evaluation = trained.evaluation
    assert evaluation is not None and evaluation.backtest
    fig, ax = plt.subplots()
    backtest_by_date(ax, evaluation)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    assert ticks == [f"{row['cutoff']:%Y-%m-%d}" for row in evaluation.backtest]


def test_score_histogram_counts_every_test_row(trained: TrainedTask) -> None:
    evaluation = trained.evaluation
    assert evaluation is not None
    fig, ax = plt.subplots()
    score_histogram(ax, evaluation)
    # stacked bars: the top layer's tops add up to all rows
    containers = ax.containers
    total = sum(bar.get_y() + bar.get_height() for bar in containers[-1])
    plt.close(fig)
    assert total == len(evaluation.scores.labels)


def test_beeswarm_orders_features_by_strength_and_colours_by_value() -> None:
    specs = [
        ModelFeature("weak", "numeric", Wording("w"), "f", "count"),
        ModelFeature("strong", "numeric", Wording("s"), "f", "count"),
        ModelFeature("plan", "categorical", Wording("p"), "attribute", "category"),
    ]
    frame = pd.DataFrame(
        {"weak": [1.0, 2.0, 3.0, np.nan], "strong": [10.0, 30.0, 20.0, 40.0], "plan": list("abab")}
    )
    contributions = np.array(
        [[0.1, -1.0, 0.2], [0.0, 1.0, -0.2], [-0.1, 0.5, 0.2], [0.05, 2.0, -0.2]]
    )
    fig = beeswarm(frame, specs, contributions)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["weak", "plan", "strong"]
    coloured = [c for c in ax.collections if c.get_array() is not None]
    strong = coloured[-1].get_array().tolist()
    plt.close(fig)
    assert strong == pytest.approx([0.25, 0.75, 0.5, 1.0])  # value ranks, low to high


def test_segments_owner_first_categoricals_capped() -> None:
    specs = [
        ModelFeature(f"attr{i}", "categorical", Wording("a"), "attribute", "category")
        for i in range(5)
    ]
    specs.insert(1, ModelFeature("orders", "numeric", Wording("o"), "frequency", "count"))
    frame = pd.DataFrame(
        {"owner_id": ["u"], "orders": [1.0], **{f"attr{i}": ["x"] for i in range(5)}}
    )
    columns = segment_columns(frame, specs)
    assert len(columns) == MAX_SEGMENT_COLUMNS
    assert columns == ["owner_id", "attr0", "attr1", "attr2"]


def test_segment_table_pools_rare_levels_and_names_missing() -> None:
    levels = [f"L{i}" for i in range(MAX_LEVELS) for _ in range(10 - i)] + ["rare", None, None]
    labels = np.array([1] * len(levels))
    probability = np.full(len(levels), 0.4)
    table = segment_table(pd.Series(levels, dtype="object"), labels, probability)
    assert "rare" not in table.index and "(missing)" not in table.index
    assert table.loc["other", "rows"] == 3  # "rare" and two missing
    assert len(table) == MAX_LEVELS + 1
    assert table["observed"].to_numpy() == pytest.approx(1.0)
    assert table["predicted"].to_numpy() == pytest.approx(0.4)


def test_every_plot_written_for_a_tested_run(
    trained: TrainedTask, config: TrainingConfig, tmp_path: Path
) -> None:
    paths = write_plots(trained, tmp_path, bins=config.evaluation.ece_bins)
    names = {p.name for p in paths}
    assert names >= READING_PLOTS and "roc.png" in names
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_no_plots_without_a_temporal_test(untested: TrainedTask, tmp_path: Path) -> None:
    assert write_plots(untested, tmp_path, bins=10) == []


def test_a_feature_name_the_font_lacks_draws_without_a_library_warning(
    trained: TrainedTask, config: TrainingConfig, tmp_path: Path
) -> None:
    evaluation = dataclasses.replace(
        trained.evaluation, importance={"launch 🚀 stage": 1.0, **trained.evaluation.importance}
    )
    emoji_run = dataclasses.replace(trained, evaluation=evaluation)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_plots(emoji_run, tmp_path, bins=config.evaluation.ece_bins)
    assert (tmp_path / "feature_importance.png") in paths
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
