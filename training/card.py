"""A short markdown model card per run: data window, counts, metrics vs baselines, caveats."""

from __future__ import annotations

import math

from features.vocabulary import Vocabulary
from training.evaluation import metric_table
from training.trainer import TrainedTask

CARD_METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "precision_at_k", "revenue_share_at_k")


def render_model_card(trained: TrainedTask, *, capacity: int, version: str | None = None) -> str:
    """The card as markdown. ``version`` is the registry version when known."""
    split = trained.split
    counts = trained.counts()
    lines = [
        f"# Model card: {trained.task}" + (f" (version {version})" if version else ""),
        "",
        f"- Label: within {trained.horizon.days} days of each monthly cutoff.",
        f"- Train cutoffs: {_span(split.train)} ({counts['train_rows']:,} rows, "
        f"{counts['train_positives']:,} positives).",
        f"- Calibration cutoffs: {_span(split.calibration)} ({counts['calibration_rows']:,} "
        f"rows, {counts['calibration_positives']:,} positives).",
        f"- Temporal test cutoffs: {_span(split.test)} ({counts['test_rows']:,} rows, "
        f"{counts['test_positives']:,} positives).",
        f"- Seed: {trained.seed}. Features: {len(trained.model.feature_names)}.",
        "",
        f"## Test metrics (capacity k = {capacity})",
        "",
        "| scorer | " + " | ".join(CARD_METRICS) + " | brier | ece |",
        "|---" * (len(CARD_METRICS) + 3) + "|",
    ]
    for name, metrics in metric_table(trained.evaluation).items():
        cells = [_fmt(metrics.get(m)) for m in (*CARD_METRICS, "brier", "ece")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Rolling-origin backtest", "", "| cutoff | rows | roc_auc | pr_auc | ece |"]
    lines.append("|---|---|---|---|---|")
    for row in trained.evaluation.backtest:
        lines.append(
            f"| {row['cutoff']:%Y-%m-%d} | {row['rows']:,} | {_fmt(row['roc_auc'])} | "
            f"{_fmt(row['pr_auc'])} | {_fmt(row['ece'])} |"
        )
    lines += ["", "## Event vocabulary (learnt from the training export)", ""]
    lines += vocabulary_lines(trained.model.vocabulary)
    lines += ["", "## Top features (mean |contribution|, log-odds)", ""]
    for name, value in list(trained.evaluation.importance.items())[:10]:
        lines.append(f"- `{name}`: {value:.3f}")
    lines += ["", "## Caveats", ""]
    lines += [f"- {note}" for note in _caveats(trained)]
    return "\n".join(lines) + "\n"


def vocabulary_lines(vocabulary: Vocabulary) -> list[str]:
    """One markdown bullet per event kind with features of its own, then the "other" pool."""
    lines = []
    for code, kind in enumerate(vocabulary.kinds, start=1):
        role = "purchase: " if vocabulary.purchase and code == 1 else ""
        valued = ", with values" if kind.valued else ""
        types = ", ".join(f"`{t}`" for t in kind.types)
        lines.append(f"- `{kind.slug}` ({role}{types}; {kind.events:,} events{valued})")
    lines.append("- every other type counts as `other` (and in the any-event features)")
    return lines


def _caveats(trained: TrainedTask) -> list[str]:
    notes = [
        "Probabilities are calibrated on the calibration cutoffs; recalibrate if the base "
        "rate drifts (compare the test ECE with the backtest).",
        "Naive baselines are ranking-only: their calibration is not meaningful.",
        *trained.evaluation.notes,
    ]
    if not trained.leakage.passed:
        notes += [f"Leakage audit: `{f}`: {r}" for f, r in trained.leakage.findings]
    else:
        notes.append("Leakage audit passed.")
    return notes


def _span(cutoffs: tuple) -> str:  # type: ignore[type-arg]
    if not cutoffs:
        return "(none)"
    return f"{cutoffs[0]:%Y-%m-%d} to {cutoffs[-1]:%Y-%m-%d} ({len(cutoffs)})"


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):.3f}"  # type: ignore[arg-type]
