"""``salesradar pipeline``: the retraining loop, run by cron or a systemd timer.

Registered through the ``salesradar.commands`` entry point (``pyproject.toml``). The as-of, the
config, the MLflow store, the scores database and the wall clock are decided here and passed
down. Exit codes: 0 done (or nothing to do), 1 a step failed, 2 a usage or input mistake, 3
another pipeline run holds the lock; each failure is one line on stderr.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from features.cli.exits import fail
from features.errors import UserError
from training.cli_options import ConfigOption, ModelsDirFlag, models_dir_or_default


def register(app: typer.Typer) -> None:
    """Add ``pipeline`` to the root CLI."""
    app.command("pipeline")(pipeline)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def open_scores(url: str) -> Engine:
    """An engine on the scores database at ``url`` with the pipeline's tables created
    (idempotent); a SQLite file's folder is created as ``salesradar score`` does. A database
    that cannot be opened is a one-line ``UserError`` naming the URL (password hidden)."""
    from training.monitoring.store import create_store_engine
    from training.pipeline.records import create_pipeline_schema

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(url)
    try:
        create_pipeline_schema(engine)
    except SQLAlchemyError as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise UserError(f"scores database {shown}: {getattr(exc, 'orig', None) or exc}") from None
    return engine


def pipeline(
    data: Annotated[Path, typer.Option("--data", help="The CRM export folder.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO 8601 time the export describes: scored, monitored and trained as of it. "
            "Default: now (as `score`).",
            show_default=False,
        ),
    ] = None,
    config_path: ConfigOption = None,
    models_dir: ModelsDirFlag = None,
) -> None:
    """Validate, score, monitor, retrain when due, promote by the rules, notify; idempotent."""
    from features.compute.engines.location import check_directory
    from features.contract.fingerprint import hash_export
    from features.contract.times import iso_utc, resolve_as_of
    from training.cli import existing_tracking
    from training.config import DEFAULT_CONFIG_PATH, load_config
    from training.monitoring.cli import DEFAULT_SCORES_URL, SCORES_URL_ENV
    from training.pipeline.lock import pipeline_lock
    from training.pipeline.loop import PipelineSteps, run_pipeline
    from training.pipeline.records import StepDecision, latest_running
    from training.pipeline.steps import CommandSteps
    from training.tracking import connect

    console = Console()
    try:
        moment = resolve_as_of(as_of, now=_now(), allow_future=False)
        check_directory(data, option="--data")
        config = load_config(config_path or DEFAULT_CONFIG_PATH)
        # Before anything is created: a mistyped --models-dir creates nothing.
        models_dir = models_dir_or_default(models_dir)
        client = connect(existing_tracking(models_dir))
        url = os.environ.get(SCORES_URL_ENV) or DEFAULT_SCORES_URL
        engine = open_scores(url)
        with pipeline_lock(models_dir, holder=lambda: latest_running(engine)):
            fingerprint = hash_export(data)
            console.print(
                f"pipeline: {data} (content {fingerprint.sha256[:12]}) as of {iso_utc(moment)}",
                highlight=False,
            )
            work = CommandSteps(
                data=data,
                fingerprint=fingerprint,
                as_of=moment,
                config=config,
                config_path=config_path,
                models_dir=models_dir,
                scores_url=url,
                engine=engine,
                client=client,
            )
            steps = PipelineSteps(
                validate=work.validate,
                score=work.score,
                monitor=work.monitor,
                tasks=work.tasks,
                due=work.due,
                retrain=work.retrain,
                notify=work.notify,
                promote=work.promote,
            )

            def show(decision: StepDecision) -> None:
                where = decision.step + (f" {decision.task}" if decision.task else "")
                console.print(
                    f"[bold]{where}[/]: {decision.outcome}: {escape(decision.reason)}",
                    highlight=False,
                    soft_wrap=True,
                )

            report = run_pipeline(
                steps,
                engine=engine,
                fingerprint=fingerprint.sha256,
                data=str(data),
                as_of=moment,
                clock=_now,
                pid=os.getpid(),
                host=socket.gethostname(),
                on_decision=show,
            )
    except UserError as exc:
        raise fail(exc) from exc
    if report.all_reused:
        console.print(
            f"nothing to do: export {fingerprint.sha256[:12]} as of {iso_utc(moment)} was already "
            "processed; no step was repeated",
            highlight=False,
        )
    console.print(f"pipeline run {report.pipeline_run_id}: done", highlight=False)
