"""What happened to the entities a batch run scored: realised rates, ranking and calibration.

The label of an entity scored as of ``t`` is the training label (``features.compute.labels``) over
the window [t, t + horizon), read from a newer export; the figures are the training evaluation's own
(``training.metrics.probability_metrics``) on the run's stored probabilities. While the window is
still open at the monitor's as-of ``m`` the view is *partial*: the label window is [t, m), so a
lead that converts later counts as not converted yet and a customer who has not ordered *yet*
counts as silent churn (partial churn rates run high until the window closes).

Reps' recorded actions (``training.monitoring.actions``) split the same outcomes by whether an
entity had an action recorded in the outcome window, and by the action's kind: observational
figures, not causal ones, since reps choose whom to contact (``OBSERVATIONAL``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sklearn.calibration import calibration_curve

from features.compute.snapshots import build_training_set
from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.btyd import add_btyd_features
from features.definitions.registry import FeatureSpec
from features.model.scoring_model import ScoringModel
from training.metrics import probability_metrics

ENTITY_NOUNS = {Task.LEADS: "leads", Task.CHURN: "customers"}
# Said wherever the split by actions is shown: reps pick whom they contact (often the riskiest),
# so a difference between the groups is not what contacting did.
OBSERVATIONAL = "observational, not causal: reps choose whom to contact"
WITH_ACTION, WITHOUT_ACTION = "recorded action", "no recorded action"


@dataclass(frozen=True)
class TierOutcome:
    """One tier of a run: how many were in it, the realised rate and the mean probability."""

    tier: str
    entities: int
    realised_rate: float
    expected_rate: float


@dataclass(frozen=True)
class ActionGroup:
    """The run's matched entities in one group of the split by reps' actions.

    ``group``: ``WITH_ACTION`` (at least one action recorded in the outcome window),
    ``WITHOUT_ACTION``, or ``"action: <kind>"`` (at least one action of that kind; an entity can
    be in several kinds). ``key`` is the same, safe as an MLflow metric name. Rates in [0, 1]
    (NaN for an empty group); ``tiers`` as ``RunOutcome.tiers``, top tier first.
    """

    group: str
    key: str
    entities: int
    positives: int
    realised_rate: float
    expected_rate: float
    tiers: tuple[TierOutcome, ...]


@dataclass(frozen=True)
class ActionOutcomes:
    """Outcomes split by reps' actions recorded in [as_of, window_end) of the run."""

    actions: int  # actions recorded on the run's matched entities in the window
    groups: tuple[ActionGroup, ...]
    note: str = OBSERVATIONAL


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
    actions: ActionOutcomes | None = None  # None: the database holds no reps' actions table
    # The end of the outcomes the model was trained on when it is after ``as_of``: the labels
    # measured here were (partly) seen in training. None: the run is out of sample.
    in_sample_until: datetime | None = None

    @property
    def in_sample(self) -> bool:
        """True when the model saw (some of) these outcomes in training (``in_sample_until``)."""
        return self.in_sample_until is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``in_sample`` included)."""
        data = dataclasses.asdict(self)
        data.update(task=self.task.value, as_of=self.as_of.isoformat())
        data["window_end"] = self.window_end.isoformat()
        data["in_sample"] = self.in_sample
        if self.in_sample_until is not None:
            data["in_sample_until"] = self.in_sample_until.isoformat()
        return data

    def in_sample_line(self) -> str | None:
        """The warning an in-sample run's figures carry (None: out of sample)."""
        if self.in_sample_until is None:
            return None
        return (
            f"IN-SAMPLE: {self.model_name} v{self.model_version} was trained on outcomes up to "
            f"{self.in_sample_until:%Y-%m-%d}, after this run's as-of {self.as_of:%Y-%m-%d}: "
            "these figures measure outcomes the model saw in training and flatter it; judge "
            f"it on runs as of {self.in_sample_until:%Y-%m-%d} or later"
        )

    def summary_lines(self) -> list[str]:
        """The manager's sentence per tier, e.g. "of the 463 customers flagged high on
        2026-07-01, 61% churned or placed no order in the next 90 days (expected 58%)", after
        the ``in_sample_line`` of an in-sample run."""
        noun = ENTITY_NOUNS[self.task]
        outcome = "converted" if self.task is Task.LEADS else "churned or placed no order"
        days = (self.window_end - self.as_of).days
        window = (
            f"in the next {days} days"
            if not self.partial
            else f"so far, {days} of {self.horizon_days} days (partial)"
        )
        warning = self.in_sample_line()
        return (
            ([] if warning is None else [warning])
            + [
                f"of the {t.entities} {noun} flagged {t.tier} on {self.as_of:%Y-%m-%d}, "
                f"{t.realised_rate:.0%} {outcome} {window} (expected {t.expected_rate:.0%})"
                for t in self.tiers
            ]
            + self.action_lines()
        )

    def action_lines(self) -> list[str]:
        """The split by reps' actions in words, labelled observational (empty without one)."""
        if self.actions is None:
            return []
        noun = ENTITY_NOUNS[self.task]
        outcome = "converted" if self.task is Task.LEADS else "churned or placed no order"
        groups = {g.group: g for g in self.actions.groups}
        with_, without = groups[WITH_ACTION], groups[WITHOUT_ACTION]
        lines = [
            f"{OBSERVATIONAL}: of the {with_.entities} {noun} with a recorded action between "
            f"{self.as_of:%Y-%m-%d} and {self.window_end:%Y-%m-%d}, {_rate(with_, outcome)}; "
            f"of the {without.entities} with none, {_rate(without)}"
        ]
        for tier_with, tier_without in _paired_tiers(with_, without):
            lines.append(
                f"  tier {tier_with.tier}: {tier_with.entities} with an action, "
                f"{_rate(tier_with)}; {tier_without.entities} without, {_rate(tier_without)}"
            )
        kinds = [g for g in self.actions.groups if g.group not in (WITH_ACTION, WITHOUT_ACTION)]
        if kinds:
            lines.append(
                "  by action: "
                + "; ".join(
                    f"{g.group.removeprefix('action: ')} {g.entities}, {_rate(g)}" for g in kinds
                )
            )
        return lines


