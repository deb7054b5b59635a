"""The edge between an export and training: point-in-time training sets through ``features``.

Cutoffs are explicit: either given, or ``features.compute.snapshots.default_cutoffs`` as of the
export's ``as_of`` time (only cutoffs whose label window has closed by then).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd

from features.compute.audit import audit_leakage
from features.compute.snapshots import (
    MONTHLY,
    CutoffSpacing,
    TrainingSet,
    build_training_set,
    default_cutoffs,
)
from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import iso_utc
from features.definitions.vocabulary import (
    Vocabulary,
    VocabularyError,
    VocabularySettings,
    learn_vocabulary,
)
from features.errors import UserError
from training.trainer import LeakageResult


def choose_cutoffs(
    export: Export,
    *,
    task: Task,
    horizon: timedelta,
    as_of: datetime,
    requested: Sequence[datetime] | None,
    every: CutoffSpacing = MONTHLY,
) -> list[datetime]:
    """The requested cutoffs (each must have a closed label window by ``as_of``) or the
    defaults ``every`` apart."""
    if not requested:
        return default_cutoffs(export, task=task, horizon=horizon, as_of=as_of, every=every)
    open_windows = [c for c in requested if c + horizon > as_of]
    if open_windows:
        raise UserError(
            f"cutoff {open_windows[0]:%Y-%m-%d}: its {horizon.days}-day label window ends after "
            f"--as-of {iso_utc(as_of)}, so its labels are not known yet"
        )
    return sorted(set(requested))


def learn_task_vocabulary(
    export: Export, *, task: Task, as_of: datetime, settings: VocabularySettings
) -> Vocabulary:
    """The task's event vocabulary from the export's events before ``as_of``; a vocabulary
    the export cannot give (an activity type that never occurs) is a ``UserError``."""
    try:
        return learn_vocabulary(export, task=task, before=as_of, settings=settings)
    except VocabularyError as exc:
        raise UserError(str(exc)) from None


def check_as_of_gap(export: Export, *, task: Task, as_of: datetime, max_gap: timedelta) -> None:
    """``UserError`` when ``as_of`` is more than ``max_gap`` after the task's last event.

    Labels of the last cutoffs would read the weeks after the export ended as "no activity"
    (every customer silently churned, no lead converted). An export without events passes.
    """
    table = TASK_TABLES[task].events_table
    last = export.con.execute(f"SELECT max(occurred_at) FROM {quote(table)}").fetchone()
    if last is None or last[0] is None or as_of - last[0] <= max_gap:
        return
    raise UserError(
        f"--as-of {iso_utc(as_of)} is {(as_of - last[0]).days} days after the export's "
        f"last {table} event ({iso_utc(last[0])}); the last cutoffs would be labelled "
        f"against missing data: pass --as-of {last[0]:%Y-%m-%d} (the time the export was "
        f"taken) or raise the config's split.max_as_of_gap_days ({max_gap.days})"
    )


def empty_training_set(task: Task, horizon: timedelta) -> TrainingSet:
    """A training set without rows (no cutoff has a closed label window)."""
    frame = pd.DataFrame({"cutoff": pd.Series([], dtype="datetime64[us]"), "label": []})
    return TrainingSet(frame, [], [], task, horizon)


def build_task_training_set(
    export: Export,
    *,
    task: Task,
    horizon: timedelta,
    cutoffs: Sequence[datetime],
    vocabulary: Vocabulary,
) -> TrainingSet:
    """The point-in-time training set at ``cutoffs``, features over ``vocabulary``."""
    return build_training_set(
        export, task=task, cutoffs=cutoffs, horizon=horizon, vocabulary=vocabulary
    )


def audit_training_cutoffs(
    training_set: TrainingSet, *, train_cutoffs: Sequence[datetime]
) -> LeakageResult:
    """The leakage audit on the training cutoffs only: the test set stays unseen."""
    rows = training_set.frame["cutoff"].isin(pd.to_datetime(list(train_cutoffs)))
    audited = dataclasses.replace(training_set, frame=training_set.frame.loc[rows])
    return LeakageResult(tuple((f.feature, f.reason) for f in audit_leakage(audited)))
