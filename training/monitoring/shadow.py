"""Champion against shadow challenger on matured outcomes (``salesradar monitor``).

A batch run may carry a shadow: the registry's challenger scored beside the champion, same
as-of, same entities (``serving.scoring.shadow``; read here through the table columns by name, since
training never imports serving). For each published run whose label window has closed, both
are judged on the same rows: the entities both scored that the newer export still holds, with
the labels of the champion's own monitoring (``outcomes.labelled_rows``), by the training
evaluation's figures (``training.metrics.probability_metrics``). Partial windows are not
compared: a challenger is judged on matured outcomes only.

Across runs, a challenger version is summarised against each champion version it shadowed:
the number of matured runs, the entities compared (summed over runs) and each figure as the
mean of the per-run figures (each run is one list the reps worked at their capacity, so
precision and revenue at capacity only mean something per run). The summary goes to the
``shadow_results`` table (per run), to the challenger's model version as the tag
``shadow.vs.<champion version>`` (what ``promote`` reads for ``[promotion]
require_shadow_runs``) with the manager's sentence (``ShadowSummary.sentence``), and each run's
figures to its MLflow monitoring run (``shadow.<side>.<metric>``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    column,
    delete,
    inspect,
    select,
    table,
)

from features.contract.tasks import Task
from training.metrics import probability_metrics
from training.monitoring.outcomes import ENTITY_NOUNS
from training.monitoring.store import ENTITY_TASKS, PublishedRun, json_safe

SHADOW_TAG_PREFIX = "shadow.vs."  # + champion version: a ShadowSummary as JSON
COMPARED_METRICS = ("roc_auc", "pr_auc", "ece", "precision_at_k", "revenue_share_at_k")
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "ece": "ECE",
    "precision_at_k": "precision at capacity",
    "revenue_share_at_k": "revenue at capacity",
}

metadata = MetaData()

# One row per judged run and task with a scored shadow: both sides' figures on the same rows.
shadow_results = Table(
    "shadow_results",
    metadata,
    Column("run_id", String(32), primary_key=True),  # the batch run (its shadow) judged
    Column("task", String(16), primary_key=True),
    Column("champion_name", String(255), nullable=False),
    Column("champion_version", String(64), nullable=False),
    Column("challenger_version", String(64), nullable=False),
    Column("as_of", DateTime, nullable=False),
    Column("window_end", DateTime, nullable=False),
    Column("monitored_as_of", DateTime, nullable=False),
    Column("matched", Integer, nullable=False),  # entities compared: both scored, both labelled
    Column("positives", Integer, nullable=False),
    Column("champion", JSON, nullable=False),  # probability_metrics of the champion
    Column("challenger", JSON, nullable=False),  # and of the challenger, on the same rows
    Column("mlflow_run_id", String(64), nullable=True),  # the run's MLflow monitoring run
)

_shadow_runs = table(
    "shadow_runs",
    column("run_id"),
    column("entity_kind"),
    column("model_name"),
    column("model_version"),
    column("status"),
)
_shadow_scores = table(
    "shadow_scores",
    column("run_id"),
    column("entity_kind"),
    column("entity_id"),
    column("probability", Float),
)


@dataclass(frozen=True)
class ShadowScores:
    """A run's scored shadow of one task: the challenger and its ``entity_id, probability``."""

    name: str
    version: str
    scores: pd.DataFrame


def create_shadow_schema(engine: Engine) -> None:
    """Create ``shadow_results`` if missing (idempotent)."""
    metadata.create_all(engine)


