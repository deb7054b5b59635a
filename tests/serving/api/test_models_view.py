"""``GET /v1/models`` per role: reps see no file paths; CRM and admin keys get errors in full.
``/health/ready`` needs no key, so it never shows a path either."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import create_app
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys


def test_reps_see_no_paths_crm_and_admin_see_errors_in_full(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        (tmp_path / "served" / "churn" / "v1" / "model.skops").write_bytes(b"bit rot")
        champions.down = True  # so churn's copy cannot be repaired: it stays reported
        assert client.post("/v1/admin/reload", headers=auth(keys["admin"])).status_code == 502

        views = {
            name: client.get("/v1/models", headers=auth(keys[name])) for name in ("crm", "admin")
        }
        for name, view in views.items():
            assert str(tmp_path) in view.text, name  # in full: which file failed, where
            assert view.json()["local_copies"]["churn"].startswith("local copy of churn: ")
        rep = client.get("/v1/models", headers=auth(keys["rep0"]))
        assert rep.status_code == 200
        assert str(tmp_path) not in rep.text and "/served/" not in rep.text
        body = rep.json()
        assert body["errors"]["churn"] == "the registry could not be asked"
        assert body["local_copies"] == {"churn": "the local copy failed verification"}
        assert [m["version"] for m in body["models"]] == ["1", "1"]
        ready = client.get("/health/ready")
        assert str(tmp_path) not in ready.text


def test_reps_see_why_a_champion_failed_without_the_files(
    tmp_path: Path, champions: FolderChampions, trained: dict
) -> None:
    folder, sha256 = trained[Task.LEADS]
    corrupt = tmp_path / "corrupt"
    shutil.copytree(folder, corrupt)
    (corrupt / "model.skops").write_bytes(b"not a model")
    champions.publish(Task.LEADS, "1", corrupt, sha256)
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        crm = client.get("/v1/models", headers=auth(keys["crm"])).json()
        assert str(tmp_path) in crm["tasks"]["leads"]["detail"]
        rep = client.get("/v1/models", headers=auth(keys["rep1"]))
        assert str(tmp_path) not in rep.text
        assert rep.json()["tasks"]["leads"]["detail"] == (
            "the leads champion could not be loaded: salesradar-leads v1: the artifact failed "
            "verification (a file is missing, differs from its recorded sha256, or needs an "
            "untrusted type)"
        )
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and str(tmp_path) not in ready.text
