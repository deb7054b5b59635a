"""`salesradar validate DIR [--as-of TIME]`: report every problem of an export at once.

Exit codes: 0 valid (warnings allowed), 1 validation errors, 2 usage mistakes (one line).
The default as-of time is the time of the run; it is decided here, never deeper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from features.errors import UserError, fail
from features.moments import iso_utc, resolve_as_of
from features.validation import ProgressHook, Severity, ValidationReport, validate_export

DirArgument = Annotated[Path, typer.Argument(help="Export folder (one file per table).")]
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


def check_directory(directory: Path, *, option: str | None = None) -> None:
    """Raise a one-line ``UserError`` naming ``directory`` (and its option) unless it is a folder.

    Commands call it before any heavy work, so a typo costs nothing.
    """
    if not directory.is_dir():
        if option is None:
            raise UserError(f"{directory} is not a folder")
        raise UserError(f"{option} {directory}: no such export folder")


@contextmanager
def progress_bars() -> Iterator[ProgressHook]:
    """Rich progress bars on stderr, one per step the hook reports."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # else stopping writes a blank line into a pipe or log
    ) as progress:
        tasks: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = int(progress.add_task(step, total=max(total, 1)))
            progress.update(tasks[step], completed=done, total=max(total, 1))  # type: ignore[arg-type]

        yield report


def print_report(report: ValidationReport, console: Console) -> None:
    """One line per issue, errors first, then the tasks the export can serve, then the totals."""
    for issue in report.issues:
        style = "bold red" if issue.severity is Severity.ERROR else "yellow"
        console.print(
            f"[{style}]{issue.severity.value}[/] {issue}", highlight=False, soft_wrap=True
        )
    if report.coverage and report.ok:  # an export with errors serves no task
        console.print(
            "tasks: " + "; ".join(str(c) for c in report.coverage), highlight=False, soft_wrap=True
        )
    verdict = "[green]valid[/]" if report.ok else "[bold red]invalid[/]"
    console.print(
        f"{report.path}: {verdict} as of {iso_utc(report.as_of)} — "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)",
        highlight=False,
        soft_wrap=True,
    )


def command(directory: DirArgument, as_of: AsOfOption = None) -> None:
    """Validate a CRM export and list every problem with its file, rows and column."""
    try:
        moment = parse_as_of(as_of)
        check_directory(directory)
    except UserError as exc:
        raise fail(exc) from None
    with progress_bars() as progress:
        report = validate_export(directory, as_of=moment, progress=progress)
    print_report(report, Console())
    if not report.ok:
        raise typer.Exit(1)
