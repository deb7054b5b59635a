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

if TYPE_CHECKING:
    from training.config import TrainingConfig

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
            help="Comma-separated ISO dates of the cutoffs to use (default: monthly, 1st at "
            "00:00 UTC, across the export's history).",
            show_default=False,
        ),
    ] = None,
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
        from training.jobs import run_training

        report = run_training(
            data,
            task=task,
            as_of=resolve_as_of(as_of, now=_now()),
            horizon=parse_horizon(horizon),
            cutoffs=parse_cutoffs(cutoffs),
            seed=seed,
            config=with_activity_types(_config(config), activity_types),
            tracking=_tracking(models_dir),
            promote_after=promote_after,
            now=_now(),
        )
    except UserError as exc:
        raise fail(exc) from exc
    from training.evaluation import metric_table

    trained, registered = report.trained, report.registered
    vocabulary = trained.model.vocabulary
    console.print(
        f"event vocabulary: {len(vocabulary.kinds)} kinds with features of their own ("
        + ", ".join(k.slug for k in vocabulary.kinds)
        + "); every other type counts as 'other'",
        highlight=False,
    )
    table = Table(
        title=f"{task}: temporal test {', '.join(f'{c:%Y-%m-%d}' for c in trained.split.test)}"
    )
    table.add_column("scorer")
    for metric in TABLE_METRICS:
        table.add_column(metric, justify="right")
    for name, metrics in metric_table(trained.evaluation).items():
        table.add_row(name, *(_fmt(metrics.get(m)) for m in TABLE_METRICS))
    console.print(table)
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
            client, task=task, config=_config(config).promotion, now=_now()
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


def _print_decision(console: Console, decision: object) -> None:
    promoted = decision.promote
    verdict = "[bold green]promoted to champion[/]" if promoted else "[bold yellow]not promoted[/]"
    console.print(f"{verdict}: " + "; ".join(decision.reasons), highlight=False)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{float(value):.3f}"  # type: ignore[arg-type]
