"""``salesradar train|promote|models`` (registered through the salesradar.commands entry point).

Heavy imports happen inside the commands so ``salesradar --help`` stays fast. The as-of time,
the config file and the MLflow store are decided here and passed down.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.cli.commands.activity import ActivityTypesOption, parse_activity_types
from features.cli.commands.engine import DataOption, EngineOption
from features.cli.commands.quiet import quiet_libraries
from features.cli.exits import fail
from features.compute.engines import Engine
from features.contract.tables import ignored_columns_line
from features.contract.tasks import DEFAULT_HORIZON, Task
from features.errors import UserError
from training.cli_options import (
    ConfigOption,
    ModelsDirFlag,
    models_dir_or_default,
)

if TYPE_CHECKING:  # the heavy modules are imported inside the commands
    from mlflow import MlflowClient

    from features.compute.snapshots import CutoffSpacing
    from training.config import TrainingConfig
    from training.model_registry import VersionRow
    from training.plan import DataPlan
    from training.tracking import TrackingConfig
    from training.trainer import TrainedTask

TABLE_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "precision_at_k")
# `models`: identifiers are always shown whole; the other columns, most useful first, are
# dropped from the right when the terminal is too narrow for them.
IDENTIFIER_COLUMNS = ("model", "version", "aliases")
OPTIONAL_COLUMNS = ("created", "roc_auc", "pr_auc", "decision", "brier", "ece")
OPTIONAL_COLUMNS += tuple(m for m in TABLE_METRICS if m not in OPTIONAL_COLUMNS)
DECISION_MIN_WIDTH = 24  # the decision text wraps; narrower than this it is not worth showing

TaskArgument = Annotated[Task, typer.Argument(help="Which model: 'leads' (hot leads) or 'churn'.")]


def register(app: typer.Typer) -> None:
    """Add the training commands to the root CLI."""
    app.command("train")(train)
    app.command("promote")(promote)
    app.command("models")(models)


def train(
    task: TaskArgument,
    data: DataOption,
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
            "--plan",
            help="Print the data-sufficiency plan (cutoffs, counts, split) and exit; exit "
            "status 2 when nothing can be trained.",
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
    activity_types: ActivityTypesOption = None,
    config: ConfigOption = None,
    models_dir: ModelsDirFlag = None,
    engine: EngineOption = Engine.DUCKDB,
) -> None:
    """Train, test on the latest labelled cutoff(s), log to MLflow, register a challenger."""
    from features.compute.engines.location import export_location
    from features.contract.times import resolve_as_of

    console = Console()
    try:
        # Every argument is checked before the export is read or MLflow is opened.
        window = {
            "task": task,
            "as_of": resolve_as_of(as_of, now=_now()),
            "horizon": parse_horizon(horizon),
            "cutoffs": parse_cutoffs(cutoffs),
            "every": parse_every(every),
            "no_test": no_test,
            "engine": engine,
        }
        location = export_location(data, engine=engine)
        settings = with_activity_types(_config(config), activity_types)
        steps = StepProgress(Console(stderr=True))
        with quiet_libraries(), steps:
            from training.jobs import prepare_training, run_training

            if plan_only:
                ignored: dict[str, tuple[str, ...]] = {}
                plan = prepare_training(
                    location, **window, config=settings, on_step=steps, ignored=ignored
                )[1]  # type: ignore[arg-type]
                steps.finish()
                _print_ignored_columns(console, ignored)
                _print_plan(console, settings, plan)
                if plan.split is None:  # the plan is printed, and a script sees the failure
                    raise UserError(plan.error())
                return
            report = run_training(
                location,
                **window,  # type: ignore[arg-type]
                config=settings,
                seed=seed,
                tracking=_tracking(models_dir_or_default(models_dir)),
                promote_after=promote_after,
                now=_now(),
                show_plan=lambda plan: (steps.finish(), _print_plan(console, settings, plan)),
                on_step=steps,
            )
    except UserError as exc:
        raise fail(exc) from exc
    trained, registered = report.trained, report.registered
    for where, why in report.unused_attributes:
        console.print(f"attribute {where} not used: {why}", highlight=False, markup=False)
    _print_ignored_columns(console, report.ignored_columns)
    vocabulary = trained.model.vocabulary
    console.print(
        f"event vocabulary: {len(vocabulary.kinds)} kinds with features of their own ("
        + ", ".join(k.slug for k in vocabulary.kinds)
        + "); every other type counts as 'other'",
        highlight=False,
    )
    for feature, reason in trained.leakage.findings:
        console.print(f"leakage audit flagged {feature}: {reason}", highlight=False, markup=False)
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
    models_dir: ModelsDirFlag = None,
) -> None:
    """Move 'champion' to the challenger if it beats the champion and the naive baselines."""
    from training import promotion
    from training.tracking import connect

    console = Console()
    try:
        tracking = existing_tracking(models_dir_or_default(models_dir))
        with quiet_libraries():
            client = connect(tracking)
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
    models_dir: ModelsDirFlag = None,
    card: Annotated[
        Task | None,
        typer.Option(
            "--card",
            help="Print this task's champion's manager card (markdown) instead, with the "
            "realised rates `salesradar monitor` stored in the scores database "
            "($SALESRADAR_SCORES_URL, else sqlite:///models/scores.db).",
            show_default=False,
        ),
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="With --card: write the card and the champion run's plots into this folder "
            "(<task>_manager_card.md, <task>_<plot>.png) instead of printing the card.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List registered versions with their aliases and key test metrics.

    On a terminal: a table that keeps model names, versions and aliases whole and drops the
    less important columns that do not fit. In a pipe: tab-separated lines, nothing cut.
    """
    from training.model_registry import list_versions
    from training.tracking import connect

    if card is None and save is not None:
        raise fail(UserError("--save writes a manager card: pass --card TASK with it"))
    if card is not None and task is not None:
        raise fail(UserError("pass either a task to list or --card TASK, not both"))
    tracking = existing_tracking(models_dir_or_default(models_dir))
    if card is not None:
        _print_card(connect(tracking), card, save)
        return
    with quiet_libraries():
        rows = list_versions(connect(tracking), tasks=[task] if task else list(Task))
    console = Console()
    if console.is_terminal:
        console.print(models_table(rows, width=console.width))
    else:
        for line in models_lines(rows):
            sys.stdout.write(line + "\n")


