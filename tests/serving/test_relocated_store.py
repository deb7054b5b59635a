"""A copied or moved checkout serves its own champions; training refuses a moved store."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pytest

from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import CHAMPION, SCORING_MODEL_PATH, SHA256_TAG_PREFIX
from serving.settings import Settings
from serving.wiring import build_services
from training.tracking import MovedStore, connect, experiment_id, resolve_tracking


def _train_leads_champion(models_dir: Path, saved: tuple[Path, dict[str, str]]) -> None:
    """The session's tiny leads model (``saved``: its folder and hashes, from the ``trained``
    fixture) logged, registered and aliased as training lays a run out."""
    tracking = resolve_tracking(models_dir=models_dir, environ={})
    client = connect(tracking)
    folder, hashes = saved
    name = TASK_TABLES[Task.LEADS].model_name
    with mlflow.start_run(experiment_id=experiment_id(client, Task.LEADS, tracking)) as run:
        mlflow.log_artifacts(str(folder), SCORING_MODEL_PATH)
        tags = {f"{SHA256_TAG_PREFIX}{file}": digest for file, digest in hashes.items()}
        mlflow.set_tags(tags)
    client.create_registered_model(name)
    source = f"{run.info.artifact_uri}/{SCORING_MODEL_PATH}"
    version = client.create_model_version(name, source, run_id=run.info.run_id, tags=tags)
    client.set_registered_model_alias(name, CHAMPION, version.version)


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_a_relocated_store_serves_its_own_artifacts(
    tmp_path: Path, how: str, trained: dict[Task, tuple[Path, dict[str, str]]]
) -> None:
    original, relocated = tmp_path / "original", tmp_path / "relocated"
    _train_leads_champion(original / "models", trained[Task.LEADS])
    if how == "moved":
        shutil.move(original, relocated)
    else:
        shutil.copytree(original, relocated)
        shutil.rmtree(original)  # what it reads must be its own copy
    settings = Settings(
        scores_url=f"sqlite:///{tmp_path / 'scores.db'}",
        served_dir=relocated / "models" / "served",
        mlflow_tracking_uri=f"sqlite:///{relocated / 'models' / 'mlflow.db'}",
        poll_seconds=0,
        gc_freeze=False,
    )
    services = build_services(settings)
    results = {r.task: r for r in services.models.reload()}
    assert results[Task.LEADS].outcome == "loaded", results[Task.LEADS].error
    assert results[Task.CHURN].outcome == "no_champion"
    assert services.models.current(Task.LEADS).source == "registry"  # type: ignore[union-attr]


def test_training_refuses_a_copied_store_naming_both_places(
    tmp_path: Path, trained: dict[Task, tuple[Path, dict[str, str]]]
) -> None:
    original, copy = tmp_path / "original", tmp_path / "copy"
    _train_leads_champion(original / "models", trained[Task.LEADS])
    shutil.copytree(original, copy)
    tracking = resolve_tracking(models_dir=copy / "models", environ={})
    with pytest.raises(MovedStore) as refused:
        connect(tracking)
    message = str(refused.value)
    assert str(copy / "models" / "mlflow.db") in message
    assert (original / "models" / "mlartifacts").as_uri() in message
    assert (copy / "models" / "mlartifacts").as_uri() in message
    assert "\n" not in message
