"""The plots a data scientist reads after the curves, all on the temporal test unless dated.

- ``lift_by_decile.png``: positive rate per score decile over the base rate (model and logistic).
- ``shap_beeswarm.png``: each test row's exact contribution (LightGBM TreeSHAP, the reasons' own
  numbers) per feature, coloured by the feature's value (its rank among the test rows).
- ``backtest_by_date.png``: ROC AUC, PR AUC and ECE per backtest origin, on a date axis.
- ``value_gains.png``: share of the positives' value captured working the list in the lists'
  order (probability x value) against probability alone and value alone.
- ``score_histogram.png``: the 0-100 scores of positives and negatives.
- ``calibration_by_segment.png``: mean probability against the realised rate per level of the
  owner and of the export's categorical attributes (at most ``MAX_SEGMENT_COLUMNS`` columns,
  ``MAX_LEVELS`` levels each, the rest pooled as "other").

Called from ``training.plots.write_plots``, which chooses the non-interactive backend.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract.tasks import Task
from features.model.scoring_model import ModelFeature
from features.model.tiers import scores_of
from training.evaluation import Evaluation
from training.manager_card import list_order

MAX_SEGMENT_COLUMNS = 4  # the owner and up to three categorical attributes
MAX_LEVELS = 8  # levels shown per column, by row count; the rest pooled as "other"
MAX_BEESWARM_FEATURES = 12
OWNER_COLUMN = "owner_id"


@contextlib.contextmanager
def missing_glyphs_quiet() -> Iterator[None]:
    """Silence matplotlib's "Glyph N (...) missing from font(s)" warnings while drawing.

    A column name with a character the font lacks (an emoji) draws as a box in the PNG; the
    warning would put a library line in ``train``'s output, which the README keeps out. Every
    other warning still shows.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning
        )
        yield