def _rate(group: ActionGroup | TierOutcome, outcome: str = "") -> str:
    """A group's realised rate, ``outcome`` (a verb, may be empty) and expected rate, as in
    "40% converted (expected 55%)"; "n/a" for an empty group."""
    if group.entities == 0:
        return "n/a"
    realised = f"{group.realised_rate:.0%} {outcome}".rstrip()
    return f"{realised} (expected {group.expected_rate:.0%})"


def _paired_tiers(first: ActionGroup, second: ActionGroup) -> list[tuple[TierOutcome, TierOutcome]]:
    """The two groups' tiers side by side, every tier either has, top tier first."""
    empty: dict[str, TierOutcome] = {}
    for group in (first, second):
        for t in group.tiers:
            empty.setdefault(t.tier, TierOutcome(t.tier, 0, math.nan, t.expected_rate))
    ranked = sorted(empty.values(), key=lambda t: -t.expected_rate)
    one, two = ({t.tier: t for t in g.tiers} for g in (first, second))
    return [(one.get(t.tier, t), two.get(t.tier, t)) for t in ranked]


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
    return [FeatureSpec(**vars(spec)) for spec in model.feature_specs]


def labelled_rows(
    export: Export, *, model: ScoringModel, as_of: datetime, window_end: datetime
) -> pd.DataFrame:
    """Every entity eligible at ``as_of`` in ``export``: ``entity_id, label, value`` and the
    model's features as of ``as_of`` (events strictly before it), the label over
    [as_of, window_end) -- the training set's own query (``features.compute.snapshots``)."""
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
    joined = join_outcomes(scored, labelled)
    labels = joined["label"].to_numpy(dtype="int64")
    proba = joined["probability"].to_numpy(dtype="float64")
    values = joined["value"].to_numpy(dtype="float64")
    metrics = probability_metrics(labels, proba, values, capacity=capacity, ece_bins=ece_bins)
    tiers = tier_outcomes(joined)
    reliability: dict[str, list[float]] = {}
    if len(joined):
        observed, predicted = calibration_curve(labels, proba, n_bins=ece_bins, strategy="uniform")
        reliability = {"predicted": predicted.tolist(), "observed": observed.tolist()}
    return metrics, tiers, reliability, len(joined), int(labels.sum())


