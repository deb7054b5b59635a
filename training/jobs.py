"""The training job end to end: load the export, build the set, train, log, register, promote.

Used by ``salesradar train`` and ``benchmarks.bench_training``; every input is explicit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from features.loading import load_export
from features.tasks import Task
from training.config import TrainingConfig
from training.data import (
    audit_training_cutoffs,
    build_task_training_set,
    choose_cutoffs,
    learn_task_vocabulary,
)
from training.promotion import Decision, promote
from training.splits import split_cutoffs
from training.tracking import RegisteredVersion, TrackingConfig, connect, log_trained_task
from training.trainer import TrainedTask, train_task

logger = logging.getLogger(__name__)


@dataclass
class TrainingReport:
    trained: TrainedTask
    registered: RegisteredVersion
    decision: Decision | None
    seconds: dict[str, float]  # wall time per step


def run_training(
    data: Path,
    *,
    task: Task,
    as_of: datetime,
    horizon: timedelta,
    cutoffs: Sequence[datetime] | None,
    seed: int,
    config: TrainingConfig,
    tracking: TrackingConfig,
    promote_after: bool,
    now: datetime,
) -> TrainingReport:
    """Train ``task`` on the export in ``data`` as of ``as_of``; optionally promote the result.

    ``as_of`` is the time the export describes: only cutoffs whose label window closed by then
    are used. ``now`` stamps the promotion decision.
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    export = load_export(data, as_of=as_of)
    try:
        seconds["load"] = time.perf_counter() - start
        export.require_task(task)  # a lead-only export cannot train churn, and vice versa
        chosen = choose_cutoffs(export, task=task, horizon=horizon, as_of=as_of, requested=cutoffs)
        vocabulary = learn_task_vocabulary(
            export, task=task, as_of=as_of, settings=config.vocabulary
        )
        start = time.perf_counter()
        training_set = build_task_training_set(
            export, task=task, horizon=horizon, cutoffs=chosen, vocabulary=vocabulary
        )
        seconds["features"] = time.perf_counter() - start
    finally:
        export.close()
    labelled = sorted(pd.to_datetime(training_set.frame["cutoff"].unique()).to_pydatetime())
    split = split_cutoffs(
        labelled,
        test=config.split.test_cutoffs,
        calibration=config.split.calibration_cutoffs,
        horizon=horizon,
        embargo=config.split.embargo,
    )
    leakage = audit_training_cutoffs(training_set, train_cutoffs=split.train)
    start = time.perf_counter()
    trained = train_task(
        training_set.frame,
        training_set.specs,
        task=task,
        vocabulary=vocabulary,
        horizon=horizon,
        config=config,
        seed=seed,
        leakage=leakage,
    )
    seconds["fit_evaluate"] = time.perf_counter() - start
    start = time.perf_counter()
    registered = log_trained_task(
        trained, config=config, tracking=tracking, data_source=str(data.resolve()), as_of=as_of
    )
    seconds["mlflow"] = time.perf_counter() - start
    decision = None
    if promote_after:
        decision = promote(connect(tracking), task=task, config=config.promotion, now=now)
    return TrainingReport(trained, registered, decision, seconds)
