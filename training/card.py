"""A short markdown model card per run: data window, counts, metrics vs baselines, caveats."""

from __future__ import annotations

import math

from features.definitions.vocabulary import Vocabulary
from training.evaluation import Evaluation, metric_table, rows_at
from training.linear import LOGISTIC_KIND
from training.trainer import TrainedTask

CARD_METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "precision_at_k", "revenue_share_at_k")


def render_model_card(trained: TrainedTask, *, capacity: int, version: str | None = None) -> str:
    """The card as markdown. ``version`` is the registry version when known. A
    logistic-regression ``trained.model`` (``training.simple_pack.simple_view``) is named so."""
    kind = " (logistic regression)" if _is_logistic(trained) else ""
    lines = [
        f"# Model card: {trained.task}{kind}" + (f" (version {version})" if version else ""),
        "",
        f"- Label: within {trained.horizon.days} days of each cutoff.",
        f"- Seed: {trained.seed}. Features: {len(trained.model.feature_names)}.",
        "",
        *_what_was_evaluated(trained),
        "",
        *_what_ships(trained),
        "",
        "## Event vocabulary (learnt from the training export)",
        "",
        *vocabulary_lines(trained.model.vocabulary),
    ]
    if trained.evaluation is not None:
        lines += _evaluation_tables(trained.evaluation, capacity)
    lines += ["", "## Caveats", ""]
    lines += [f"- {note}" for note in _caveats(trained)]
    return "\n".join(lines) + "\n"


def _what_was_evaluated(trained: TrainedTask) -> list[str]:
    split = trained.split
    if not split.has_test:
        return [
            "## What was evaluated: no temporal test",
            "",
            f"- No temporal test: {split.why_no_test}.",
            "- Ranking and calibration on later time were NOT measured; this version is never "
            "promoted automatically (`salesradar promote --force-untested` ships it anyway).",
            f"- Leakage audit: {'passed' if trained.leakage.passed else 'failed'}.",
        ]
    counts = trained.counts()
    return [
        "## What was evaluated",
        "",
        f"- Train cutoffs: {_span(split.train)} ({counts['train_rows']:,} rows, "
        f"{counts['train_positives']:,} positives).",
        f"- Calibration cutoffs: {_span(split.calibration)} ({counts['calibration_rows']:,} "
        f"rows, {counts['calibration_positives']:,} positives).",
        f"- Temporal test cutoffs: {_span(split.test)} ({counts['test_rows']:,} rows, "
        f"{counts['test_positives']:,} positives).",
    ]


def _is_logistic(trained: TrainedTask) -> bool:
    return bool(trained.model.metadata.get("model_kind") == LOGISTIC_KIND)


def _what_ships(trained: TrainedTask) -> list[str]:
    if _is_logistic(trained):
        return [
            "## What ships",
            "",
            "- The evaluated logistic regression itself: fitted on the train cutoffs and "
            "calibrated on the calibration cutoffs above, not refit. The trees trained beside "
            "it are the `trees` row below.",
        ]
    if not trained.refit:
        return [
            "## What ships",
            "",
            "- The evaluated model itself (`[split] refit_on_all = false`).",
        ]
    rows = rows_at(trained.frame, trained.shipped_cutoffs)
    blocks = ", ".join(f"{b[0]:%Y-%m-%d}..{b[-1]:%Y-%m-%d}" for b in trained.calibration_blocks)
    return [
        "## What ships",
        "",
        f"- Trees refit on every labelled cutoff: {_span(trained.shipped_cutoffs)} "
        f"({len(rows):,} rows, {int(rows['label'].sum()):,} positives).",
        f"- Calibration cross-fitted over {len(trained.calibration_blocks)} blocks of "
        f"cutoffs ({blocks}): each block scored by trees fitted on the other blocks.",
        "- The figures below are the evaluated model's; the shipped model was not tested "
        "separately (its own scores on the test cutoffs would be in-sample).",
    ]


def _evaluation_tables(evaluation: Evaluation, capacity: int) -> list[str]:
    lines = [
        "",
        f"## Test metrics of the evaluated model (capacity k = {capacity})",
        "",
        "| scorer | " + " | ".join(CARD_METRICS) + " | brier | ece |",
        "|---" * (len(CARD_METRICS) + 3) + "|",
    ]
    for name, metrics in metric_table(evaluation).items():
        cells = [_fmt(metrics.get(m)) for m in (*CARD_METRICS, "brier", "ece")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Rolling-origin backtest", "", "| cutoff | rows | roc_auc | pr_auc | ece |"]
    lines.append("|---|---|---|---|---|")
    for row in evaluation.backtest:
        lines.append(
            f"| {row['cutoff']:%Y-%m-%d} | {row['rows']:,} | {_fmt(row['roc_auc'])} | "
            f"{_fmt(row['pr_auc'])} | {_fmt(row['ece'])} |"
        )
    lines += ["", "## Top features (mean |contribution| on the test rows, log-odds)", ""]
    for name, value in list(evaluation.importance.items())[:10]:
        lines.append(f"- `{name}`: {value:.3f}")
    return lines


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
        "Probabilities are calibrated on cutoffs the model did not see; recalibrate if the base "
        "rate drifts (compare the test ECE with the backtest).",
        "Naive baselines are ranking-only: their calibration is not meaningful.",
        *(trained.evaluation.notes if trained.evaluation is not None else []),
    ]
    if trained.refit:
        notes.append(
            "Cross-fitted calibration: a block's neighbouring cutoffs train its fold model and "
            "their label windows may overlap the block's; contiguous blocks keep that to edges."
        )
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