def join_outcomes(scored: pd.DataFrame, labelled: pd.DataFrame) -> pd.DataFrame:
    """``scored`` (``entity_id, probability, tier``) with each entity's ``label`` and ``value``
    from ``labelled``; scored entities the newer export does not hold are left out."""
    return scored.merge(labelled[["entity_id", "label", "value"]], on="entity_id", how="inner")


def tier_outcomes(joined: pd.DataFrame) -> tuple[TierOutcome, ...]:
    """Entities, realised rate (mean ``label``) and expected rate (mean ``probability``) per
    ``tier`` of ``joined`` (``join_outcomes``' rows), top tier (highest expected) first."""
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
    return tuple(tiers)


def split_by_actions(joined: pd.DataFrame, actions: pd.DataFrame) -> ActionOutcomes:
    """The run's outcomes split by reps' recorded actions (observational, not causal).

    ``joined``: ``join_outcomes``' rows of one run; ``actions``: ``entity_id, action``, one row
    per action recorded in the run's outcome window (``training.monitoring.actions``). Actions
    on entities outside ``joined`` are not counted. Groups: with any action, without, then one
    per action kind present (alphabetical); each with its tiers (``tier_outcomes``).
    """
    acted = actions.loc[actions["entity_id"].isin(joined["entity_id"])]
    with_action = joined["entity_id"].isin(acted["entity_id"])
    groups = [
        _action_group(WITH_ACTION, "recorded", joined.loc[with_action]),
        _action_group(WITHOUT_ACTION, "none", joined.loc[~with_action]),
    ]
    for kind in sorted(acted["action"].unique()):
        ids = acted.loc[acted["action"] == kind, "entity_id"]
        key = "action." + "_".join(str(kind).split())
        groups.append(
            _action_group(f"action: {kind}", key, joined.loc[joined["entity_id"].isin(ids)])
        )
    return ActionOutcomes(actions=len(acted), groups=tuple(groups))


def _action_group(group: str, key: str, rows: pd.DataFrame) -> ActionGroup:
    return ActionGroup(
        group=group,
        key=key,
        entities=len(rows),
        positives=int(rows["label"].sum()),
        realised_rate=float(rows["label"].mean()) if len(rows) else math.nan,
        expected_rate=float(rows["probability"].mean()) if len(rows) else math.nan,
        tiers=tier_outcomes(rows),
    )


def run_outcome(
    scored: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    run: Mapping[str, Any],
    window: tuple[datetime, bool],
    horizon: timedelta,
    capacity: int,
    ece_bins: int,
    actions: pd.DataFrame | None = None,
    outcomes_trained_until: datetime | None = None,
) -> RunOutcome:
    """``judge_run`` packed with the run's identity (``run``: run_id, task, model_name,
    model_version, as_of) and its observed ``window`` (from ``observed_window``); with
    ``actions`` (reps' actions recorded in that window, ``split_by_actions``), the outcomes split
    by them too. None: no actions are known (the database has no actions table).
    ``outcomes_trained_until`` (``training.promotion.outcomes_known_until``; None: unknown) marks
    the outcome in-sample when it is after the run's as-of."""
    metrics, tiers, reliability, matched, positives = judge_run(
        scored, labelled, capacity=capacity, ece_bins=ece_bins
    )
    split = None
    if actions is not None:
        split = split_by_actions(join_outcomes(scored, labelled), actions)
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
        actions=split,
        in_sample_until=outcomes_trained_until
        if outcomes_trained_until is not None and run["as_of"] < outcomes_trained_until
        else None,
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
