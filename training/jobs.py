"""The training job end to end: load the export, build the set, train, log, register, promote.

Used by ``salesradar train`` and ``benchmarks.bench_training``; every input is explicit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from features.compute.engines import Engine, open_export
from features.compute.snapshots import (
    MONTHLY,
    CutoffSpacing,
    TrainingSet,
    default_cutoffs,
    label_counts,
)
from features.contract.tables import ignored_event_columns
from features.contract.tasks import TASK_TABLES, Task
from training.config import TrainingConfig
from training.data import (
    audit_training_cutoffs,
    build_task_training_set,
    check_as_of_gap,
    choose_cutoffs,
    empty_training_set,
    learn_task_vocabulary,
)
from training.plan import DataPlan, build_plan
from training.promotion import Decision, promote
from training.tracking import RegisteredVersion, TrackingConfig, connect, log_trained_task
from training.trainer import TrainedTask, train_task
from training.tree_fit import ModelDataError

logger = logging.getLogger(__name__)


@dataclass
class TrainingReport:
    trained: TrainedTask
    registered: RegisteredVersion
    decision: Decision | None
    seconds: dict[str, float]  # wall time per step
    unused_attributes: list[tuple[str, str]]  # ("table.column", why not a feature)
    # event table -> its extra text columns no feature reads (``ignored_event_columns``)
    ignored_columns: dict[str, tuple[str, ...]]


def run_training(
    data: Path | str,
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
    every: CutoffSpacing = MONTHLY,
    no_test: bool = False,
    engine: Engine = Engine.DUCKDB,
    show_plan: Callable[[DataPlan], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> TrainingReport:
    """Train ``task`` on the export in ``data`` as of ``as_of``; optionally promote the result.

    ``as_of`` is the time the export describes: only cutoffs whose label window closed by then
    are used (``every`` apart unless ``cutoffs`` are given). The data-sufficiency plan goes to
    ``show_plan`` before anything is fitted; a plan that cannot train raises ``ModelDataError``
    saying what would work. ``now`` stamps the promotion decision. ``on_step`` is told the name
    of each step as it starts (the CLI shows progress with it). ``engine`` computes the
    training set (``features.compute.engines``); only that set reaches this process's memory.
    """
    step = on_step or (lambda name: None)
    seconds: dict[str, float] = {}
    window = {"as_of": as_of, "horizon": horizon, "cutoffs": cutoffs, "every": every}
    window["engine"] = engine
    ignored: dict[str, tuple[str, ...]] = {}
    training_set, plan = prepare_training(
        data,
        task=task,
        **window,
        no_test=no_test,
        config=config,
        seconds=seconds,
        on_step=step,
        ignored=ignored,
    )
    if show_plan is not None:
        show_plan(plan)
    if plan.split is None:
        raise ModelDataError(plan.error())
    leakage = audit_training_cutoffs(training_set, train_cutoffs=plan.split.train)
    assert training_set.vocabulary is not None  # a plan that can train has rows, so features
    step("fitting and evaluating")
    start = time.perf_counter()
    trained = train_task(
        training_set.frame,
        training_set.specs,
        task=task,
        vocabulary=training_set.vocabulary,
        horizon=horizon,
        config=config,
        seed=seed,
        leakage=leakage,
        no_test=no_test,
    )
    seconds["fit_evaluate"] = time.perf_counter() - start
    step("logging to MLflow")
    start = time.perf_counter()
    registered = log_trained_task(
        trained,
        config=config,
        tracking=tracking,
        data_source=str(data.resolve()) if isinstance(data, Path) else data,  # or its URI
        as_of=as_of,
    )
    seconds["mlflow"] = time.perf_counter() - start
    decision = None
    if promote_after:
        step("deciding on promotion")
        decision = promote(connect(tracking), task=task, config=config.promotion, now=now)
    unused = training_set.unused_attributes
    return TrainingReport(trained, registered, decision, seconds, unused, ignored)


def prepare_training(
    data: Path | str,
    *,
    task: Task,
    as_of: datetime,
    horizon: timedelta,
    cutoffs: Sequence[datetime] | None,
    every: CutoffSpacing,
    no_test: bool,
    config: TrainingConfig,
    seconds: dict[str, float] | None = None,
    on_step: Callable[[str], None] | None = None,
    engine: Engine = Engine.DUCKDB,
    ignored: dict[str, tuple[str, ...]] | None = None,
) -> tuple[TrainingSet, DataPlan]:
    """Load the export, check the as-of, build the training set and its plan; fit nothing.

    ``salesradar train --plan`` stops here. Raises ``UserError`` when the as-of is more than
    ``[split] max_as_of_gap_days`` after the task's last event. Step times go to ``seconds``;
    ``on_step`` is told each step's name as it starts; ``engine`` loads the export and runs
    its SQL (``features.compute.engines.open_export``). ``ignored`` receives, by event table,
    the export's extra event columns that no feature reads (``ignored_event_columns``).
    """
    seconds = {} if seconds is None else seconds
    step = on_step or (lambda name: None)
    step("loading the export")
    start = time.perf_counter()
    export = open_export(data, as_of=as_of, engine=engine)
    try:
        seconds["load"] = time.perf_counter() - start
        export.require_task(task)  # a lead-only export cannot train churn, and vice versa
        events_table = TASK_TABLES[task].events_table
        columns = ignored_event_columns(export.event_text_columns.get(events_table, ()))
        if ignored is not None and columns:
            ignored[events_table] = columns
        check_as_of_gap(
            export, task=task, as_of=as_of, max_gap=timedelta(days=config.split.max_as_of_gap_days)
        )
        chosen = choose_cutoffs(
            export, task=task, horizon=horizon, as_of=as_of, requested=cutoffs, every=every
        )
        step("building the training set")
        vocabulary = learn_task_vocabulary(
            export, task=task, as_of=as_of, settings=config.vocabulary
        )
        start = time.perf_counter()
        training_set = (
            build_task_training_set(
                export, task=task, horizon=horizon, cutoffs=chosen, vocabulary=vocabulary
            )
            if chosen
            else empty_training_set(task, horizon)
        )
        seconds["features"] = time.perf_counter() - start
        plan = build_plan(
            training_set.frame,
            task=task,
            horizon=horizon,
            every=None if cutoffs else every,
            as_of=as_of,
            split_config=config.split,
            no_test=no_test,
            grid=lambda h, spacing: default_cutoffs(
                export, task=task, horizon=h, as_of=as_of, every=spacing
            ),
            counts=lambda h, spacing: label_counts(
                export,
                task=task,
                horizon=h,
                vocabulary=vocabulary,
                cutoffs=default_cutoffs(export, task=task, horizon=h, as_of=as_of, every=spacing),
            ),
        )
    finally:
        export.close()
    return training_set, plan