def read_shadow(engine: Engine, run: PublishedRun) -> ShadowScores | None:
    """The scored shadow of ``run`` (its task), or None: none recorded, or it failed or was
    skipped, or the database predates shadows."""
    if not inspect(engine).has_table("shadow_runs"):
        return None
    kind = next(k for k, t in ENTITY_TASKS.items() if t == run.task)
    where = (_shadow_runs.c.run_id == run.run_id, _shadow_runs.c.entity_kind == kind)
    with engine.connect() as conn:
        found = conn.execute(
            select(_shadow_runs.c.model_name, _shadow_runs.c.model_version).where(
                *where, _shadow_runs.c.status == "scored"
            )
        ).first()
        if found is None:
            return None
        rows = conn.execute(
            select(_shadow_scores.c.entity_id, _shadow_scores.c.probability)
            .where(_shadow_scores.c.run_id == run.run_id, _shadow_scores.c.entity_kind == kind)
            .order_by(_shadow_scores.c.entity_id)
        ).all()
    frame = pd.DataFrame(rows, columns=["entity_id", "probability"])
    return ShadowScores(str(found.model_name), str(found.model_version), frame)


def compare_run(
    champion: pd.DataFrame,
    challenger: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    capacity: int,
    ece_bins: int,
) -> tuple[dict[str, float], dict[str, float], int, int]:
    """(champion's figures, challenger's figures, rows compared, positives) of one run.

    ``champion`` / ``challenger``: ``entity_id, probability``; ``labelled``: ``entity_id, label,
    value`` from the newer export. Both sides are judged on the same rows: entities both
    scored that ``labelled`` holds (inner joins), with ``probability_metrics`` at ``capacity``.
    """
    rows = champion[["entity_id", "probability"]].merge(
        challenger[["entity_id", "probability"]], on="entity_id", suffixes=("_champion", "")
    )
    rows = rows.merge(labelled[["entity_id", "label", "value"]], on="entity_id")
    labels = rows["label"].to_numpy(dtype="int64")
    values = rows["value"].to_numpy(dtype="float64")
    figures = [
        probability_metrics(
            labels,
            rows[column].to_numpy(dtype="float64"),
            values,
            capacity=capacity,
            ece_bins=ece_bins,
        )
        for column in ("probability_champion", "probability")
    ]
    return figures[0], figures[1], len(rows), int(labels.sum())


def save_comparison(engine: Engine, values: Mapping[str, Any]) -> None:
    """Replace the comparison of ``values["run_id"], values["task"]`` in one transaction."""
    values = {**values, **{k: json_safe(dict(values[k])) for k in ("champion", "challenger")}}
    with engine.begin() as conn:
        conn.execute(
            delete(shadow_results).where(
                shadow_results.c.run_id == values["run_id"],
                shadow_results.c.task == values["task"],
            )
        )
        conn.execute(shadow_results.insert().values(**values))


@dataclass(frozen=True)
class ShadowSummary:
    """A challenger version against a champion version over every matured run it shadowed.

    ``champion`` / ``challenger``: per metric, the mean of the per-run figures (NaN when any
    run's is undefined: NaN never wins); ``entities`` is summed over the runs.
    """

    task: Task
    name: str
    challenger_version: str
    champion_version: str
    runs: int
    entities: int
    champion: dict[str, float]
    challenger: dict[str, float]

    def sentence(self) -> str:
        """The manager's line, e.g. "challenger v7 vs champion v5 on 3 matured runs (4,812
        customers): ROC AUC 0.71 vs 0.69, PR AUC 0.61 vs 0.57, ..."."""
        figures = ", ".join(
            f"{METRIC_LABELS[m]} {_figure(self.challenger[m])} vs {_figure(self.champion[m])}"
            for m in COMPARED_METRICS
        )
        runs = "run" if self.runs == 1 else "runs"
        return (
            f"{self.task.value}: challenger v{self.challenger_version} vs champion "
            f"v{self.champion_version} on {self.runs} matured {runs} ({self.entities:,} "
            f"{ENTITY_NOUNS[self.task]}): {figures}"
        )

    def to_tag(self) -> str:
        """JSON for the challenger version's ``shadow.vs.<champion version>`` tag (NaN: null)."""
        return json.dumps(
            json_safe(
                {
                    "runs": self.runs,
                    "entities": self.entities,
                    "champion": self.champion,
                    "challenger": self.challenger,
                }
            )
        )


