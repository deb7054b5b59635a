"""Batch scoring: every eligible lead and customer of an export, as of one time, into the store.

All rows of the tasks scored go under one run, published only after the last row is written, so
readers switch from the previous complete run to this one in a single step; a crash before that
leaves the previous run published (see ``serving.store.database``). Which tasks a run scores is
decided by ``choose_tasks``: those asked for, or by default every task that has a served champion
and rows in the export. By default a task whose champion exists but could not be loaded stops the
run before anything is written: publishing without it would empty that task's lists, which read
the published run only.

A run holds the scoring lock (``serving.store.run_lock``) from its first write to the end of
retention, so a second run started meanwhile stops with one line instead of breaking the first;
after the publish, published runs beyond the newest ``keep_runs`` are deleted
(``ScoreStore.prune_runs``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime

from pyarrow import ArrowException, fs

from features.compute.engines import Engine, engine_of
from features.compute.snapshots import missing_attributes
from features.contract.export import Export
from features.contract.tasks import Task
from features.contract.times import iso_utc
from features.errors import UserError
from serving.champions.served import ServedModel
from serving.protocols import Explain
from serving.scoring.batch_rows import (
    Progress,
    build_served_table,
    feature_infos,
    row_context,
    score_rows,
)
from serving.scoring.entity_scores import entity_kind
from serving.scoring.export_context import display_sources
from serving.scoring.shadow import Challenger, ShadowOutcome, score_shadow
from serving.settings import Settings
from serving.store.database import MIN_KEEP_RUNS, PrunedRuns, Publication, ScoreStore
from serving.store.run_lock import LockHolder, scoring_lock_held
from serving.wiring import model_specs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskChoice:
    """The tasks one batch run scores, and the ones it skips with the reason why."""

    scored: dict[Task, ServedModel]
    skipped: dict[Task, str]

    def describe(self) -> str:
        """One line: which tasks are scored and which are skipped, and why."""
        parts = [f"scoring {', '.join(t.value for t in self.scored)}"]
        parts += [f"skipped {task.value} ({why})" for task, why in self.skipped.items()]
        return "; ".join(parts)


def choose_tasks(
    requested: Sequence[Task],
    *,
    served: Mapping[Task, ServedModel | None],
    why_not_served: Mapping[Task, str],
    in_export: Sequence[Task],
    export_gaps: Mapping[Task, str],
    unloadable: Collection[Task] = (),
) -> TaskChoice:
    """Decide which tasks to score.

    ``requested`` empty means every task that has a served model (``served``) and rows in the
    export (``in_export``); a task with no champion or no rows is skipped, never an error. A
    task asked for explicitly that cannot be scored raises ``UserError`` naming it and why
    (``why_not_served`` / ``export_gaps``, one sentence each). So does, by default, a task with
    rows whose champion exists but is not loaded (``unloadable``: it failed to load, or the
    registry did not answer): the published run replaces the previous one for every task, so
    skipping it would empty its lists; ``--task`` for the others scores them knowingly.
    Scoring nothing at all is a ``UserError`` too: a run with no rows would replace the
    published scores with nothing. With ``requested``, each task not asked for is skipped with
    the reason that its lists will be empty once the run is published.
    """
    scored: dict[Task, ServedModel] = {}
    skipped: dict[Task, str] = {}
    for task in requested or list(Task):
        model = served.get(task)
        if model is not None and task in in_export:
            scored[task] = model
            continue
        why = why_not_served[task] if model is None else export_gaps[task]
        if requested:
            raise UserError(f"cannot score {task.value}: {why}")
        if model is None and task in unloadable and task in in_export:
            others = " ".join(f"--task {t.value}" for t in Task if t is not task)
            raise UserError(
                f"cannot score {task.value}: {why}; nothing was scored or published (a run "
                f"without {task.value} would empty its lists). Fix or roll back that champion, "
                f"or score the others alone with {others}"
            )
        skipped[task] = why
    for task in Task:
        if requested and task not in requested:
            # The published run replaces every task's lists: said here, not found out later.
            skipped[task] = (
                f"not asked for with --task: the published run holds no {task.value} scores, "
                f"so {task.value}'s lists are empty until a run scores it"
            )
    if not scored:
        raise UserError(
            "nothing to score: " + "; ".join(f"{t.value}: {why}" for t, why in skipped.items())
        )
    return TaskChoice(scored, skipped)


@dataclass(frozen=True)
class BatchSummary:
    run_id: str
    as_of: datetime
    counts: dict[str, int]  # task -> entities scored
    tiers: dict[str, dict[str, int]]  # task -> tier -> entities
    feature_seconds: dict[str, float]  # task -> time to build the scoring table
    # published, or stored unpublished as a backfill behind a later published run
    publication: Publication
    # task -> attributes the champion was trained on that the export lacks (read as unknown)
    missing_attributes: dict[str, list[str]] = field(default_factory=dict)
    # task -> attribute -> warning code (coerced_attribute, unreadable_attribute, unseen_level)
    # -> rows: cells read otherwise than written, by the API's rule (features.compute.online)
    attribute_notes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # older runs removed by retention after the publish
    pruned: PrunedRuns = field(default_factory=lambda: PrunedRuns(runs=0, rows=0))
    # task -> what became of its shadow challenger (scored, failed, skipped; serving.scoring.shadow)
    shadow: dict[str, ShadowOutcome] = field(default_factory=dict)


def check_keep_runs(keep_runs: int, *, option: str = "--keep-runs") -> int:
    """``keep_runs`` if it keeps what "what changed" needs, else a one-line ``UserError``."""
    if keep_runs < MIN_KEEP_RUNS:
        raise UserError(
            f"{option} must be at least {MIN_KEEP_RUNS} (the published run and the one before "
            f"it, which 'what changed' compares against), got {keep_runs}"
        )
    return keep_runs


def _spark_run_dir(settings: Settings, run_id: str) -> str:
    """The folder (or URI) under which a Spark run writes the parts of run ``run_id``."""
    return f"{settings.spark_runs_dir.rstrip('/')}/{run_id}"


def _spark_out(settings: Settings, run_id: str, part: str) -> str:
    """Where a Spark run writes one part of run ``run_id`` (Parquet) before the publish."""
    return f"{_spark_run_dir(settings, run_id)}/{part}"


def remove_run_parts(location: str) -> None:
    """Delete the folder ``location`` (a local path, or any URI pyarrow's file systems open:
    ``file://``, ``s3://``, ``gs://``, ``hdfs://``) and everything under it; nothing when it does
    not exist. A location pyarrow cannot reach or delete is logged as a warning, not raised: the
    run it follows has already succeeded or failed for its own reason.
    """
    try:
        filesystem, path = fs.FileSystem.from_uri(
            location if "://" in location else os.path.abspath(location)
        )
        if filesystem.get_file_info(path).type is not fs.FileType.NotFound:
            filesystem.delete_dir(path)
    except (OSError, ArrowException) as error:
        logger.warning("could not remove the run's Parquet parts at %s: %s", location, error)


def score_export(
    export: Export,
    *,
    as_of: datetime,
    models: Mapping[Task, ServedModel],
    store: ScoreStore,
    settings: Settings,
    explain: Explain,
    clock: Callable[[], datetime],
    keep_runs: int | None = None,
    progress: Progress | None = None,
    challengers: Mapping[Task, Challenger] | None = None,
    export_sha256: str | None = None,
    publish_backfill: bool = False,
) -> BatchSummary:
    """Score ``export`` as of ``as_of`` (features from events strictly before it), publish, and
    keep the newest ``keep_runs`` published runs (``settings.keep_runs`` when None; at least
    ``MIN_KEEP_RUNS``, else UserError).

    ``clock`` only stamps when the run started and was published; it never decides ``as_of``.
    ``export_sha256`` (``features.contract.fingerprint``) is recorded on the run, so that the
    pipeline can tell a run of the same export, as-of and champions and reuse it.
    Each row carries the display fields (``settings.display_fields``), the last order / touch
    before ``as_of`` and every feature's contribution (``ScoreDetail``). Raises
    ``UnknownDisplayField`` (nothing written) for a display field the export lacks, and
    ``ScoringRunInProgress`` (one line, nothing written) when another run holds the
    scoring lock of ``store``, and ``UserError`` (the run deleted, nothing published) when a
    task in ``models`` has no eligible entity as of ``as_of``.

    A backfill (``as_of`` before the published run's) is stored for ``monitor`` but not
    published unless ``publish_backfill`` (``ScoreStore.publish``; ``BatchSummary.publication``).

    On a Spark export the rows pass through Parquet under ``settings.spark_runs_dir``/<run id>,
    removed when the run ends, whatever its outcome (``remove_run_parts``).

    ``challengers`` (``serving.scoring.shadow.load_challengers``) are scored after the publish as
    the run's shadow, under the same lock and before retention: never listed, and a failing one is
    recorded on the run (``BatchSummary.shadow``) without touching the published run.
    """
    keep = check_keep_runs(settings.keep_runs if keep_runs is None else keep_runs)
    # Checked before anything is written: a misnamed display field stops the run whole.
    sources = {task: display_sources(export, task, settings.display_columns()) for task in models}
    started_at = clock()
    holder = LockHolder(pid=os.getpid(), host=socket.gethostname(), started_at=started_at)
    with scoring_lock_held(store.engine, holder), ExitStack() as after_run:
        run_id = store.begin_run(as_of=as_of, started_at=started_at, export_sha256=export_sha256)
        if engine_of(export) is Engine.SPARK:
            # The Parquet parts hand the rows to the publish; the store is the record. Removed
            # whatever the outcome, so that a failed run leaves no orphan folder behind.
            after_run.callback(remove_run_parts, _spark_run_dir(settings, run_id))
        counts: dict[str, int] = {}
        all_tiers: dict[str, dict[str, int]] = {}
        feature_seconds: dict[str, float] = {}
        missing: dict[str, list[str]] = {}
        attribute_notes: dict[str, dict[str, dict[str, int]]] = {}
        for task, served in models.items():
            started = time.perf_counter()
            missing[task.value] = missing_attributes(export, task, model_specs(served.model))
            context = row_context(export, task, served, sources[task], as_of=as_of)
            if engine_of(export) is Engine.SPARK:  # scored inside Spark, then published here
                from serving.scoring.spark_scoring import read_scored_rows, score_task_on_spark

                out = _spark_out(settings, run_id, task.value)
                attribute_notes[task.value] = score_task_on_spark(
                    export, served=served, as_of=as_of, settings=settings, explain=explain, out=out
                )
                feature_seconds[task.value] = time.perf_counter() - started
                tiers: dict[str, int] = {}
                all_tiers[task.value] = tiers
                rows = read_scored_rows(
                    out, served=served, as_of=as_of, tiers=tiers, context=context
                )
                counts[task.value] = store.write_scores(run_id, rows)
                continue
            table, attribute_notes[task.value] = build_served_table(export, served, as_of=as_of)
            feature_seconds[task.value] = time.perf_counter() - started
            store.write_run_features(
                run_id,
                entity_kind(task),
                features=feature_infos(model_specs(served.model)),
                model_name=served.name,
                model_version=served.version,
            )
            tiers = {}
            rows = score_rows(
                served,
                table,
                as_of=as_of,
                settings=settings,
                explain=explain,
                context=context,
                tiers=tiers,
                progress=progress,
            )
            counts[task.value] = store.write_scores(run_id, rows)
            all_tiers[task.value] = tiers
            logger.info("run %s: scored %d %s entities", run_id, counts[task.value], task)
        if empty := [task for task in models if counts[task.value] == 0]:
            # A run publishes for every task at once: one with no rows would empty the lists.
            store.abandon_run(run_id)
            raise UserError(
                "nothing was published: "
                + "; ".join(
                    f"no {entity_kind(task)} of the export is eligible for {task.value} scoring "
                    f"as of {iso_utc(as_of)}"
                    for task in empty
                )
                + " (the published run stays as it was)"
            )
        publication = store.publish(run_id, published_at=clock(), over_later=publish_backfill)
        shadow = {
            task.value: score_shadow(
                export,
                challenger,
                run_id=run_id,
                kind=entity_kind(task),
                as_of=as_of,
                store=store,
                spark_out=_spark_out(settings, run_id, f"{task.value}-shadow"),
            )
            for task, challenger in (challengers or {}).items()
            if task in models
        }
        pruned = store.prune_runs(keep=keep)
    return BatchSummary(
        run_id,
        as_of,
        counts,
        all_tiers,
        feature_seconds,
        publication,
        missing,
        attribute_notes,
        pruned,
        shadow,
    )
