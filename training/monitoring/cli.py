"""``salesradar monitor``: realised outcomes and drift of every published batch run.

Registered through the ``salesradar.commands`` entry point (``pyproject.toml``). The as-of, the
config, the MLflow store and the scores database are decided here and passed down.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from features.cli.exits import fail
from features.contract.times import iso_utc, parse_moment
from features.errors import UserError
from training.cli_options import ConfigOption, ModelsDirFlag, models_dir_or_default

if TYPE_CHECKING:
    from features.contract.export import Export

# The scores database of `salesradar score` / `serve`: the same variable and default as
# serving's settings (serving/settings.py), read here because training never imports serving.
SCORES_URL_ENV = "SALESRADAR_SCORES_URL"
DEFAULT_SCORES_URL = "sqlite:///models/scores.db"


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the root CLI."""
    app.command("monitor")(monitor)


def monitor(
    data: Annotated[Path, typer.Option("--data", help="The newer export folder.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO 8601 time the newer export describes; outcomes are read up to it. "
            "Default: the export's last event.",
            show_default=False,
        ),
    ] = None,
    config_path: ConfigOption = None,
    models_dir: ModelsDirFlag = None,
    scores_url: Annotated[
        str | None,
        typer.Option(
            "--scores-url",
            help=f"Scores database (SQLAlchemy URL). Default: ${SCORES_URL_ENV}, else "
            f"{DEFAULT_SCORES_URL}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Judge every published batch run on a newer export: outcomes so far and drift."""
    from features.contract.loading import load_export
    from training.card_artifacts import refresh_manager_cards
    from training.config import DEFAULT_CONFIG_PATH, load_config
    from training.data import check_as_of_gap
    from training.monitoring.monitor import monitor_export
    from training.monitoring.store import create_store_engine, load_results
    from training.tracking import connect, resolve_tracking

    console = Console()
    try:
        config = load_config(config_path or DEFAULT_CONFIG_PATH)
        models_dir = models_dir_or_default(models_dir)  # before any work: a refused flag
        now = datetime.now(UTC).replace(tzinfo=None)
        moment = parse_moment(as_of) if as_of is not None else None
        export = load_export(data, as_of=moment or now)
    except UserError as exc:
        raise fail(exc) from exc
    try:
        if moment is None:
            moment = export_last_event(export)
            origin = "the export's last event (default)"
        else:
            origin = "--as-of"
            for task in export.tasks():
                check_as_of_gap(
                    export,
                    task=task,
                    as_of=moment,
                    max_gap=timedelta(days=config.split.max_as_of_gap_days),
                )
        console.print(f"monitoring as of {iso_utc(moment)} ({origin})", highlight=False)
        tracking = resolve_tracking(models_dir=models_dir, environ=os.environ)
        url = scores_url or os.environ.get(SCORES_URL_ENV) or DEFAULT_SCORES_URL
        engine = create_store_engine(url)
        client = connect(tracking)
        results, notes, shadows = monitor_export(
            export,
            engine=engine,
            client=client,
            tracking=tracking,
            config=config,
            monitored_as_of=moment,
            clock=lambda: datetime.now(UTC).replace(tzinfo=None),
        )
        # The judged versions' manager cards now carry these realised rates (card_artifacts).
        judged = [(r.outcome.model_name, r.outcome.model_version) for r in results]
        notes += refresh_manager_cards(client, judged, load_results(engine).to_dict("records"))
    except UserError as exc:
        raise fail(exc) from exc
    finally:
        export.close()
    for result in results:
        outcome, drift = result.outcome, result.drift
        state = "PARTIAL" if outcome.partial else "complete"
        if outcome.in_sample:
            state += ", IN-SAMPLE"
        console.print(
            f"\n[bold]{outcome.task.value}[/] run {outcome.run_id} as of "
            f"{outcome.as_of:%Y-%m-%d} ({outcome.model_name} v{outcome.model_version}), "
            f"{state}: {outcome.matched} of {outcome.scored} entities, outcomes to "
            f"{outcome.window_end:%Y-%m-%d}",
            highlight=False,
        )
        for line in outcome.summary_lines():
            console.print(f"  {line}", highlight=False)
        console.print("  " + _metrics(outcome.metrics), highlight=False)
        drifted = ", ".join(drift.drifted) or "none"
        console.print(
            f"  drift vs training ({drift.reference_cutoff}): score PSI {drift.score.psi:.3f}; "
            f"unknown event types {drift.events.share:.1%}; drifted: {drifted}",
            highlight=False,
        )
        console.print(f"  MLflow monitoring run {result.mlflow_run_id}", highlight=False)
    for summary in shadows:
        console.print(f"\nshadow: {summary.sentence()}", highlight=False, soft_wrap=True)
    for note in notes:
        console.print(f"skipped: {note}", highlight=False)
    if not results and not notes:
        console.print("no published batch runs to monitor", highlight=False)


def export_last_event(export: Export) -> datetime:
    """The last event time over the export's event tables; ``UserError`` when it has none."""
    from features.contract.export import quote
    from features.contract.tasks import TASK_TABLES

    tables = [TASK_TABLES[task].events_table for task in export.tasks()]
    union = " UNION ALL ".join(f"SELECT max(occurred_at) AS t FROM {quote(t)}" for t in tables)
    row = export.con.execute(f"SELECT max(t) FROM ({union})").fetchone() if union else None
    if row is None or row[0] is None:
        raise UserError(f"{export.source}: no events; pass --as-of")
    return row[0]


def _metrics(metrics: dict[str, float]) -> str:
    names = ("roc_auc", "pr_auc", "ece", "precision_at_k", "revenue_share_at_k")
    return ", ".join(
        f"{name} {'n/a' if math.isnan(metrics[name]) else f'{metrics[name]:.3f}'}" for name in names
    )
