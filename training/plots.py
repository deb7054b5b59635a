"""Evaluation plots logged with every run: ROC, precision-recall, reliability, gains, importance,
and what a data scientist reads next (``training.plots_reading``): lift by decile, a SHAP
beeswarm, the backtest by date, value-weighted gains, the score histogram, calibration by segment.

Matplotlib's non-interactive backend is chosen inside ``write_plots`` (never at import) so
importing training changes no global state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from training.evaluation import Evaluation
from training.plots_reading import missing_glyphs_quiet, write_reading_plots
from training.trainer import TrainedTask


def write_plots(trained: TrainedTask, directory: Path, *, bins: int) -> list[Path]:
    """Write every evaluation PNG of a tested run into ``directory``; return their paths.

    ``bins``: the reliability curve's equal-width bins. A run without a temporal test has no
    evaluation and gets no plots (an empty list). A feature name the font cannot draw shows as
    boxes, without matplotlib's missing-glyph warning (``missing_glyphs_quiet``).
    """
    evaluation, model = trained.evaluation, trained.evaluated
    if evaluation is None or model is None:
        return []
    import matplotlib

    matplotlib.use("Agg")
    title = str(trained.task)
    directory.mkdir(parents=True, exist_ok=True)
    with missing_glyphs_quiet():
        paths = _write_curves(evaluation, directory, title=title, bins=bins)
        return paths + write_reading_plots(
            trained.task, evaluation, trained.test_frame, model.feature_specs, directory
        )


def _write_curves(evaluation: Evaluation, directory: Path, *, title: str, bins: int) -> list[Path]:
    """ROC, precision-recall, reliability, cumulative gains and importance PNGs."""
    import matplotlib.pyplot as plt

    scores = evaluation.scores
    scorers = {"model": scores.model, evaluation.beside: scores.linear, **scores.baselines}
    paths = []
    for name, draw in (
        ("roc.png", _roc),
        ("precision_recall.png", _precision_recall),
        ("reliability.png", _reliability),
        ("cumulative_gains.png", _gains),
    ):
        fig, ax = plt.subplots(figsize=(6, 5))
        draw(ax, scores.labels, scorers, bins)
        ax.set_title(f"{title}: {name.removesuffix('.png').replace('_', ' ')}")
        fig.tight_layout()
        fig.savefig(directory / name, dpi=90)
        plt.close(fig)
        paths.append(directory / name)
    fig, ax = plt.subplots(figsize=(6, max(3, 0.3 * len(evaluation.importance))))
    names = list(evaluation.importance)[::-1]
    ax.barh(names, [evaluation.importance[n] for n in names])
    ax.set_xlabel("mean |contribution| (log-odds) on the test set")
    ax.set_title(f"{title}: global feature importance")
    fig.tight_layout()
    fig.savefig(directory / "feature_importance.png", dpi=90)
    plt.close(fig)
    paths.append(directory / "feature_importance.png")
    return paths


def _roc(ax: Any, labels: np.ndarray, scorers: dict[str, np.ndarray], bins: int) -> None:
    for name, s in scorers.items():
        fpr, tpr, _ = roc_curve(labels, s)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7)


def _precision_recall(
    ax: Any, labels: np.ndarray, scorers: dict[str, np.ndarray], bins: int
) -> None:
    for name, s in scorers.items():
        precision, recall, _ = precision_recall_curve(labels, s)
        ax.plot(recall, precision, label=name)
    ax.axhline(labels.mean(), linestyle=":", color="grey")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=7)


def _reliability(ax: Any, labels: np.ndarray, scorers: dict[str, np.ndarray], bins: int) -> None:
    # Only the probabilistic scorers, the model and the one beside it (the first two): naive
    # baselines are not probabilities.
    for name in list(scorers)[:2]:
        observed, predicted = calibration_curve(labels, scorers[name], n_bins=bins)
        ax.plot(predicted, observed, marker="o", label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.legend(fontsize=7)


def _gains(ax: Any, labels: np.ndarray, scorers: dict[str, np.ndarray], bins: int) -> None:
    share = np.arange(1, len(labels) + 1) / len(labels)
    for name, s in scorers.items():
        captured = np.cumsum(labels[np.argsort(-s, kind="stable")]) / max(labels.sum(), 1)
        ax.plot(share, captured, label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("share of entities worked, highest score first")
    ax.set_ylabel("share of positives captured")
    ax.legend(fontsize=7)
