"""``salesradar export-scores``: an import-ready file of the published run, optionally pushed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from features.errors import UserError
from serving.store.database import ScoreStore
from serving.writeback.formats import CrmFormat


def export_scores(
    crm_format: Annotated[CrmFormat, typer.Option("--format", help="salesforce | hubspot | csv")],
    kind: Annotated[
        Literal["customer", "lead"],
        typer.Option("--kind", help="customer | lead: one CRM object per import file"),
    ],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write (replaced whole)")],
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="A published run (default: the published one)"),
    ] = None,
    push: Annotated[
        bool,
        typer.Option(
            "--push",
            help="Also POST each changed entity to SALESRADAR_DELIVERY__WRITEBACK_WEBHOOK_URL "
            "(signed; already pushed ones are skipped)",
        ),
    ] = False,
) -> None:
    """Write the published run's scores as a file the CRM imports (docs/writeback.md)."""
    from serving.cli_settings import console, load_settings
    from serving.delivery.cli import print_report
    from serving.wiring import utc_now
    from serving.writeback.files import export_scores as write_file
    from serving.writeback.push import push_changes

    settings = load_settings()
    if push and settings.delivery.writeback_webhook_url is None:
        raise UserError("--push needs SALESRADAR_DELIVERY__WRITEBACK_WEBHOOK_URL")
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    summary = write_file(store, kind=kind, crm_format=crm_format, out=out, run_id=run_id)
    console.print(
        f"wrote {summary.rows} {kind} row(s) of run {summary.run_id} to {summary.path} "
        f"({crm_format.value})",
        highlight=False,
    )
    if push:
        report = push_changes(
            store, settings=settings.delivery, run_id=summary.run_id, clock=utc_now
        )
        print_report(console, report, dry_run=False)
        if not report.ok:
            raise typer.Exit(1)