def _print_card(client: MlflowClient, task: Task, save: Path | None) -> None:
    """The champion's manager card with its stored monitoring results, as plain markdown on
    stdout, or written with the run's plots into ``save`` (one line per file written)."""
    from training.card_artifacts import champion_card, save_champion_card, stored_results
    from training.monitoring.cli import DEFAULT_SCORES_URL, SCORES_URL_ENV

    url = os.environ.get(SCORES_URL_ENV) or DEFAULT_SCORES_URL
    try:
        with quiet_libraries():
            results = stored_results(url)
            if save is None:
                sys.stdout.write(champion_card(client, task, results=results))
                return
            paths = save_champion_card(client, task, save, results=results)
    except UserError as exc:
        raise fail(exc) from exc
    for path in paths:
        sys.stdout.write(f"wrote {path}\n")


def _model_cells(row: VersionRow) -> dict[str, str]:
    cells = {
        "model": row.name,
        "version": row.version,
        "aliases": ", ".join(row.aliases),
        "created": row.created,
        "decision": row.decision,
    }
    cells.update({m: _fmt(row.metrics.get(f"test.{m}")) for m in TABLE_METRICS})
    return cells


def models_lines(rows: Sequence[VersionRow]) -> list[str]:
    """A header and one tab-separated line per version, every column, nothing shortened."""
    columns = (*IDENTIFIER_COLUMNS, "created", *TABLE_METRICS, "decision")
    lines = ["\t".join(columns)]
    for row in rows:
        cells = _model_cells(row)
        lines.append("\t".join(" ".join(cells[c].split()) for c in columns))
    return lines


