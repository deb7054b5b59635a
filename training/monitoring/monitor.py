"""``monitor``: judge every published batch run on a newer export, and measure its drift.

For each published run and task: the model version that scored it is loaded from the registry
(verified against its sha256 tags) with its training reference; outcomes are read over the label
window observable at the monitor's as-of (``outcomes.observed_window``: full or partial); drift is
measured on the run's features recomputed from the newer export as of the run's own as-of (events
strictly before it, so they are the features the run scored) and on its stored probabilities.
A matured run that also scored a challenger in shadow is compared with its champion on the
same rows (``training.monitoring.shadow``). Nothing here runs during scoring.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine

from features.contract.export import Export
from features.contract.tasks import Task
from features.contract.times import iso_utc
from features.errors import UserError
from features.model.scoring_model import ScoringModel
from training.config import TrainingConfig
from training.drift import DriftReport, EventDrift, drift_report, seen_levels
from training.monitoring.actions import has_actions_table, recorded_actions
from training.monitoring.outcomes import (
    RunOutcome,
    labelled_rows,
    observed_window,
    run_outcome,
    unknown_event_counts,
)
from training.monitoring.reference import REFERENCE_ARTIFACT, check_reference
from training.monitoring.report import log_monitoring_run
from training.monitoring.shadow import (
    ShadowScores,
    ShadowSummary,
    compare_run,
    comparison_row,
    create_shadow_schema,
    log_run_comparison,
    read_shadow,
    record_summary,
    save_comparison,
    summarise,
)
from training.monitoring.store import (
    PublishedRun,
    create_monitoring_schema,
    published_runs,
    run_scores,
    save_result,
)
from training.promotion import load_version, outcomes_known_until
from training.tracking import TrackingConfig

logger = logging.getLogger(__name__)


class NoReference(UserError):
    """The model version was trained before training references were logged."""


@dataclass(frozen=True)
class MonitoredRun:
    """One judged run and task: its outcome, its drift and its MLflow monitoring run."""

    outcome: RunOutcome
    drift: DriftReport
    mlflow_run_id: str


@dataclass(frozen=True)
class LoadedVersion:
    model: ScoringModel
    reference: dict[str, Any]
    run_id: str | None


def load_monitored_version(
    client: MlflowClient, name: str, version: str, directory: Path
) -> LoadedVersion:
    """The registered model version and its training reference.

    Raises ``UserError`` when the version is not in the registry, and ``NoReference`` (one
    line) when its run has no ``monitoring/reference.json``.
    """
    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        raise UserError(
            f"{name} v{version} scored a published run but is not in the registry"
        ) from None
    model = load_version(client, found, directory / "model")
    try:
        local = client.download_artifacts(found.run_id, REFERENCE_ARTIFACT, str(directory))
    except (MlflowException, OSError):
        raise NoReference(
            f"{name} v{version} was trained before training references were kept (no "
            f"{REFERENCE_ARTIFACT} in run {found.run_id}): retrain it to monitor its runs"
        ) from None
    try:
        reference = check_reference(
            json.loads(Path(local).read_text(encoding="utf-8")), where=REFERENCE_ARTIFACT
        )
    except ValueError as exc:  # JSONDecodeError is one
        raise UserError(f"{name} v{version}: {exc}") from None
    return LoadedVersion(model, dict(reference), found.run_id)


def monitor_run(
    export: Export,
    run: PublishedRun,
    scored: Any,
    loaded: LoadedVersion,
    *,
    config: TrainingConfig,
    monitored_as_of: datetime,
    engine: Engine | None = None,
) -> tuple[RunOutcome, DriftReport, pd.DataFrame] | None:
    """Outcome, drift and labelled rows (``outcomes.labelled_rows``, which a shadow comparison
    reuses) of one run and task; None when nothing is observable yet.

    With ``engine`` (the scores database) holding reps' actions, the outcome is also split by
    the actions recorded in the run's observed window (``outcomes.split_by_actions``)."""
    model = loaded.model
    horizon = timedelta(days=int(model.metadata["horizon_days"]))
    window = observed_window(run.as_of, horizon=horizon, monitor_as_of=monitored_as_of)
    if window is None:
        return None
    labelled = labelled_rows(export, model=model, as_of=run.as_of, window_end=window[0])
    outcome = run_outcome(
        scored,
        labelled,
        run=run.as_mapping(),
        window=window,
        horizon=horizon,
        capacity=config.evaluation.capacity[model.task],
        ece_bins=config.evaluation.ece_bins,
        actions=recorded_actions(engine, task=run.task, start=run.as_of, end=window[0])
        if engine is not None and has_actions_table(engine)
        else None,
        outcomes_trained_until=outcomes_known_until(model),
    )
    events, unknown = unknown_event_counts(export, model=model, as_of=run.as_of, lookback=horizon)
    features = labelled.loc[labelled["entity_id"].isin(scored["entity_id"])]
    drift = drift_report(
        loaded.reference,
        features,
        scored["probability"].to_numpy(dtype="float64"),
        events=EventDrift(events, sum(unknown.values()), tuple(list(unknown)[:10])),
        feature_names=model.feature_names,
        seen=seen_levels(model),
        config=config.monitoring,
    )
    return outcome, drift, labelled


