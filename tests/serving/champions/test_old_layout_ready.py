"""``/health/ready`` says in one line why a champion saved before the package layout changed
(issue 12) is not served, and what to do, without the file's path."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from features.contract.tasks import Task
from features.model.artifact_contract import file_sha256
from features.model.scoring_model import ESTIMATOR_FILE, MANIFEST_FILE
from serving.api.app import create_app
from tests.features.oldlayout import save_as_before_the_layout
from tests.serving.appkit import FolderChampions, build_test_services

RETRAIN = (
    "salesradar-churn v1: this model was saved by salesradar before the package layout changed;"
    " retrain it (salesradar train ... --promote)"
)


def test_ready_names_an_old_layout_champion_and_what_to_do(
    tmp_path: Path, trained: dict[Task, tuple[Path, dict[str, str]]]
) -> None:
    folder, _ = trained[Task.CHURN]
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(folder / MANIFEST_FILE, old / MANIFEST_FILE)
    assert save_as_before_the_layout(folder / ESTIMATOR_FILE, old / ESTIMATOR_FILE)
    # Registered with its own hashes: only the layout check can refuse it.
    hashes = {name: file_sha256(old / name) for name in (ESTIMATOR_FILE, MANIFEST_FILE)}
    champions = FolderChampions()
    champions.publish(Task.CHURN, "1", old, hashes)
    services = build_test_services(tmp_path / "service", champions)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    churn = ready.json()["tasks"]["churn"]
    assert churn["error"] == RETRAIN
    assert churn["detail"] == f"the churn champion could not be loaded: {RETRAIN}"
    assert str(tmp_path) not in ready.text
    # Logs and admin views keep the full message, which names the file.
    assert services.models.last_errors[Task.CHURN].endswith(
        f"{ESTIMATOR_FILE}: {RETRAIN.split(': ', 1)[1]}"
    )