def models_table(rows: Sequence[VersionRow], *, width: int) -> Table:
    """The versions as a table at most ``width`` columns wide (when the identifiers fit).

    Identifier columns never wrap or shorten; optional columns are added in order of
    ``OPTIONAL_COLUMNS`` while their full width fits (the first that does not fit ends the
    list), the decision (which wraps) counting at most ``DECISION_MIN_WIDTH`` columns.
    """
    cells = [_model_cells(row) for row in rows]

    def natural(column: str) -> int:
        return max([len(column), *(len(c[column]) for c in cells)])

    # Each column costs its text plus one space of padding either side and one border.
    used = 1 + sum(natural(c) + 3 for c in IDENTIFIER_COLUMNS)
    shown: list[str] = []
    for column in OPTIONAL_COLUMNS:
        need = natural(column)
        if column == "decision":
            need = min(need, DECISION_MIN_WIDTH)
        if used + need + 3 > width:
            break  # the rest, less useful, is dropped too
        shown.append(column)
        used += need + 3
    table = Table(title="registered models")
    for column in IDENTIFIER_COLUMNS:
        table.add_column(column, no_wrap=True, min_width=natural(column))
    ordered = [c for c in ("created", *TABLE_METRICS, "decision") if c in shown]
    for column in ordered:
        wraps = column == "decision"
        table.add_column(
            column,
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
            min_width=min(natural(column), DECISION_MIN_WIDTH) if wraps else natural(column),
            justify="left" if column in ("created", "decision") else "right",
        )
    for cell in cells:
        table.add_row(*(cell[c] for c in (*IDENTIFIER_COLUMNS, *ordered)))
    return table


class StepProgress:
    """Called with each training step's name as it starts; on a terminal, shows the running
    step and, when it ends, ``building the training set… 12.3 s`` on stderr.

    In a pipe it stays silent: the final summary line already gives every step's seconds.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._step: str | None = None
        self._start = 0.0
        self._status = None

    def __call__(self, step: str) -> None:
        self.finish()
        self._step, self._start = step, time.perf_counter()
        if self._console.is_terminal:
            self._status = self._console.status(f"{step}…")
            self._status.start()

    def finish(self) -> None:
        """End the running step (if any) and print how long it took."""
        if self._step is None:
            return
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self._console.is_terminal:
            seconds = time.perf_counter() - self._start
            self._console.print(f"{self._step}… {seconds:.1f} s", markup=False, highlight=False)
        self._step = None

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def with_activity_types(config: TrainingConfig, text: str | None) -> TrainingConfig:
    """``config`` with ``--activity-types`` (comma-separated) in place of the file's list."""
    names = parse_activity_types(text)
    if names is None:
        return config
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
    from features.compute.snapshots import CutoffSpacing

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
    from features.contract.times import parse_moment

    try:
        moments = [parse_moment(part, option="--cutoffs") for part in text.split(",")]
    except UserError as exc:
        raise fail(exc) from exc
    return sorted(moments)


def _print_ignored_columns(console: Console, ignored: dict[str, tuple[str, ...]]) -> None:
    """One line per event table naming its extra columns that no feature reads."""
    for table, columns in ignored.items():
        console.print(
            ignored_columns_line(table, columns), highlight=False, markup=False, soft_wrap=True
        )


def _config(path: Path | None):  # type: ignore[no-untyped-def]
    from training.config import DEFAULT_CONFIG_PATH, load_config

    return load_config(path or DEFAULT_CONFIG_PATH)


def _tracking(models_dir: Path) -> TrackingConfig:
    from training.tracking import resolve_tracking

    return resolve_tracking(models_dir=models_dir, environ=os.environ)


def existing_tracking(models_dir: Path) -> TrackingConfig:
    """The tracking store for commands that read it (``models``, ``promote``): a store that
    does not exist is a one-line ``UserError``, never created empty (only ``train`` creates)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    sqlite = "sqlite:///"
    if not uri and not (models_dir / "mlflow.db").is_file():
        raise UserError(
            f"--models-dir {models_dir}: no MLflow store there (no mlflow.db); "
            "'salesradar train' creates one"
        )
    if uri.startswith(sqlite) and not Path(uri.removeprefix(sqlite)).is_file():
        raise UserError(f"MLFLOW_TRACKING_URI {uri}: no such database file")
    return _tracking(models_dir)


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
    console.print(f"{verdict}: " + escape("; ".join(decision.reasons)), highlight=False)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{float(value):.3f}"  # type: ignore[arg-type]
