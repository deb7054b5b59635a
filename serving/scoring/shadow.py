"""The shadow challenger: the registry's ``challenger`` version scored beside the champion.

When a task's challenger alias names a version other than the champion's, a batch run scores it
too, after the champion's run is published: same as-of, same export, same entities, stored as
the run's shadow (``ScoreStore.write_shadow``: a probability per entity, nothing a rep reads).
``salesradar monitor`` compares the two on matured outcomes (``training.monitoring.shadow``),
and ``[promotion] require_shadow_runs`` can make promotion wait for that comparison.

A challenger that cannot be resolved, downloaded, verified, loaded or scored never blocks the
champion's publish: the problem is recorded on the run (status ``failed``, with the reason) and
``score`` prints it as a warning. On the Spark engine the challenger is scored on the cluster
like the champion (``serving.scoring.spark_scoring.shadow_on_spark``: its probabilities written to
Parquet beside the run's rows, then read back here in Arrow batches into the store), never on
the driver, which a Spark-sized export does not fit.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.compute.engines import Engine, engine_of
from features.contract.export import Export
from features.contract.tasks import TASK_TABLES, EntityKind, Task
from serving.champions.compatibility import check_model_fits
from serving.champions.served import ServedModel
from serving.champions.source import ChampionSource, MlflowChampionSource, NoChampion
from serving.settings import Settings
from serving.store.database import ScoreStore, ShadowStatus
from serving.wiring import load_scoring_model

logger = logging.getLogger(__name__)

SHADOW_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class Challenger:
    """A task's shadow challenger: the loaded model, or why it could not be loaded.

    ``name`` / ``version`` are the registry's (``version`` None: never resolved); exactly one of
    ``served`` and ``problem`` is set.
    """

    task: Task
    name: str
    version: str | None
    served: ServedModel | None = None
    problem: str | None = None


def challenger_source(settings: Settings) -> MlflowChampionSource:
    """The registry versions under ``settings.challenger_alias``, with serving's bounded waits."""
    return MlflowChampionSource(
        tracking_uri=settings.mlflow_tracking_uri,
        alias=settings.challenger_alias,
        timeout=settings.registry_timeout_seconds,
    )


def load_challengers(
    source: ChampionSource,
    champions: Mapping[Task, ServedModel],
    *,
    clock: Callable[[], datetime],
) -> dict[Task, Challenger]:
    """Each task's challenger that differs from its champion in ``champions``, loaded and
    verified against its recorded sha256 (``ScoringModel.load``) and checked to fit the task
    (``serving.champions.compatibility``). A task without a challenger, or whose challenger is the
    champion, is left out. Any failure becomes a ``Challenger`` with ``problem`` set, never an
    exception: the champion's run must not depend on it. ``clock`` stamps ``loaded_at`` only.
    """
    found: dict[Task, Challenger] = {}
    for task, champion in champions.items():
        name = TASK_TABLES[task].model_name
        try:
            ref = source.resolve(task)
        except NoChampion:
            continue  # no challenger: nothing to shadow
        except Exception as exc:  # recorded and printed by the caller, never raised
            found[task] = Challenger(task, name, None, problem=f"cannot resolve: {exc}")
            continue
        if str(ref.version) == str(champion.version):
            continue
        try:
            with tempfile.TemporaryDirectory() as tmp:
                model = load_scoring_model(source.download(ref, Path(tmp)), ref.sha256)
            check_model_fits(task, model, name=ref.name, version=ref.version)
            served = ServedModel(
                task, model, ref.name, ref.version, ref.sha256, clock(), "registry", ref.run_id
            )
        except Exception as exc:  # a broken challenger is a finding, not a failed run
            found[task] = Challenger(task, ref.name, ref.version, problem=f"cannot load: {exc}")
            continue
        found[task] = Challenger(task, ref.name, ref.version, served=served)
    return found


def shadow_probabilities(
    export: Export, served: ServedModel, *, as_of: datetime
) -> Iterator[tuple[str, float]]:
    """(entity id, calibrated probability) of every entity the batch scores for the task, by
    ``served`` as of ``as_of`` (features from events strictly before it, built with the
    challenger's own vocabulary and feature specs). Probabilities only: no reasons, no
    contributions' storage."""
    from serving.scoring.batch_rows import build_served_table  # the batch's own scoring table

    table, _notes = build_served_table(export, served, as_of=as_of)
    for start in range(0, len(table), SHADOW_CHUNK_ROWS):
        chunk: pd.DataFrame = table.iloc[start : start + SHADOW_CHUNK_ROWS]
        probabilities = np.asarray(served.model.predict_proba(chunk), dtype=float)
        yield from zip(chunk["entity_id"].astype(str), probabilities.tolist(), strict=True)


@dataclass(frozen=True)
class ShadowOutcome:
    """What became of a run's shadow challenger: ``status`` as stored (scored | failed |
    skipped) and one line for the operator."""

    status: ShadowStatus
    line: str


def _probabilities(
    export: Export, served: ServedModel, *, as_of: datetime, spark_out: str
) -> Iterator[tuple[str, float]]:
    """The challenger's (entity id, probability) rows on the export's engine: on the driver
    for DuckDB, on the cluster for Spark (written to ``spark_out`` first)."""
    if engine_of(export) is Engine.SPARK:
        # Imported here so that DuckDB users never import pyspark (nor need Java).
        from serving.scoring.spark_scoring import read_shadow_probabilities, shadow_on_spark

        shadow_on_spark(export, served=served, as_of=as_of, out=spark_out)
        return read_shadow_probabilities(spark_out)
    return shadow_probabilities(export, served, as_of=as_of)


def score_shadow(
    export: Export,
    challenger: Challenger,
    *,
    run_id: str,
    kind: EntityKind,
    as_of: datetime,
    store: ScoreStore,
    spark_out: str,
) -> ShadowOutcome:
    """Score and store ``challenger`` as ``run_id``'s shadow of ``kind``; return what happened
    (scored, or failed: why). Never raises for the challenger's own failures: they
    are recorded on the run (status ``failed``) and returned. ``spark_out``: the folder a Spark
    run writes the challenger's rows to before storing them (replaced if present; unused on
    DuckDB)."""
    status: ShadowStatus = "scored"
    reason: str | None = None
    rows = 0
    if challenger.served is None:
        status, reason = "failed", challenger.problem
    else:
        try:
            rows = store.write_shadow(
                run_id,
                kind,
                model_name=challenger.name,
                model_version=challenger.version,
                status="scored",
                probabilities=_probabilities(
                    export, challenger.served, as_of=as_of, spark_out=spark_out
                ),
            )
        except Exception as exc:  # recorded below; the champion's run is already published
            logger.warning("run %s: challenger %s failed to score", run_id, challenger.version)
            status, reason = "failed", f"cannot score: {exc}"
    if status != "scored":
        try:
            store.write_shadow(
                run_id,
                kind,
                model_name=challenger.name,
                model_version=challenger.version,
                status=status,
                reason=reason,
            )
        except Exception as exc:  # the publish and the digests after it must still happen
            logger.exception("run %s: the shadow's failure could not be recorded", run_id)
            reason = f"{reason} (not recorded: {exc})"
    version = f"v{challenger.version}" if challenger.version else "(unresolved)"
    who = f"{challenger.task.value}: challenger {challenger.name} {version}"
    if status == "scored":
        return ShadowOutcome(status, f"{who} scored in shadow ({rows} entities; not published)")
    return ShadowOutcome(status, f"{who} {status}: {reason}")
