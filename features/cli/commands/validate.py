"""`salesradar validate DIR [--as-of TIME] [--engine spark]`: report every problem of an export
at once. DIR is a local folder, or with ``--engine spark`` any URI Spark reads (its table files
are validated in a temporary local copy fetched by Spark, as ``train`` / ``score`` / ``summary``
do before loading).

Exit codes: 0 valid (warnings allowed), 1 validation errors, 2 usage mistakes (one line).
The default as-of time is the time of the run; it is decided here, never deeper.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from features.cli.commands.engine import EngineOption, ExportArgument
from features.cli.exits import fail
from features.cli.progress import progress_bars
from features.compute.engines import Engine

# check_directory's home is features.compute.engines.location; the commands still import it from
# here.
from features.compute.engines.location import export_location
from features.contract.tables import ignored_columns_line, ignored_event_columns
from features.contract.times import iso_utc, resolve_as_of
from features.contract.validation import ProgressHook, Severity, ValidationReport, validate_export
from features.errors import UserError

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="ISO 8601 time the export describes (naive = UTC); default: now.",
        show_default=False,
    ),
]


def parse_as_of(text: str | None) -> datetime:
    """The as-of time in naive UTC: the given ISO 8601 value, or the time of this run."""
    return resolve_as_of(text, now=datetime.now(UTC))


def print_report(report: ValidationReport, console: Console, *, source: str | None = None) -> None:
    """One line per issue, errors first, then the tasks the export can serve, the event
    columns no feature reads (one line per table), then the totals.

    ``source``: how the user named the export when it is not ``report.path`` (a URI whose
    files were validated in a local copy)."""
    for issue in report.issues:
        style = "bold red" if issue.severity is Severity.ERROR else "yellow"
        # The issue quotes the export's own values and names: text, never markup.
        console.print(
            f"[{style}]{issue.severity.value}[/] {escape(str(issue))}",
            highlight=False,
            soft_wrap=True,
        )
    if report.coverage and report.ok:  # an export with errors serves no task
        console.print(
            "tasks: " + "; ".join(str(c) for c in report.coverage), highlight=False, soft_wrap=True
        )
    for name, layout in report.tables.items():
        if ignored := ignored_event_columns(layout.text_columns):
            console.print(
                ignored_columns_line(name, ignored), highlight=False, markup=False, soft_wrap=True
            )
    verdict = "[green]valid[/]" if report.ok else "[bold red]invalid[/]"
    console.print(
        f"{source or report.path}: {verdict} as of {iso_utc(report.as_of)} — "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)",
        highlight=False,
        soft_wrap=True,
    )


def validate_location(
    location: Path | str, *, as_of: datetime, progress: ProgressHook | None = None
) -> ValidationReport:
    """The validation report of the export at ``location`` (``export_location``'s result): a
    local folder read in place, or a URI whose table files the process's Spark session copies
    to a temporary local folder first (``features.compute.engines.spark.remote``; deleted on
    return). Raises ``UserError`` (``UnreadableUri``) when Spark cannot list or copy the URI."""
    if isinstance(location, Path):
        return validate_export(location, as_of=as_of, progress=progress)
    # Imported here so that DuckDB users never import pyspark (nor need Java).
    from features.compute.engines.spark.remote import staged_for_validation
    from features.compute.engines.spark.session import spark_session

    with staged_for_validation(location, session=spark_session()) as local:
        return validate_export(local, as_of=as_of, progress=progress)


def command(
    directory: ExportArgument, as_of: AsOfOption = None, engine: EngineOption = Engine.DUCKDB
) -> None:
    """Validate a CRM export and list every problem with its file, rows and column."""
    try:
        moment = parse_as_of(as_of)
        location = export_location(directory, engine=engine, option=None)
        with progress_bars(Console(stderr=True)) as progress:
            report = validate_location(location, as_of=moment, progress=progress)
    except UserError as exc:
        raise fail(exc) from None
    print_report(report, Console(), source=None if isinstance(location, Path) else location)
    if not report.ok:
        raise typer.Exit(1)
