"""A deployment with one task's champion only: ready, reported per task, a clear 503 otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import create_app
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys

NO_CHURN = "no version of salesradar-churn is aliased 'champion'"
CUSTOMER = {"customer_id": "C", "created_at": "2025-01-01", "owner_id": "o"}


def _leads_only(trained: dict) -> FolderChampions:
    champions = FolderChampions()
    folder, sha256 = trained[Task.LEADS]
    champions.publish(Task.LEADS, "1", folder, sha256)
    return champions


def test_one_champion_is_ready_and_each_task_says_what_it_serves(
    tmp_path: Path, trained: dict
) -> None:
    services = build_test_services(tmp_path, _leads_only(trained))
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "registry": "ok",
            "models": {"leads": "1", "churn": None},
            "tasks": {
                "leads": {"state": "serving", "version": "1", "detail": None, "error": None},
                "churn": {
                    "state": "no_champion",
                    "version": None,
                    "detail": f"no churn model is served: {NO_CHURN}",
                    "error": None,
                },
            },
        }
        body = client.get("/v1/models", headers=auth(keys["crm"])).json()
        assert [m["task"] for m in body["models"]] == ["leads"]
        assert body["tasks"]["churn"]["state"] == "no_champion" and body["errors"] == {}

        response = client.post(
            "/v1/customers/score", json={"customers": [CUSTOMER]}, headers=auth(keys["crm"])
        )
        assert response.status_code == 503
        assert response.json() == {
            "detail": [
                {
                    "field": "",
                    "message": f"no churn model is served: {NO_CHURN}",
                    "type": "not_ready",
                }
            ]
        }
        reload = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
        assert reload.status_code == 200  # a task without a champion is not a failed reload
        outcomes = {r["task"]: r["outcome"] for r in reload.json()["results"]}
        assert outcomes == {"leads": "unchanged", "churn": "no_champion"}


def test_a_champion_that_cannot_load_keeps_the_service_not_ready(
    tmp_path: Path, trained: dict
) -> None:
    champions = _leads_only(trained)
    folder, sha256 = trained[Task.CHURN]
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "model.skops").write_bytes(b"not a model")
    champions.publish(Task.CHURN, "1", broken, sha256)
    services = build_test_services(tmp_path, champions)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        churn = ready.json()["tasks"]["churn"]
        assert churn["state"] == "failed"
        assert churn["detail"].startswith(
            "the churn champion could not be loaded: salesradar-churn v1: "
        )


def test_registry_down_serves_the_one_local_copy_there_is(tmp_path: Path, trained: dict) -> None:
    champions = _leads_only(trained)
    build_test_services(tmp_path, champions).models.reload()  # a verified copy of leads only
    champions.down = True
    services = build_test_services(tmp_path, champions)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["registry"] == "degraded"
        assert {t: s["state"] for t, s in ready.json()["tasks"].items()} == {
            "leads": "serving",
            "churn": "unknown",
        }
