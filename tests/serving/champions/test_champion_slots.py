"""A verified champion must also fit its slot: task, vocabulary, input columns, format version."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from features.model.artifact_contract import file_sha256
from features.model.scoring_model import MANIFEST_FILE, ModelFeature, ScoringModel
from serving.api.app import create_app
from serving.champions.compatibility import SlotMismatch, check_model_fits
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys

CHURN_AS_LEADS = "salesradar-leads v2 is a churn model; this slot serves leads"


def _publish_churn_as_leads(champions: FolderChampions, trained: dict) -> None:
    folder, sha256 = trained[Task.CHURN]  # correct hashes: verification alone passes
    champions.publish(Task.LEADS, "2", folder, sha256)


def test_a_churn_model_filed_as_the_leads_champion_is_refused_and_v1_keeps_serving(
    client: TestClient, keys: dict[str, str], champions: FolderChampions, trained: dict
) -> None:
    _publish_churn_as_leads(champions, trained)
    response = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert response.status_code == 502
    leads = next(r for r in response.json()["results"] if r["task"] == "leads")
    assert leads["outcome"] == "failed" and leads["version"] == "1"
    assert leads["error"] == f"salesradar-leads v2: {CHURN_AS_LEADS}"

    ready = client.get("/health/ready").json()
    assert ready["models"]["leads"] == "1"
    assert ready["tasks"]["leads"] == {
        "state": "serving",
        "version": "1",
        "detail": None,
        "error": CHURN_AS_LEADS,
    }
    body = client.get("/v1/models", headers=auth(keys["crm"])).json()
    assert {m["task"]: m["version"] for m in body["models"]}["leads"] == "1"
    assert body["errors"]["leads"] == f"salesradar-leads v2: {CHURN_AS_LEADS}"
    assert body["tasks"]["leads"]["error"] == f"salesradar-leads v2: {CHURN_AS_LEADS}"


def test_a_wrong_task_champion_at_startup_is_not_served(tmp_path: Path, trained: dict) -> None:
    champions = FolderChampions()
    _publish_churn_as_leads(champions, trained)
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["tasks"]["leads"]["state"] == "failed"
        assert ready.json()["tasks"]["leads"]["detail"] == (
            f"the leads champion could not be loaded: {CHURN_AS_LEADS}"
        )
        lead = {"lead_id": "L", "created_at": "2025-01-01", "owner_id": "o"}
        scored = client.post("/v1/leads/score", json={"leads": [lead]}, headers=auth(keys["crm"]))
        assert scored.status_code == 503
    # The refused version leaves no copy behind.
    assert not (tmp_path / "served" / "leads" / "v2").exists()


def _load(trained: dict, task: Task) -> ScoringModel:
    folder, sha256 = trained[task]
    return ScoringModel.load(folder, expected_sha256=sha256)


def test_each_part_of_the_slot_check(trained: dict) -> None:
    leads, churn = _load(trained, Task.LEADS), _load(trained, Task.CHURN)
    check_model_fits(Task.LEADS, leads, name="salesradar-leads", version="1")
    check_model_fits(Task.CHURN, churn, name="salesradar-churn", version="1")

    relabelled = dataclasses.replace(churn, task=Task.LEADS)  # a manifest that lies about its task
    with pytest.raises(SlotMismatch, match="ships a churn event vocabulary, not a leads one"):
        check_model_fits(Task.LEADS, relabelled, name="salesradar-leads", version="3")

    extra = ModelFeature("days_overdue_vs_purchase_cadence", "numeric", "x", "cadence", "days")
    listed = dataclasses.replace(leads, feature_specs=(*leads.feature_specs, extra))
    with pytest.raises(SlotMismatch, match=r"not read: \['days_overdue_vs_purchase_cadence'\]"):
        check_model_fits(Task.LEADS, listed, name="salesradar-leads", version="4")

    # Columns the estimator reads, but the leads slot does not compute from events.
    first = leads.feature_specs[0]
    foreign = dataclasses.replace(first, name="customer_tenure_days")
    renamed = dataclasses.replace(leads, feature_specs=(foreign, *leads.feature_specs[1:]))
    renamed.pipeline.named_steps["encode"].feature_names_in_ = list(renamed.feature_names)
    with pytest.raises(SlotMismatch, match="reads numeric feature 'customer_tenure_days'"):
        check_model_fits(Task.LEADS, renamed, name="salesradar-leads", version="5")


def test_an_older_format_version_is_refused_with_its_reason(
    client: TestClient, keys: dict[str, str], champions: FolderChampions, trained: dict, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    folder, sha256 = trained[Task.LEADS]
    old = tmp_path / "old-format"
    shutil.copytree(folder, old)
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    manifest["format_version"] = 2
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    champions.publish(
        Task.LEADS, "2", old, {**sha256, MANIFEST_FILE: file_sha256(old / MANIFEST_FILE)}
    )
    response = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert response.status_code == 502
    leads = next(r for r in response.json()["results"] if r["task"] == "leads")
    assert leads["version"] == "1" and "format_version 2, expected one of 3, 4" in leads["error"]
