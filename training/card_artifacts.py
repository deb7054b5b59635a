"""The manager card in MLflow: logged at training, read back and re-rendered with monitoring.

At training ``log_manager_card`` logs ``manager_card.json`` (the facts) and ``manager_card.md``
to the training run. ``champion_card`` reads the champion's facts back and renders them with the
monitoring results stored for that version; ``refresh_manager_card`` writes that newer markdown
over the training run's ``manager_card.md`` (what ``salesradar monitor`` does after judging).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.errors import UserError
from features.tasks import TASK_TABLES, Task
from training.manager_card import (
    MANAGER_CARD,
    MANAGER_FACTS,
    card_facts,
    monitored_outcomes,
    render_manager_card,
)
from training.monitoring.store import json_safe
from training.trainer import TrainedTask


def log_manager_card(
    trained: TrainedTask, *, capacity: int, as_of: datetime, model_name: str, version: str
) -> str:
    """Log the facts and the card to the active MLflow run; return the markdown.

    Nothing has been monitored at training time, so the card's monitoring section says so.
    """
    facts = card_facts(
        trained, capacity=capacity, as_of=as_of, model_name=model_name, version=version
    )
    mlflow.log_dict(json_safe(facts), MANAGER_FACTS)
    card = render_manager_card(facts)
    mlflow.log_text(card, MANAGER_CARD)
    return card


def read_facts(client: MlflowClient, run_id: str) -> dict[str, Any]:
    """The ``manager_card.json`` of a training run.

    Raises ``UserError`` naming the run when it has none (trained before manager cards).
    """
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, MANAGER_FACTS, tmp)
        except (MlflowException, OSError):
            raise UserError(
                f"run {run_id} has no {MANAGER_FACTS}: it was trained before manager cards "
                "were kept (retrain to get one)"
            ) from None
        facts: dict[str, Any] = json.loads(Path(local).read_text(encoding="utf-8"))
    return facts


def champion_card(
    client: MlflowClient,
    task: Task,
    *,
    results: Sequence[Mapping[str, Any]],
    alias: str = "champion",
) -> str:
    """The manager card of ``task``'s model under ``alias``, with the monitoring ``results``
    (rows of ``monitoring_results``) of that version. Raises ``UserError`` when no version holds
    the alias or its run has no facts."""
    name = TASK_TABLES[task].model_name
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        raise UserError(f"{name} has no {alias} (train and promote one first)") from None
    facts = read_facts(client, str(version.run_id))
    outcomes = monitored_outcomes(results, model_name=name, version=str(version.version))
    return render_manager_card(facts, monitored=outcomes)


def refresh_manager_card(
    client: MlflowClient, *, model_name: str, version: str, results: Sequence[Mapping[str, Any]]
) -> str:
    """Re-render a version's card with its monitoring ``results`` and write it over the
    training run's ``manager_card.md``; return the markdown."""
    run_id = str(client.get_model_version(model_name, version).run_id)
    outcomes = monitored_outcomes(results, model_name=model_name, version=version)
    card = render_manager_card(read_facts(client, run_id), monitored=outcomes)
    client.log_text(run_id, card, MANAGER_CARD)
    return card
