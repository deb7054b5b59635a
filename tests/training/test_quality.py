"""The issue's quality bar on the default synthetic CRM (slow: generates and trains both tasks).

On the temporal test set of each task: ROC AUC within 0.03 of the ground truth's (the
generator's true probabilities on the same rows), ECE <= 0.03, top-decile lift >= 85% of the
ground truth's, and the model beats each naive baseline. Everything runs through the CLI into a
tmp MLflow store; the champion is then read back from the registry as serving would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from typer.testing import CliRunner

from features.cli.commands.generate import DEFAULT_CUSTOMERS, DEFAULT_LEADS, DEFAULT_MONTHS
from features.cli.root import build_app
from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import CHAMPION
from features.synthetic import DEFAULT_AS_OF, generate_crm
from training.groundtruth import compare_champion_to_truth
from training.tracking import connect, resolve_tracking


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("quality")
    generate_crm(
        root / "crm",
        leads=DEFAULT_LEADS,
        customers=DEFAULT_CUSTOMERS,
        seed=7,
        as_of=DEFAULT_AS_OF,
        months=DEFAULT_MONTHS,
    )
    runner = CliRunner()
    for task in Task:
        result = runner.invoke(
            build_app(),
            [
                "train",
                task.value,
                "--data",
                str(root / "crm"),
                "--as-of",
                DEFAULT_AS_OF.isoformat(),
                "--seed",
                "7",
                "--promote",
                "--models-dir",
                str(root / "models"),
            ],
            env={"COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.output
        assert "promoted to champion" in result.output, result.output
    yield root
    mlflow.set_tracking_uri(None)


@pytest.mark.slow
@pytest.mark.parametrize("task", list(Task))
def test_quality_bar_against_ground_truth(workspace: Path, task: Task) -> None:
    client = connect(resolve_tracking(models_dir=workspace / "models", environ={}))
    result = compare_champion_to_truth(
        client, task=task, export_dir=workspace / "crm", workdir=workspace
    )
    figures = result.summary()
    assert result.positives > 0, figures
    assert abs(result.auc_gap) <= 0.03, figures
    assert result.ece <= 0.03, figures
    assert result.lift >= 0.85 * result.true_lift, figures
    assert len(result.baseline_roc_auc) == 2, figures
    assert all(result.roc_auc > v for v in result.baseline_roc_auc.values()), figures
    champion = client.get_model_version_by_alias(TASK_TABLES[task].model_name, CHAMPION)
    assert np.isclose(client.get_run(champion.run_id).data.metrics["test.roc_auc"], result.roc_auc)