def write_reading_plots(
    task: Task,
    evaluation: Evaluation,
    test_frame: pd.DataFrame,
    specs: Sequence[ModelFeature],
    directory: Path,
) -> list[Path]:
    """Write the six PNGs above into ``directory`` (which exists); return their paths.

    ``test_frame`` holds the test rows in the order of ``evaluation.scores`` (``rows_at`` of the
    same cutoffs) with the owner and every feature of ``specs``, the evaluated model's features.
    """
    import matplotlib.pyplot as plt

    scores = evaluation.scores
    drawings: list[tuple[str, Any, tuple[float, float]]] = [
        ("lift_by_decile.png", lambda ax: lift_by_decile(ax, evaluation), (6, 4)),
        ("backtest_by_date.png", lambda ax: backtest_by_date(ax, evaluation), (7, 4)),
        ("value_gains.png", lambda ax: value_gains(ax, evaluation, task), (6, 5)),
        ("score_histogram.png", lambda ax: score_histogram(ax, evaluation), (6, 4)),
    ]
    paths = []
    for name, draw, size in drawings:
        fig, ax = plt.subplots(figsize=size)
        draw(ax)
        ax.set_title(f"{task}: {name.removesuffix('.png').replace('_', ' ')}")
        paths.append(_save(fig, directory / name))
    if scores.contributions is not None:
        paths.append(
            _save(
                beeswarm(test_frame, specs, scores.contributions), directory / "shap_beeswarm.png"
            )
        )
    columns = segment_columns(test_frame, specs)
    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 4), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        calibration_by_segment(ax, test_frame[column], scores.labels, scores.model)
        ax.set_title(column)
    fig.suptitle(f"{task}: calibration by segment (test)")
    paths.append(_save(fig, directory / "calibration_by_segment.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def decile_lift(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Positive rate of each score decile (highest first) over the overall rate, shape (10,).

    Deciles are ``np.array_split`` of the rows sorted by score (ties keep row order), so they
    differ in size by at most one row. NaN everywhere when there is no positive.
    """
    order = np.argsort(-scores, kind="stable")
    base = labels.mean() if len(labels) else 0.0
    rates = np.array([part.mean() for part in np.array_split(labels[order], 10)])
    return rates / base if base > 0 else np.full(10, np.nan)


def lift_by_decile(ax: Any, evaluation: Evaluation) -> None:
    """Bars per decile for the model and the scorer beside it (``evaluation.beside``)."""
    scores = evaluation.scores
    x = np.arange(1, 11)
    ax.bar(x - 0.2, decile_lift(scores.labels, scores.model), width=0.4, label="model")
    ax.bar(x + 0.2, decile_lift(scores.labels, scores.linear), width=0.4, label=evaluation.beside)
    ax.axhline(1.0, linestyle=":", color="grey")
    ax.set_xticks(x)
    ax.set_xlabel("score decile (1 = highest scores)")
    ax.set_ylabel("positive rate / overall rate")
    ax.legend(fontsize=7)


def backtest_by_date(ax: Any, evaluation: Evaluation) -> None:
    """ROC AUC, PR AUC and ECE per origin cutoff, dated; the naive baselines' ROC AUC dashed."""
    rows = pd.DataFrame(evaluation.backtest)
    if rows.empty:
        ax.text(0.5, 0.5, "no backtest origin", ha="center", transform=ax.transAxes)
        return
    dates = pd.to_datetime(rows["cutoff"])
    for metric in ("roc_auc", "pr_auc", "ece"):
        ax.plot(dates, rows[metric], marker="o", label=metric)
    for column in [c for c in rows.columns if c.endswith(".roc_auc")]:
        ax.plot(dates, rows[column], linestyle="--", label=column, alpha=0.6)
    ax.set_xticks(dates)
    ax.set_xticklabels([f"{d:%Y-%m-%d}" for d in dates], rotation=30, ha="right")
    ax.set_xlabel("backtest origin (cutoff date)")
    ax.set_ylabel("metric")
    ax.legend(fontsize=7)


def value_captured(labels: np.ndarray, values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Cumulative share of the positives' value captured working rows in ``order``, shape (n,).
    Unknown values count as 0 (they cannot be weighted)."""
    realised = np.nan_to_num(values, nan=0.0) * labels
    total = realised.sum()
    return np.cumsum(realised[order]) / total if total > 0 else np.zeros(len(order))


def value_gains(ax: Any, evaluation: Evaluation, task: Task) -> None:
    """Value gains for the lists' order, probability alone and value alone, plus random."""
    scores = evaluation.scores
    weighted = "expected value" if task is Task.LEADS else "value at risk"
    orders = {
        f"lists: {weighted} (probability x value)": list_order(scores.model, scores.values),
        "probability alone": np.argsort(-scores.model, kind="stable"),
        "value alone": np.argsort(-np.nan_to_num(scores.values, nan=-np.inf), kind="stable"),
    }
    share = np.arange(1, len(scores.labels) + 1) / max(len(scores.labels), 1)
    for name, order in orders.items():
        ax.plot(share, value_captured(scores.labels, scores.values, order), label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("share of the list worked, from the top")
    ax.set_ylabel("share of the positives' value captured")
    ax.legend(fontsize=7)


def score_histogram(ax: Any, evaluation: Evaluation) -> None:
    """The 0-100 scores reps see, positives and negatives stacked, one bar per 5 points."""
    scores = evaluation.scores
    shown = scores_of(scores.model)
    edges = np.arange(0, 105, 5)
    ax.hist(
        [shown[scores.labels == 0], shown[scores.labels == 1]],
        bins=edges,
        stacked=True,
        label=["negative", "positive"],
    )
    ax.set_xlabel("score (0-100)")
    ax.set_ylabel("test rows")
    ax.legend(fontsize=7)


def segment_columns(frame: pd.DataFrame, specs: Sequence[ModelFeature]) -> list[str]:
    """The owner, then the model's categorical features (the export's own attributes, in the
    model's order), at most ``MAX_SEGMENT_COLUMNS`` in all."""
    owner = [OWNER_COLUMN] if OWNER_COLUMN in frame else []
    categorical = [s.name for s in specs if s.dtype == "categorical" and s.name in frame]
    return (owner + categorical)[:MAX_SEGMENT_COLUMNS]


def segment_table(levels: pd.Series, labels: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Per level: ``rows``, ``predicted`` (mean probability) and ``observed`` (realised rate),
    the ``MAX_LEVELS`` most frequent levels kept and the rest pooled as "other" (missing counts
    as "(missing)"), most rows first."""
    text = levels.astype("object").where(levels.notna(), "(missing)").astype(str).to_numpy()
    frame = pd.DataFrame({"level": text, "label": labels, "probability": probability})
    keep = frame["level"].value_counts().index[:MAX_LEVELS]
    frame.loc[~frame["level"].isin(keep), "level"] = "other"
    table = frame.groupby("level").agg(
        rows=("label", "size"), predicted=("probability", "mean"), observed=("label", "mean")
    )
    return table.sort_values("rows", ascending=False)


def calibration_by_segment(
    ax: Any, levels: pd.Series, labels: np.ndarray, probability: np.ndarray
) -> None:
    """One point per level, mean probability against realised rate, area by row count."""
    table = segment_table(levels, labels, probability)
    ax.scatter(
        table["predicted"], table["observed"], s=20 + 200 * table["rows"] / table["rows"].max()
    )
    for level, row in table.iterrows():
        ax.annotate(str(level), (row["predicted"], row["observed"]), fontsize=6)
    top = float(max(table["predicted"].max(), table["observed"].max(), 0.05)) * 1.1
    ax.plot([0, top], [0, top], linestyle=":", color="grey")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("realised rate")


def beeswarm(frame: pd.DataFrame, specs: Sequence[ModelFeature], contributions: np.ndarray) -> Any:
    """A figure: per feature (largest mean |contribution| on top), each row's contribution as a
    jittered dot coloured by the feature's value rank (numeric) or grey (categorical/missing)."""
    import matplotlib.pyplot as plt

    names = [s.name for s in specs]
    strength = np.abs(contributions).mean(axis=0)
    top = np.argsort(-strength, kind="stable")[:MAX_BEESWARM_FEATURES][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(top) + 1.5))
    rng = np.random.default_rng(0)  # jitter only: fixed so the same run draws the same picture
    numeric = {s.name for s in specs if s.dtype == "numeric"}
    points = None
    for y, j in enumerate(top):
        x = contributions[:, j]
        jitter = y + rng.uniform(-0.3, 0.3, size=len(x))
        if names[j] in numeric:
            value = pd.to_numeric(frame[names[j]], errors="coerce")
            colour = value.rank(pct=True).to_numpy()
            known = ~np.isnan(colour)
            ax.scatter(x[~known], jitter[~known], s=3, color="lightgrey")
            points = ax.scatter(
                x[known], jitter[known], s=3, c=colour[known], cmap="coolwarm", vmin=0, vmax=1
            )
        else:
            ax.scatter(x, jitter, s=3, color="grey")
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([names[j] for j in top], fontsize=7)
    ax.set_xlabel("contribution to the log-odds (TreeSHAP), per test row")
    if points is not None:
        bar = fig.colorbar(points, ax=ax)
        bar.set_label("feature value rank (grey: missing, categorical)")
    ax.set_title("SHAP beeswarm (test)")
    return fig
