"""How close a champion comes to the simulator's ground truth on its own temporal test set.

Only for generated CRMs (``features.synthetic`` writes ``ground_truth/``). Used by the quality-bar
test and by ``make quality-report``; training itself never reads the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import CHAMPION
from training.metrics import expected_calibration_error, top_decile_lift
from training.promotion import load_tested
from training.tracking import TEST_FRAME_ARTIFACT

TRUTH_FILES = {Task.LEADS: "leads.parquet", Task.CHURN: "customers.parquet"}


@dataclass(frozen=True)
class GroundTruthComparison:
    task: Task
    rows: int
    positives: int
    roc_auc: float
    true_roc_auc: float
    ece: float
    lift: float
    true_lift: float
    baseline_roc_auc: dict[str, float]  # naive baselines logged on the same run

    @property
    def auc_gap(self) -> float:
        return self.true_roc_auc - self.roc_auc

    @property
    def lift_share(self) -> float:
        return self.lift / self.true_lift

    def summary(self) -> str:
        baselines = ", ".join(f"{k} {v:.3f}" for k, v in sorted(self.baseline_roc_auc.items()))
        return (
            f"{self.task}: {self.rows:,} test rows ({self.positives:,} positive); ROC AUC "
            f"{self.roc_auc:.3f} vs ground truth {self.true_roc_auc:.3f} (gap {self.auc_gap:.3f}); "
            f"ECE {self.ece:.3f}; top-decile lift {self.lift:.2f} vs {self.true_lift:.2f} "
            f"({self.lift_share:.0%}); naive baselines {baselines}"
        )


def compare_champion_to_truth(
    client: MlflowClient, *, task: Task, export_dir: Path, workdir: Path
) -> GroundTruthComparison:
    """Score the champion's logged test frame and compare it with the generator's probabilities.

    The champion's *evaluated* model scores it: with ``[split] refit_on_all`` the shipped one
    has seen the test cutoffs, so its scores there would be in-sample.
    """
    champion = client.get_model_version_by_alias(TASK_TABLES[task].model_name, CHAMPION)
    model = load_tested(client, champion, workdir / f"tested-{task}")
    test = pd.read_parquet(
        client.download_artifacts(champion.run_id, TEST_FRAME_ARTIFACT, str(workdir / task))
    )
    truth = pd.read_parquet(export_dir / "ground_truth" / TRUTH_FILES[task])
    rows = test.merge(truth, on=["entity_id", "cutoff"], how="left", validate="one_to_one")
    if rows["probability"].isna().any():
        raise ValueError(f"{task}: some test rows have no ground-truth probability")
    labels = rows["label"].to_numpy()
    proba = model.predict_proba(rows)
    true_proba = rows["probability"].to_numpy()
    metrics = client.get_run(champion.run_id).data.metrics
    return GroundTruthComparison(
        task=task,
        rows=len(rows),
        positives=int(labels.sum()),
        roc_auc=float(roc_auc_score(labels, proba)),
        true_roc_auc=float(roc_auc_score(labels, true_proba)),
        ece=float(expected_calibration_error(labels, proba, bins=10)),
        lift=float(top_decile_lift(labels, proba)),
        true_lift=float(top_decile_lift(labels, true_proba)),
        baseline_roc_auc={
            k.removeprefix("baseline."): v
            for k, v in metrics.items()
            if k.startswith("baseline.") and "roc_auc" in k
        },
    )
