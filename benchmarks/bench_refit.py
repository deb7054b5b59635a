"""Backtest of the shipped model: evaluated-only (the old way) vs refit on every labelled cutoff.

    python -m benchmarks.bench_refit [--data DIR] [--as-of 2026-10-01] [--seed 7] [--origins 3]

For each of the last ``--origins`` labelled cutoffs L of the default CRM (90-day horizon,
monthly cutoffs), training is replayed as of L: only cutoffs whose label window closed by L are
used. From that one ``train_task`` run come both models — the evaluated one (trees on the train
cutoffs, calibration on the calibration cutoff; what shipped before) and the refit one (trees on
every cutoff, calibration cross-fitted; what ships now) — and both score L, which neither saw.
Prints ROC AUC, ECE and Brier of each per task and origin, and their means.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime
from pathlib import Path

from features.contract.tasks import DEFAULT_HORIZON, Task

METRICS = ("roc_auc", "ece", "brier")


def _backtest(data: Path, task: Task, as_of: datetime, seed: int, origins: int) -> list[dict]:
    from features.contract.loading import load_export
    from training.config import load_config
    from training.data import build_task_training_set, choose_cutoffs, learn_task_vocabulary
    from training.evaluation import rows_at
    from training.metrics import probability_metrics
    from training.trainer import LeakageResult, train_task

    shipped = load_config()
    # One backtest origin: the rolling-origin table is not what is compared here.
    config = dataclasses.replace(
        shipped, split=dataclasses.replace(shipped.split, backtest_origins=1, refit_on_all=True)
    )
    export = load_export(data, as_of=as_of)
    try:
        cutoffs = choose_cutoffs(
            export, task=task, horizon=DEFAULT_HORIZON, as_of=as_of, requested=None
        )
        # One vocabulary for both models compared (learnt as of the run's as-of).
        vocabulary = learn_task_vocabulary(
            export, task=task, as_of=as_of, settings=config.vocabulary
        )
        training_set = build_task_training_set(
            export, task=task, horizon=DEFAULT_HORIZON, cutoffs=cutoffs, vocabulary=vocabulary
        )
    finally:
        export.close()
    frame = training_set.frame
    rows = []
    for held_out in cutoffs[-origins:]:
        known = [c for c in cutoffs if c + DEFAULT_HORIZON <= held_out]
        trained = train_task(
            rows_at(frame, known),
            training_set.specs,
            task=task,
            vocabulary=vocabulary,
            horizon=DEFAULT_HORIZON,
            config=config,
            seed=seed,
            leakage=LeakageResult(()),
        )
        test = rows_at(frame, [held_out])
        labels = test["label"].to_numpy(dtype="int64")
        values = test["value"].to_numpy(dtype="float64")
        row: dict[str, object] = {"task": str(task), "held_out": held_out, "rows": len(test)}
        for name, model in (("evaluated", trained.evaluated), ("refit", trained.model)):
            metrics = probability_metrics(
                labels,
                model.predict_proba(test),  # type: ignore[union-attr]
                values,
                capacity=config.evaluation.capacity[task],
                ece_bins=config.evaluation.ece_bins,
            )
            row.update({f"{name}.{m}": metrics[m] for m in METRICS})
        row["evaluated_cutoffs"] = (
            f"{trained.split.train[0]:%Y-%m}..{trained.split.calibration[-1]:%Y-%m}"
        )
        row["refit_cutoffs"] = f"{known[0]:%Y-%m}..{known[-1]:%Y-%m}"
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(row: dict) -> str:
    cells = [f"{row['task']:<6}", f"{row['held_out']:%Y-%m-%d}", f"{row['rows']:>6,}"]
    for name in ("evaluated", "refit"):
        cells += [f"{row[f'{name}.{m}']:.4f}" for m in METRICS]
    cells += [str(row["evaluated_cutoffs"]), str(row["refit_cutoffs"])]
    return " | ".join(cells)


def main() -> None:
    from benchmarks.bench_training import default_crm, parser_for

    parser = parser_for(__doc__)
    parser.add_argument("--origins", type=int, default=3, help="held-out cutoffs per task")
    args = parser.parse_args()
    as_of = datetime.fromisoformat(args.as_of)
    with tempfile.TemporaryDirectory() as tmp:
        data = default_crm(args, Path(tmp))
        header = ["task", "held out", "rows"]
        header += [f"{n} {m}" for n in ("evaluated", "refit") for m in METRICS]
        print(" | ".join([*header, "evaluated fit..calibration", "refit cutoffs"]))
        rows = []
        for task in Task:
            rows += _backtest(data, task, as_of, args.seed, args.origins)
    for task in Task:
        mine = [r for r in rows if r["task"] == str(task)]
        means = {
            key: sum(float(r[key]) for r in mine) / len(mine)  # type: ignore[arg-type]
            for key in (f"{n}.{m}" for n in ("evaluated", "refit") for m in METRICS)
        }
        print(
            f"{task} mean over {len(mine)} held-out cutoffs: "
            + ", ".join(
                f"{m} evaluated {means[f'evaluated.{m}']:.4f} vs refit {means[f'refit.{m}']:.4f}"
                for m in METRICS
            )
        )


if __name__ == "__main__":
    main()
