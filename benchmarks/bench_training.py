"""Time to train both models on the default synthetic CRM (issue target: <= 3 minutes, 2 cores).

    python -m benchmarks.bench_training [--data DIR] [--as-of 2026-10-01] [--seed 7]

Without ``--data`` the default CRM (the ``salesradar generate`` defaults) is generated into a
temporary folder first; its time is reported apart and not counted. Each task runs the whole
job — load and validate the export, build the training set, fit trees + logistic baseline,
calibrate, evaluate with the rolling-origin backtest, log and register in a temporary embedded
MLflow store — in a fresh process, so each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

from features.contract.tasks import DEFAULT_HORIZON, Task


def _train(
    data: Path, task: Task, as_of: datetime, seed: int, models: Path, queue: multiprocessing.Queue
) -> None:
    from training.config import load_config
    from training.jobs import run_training
    from training.tracking import resolve_tracking

    start = time.perf_counter()
    report = run_training(
        data,
        task=task,
        as_of=as_of,
        horizon=DEFAULT_HORIZON,
        cutoffs=None,
        seed=seed,
        config=load_config(),
        tracking=resolve_tracking(models_dir=models, environ={}),
        promote_after=True,
        now=as_of,
    )
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds beside wall time: on a shared machine the wall time includes waiting.
    cpu = usage.ru_utime + usage.ru_stime
    rss_mb = usage.ru_maxrss / 1024
    counts, metrics = report.trained.counts(), report.trained.evaluation.model
    queue.put((total, cpu, report.seconds, rss_mb, counts, metrics))


def _generate(out: Path, as_of: datetime, seed: int) -> float:
    from features.cli.commands.generate import DEFAULT_CUSTOMERS, DEFAULT_LEADS, DEFAULT_MONTHS
    from features.synthetic import generate_crm

    start = time.perf_counter()
    generate_crm(
        out,
        leads=DEFAULT_LEADS,
        customers=DEFAULT_CUSTOMERS,
        seed=seed,
        as_of=as_of,
        months=DEFAULT_MONTHS,
    )
    return time.perf_counter() - start


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """--data, --as-of and --seed, as every training benchmark takes them."""
    from features.synthetic import DEFAULT_AS_OF

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--data", type=Path, help="export folder (default: generate one)")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF.isoformat(), help="export time, ISO 8601")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def default_crm(args: argparse.Namespace, tmp: Path) -> Path:
    """``args.data``, or the default CRM generated into ``tmp`` (its time printed, not counted)."""
    if args.data is not None:
        return Path(args.data)
    data = tmp / "crm"
    seconds = _generate(data, datetime.fromisoformat(args.as_of), args.seed)
    print(f"generated the default CRM in {seconds:.1f} s (not counted)")
    return data


def main() -> None:
    args = parser_for(__doc__).parse_args()
    as_of = datetime.fromisoformat(args.as_of)
    with tempfile.TemporaryDirectory() as tmp:
        data = default_crm(args, Path(tmp))
        context = multiprocessing.get_context("spawn")
        grand_total = 0.0
        for task in Task:
            queue = context.Queue()
            process = context.Process(
                target=_train, args=(data, task, as_of, args.seed, Path(tmp) / "models", queue)
            )
            process.start()
            # The result is a few numbers, so joining before reading cannot block on the pipe.
            process.join()
            if process.exitcode != 0:
                raise SystemExit(f"{task}: training failed (exit code {process.exitcode})")
            total, cpu, seconds, rss_mb, counts, metrics = queue.get(timeout=10)
            grand_total += total
            steps = ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
            print(
                f"{task}: {total:.1f} s wall, {cpu:.1f} s CPU ({steps}); peak RSS {rss_mb:.0f} MB; "
                f"{counts['train_rows']:,} train / {counts['test_rows']:,} test rows; "
                f"test ROC AUC {metrics['roc_auc']:.3f}, ECE {metrics['ece']:.3f}"
            )
        print(f"both tasks: {grand_total:.1f} s (target <= 180 s)")


if __name__ == "__main__":
    main()
