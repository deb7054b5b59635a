"""``salesradar train|promote|models`` (registered through the salesradar.commands entry point).

Heavy imports happen inside the commands so ``salesradar --help`` stays fast. The as-of time,
the config file and the MLflow store are decided here and passed down.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from features.errors import UserError, fail
from features.tasks import DEFAULT_HORIZON, Task

if TYPE_CHECKING:  # the heavy modules are imported inside the commands
    from features.snapshots import CutoffSpacing
    from training.config import TrainingConfig
    from training.plan import DataPlan
    from training.trainer import TrainedTask

DEFAULT_MODELS_DIR = Path("models")
TABLE_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "precision_at_k")

TaskArgument = Annotated[Task, typer.Argument(help="Which model: 'leads' (hot leads) or 'churn'.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Training config (TOML): hyperparameters, split, capacity, baselines, promotion "
        "rules. Default: training/config.toml.",
        show_default=False,
    ),
]
ModelsDirOption = Annotated[
    Path,
    typer.Option(
        "--models-dir",
        help="Folder of the embedded MLflow store (mlflow.db, mlartifacts/). Ignored when "
        "MLFLOW_TRACKING_URI is set.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the training commands to the root CLI."""
    app.command("train")(train)
    app.command("promote")(promote)
    app.command("models")(models)


