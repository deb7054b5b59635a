"""Print how close the champions come to the generator's ground truth (after ``make run``).

Reads the embedded MLflow store under ``models/`` and the default generated CRM; prints, per task,
the champion's ROC AUC, ECE and top-decile lift on its temporal test set beside the ground truth's
and the naive baselines'.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from features.contract.tasks import Task
from training.groundtruth import compare_champion_to_truth
from training.tracking import connect, resolve_tracking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/generated/default"))
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    args = parser.parse_args()
    client = connect(resolve_tracking(models_dir=args.models_dir, environ={}))
    with tempfile.TemporaryDirectory() as tmp:
        for task in Task:
            result = compare_champion_to_truth(
                client, task=task, export_dir=args.data, workdir=Path(tmp)
            )
            print(result.summary())


if __name__ == "__main__":
    main()
