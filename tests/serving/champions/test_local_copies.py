"""Local copies: failed versions leave none, a corrupt copy is found on the next reload (and
repaired while the registry answers), a version without hashes is named unverifiable."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from features.contract.tasks import TASK_TABLES, Task
from features.model import artifact_contract
from features.model.artifact_contract import file_sha256
from serving.champions.source import ChampionRef, MlflowChampionSource, UnverifiableVersion
from tests.serving.appkit import FolderChampions, build_test_services


def test_a_version_that_fails_to_load_leaves_no_copy(
    tmp_path: Path, champions: FolderChampions, trained: dict
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    folder, sha256 = trained[Task.LEADS]
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "model.json").write_text("{}")  # a manifest that cannot load, hashed as it is
    champions.publish(
        Task.LEADS, "2", broken, {**sha256, "model.json": file_sha256(broken / "model.json")}
    )
    results = services.models.reload()
    assert results[0].outcome == "failed" and results[0].version == "1"
    leads = tmp_path / "served" / "leads"
    assert sorted(p.name for p in leads.iterdir()) == ["current.json", "v1"]


def test_a_corrupt_copy_is_found_on_the_next_reload_and_downloaded_again(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    estimator = tmp_path / "served" / "leads" / "v1" / "model.skops"
    good = estimator.read_bytes()
    estimator.write_bytes(b"bit rot")
    results = services.models.reload()  # what the poller runs
    assert [r.outcome for r in results] == ["unchanged", "unchanged"]
    assert estimator.read_bytes() == good
    assert services.models.copy_problems == {}


def test_a_corrupt_copy_is_reported_while_the_registry_is_down(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    (tmp_path / "served" / "churn" / "v1" / "model.skops").write_bytes(b"bit rot")
    champions.down = True
    services.models.reload()
    assert services.models.current(Task.CHURN) is not None  # the loaded model keeps serving
    problem = services.models.copy_problems[Task.CHURN]
    assert problem.startswith("local copy of churn: ") and "model.skops: sha256" in problem
    assert Task.LEADS not in services.models.copy_problems


def test_a_version_without_recorded_hashes_is_unverifiable_not_a_degraded_registry(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    answer = champions.resolve
    name = TASK_TABLES[Task.LEADS].model_name
    message = f"{name} v2 is an unverifiable version: no artifact sha256 is recorded"

    def resolve(task: Task) -> ChampionRef:
        if task is Task.LEADS:
            raise UnverifiableVersion(message)
        return answer(task)

    champions.resolve = resolve  # type: ignore[method-assign]
    results = services.models.reload()
    assert (results[0].outcome, results[0].version, results[0].error) == ("failed", "1", message)
    assert services.models.registry_state == "ok"
    assert services.models.public_errors[Task.LEADS] == message


def test_the_mlflow_source_names_a_version_without_hashes_unverifiable(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = TASK_TABLES[Task.LEADS].model_name
    client.create_registered_model(name)
    version = client.create_model_version(name, source=(tmp_path / "model").as_uri())
    client.set_registered_model_alias(name, "champion", version.version)
    source = MlflowChampionSource(tracking_uri=uri, alias="champion", timeout=60)
    with pytest.raises(UnverifiableVersion, match=f"{name} v1 is an unverifiable version"):
        source.resolve(Task.LEADS)


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every file hashed from now on, as ``<folder>/<file>`` -> times."""
    hashed: Counter[str] = Counter()
    real = artifact_contract.file_sha256

    def counting(path: Path) -> str:
        hashed[f"{path.parent.name}/{path.name}"] += 1
        return real(path)

    monkeypatch.setattr(artifact_contract, "file_sha256", counting)
    return hashed


def test_a_download_hashes_each_file_once_for_its_copy_and_once_for_the_load(
    tmp_path: Path, champions: FolderChampions, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = _count_hashes(monkeypatch)
    build_test_services(tmp_path, champions).models.reload()
    both_tasks = len(Task)
    assert hashed == {
        "v1.staging/model.json": both_tasks,  # the copy kept, before it replaces anything
        "v1.staging/model.skops": both_tasks,
        "v1/model.json": both_tasks,  # the load, before parsing
        "v1/model.skops": both_tasks,
    }


def test_a_load_from_the_local_copy_hashes_each_file_once(
    tmp_path: Path, champions: FolderChampions, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_test_services(tmp_path, champions).models.reload()
    champions.down = True
    hashed = _count_hashes(monkeypatch)
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    assert services.models.current(Task.LEADS) is not None
    assert hashed == {"v1/model.json": len(Task), "v1/model.skops": len(Task)}
