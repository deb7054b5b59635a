"""A lead-only and a customer-only export go validate -> train -> score -> serve, no config edited.

The exports are a small generated CRM with one half's files deleted (leads only) or emptied to
their header (customers only), so both ways of leaving a half out are exercised.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from features.cli.root import build_app
from features.contract.tasks import TASK_TABLES, Task
from features.synthetic import DEFAULT_AS_OF, generate_crm
from serving.api.app import create_app
from serving.settings import Settings
from serving.wiring import build_services
from tests.serving.appkit import auth

AS_OF = DEFAULT_AS_OF.isoformat()
ROUTES = {Task.LEADS: "leads", Task.CHURN: "customers"}


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm") / "export"
    generate_crm(out, leads=1500, customers=600, seed=5, as_of=DEFAULT_AS_OF, months=12, fmt="csv")
    return out


def _one_half(crm: Path, folder: Path, *, keep: Task, variant: str) -> Path:
    """Copy ``crm`` without the other task's tables: ``absent`` deletes them, ``empty`` keeps
    only their header."""
    shutil.copytree(crm, folder, ignore=shutil.ignore_patterns("ground_truth"))
    other = TASK_TABLES[Task.CHURN if keep is Task.LEADS else Task.LEADS]
    for table in (other.entity_table, other.events_table):
        path = folder / f"{table}.csv"
        if variant == "absent":
            path.unlink()
        else:
            header = path.read_text(encoding="utf-8").splitlines()[0]
            path.write_text(header + "\n", encoding="utf-8")
    return folder


def _run(*args: str) -> Result:
    return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "200"})


@pytest.mark.slow
@pytest.mark.parametrize(("task", "variant"), [(Task.LEADS, "absent"), (Task.CHURN, "empty")])
def test_one_half_validates_trains_scores_and_serves(
    crm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: Task, variant: str
) -> None:
    other = Task.CHURN if task is Task.LEADS else Task.LEADS
    mine, theirs = TASK_TABLES[task], TASK_TABLES[other]
    data = _one_half(crm, tmp_path / "export", keep=task, variant=variant)
    tracking = f"sqlite:///{tmp_path / 'models' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'scores.db'}")
    monkeypatch.setenv("SALESRADAR_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("SALESRADAR_REGISTRY_TIMEOUT_SECONDS", "120")
    monkeypatch.setenv("SALESRADAR_POLL_SECONDS", "0")
    monkeypatch.setenv("SALESRADAR_GC_FREEZE", "false")

    validated = _run("validate", str(data), "--as-of", AS_OF)
    assert validated.exit_code == 0, validated.output
    coverage = next(line for line in validated.stdout.splitlines() if line.startswith("tasks: "))
    gone = f"{theirs.entity_table} and {theirs.events_table} {variant}"
    assert f"{other.value} not in this export ({gone})" in coverage
    assert f"{task.value} (" in coverage

    refused = _run("train", other.value, "--data", str(data), "--as-of", AS_OF)
    assert refused.exit_code == 2
    assert refused.output == (
        f"error: {other.value}: the export has no rows in {theirs.entity_table} and "
        f"{theirs.events_table} ({data}); it holds data for: {task.value}\n"
    )

    trained = _run("train", task.value, "--data", str(data), "--as-of", AS_OF, "--promote")
    assert trained.exit_code == 0, trained.output
    assert "promoted to champion" in trained.output

    scored = _run("score", "--data", str(data), "--as-of", AS_OF)
    assert scored.exit_code == 0, scored.output
    no_model = f"no {other.value} model is served: no model named {theirs.model_name} is registered"
    assert f"scoring {task.value}; skipped {other.value} ({no_model})" in scored.stdout
    asked = _run("score", "--data", str(data), "--as-of", AS_OF, "--task", other.value)
    assert asked.exit_code == 2
    assert asked.output == f"error: cannot score {other.value}: {no_model}\n"

    started = _run("keys", "quickstart", "--data", str(data), "--as-of", AS_OF)
    assert started.exit_code == 0, started.output
    keys = dict(line.split()[:2] for line in started.stdout.splitlines() if " sr_" in line)
    payload_file = tmp_path / f"quickstart-{'lead' if task is Task.LEADS else 'customer'}.json"
    payload = json.loads(payload_file.read_text(encoding="utf-8"))
    entity_id = payload[ROUTES[task]][0][mine.key]

    # The first load runs in the background; let startup wait for it before the reads below.
    with TestClient(create_app(build_services(Settings(startup_wait_seconds=120)))) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert {name: s["state"] for name, s in ready.json()["tasks"].items()} == {
            task.value: "serving",
            other.value: "no_champion",
        }
        models = client.get("/v1/models", headers=auth(keys["admin"])).json()
        assert [m["task"] for m in models["models"]] == [task.value]
        response = client.post(f"/v1/{ROUTES[task]}/score", json=payload, headers=auth(keys["crm"]))
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["status"] == "scored"
        stored = client.get(f"/v1/{ROUTES[task]}/{entity_id}", headers=auth(keys["crm"]))
        assert stored.status_code == 200, stored.text
        theirs_id = theirs.key
        body = {ROUTES[other]: [{theirs_id: "x", "created_at": "2026-01-01", "owner_id": "o"}]}
        refused_route = client.post(
            f"/v1/{ROUTES[other]}/score", json=body, headers=auth(keys["crm"])
        )
        assert refused_route.status_code == 503
        assert refused_route.json()["detail"][0]["message"] == no_model