def train(
    task: TaskArgument,
    data: Annotated[Path, typer.Option("--data", help="Export folder (one file per table).")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO 8601 time the export describes (naive = UTC); only cutoffs whose label "
            "window closed by then are used. Default: now.",
            show_default=False,
        ),
    ] = None,
    horizon: Annotated[
        str,
        typer.Option("--horizon", help="Label window after each cutoff, in days: '90d' or '90'."),
    ] = f"{DEFAULT_HORIZON.days}d",
    cutoffs: Annotated[
        str | None,
        typer.Option(
            "--cutoffs",
            help="Comma-separated ISO dates of the cutoffs to use (default: every --every "
            "across the export's history).",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        str,
        typer.Option(
            "--every",
            help="Spacing of the default cutoffs: 'Nd' (N days, 00:00 UTC), 'Nw' (N weeks) or "
            "'Nm' (N months, the 1st at 00:00 UTC).",
        ),
    ] = "1m",
    plan_only: Annotated[
        bool,
        typer.Option(
            "--plan", help="Print the data-sufficiency plan (cutoffs, counts, split) and exit."
        ),
    ] = False,
    no_test: Annotated[
        bool,
        typer.Option(
            "--no-test",
            help="Train on every labelled cutoff without a temporal test (calibration "
            "cross-fitted); such a model is never promoted automatically.",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: same data + seed = same metrics.")
    ] = 7,
    promote_after: Annotated[
        bool,
        typer.Option("--promote", help="Try to promote the new version to champion right away."),
    ] = False,
    activity_types: Annotated[
        str | None,
        typer.Option(
            "--activity-types",
            help="Churn: comma-separated event types that count as a purchase (default: the "
            "config's [vocabulary] activity_types).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    models_dir: ModelsDirOption = DEFAULT_MODELS_DIR,
) -> None:
    """Train, test on the latest labelled cutoff(s), log to MLflow, register a challenger."""
    console = Console()
    try:
        from features.moments import resolve_as_of
        from training.jobs import prepare_training, run_training

        settings = with_activity_types(_config(config), activity_types)
        window = {
            "task": task,
            "as_of": resolve_as_of(as_of, now=_now()),
            "horizon": parse_horizon(horizon),
            "cutoffs": parse_cutoffs(cutoffs),
            "every": parse_every(every),
            "no_test": no_test,
            "config": settings,
        }
        if plan_only:
            _print_plan(console, settings, prepare_training(data, **window)[1])  # type: ignore[arg-type]
            return
        report = run_training(
            data,
            **window,  # type: ignore[arg-type]
            seed=seed,
            tracking=_tracking(models_dir),
            promote_after=promote_after,
            now=_now(),
            show_plan=lambda plan: _print_plan(console, settings, plan),
        )
    except UserError as exc:
        raise fail(exc) from exc
    trained, registered = report.trained, report.registered
    for where, why in report.unused_attributes:
        console.print(f"attribute {where} not used: {why}", highlight=False, markup=False)
    vocabulary = trained.model.vocabulary
    console.print(
        f"event vocabulary: {len(vocabulary.kinds)} kinds with features of their own ("
        + ", ".join(k.slug for k in vocabulary.kinds)
        + "); every other type counts as 'other'",
        highlight=False,
    )
    if trained.evaluation is not None:
        _print_evaluation(console, trained)
    else:
        console.print(
            f"[bold yellow]no temporal test[/]: {trained.split.why_no_test}; not measured: "
            "ranking and calibration on later time, baselines, backtest; checked: leakage audit "
            f"({'passed' if trained.leakage.passed else 'failed'})",
            highlight=False,
        )
    if trained.refit:
        console.print(
            f"ships: trees refit on {len(trained.shipped_cutoffs)} labelled cutoff(s) "
            f"{trained.shipped_cutoffs[0]:%Y-%m-%d}..{trained.shipped_cutoffs[-1]:%Y-%m-%d}, "
            f"calibration cross-fitted over {len(trained.calibration_blocks)} blocks"
            + ("; the figures above are the evaluated model's" if trained.evaluation else ""),
            highlight=False,
        )
    console.print(
        f"registered [bold]{registered.name}[/] version {registered.version} as challenger "
        f"(run {registered.run_id}); steps: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    )
    if report.decision is not None:
        _print_decision(console, report.decision)


def promote(
    task: TaskArgument,
    rollback: Annotated[
        bool,
        typer.Option("--rollback", help="Restore the previous champion instead of promoting."),
    ] = False,
    force_untested: Annotated[
        bool,
        typer.Option(
            "--force-untested",
            help="Promote a challenger trained without a temporal test (its leakage audit "
            "must still pass). Tested challengers ignore this.",
        ),
    ] = False,
    config: ConfigOption = None,
    models_dir: ModelsDirOption = DEFAULT_MODELS_DIR,
) -> None:
    """Move 'champion' to the challenger if it beats the champion and the naive baselines."""
    from training import promotion
    from training.tracking import connect

    console = Console()
    try:
        client = connect(_tracking(models_dir))
        if rollback:
            current, previous = promotion.rollback(client, task=task, now=_now())
            console.print(f"champion rolled back from version {current} to version {previous}")
            return
        decision = promotion.promote(
            client,
            task=task,
            config=_config(config).promotion,
            now=_now(),
            force_untested=force_untested,
        )
    except UserError as exc:
        raise fail(exc) from exc
    _print_decision(console, decision)


def models(
    task: Annotated[
        Task | None, typer.Argument(help="Only this task's model (default: both).")
    ] = None,
    models_dir: ModelsDirOption = DEFAULT_MODELS_DIR,
) -> None:
    """List registered versions with their aliases and key test metrics."""
    from training.registry import list_versions
    from training.tracking import connect

    client = connect(_tracking(models_dir))
    table = Table(title="registered models")
    for column in ("model", "version", "aliases", "created", *TABLE_METRICS, "decision"):
        table.add_column(column)
    for row in list_versions(client, tasks=[task] if task else list(Task)):
        table.add_row(
            row.name,
            row.version,
            ", ".join(row.aliases),
            row.created,
            *(_fmt(row.metrics.get(f"test.{m}")) for m in TABLE_METRICS),
            row.decision,
        )
    Console().print(table)


def with_activity_types(config: TrainingConfig, text: str | None) -> TrainingConfig:
    """``config`` with ``--activity-types`` (comma-separated) in place of the file's list."""
    if text is None:
        return config
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise UserError(f"--activity-types: expected comma-separated type names, got {text!r}")
    vocabulary = dataclasses.replace(config.vocabulary, activity_types=names)
    return dataclasses.replace(config, vocabulary=vocabulary)


def parse_horizon(text: str) -> timedelta:
    """'90d' or '90' -> 90 days; anything else is a one-line error."""
    digits = text.strip().removesuffix("d")
    if not digits.isdigit() or int(digits) < 1:
        raise fail(UserError(f"--horizon {text!r}: expected a number of days such as '90d'"))
    return timedelta(days=int(digits))


def parse_every(text: str) -> CutoffSpacing:
    """'7d' -> 7 days, '2w' -> 14 days, '1m' -> 1 month; anything else is a one-line error."""
    from features.snapshots import CutoffSpacing

    value = text.strip().lower()
    count, unit = value[:-1], value[-1:]
    if not count.isdigit() or int(count) < 1 or unit not in ("d", "w", "m"):
        raise fail(UserError(f"--every {text!r}: expected a spacing such as '7d', '2w' or '1m'"))
    if unit == "w":
        return CutoffSpacing(int(count) * 7, "d")
    return CutoffSpacing(int(count), "d" if unit == "d" else "m")


def parse_cutoffs(text: str | None) -> list[datetime] | None:
    """Comma-separated ISO dates/times (naive = UTC) -> sorted naive UTC datetimes."""
    if not text:
        return None
    from features.moments import parse_moment

    try:
        moments = [parse_moment(part, option="--cutoffs") for part in text.split(",")]
    except UserError as exc:
        raise fail(exc) from exc
    return sorted(moments)


def _config(path: Path | None):  # type: ignore[no-untyped-def]
    from training.config import DEFAULT_CONFIG_PATH, load_config

    return load_config(path or DEFAULT_CONFIG_PATH)


def _tracking(models_dir: Path):  # type: ignore[no-untyped-def]
    from training.tracking import resolve_tracking

    return resolve_tracking(models_dir=models_dir, environ=os.environ)


def _now() -> datetime:
    """The wall clock, read once here at the edge, to stamp decisions."""
    return datetime.now(UTC).replace(tzinfo=None)


def _print_plan(console: Console, config: TrainingConfig, plan: DataPlan) -> None:
    from training.plan import render_plan

    split = config.split
    for line in render_plan(plan, folds=split.calibration_folds, refit=split.refit_on_all):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _print_evaluation(console: Console, trained: TrainedTask) -> None:
    from training.evaluation import metric_table

    assert trained.evaluation is not None
    test = ", ".join(f"{c:%Y-%m-%d}" for c in trained.split.test)
    table = Table(title=f"{trained.task}: evaluated model on the temporal test {test}")
    table.add_column("scorer")
    for metric in TABLE_METRICS:
        table.add_column(metric, justify="right")
    for name, metrics in metric_table(trained.evaluation).items():
        table.add_row(name, *(_fmt(metrics.get(m)) for m in TABLE_METRICS))
    console.print(table)


def _print_decision(console: Console, decision: object) -> None:
    promoted = decision.promote
    verdict = "[bold green]promoted to champion[/]" if promoted else "[bold yellow]not promoted[/]"
    console.print(f"{verdict}: " + "; ".join(decision.reasons), highlight=False)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{float(value):.3f}"  # type: ignore[arg-type]