def monitor_export(
    export: Export,
    *,
    engine: Engine,
    client: MlflowClient,
    tracking: TrackingConfig,
    config: TrainingConfig,
    monitored_as_of: datetime,
    clock: Callable[[], datetime],
) -> tuple[list[MonitoredRun], list[str], list[ShadowSummary]]:
    """Judge every published run (and stored backfill run) and task of the export's tasks;
    store and log each.

    ``monitored_as_of`` is the time the newer export describes (outcomes are read up to it);
    ``clock`` only stamps when the result was stored. Returns the results, one note per run
    skipped (with why) and, per challenger that shadowed a matured run, its comparison with
    each champion version (``training.monitoring.shadow``: stored, tagged, logged). Each
    result replaces the earlier one of its run and task.
    """
    create_monitoring_schema(engine)
    create_shadow_schema(engine)
    shadowed: set[tuple[Task, str]] = set()
    results: list[MonitoredRun] = []
    notes: list[str] = []
    versions: dict[tuple[str, str], LoadedVersion] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in published_runs(engine, stored=True):
            task = Task(run.task)
            if task not in export.tasks():
                notes.append(f"run {run.run_id} {task.value}: the export has no {task.value}")
                continue
            key = (run.model_name, run.model_version)
            if key not in versions:
                folder = Path(tmp) / f"{len(versions)}"
                versions[key] = load_monitored_version(client, *key, folder)
            scored = run_scores(engine, run)
            judged = monitor_run(
                export,
                run,
                scored,
                versions[key],
                config=config,
                monitored_as_of=monitored_as_of,
                engine=engine,
            )
            if judged is None:
                notes.append(
                    f"run {run.run_id} {task.value}: as of {iso_utc(run.as_of)}, not "
                    "before the monitor's as-of; nothing observable yet"
                )
                continue
            outcome, drift, labelled = judged
            mlflow_run_id = log_monitoring_run(
                client,
                tracking=tracking,
                outcome=outcome,
                drift=drift,
                reference=versions[key].reference,
                model_run_id=versions[key].run_id,
                monitored_as_of=monitored_as_of,
                staging=Path(tmp) / f"plots-{run.run_id}-{task.value}",
            )
            save_result(
                engine,
                {
                    "run_id": run.run_id,
                    "task": task.value,
                    "model_name": run.model_name,
                    "model_version": run.model_version,
                    "as_of": run.as_of,
                    "window_end": outcome.window_end,
                    "partial": outcome.partial,
                    "monitored_as_of": monitored_as_of,
                    "monitored_at": clock(),
                    "scored": outcome.scored,
                    "matched": outcome.matched,
                    "outcome": outcome.to_dict(),
                    "drift": drift.to_dict(),
                    "mlflow_run_id": mlflow_run_id,
                },
            )
            results.append(MonitoredRun(outcome, drift, mlflow_run_id))
            logger.info("monitored run %s %s", run.run_id, task.value)
            shadow = None if outcome.partial else read_shadow(engine, run)
            if shadow is not None:
                compare_shadow(
                    engine,
                    client,
                    run,
                    shadow,
                    scored=scored,
                    labelled=labelled,
                    outcome=outcome,
                    config=config,
                    monitored_as_of=monitored_as_of,
                    mlflow_run_id=mlflow_run_id,
                )
                shadowed.add((task, shadow.version))
    summaries = [
        summary
        for task, version in sorted(shadowed)
        for summary in summarise(engine, task=task, challenger_version=version)
    ]
    for summary in summaries:
        record_summary(client, summary)
    return results, notes, summaries


def compare_shadow(
    engine: Engine,
    client: MlflowClient,
    run: PublishedRun,
    shadow: ShadowScores,
    *,
    scored: pd.DataFrame,
    labelled: pd.DataFrame,
    outcome: RunOutcome,
    config: TrainingConfig,
    monitored_as_of: datetime,
    mlflow_run_id: str,
) -> None:
    """Judge a matured run's shadow challenger beside its champion on the same rows; store the
    comparison and log it on the run's MLflow monitoring run."""
    figures = compare_run(
        scored,
        shadow.scores,
        labelled,
        capacity=config.evaluation.capacity[Task(run.task)],
        ece_bins=config.evaluation.ece_bins,
    )
    save_comparison(
        engine,
        comparison_row(
            run,
            shadow,
            figures,
            window_end=outcome.window_end,
            monitored_as_of=monitored_as_of,
            mlflow_run_id=mlflow_run_id,
        ),
    )
    log_run_comparison(
        client,
        mlflow_run_id,
        challenger_version=shadow.version,
        champion=figures[0],
        challenger=figures[1],
    )
