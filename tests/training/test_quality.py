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
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from features.cli import build_app
from features.commands.generate import DEFAULT_CUSTOMERS, DEFAULT_LEADS, DEFAULT_MONTHS
from features.synthetic import DEFAULT_AS_OF, generate_crm
from features.tasks import TASK_TABLES, Task
from training.metrics import expected_calibration_error, top_decile_lift
from training.promotion import load_version
from training.tracking import CHAMPION, TEST_FRAME_ARTIFACT, connect, resolve_tracking

TRUTH_FILES = {Task.LEADS: "leads.parquet", Task.CHURN: "customers.parquet"}


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
    champion = client.get_model_version_by_alias(TASK_TABLES[task].model_name, CHAMPION)
    model = load_version(client, champion, workspace / f"served-{task}")
    test = pd.read_parquet(
        client.download_artifacts(champion.run_id, TEST_FRAME_ARTIFACT, str(workspace / task))
    )
    truth = pd.read_parquet(workspace / "crm" / "ground_truth" / TRUTH_FILES[task])
    rows = test.merge(truth, on=["entity_id", "cutoff"], how="left", validate="one_to_one")
    assert rows["probability"].notna().all(), "every test row has a ground-truth probability"
    labels = rows["label"].to_numpy()
    proba = model.predict_proba(rows)
    true_proba = rows["probability"].to_numpy()

    auc, true_auc = roc_auc_score(labels, proba), roc_auc_score(labels, true_proba)
    lift, true_lift = top_decile_lift(labels, proba), top_decile_lift(labels, true_proba)
    ece = expected_calibration_error(labels, proba, bins=10)
    figures = f"{task}: AUC {auc:.3f} vs truth {true_auc:.3f}, lift {lift:.2f} vs {true_lift:.2f}"
    assert abs(auc - true_auc) <= 0.03, figures
    assert ece <= 0.03, f"{figures}, ECE {ece:.3f}"
    assert lift >= 0.85 * true_lift, figures
    metrics = client.get_run(champion.run_id).data.metrics
    baselines = {k: v for k, v in metrics.items() if k.startswith("baseline.") and "roc_auc" in k}
    assert len(baselines) == 2
    assert all(auc > v for v in baselines.values()), (figures, baselines)
    assert np.isclose(metrics["test.roc_auc"], auc)
