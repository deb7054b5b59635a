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

from features.contract.tasks import TASK_TABLES, Task
from features.errors import UserError
from features.model.artifact_contract import CHAMPION
from training.manager_card import (
    MANAGER_CARD,
    MANAGER_FACTS,
    card_facts,
    monitored_outcomes,
    render_manager_card,
)
from training.monitoring.store import create_store_engine, json_safe, load_results
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
    alias: str = CHAMPION,
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


def stored_results(url: str) -> list[dict[str, Any]]:
    """Every ``monitoring_results`` row of the scores database at ``url``; none when the
    database or the table does not exist (a missing SQLite file is not created)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return []
    engine = create_store_engine(url)
    try:
        if not inspect(engine).has_table("monitoring_results"):
            return []
        return load_results(engine).to_dict("records")  # type: ignore[no-any-return]
    finally:
        engine.dispose()


def refresh_manager_cards(
    client: MlflowClient, versions: Sequence[tuple[str, str]], results: Sequence[Mapping[str, Any]]
) -> list[str]:
    """``refresh_manager_card`` for each (model name, version); one note per version whose card
    could not be refreshed (trained before manager cards), which is no reason to fail."""
    notes = []
    for name, version in dict.fromkeys(versions):
        try:
            refresh_manager_card(client, model_name=name, version=version, results=results)
        except UserError as exc:
            notes.append(f"{name} v{version}: manager card not refreshed: {exc}")
    return notes


def save_champion_card(
    client: MlflowClient,
    task: Task,
    directory: Path,
    *,
    results: Sequence[Mapping[str, Any]],
    alias: str = CHAMPION,
) -> list[Path]:
    """Write the champion's manager card and its run's plots into ``directory`` as
    ``<task>_manager_card.md`` and ``<task>_<plot>.png`` (what the README shows); return the
    paths. Raises ``UserError`` as ``champion_card`` does."""
    name = TASK_TABLES[task].model_name
    card = champion_card(client, task, results=results, alias=alias)
    run_id = str(client.get_model_version_by_alias(name, alias).run_id)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{task.value}_manager_card.md"]
    paths[0].write_text(card, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        plots = Path(client.download_artifacts(run_id, "plots", tmp))
        for plot in sorted(plots.glob("*.png")):
            target = directory / f"{task.value}_{plot.name}"
            target.write_bytes(plot.read_bytes())
            paths.append(target)
    return paths
