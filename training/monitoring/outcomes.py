"""What happened to the entities a batch run scored: realised rates, ranking and calibration.

The label of an entity scored as of ``t`` is the training label (``features.labels``) over the
window [t, t + horizon), read from a newer export; the figures are the training evaluation's own
(``training.metrics.probability_metrics``) on the run's stored probabilities. While the window is
still open at the monitor's as-of ``m`` the view is *partial*: the label window is [t, m), so a
lead that converts later counts as not converted yet and a customer who has not ordered *yet*
counts as silent churn (partial churn rates run high until the window closes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sklearn.calibration import calibration_curve

from features.btyd import add_btyd_features
from features.export import Export, quote
from features.model import ScoringModel
from features.registry import FeatureSpec
from features.snapshots import build_training_set
from features.tasks import TASK_TABLES, Task
from training.metrics import probability_metrics

ENTITY_NOUNS = {Task.LEADS: "leads", Task.CHURN: "customers"}


@dataclass(frozen=True)
class TierOutcome:
    """One tier of a run: how many were in it, the realised rate and the mean probability."""

    tier: str
    entities: int
    realised_rate: float
    expected_rate: float


@dataclass(frozen=True)
class RunOutcome:
    """The realised figures of one batch run and task (rates and metrics in [0, 1])."""

    run_id: str
    task: Task
    model_name: str
    model_version: str
    as_of: datetime
    window_end: datetime  # the label window is [as_of, window_end)
    horizon_days: int
    partial: bool  # window_end < as_of + horizon: outcomes so far
    scored: int
    matched: int  # scored entities the newer export still holds (the metrics' rows)
    positives: int
    metrics: dict[str, float]
    tiers: tuple[TierOutcome, ...]
    reliability: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        data = dataclasses.asdict(self)
        data.update(task=self.task.value, as_of=self.as_of.isoformat())
        data["window_end"] = self.window_end.isoformat()
        return data

    def summary_lines(self) -> list[str]:
        """The manager's sentence per tier, e.g. "of the 463 customers flagged high on
        2026-07-01, 61% churned or placed no order in the next 90 days (expected 58%)"."""
        noun = ENTITY_NOUNS[self.task]
        outcome = "converted" if self.task is Task.LEADS else "churned or placed no order"
        days = (self.window_end - self.as_of).days
        window = (
            f"in the next {days} days"
            if not self.partial
            else f"so far, {days} of {self.horizon_days} days (partial)"
        )
        return [
            f"of the {t.entities} {noun} flagged {t.tier} on {self.as_of:%Y-%m-%d}, "
            f"{t.realised_rate:.0%} {outcome} {window} (expected {t.expected_rate:.0%})"
            for t in self.tiers
        ]


def observed_window(
    as_of: datetime, *, horizon: timedelta, monitor_as_of: datetime
) -> tuple[datetime, bool] | None:
    """(end of the label window observable at ``monitor_as_of``, partial?) or None if empty."""
    end = as_of + horizon
    if monitor_as_of >= end:
        return end, False
    if monitor_as_of <= as_of:
        return None
    return monitor_as_of, True


def model_specs(model: ScoringModel) -> list[FeatureSpec]:
    """The feature specs the model was trained with, as the feature queries take them."""
    return [FeatureSpec(**dataclasses.asdict(spec)) for spec in model.feature_specs]


def labelled_rows(
    export: Export, *, model: ScoringModel, as_of: datetime, window_end: datetime
) -> pd.DataFrame:
    """Every entity eligible at ``as_of`` in ``export``: ``entity_id, label, value`` and the
    model's features as of ``as_of`` (events strictly before it), the label over
    [as_of, window_end) -- the training set's own query (``features.snapshots``)."""
    rows = build_training_set(
        export,
        task=model.task,
        cutoffs=[as_of],
        horizon=window_end - as_of,
        vocabulary=model.vocabulary,
        specs=model_specs(model),
    ).frame
    return add_btyd_features(rows, model.btyd)


def judge_run(
    scored: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    capacity: int,
    ece_bins: int,
) -> tuple[dict[str, float], tuple[TierOutcome, ...], dict[str, list[float]], int, int]:
    """Metrics, tiers, reliability curve, matched rows and positives of one run.

    ``scored``: the run's rows (``entity_id, probability, tier``); ``labelled``: ``entity_id,
    label, value`` from the newer export. Scored entities absent from ``labelled`` (deleted from
    the CRM, or no longer eligible by the newer export's history) are left out and counted.
    ``value`` is the export's raw value (expected deal size / annual value), as at training.
    """
    joined = scored.merge(labelled[["entity_id", "label", "value"]], on="entity_id", how="inner")
    labels = joined["label"].to_numpy(dtype="int64")
    proba = joined["probability"].to_numpy(dtype="float64")
    values = joined["value"].to_numpy(dtype="float64")
    metrics = probability_metrics(labels, proba, values, capacity=capacity, ece_bins=ece_bins)
    tiers = [
        TierOutcome(
            tier=str(tier),
            entities=len(group),
            realised_rate=float(group["label"].mean()),
            expected_rate=float(group["probability"].mean()),
        )
        for tier, group in joined.groupby("tier", sort=False)
    ]
    # Top tier first, whatever the tiers are called.
    tiers.sort(key=lambda t: -t.expected_rate)
    reliability: dict[str, list[float]] = {}
    if len(joined):
        observed, predicted = calibration_curve(labels, proba, n_bins=ece_bins, strategy="uniform")
        reliability = {"predicted": predicted.tolist(), "observed": observed.tolist()}
    return metrics, tuple(tiers), reliability, len(joined), int(labels.sum())


def run_outcome(
    scored: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    run: Mapping[str, Any],
    window: tuple[datetime, bool],
    horizon: timedelta,
    capacity: int,
    ece_bins: int,
) -> RunOutcome:
    """``judge_run`` packed with the run's identity (``run``: run_id, task, model_name,
    model_version, as_of) and its observed ``window`` (from ``observed_window``)."""
    metrics, tiers, reliability, matched, positives = judge_run(
        scored, labelled, capacity=capacity, ece_bins=ece_bins
    )
    return RunOutcome(
        run_id=run["run_id"],
        task=Task(run["task"]),
        model_name=run["model_name"],
        model_version=run["model_version"],
        as_of=run["as_of"],
        window_end=window[0],
        horizon_days=horizon.days,
        partial=window[1],
        scored=len(scored),
        matched=matched,
        positives=positives,
        metrics=metrics,
        tiers=tiers,
        reliability=reliability,
    )


def unknown_event_counts(
    export: Export, *, model: ScoringModel, as_of: datetime, lookback: timedelta
) -> tuple[int, dict[str, int]]:
    """Events in [as_of - lookback, as_of) and the count per raw type the model has no kind for.

    A type the vocabulary has no kind for is read as "other" by the features; a rising share of
    such events means the CRM started recording something the model cannot tell apart.
    """
    table = TASK_TABLES[model.task].events_table
    counts = export.con.execute(
        f"SELECT type, count(*) FROM {quote(table)} "
        "WHERE occurred_at >= ? AND occurred_at < ? GROUP BY type",
        [as_of - lookback, as_of],
    ).fetchall()
    total = sum(int(n) for _, n in counts)
    unknown = {
        str(kind): int(n)
        for kind, n in counts
        if kind is None or not model.vocabulary.knows(str(kind))
    }
    return total, dict(sorted(unknown.items(), key=lambda kv: -kv[1]))
