"""Champion loading, verified local copies, degraded registry, hot swap, serialized reloads."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import create_app
from serving.api.services import Services
from serving.champions.lifecycle import ChampionPoller
from serving.champions.source import ChampionRef, RegistryUnavailable, call_with_timeout
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys


def test_startup_serves_verified_champions(
    client: TestClient, keys: dict[str, str], trained: dict
) -> None:
    assert client.get("/health/ready").status_code == 200
    body = client.get("/v1/models", headers=auth(keys["crm"])).json()
    assert body["registry"] == "ok"
    by_task = {m["task"]: m for m in body["models"]}
    assert by_task["leads"]["version"] == "1" and by_task["leads"]["source"] == "registry"
    assert by_task["churn"]["artifact_sha256"] == trained[Task.CHURN][1]
    assert by_task["churn"]["metrics"] == {"test_auc": 0.81}
    metrics = client.get("/metrics", headers=auth(keys["crm"])).text
    assert (
        'salesradar_model_info{name="salesradar-leads",source="registry",'
        'task="leads",version="1"} 1.0' in metrics
    )


def test_unreachable_registry_serves_the_local_copy(
    tmp_path: Path, champions: FolderChampions
) -> None:
    first = build_test_services(tmp_path, champions)
    first.models.reload()  # leaves verified copies under served/
    champions.down = True
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["registry"] == "degraded"
        body = client.get("/v1/models", headers=auth(keys["admin"])).json()
        assert body["registry"] == "degraded"
        assert {m["source"] for m in body["models"]} == {"local-copy"}
        assert "connection refused" in body["errors"]["leads"]


def test_no_registry_and_no_copy_is_not_ready(tmp_path: Path, champions: FolderChampions) -> None:
    champions.down = True
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        assert client.get("/health/ready").status_code == 503
        assert client.get("/health/live").status_code == 200
        body = {"leads": [{"lead_id": "L", "created_at": "2025-01-01", "owner_id": "o"}]}
        response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
        assert response.status_code == 503


def test_tampered_local_copy_is_refused(tmp_path: Path, champions: FolderChampions) -> None:
    build_test_services(tmp_path, champions).models.reload()
    manifest = next((tmp_path / "served" / "leads" / "v1").glob("model.json"))
    manifest.write_text(manifest.read_text() + " ")
    champions.down = True
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    assert services.models.current(Task.LEADS) is None
    assert "sha256" in services.models.last_errors[Task.LEADS]
    assert services.models.current(Task.CHURN) is not None


def _publish_v2(
    champions: FolderChampions, trained: dict, tmp_path: Path, *, corrupt: bool
) -> None:
    folder, sha256 = trained[Task.LEADS]
    copy = tmp_path / "v2"
    shutil.copytree(folder, copy)
    if corrupt:
        (copy / "model.skops").write_bytes(b"not a model")
    champions.publish(Task.LEADS, "2", copy, sha256)


def test_reload_swaps_to_a_new_champion(
    client: TestClient,
    keys: dict[str, str],
    champions: FolderChampions,
    trained: dict,
    tmp_path: Path,
) -> None:
    _publish_v2(champions, trained, tmp_path, corrupt=False)
    response = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert response.status_code == 200, response.text
    results = {r["task"]: r for r in response.json()["results"]}
    assert results["leads"] == {
        "task": "leads",
        "outcome": "loaded",
        "version": "2",
        "previous_version": "1",
        "error": None,
    }
    assert results["churn"]["outcome"] == "unchanged"
    models = client.get("/v1/models", headers=auth(keys["crm"])).json()["models"]
    assert {m["task"]: m["version"] for m in models} == {"leads": "2", "churn": "1"}


def test_corrupt_champion_keeps_the_old_model(
    client: TestClient,
    keys: dict[str, str],
    champions: FolderChampions,
    trained: dict,
    services: Services,
    tmp_path: Path,
) -> None:
    _publish_v2(champions, trained, tmp_path, corrupt=True)
    response = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert response.status_code == 502
    leads = next(r for r in response.json()["results"] if r["task"] == "leads")
    assert leads["outcome"] == "failed" and leads["version"] == "1"
    assert "sha256" in leads["error"]
    body = client.get("/v1/models", headers=auth(keys["crm"])).json()
    assert {m["task"]: m["version"] for m in body["models"]}["leads"] == "1"
    assert "v2" in body["errors"]["leads"]
    # The local copy still points at the verified v1.
    current = services.settings.served_dir / "leads" / "current.json"
    assert current.read_text().split() == ["{", '"version":', '"1"', "}"]


def test_reloads_are_serialized(tmp_path: Path, champions: FolderChampions) -> None:
    services = build_test_services(tmp_path, champions)
    active, peak = [0], [0]
    original = champions.resolve

    def slow_resolve(task: Task) -> ChampionRef:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        active[0] -= 1
        return original(task)

    champions.resolve = slow_resolve  # type: ignore[method-assign]
    threads = [threading.Thread(target=services.models.reload) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
    assert services.models.current(Task.LEADS).version == "1"  # type: ignore[union-attr]


def test_poller_picks_up_a_new_champion(
    tmp_path: Path, champions: FolderChampions, trained: dict
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    _publish_v2(champions, trained, tmp_path, corrupt=False)
    poller = ChampionPoller(services.models, interval=0.05)
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while services.models.current(Task.LEADS).version != "2":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "poller did not swap"
            time.sleep(0.05)
    finally:
        poller.stop()


def test_registry_calls_are_bounded() -> None:
    with pytest.raises(
        RegistryUnavailable,
        match=r"no answer within 0\.1 s \(a slow registry: raise "
        r"SALESRADAR_REGISTRY_TIMEOUT_SECONDS\)",
    ):
        call_with_timeout(lambda: time.sleep(5), timeout=0.1, what="resolve")
    with pytest.raises(RegistryUnavailable, match="boom"):
        call_with_timeout(
            lambda: 1 / 0 if False else (_ for _ in ()).throw(OSError("boom")),
            timeout=1,
            what="resolve",
        )


def test_a_registry_that_does_not_answer_is_named_as_such_in_the_reason(
    tmp_path: Path, champions: FolderChampions
) -> None:
    champions.down = True
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    reason = services.models.unavailable_reason(Task.CHURN)
    assert reason.startswith("no churn model is loaded: the registry did not answer (")
    assert reason.endswith("); no local copy")
    assert services.models.last_errors[Task.CHURN] in reason