def _figure(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def summarise(engine: Engine, *, task: Task, challenger_version: str) -> list[ShadowSummary]:
    """Every stored comparison of ``challenger_version`` of ``task``, one summary per champion
    version it shadowed (matured runs only: partial windows are never stored)."""
    query = select(shadow_results).where(
        shadow_results.c.task == task.value,
        shadow_results.c.challenger_version == challenger_version,
    )
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(query).mappings().all())
    summaries = []
    for (name, champion_version), group in rows.groupby(["champion_name", "champion_version"]):
        summaries.append(
            ShadowSummary(
                task=task,
                name=str(name),
                challenger_version=challenger_version,
                champion_version=str(champion_version),
                runs=len(group),
                entities=int(group["matched"].sum()),
                champion=_mean_figures(group["champion"]),
                challenger=_mean_figures(group["challenger"]),
            )
        )
    return summaries


def _mean_figures(figures: Iterable[Mapping[str, float | None]]) -> dict[str, float]:
    """Per metric (every one ``probability_metrics`` gives), the mean over runs; a stored null
    (undefined) or missing figure makes the mean NaN."""
    listed = list(figures)
    metrics = sorted({metric for f in listed for metric in f})
    return {metric: float(np.mean([_number(f.get(metric)) for f in listed])) for metric in metrics}


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def record_summary(client: MlflowClient, summary: ShadowSummary) -> None:
    """The summary on the challenger's model version: ``shadow.vs.<champion version>`` (JSON,
    read by ``promote``) and ``shadow.summary`` (the manager's sentence)."""
    version = summary.challenger_version
    client.set_model_version_tag(
        summary.name, version, f"{SHADOW_TAG_PREFIX}{summary.champion_version}", summary.to_tag()
    )
    client.set_model_version_tag(summary.name, version, "shadow.summary", summary.sentence())


def log_run_comparison(
    client: MlflowClient,
    mlflow_run_id: str,
    *,
    challenger_version: str,
    champion: Mapping[str, float],
    challenger: Mapping[str, float],
) -> None:
    """One run's figures on its MLflow monitoring run: ``shadow.<side>.<metric>`` metrics
    (undefined ones left out) and the ``shadow.challenger_version`` tag."""
    client.set_tag(mlflow_run_id, "shadow.challenger_version", challenger_version)
    for side, figures in (("champion", champion), ("challenger", challenger)):
        for metric in COMPARED_METRICS:
            if not math.isnan(figures[metric]):
                client.log_metric(mlflow_run_id, f"shadow.{side}.{metric}", figures[metric])


@dataclass(frozen=True)
class ShadowEvidence:
    """What ``promote`` reads from a challenger version's tag: matured runs, entities and the
    mean figures of both sides (NaN: undefined)."""

    runs: int
    entities: int
    champion: dict[str, float]
    challenger: dict[str, float]


def shadow_evidence(tags: Mapping[str, str], champion_version: str) -> ShadowEvidence | None:
    """The challenger version's comparison against ``champion_version`` from its ``tags``
    (None: never compared with that champion on a matured run)."""
    raw = tags.get(f"{SHADOW_TAG_PREFIX}{champion_version}")
    if raw is None:
        return None
    data = json.loads(raw)
    return ShadowEvidence(
        runs=int(data["runs"]),
        entities=int(data["entities"]),
        champion={k: _number(v) for k, v in data["champion"].items()},
        challenger={k: _number(v) for k, v in data["challenger"].items()},
    )


def comparison_row(
    run: PublishedRun,
    shadow: ShadowScores,
    figures: tuple[dict[str, float], dict[str, float], int, int],
    *,
    window_end: datetime,
    monitored_as_of: datetime,
    mlflow_run_id: str | None,
) -> dict[str, Any]:
    """The ``shadow_results`` row of one run: ``compare_run``'s ``figures`` with the run."""
    champion, challenger, matched, positives = figures
    return {
        "run_id": run.run_id,
        "task": run.task,
        "champion_name": run.model_name,
        "champion_version": run.model_version,
        "challenger_version": shadow.version,
        "as_of": run.as_of,
        "window_end": window_end,
        "monitored_as_of": monitored_as_of,
        "matched": matched,
        "positives": positives,
        "champion": champion,
        "challenger": challenger,
        "mlflow_run_id": mlflow_run_id,
    }
