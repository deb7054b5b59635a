"""The edge between an export and training: point-in-time training sets through ``features``.

Cutoffs are explicit: either given, or ``features.snapshots.default_cutoffs`` as of the export's
``as_of`` time (only cutoffs whose label window has closed by then).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd

from features.audit import audit_leakage
from features.errors import UserError
from features.export import Export
from features.snapshots import TrainingSet, build_training_set, default_cutoffs
from features.tasks import Task
from features.vocabulary import Vocabulary, VocabularyError, VocabularySettings, learn_vocabulary
from training.trainer import LeakageResult


def choose_cutoffs(
    export: Export,
    *,
    task: Task,
    horizon: timedelta,
    as_of: datetime,
    requested: Sequence[datetime] | None,
) -> list[datetime]:
    """The requested cutoffs (each must have a closed label window by ``as_of``) or the
    monthly defaults."""
    if not requested:
        return default_cutoffs(export, task=task, horizon=horizon, as_of=as_of)
    open_windows = [c for c in requested if c + horizon > as_of]
    if open_windows:
        raise UserError(
            f"cutoff {open_windows[0]:%Y-%m-%d}: its {horizon.days}-day label window ends after "
            f"--as-of {as_of:%Y-%m-%d %H:%M}, so its labels are not known yet"
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
