"""`salesradar summary DIR [--as-of TIME]`: load an export and print its headline figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from features.cli.commands.activity import ActivityTypesOption, parse_activity_types
from features.cli.commands.engine import EngineOption, ExportArgument
from features.cli.commands.validate import AsOfOption, parse_as_of, print_report
from features.cli.exits import fail
from features.cli.progress import progress_bars
from features.compute.engines import Engine, open_export
from features.compute.engines.location import export_location
from features.contract.export import Export
from features.contract.loading import ExportInvalid
from features.contract.tasks import DEFAULT_ACTIVITY_TYPES, DEFAULT_HORIZON, TASK_TABLES, Task
from features.contract.times import iso_utc
from features.definitions.vocabulary import normalise_event_type, type_counts
from features.errors import UserError


@dataclass(frozen=True)
class ExportSummary:
    """Headline figures of an export as of a time, for the halves it holds.

    ``tasks`` are the tasks the export can serve; ``counts`` and ``events_by_type`` cover their
    tables (and ``accounts``); a rate is None when its half is absent or it is undefined.
    """

    as_of: datetime
    tasks: tuple[Task, ...]
    counts: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    conversion_rate: float | None  # converted leads / all leads
    cancellation_rate: float | None  # customers with churned_at / all customers
    silent_share: float | None  # active customers with no activity in the 90 days before as_of
    activity_types: tuple[str, ...]  # the event types that count as a purchase (activity)
    # events table -> normalised type -> (events before as_of, the export's spellings of it)
    events_by_type: dict[str, dict[str, tuple[int, tuple[str, ...]]]]


def _spellings(export: Export, task: Task, as_of: datetime, types: Sequence[str]) -> list[str]:
    """The export's raw spellings of ``types`` (compared after the normalisation rule)."""
    wanted = {normalise_event_type(t) for t in types}
    seen = type_counts(export, task=task, before=as_of)
    return sorted(raw for name, (_, _, raws) in seen.items() if name in wanted for raw in raws)


def _scalar(export: Export, sql: str, parameters: dict[str, object] | None = None) -> Any:
    ((value,),) = export.con.execute(sql, parameters).fetchall()
    return value


def summarize_export(
    export: Export,
    *,
    as_of: datetime,
    activity_types: tuple[str, ...] = DEFAULT_ACTIVITY_TYPES,
) -> ExportSummary:
    """Compute the summary figures; only events strictly before ``as_of`` of one of
    ``activity_types`` (compared after the normalisation rule) count as activity."""
    tasks = export.tasks()
    tables = ["accounts"]
    for task in tasks:
        tables += [TASK_TABLES[task].entity_table, TASK_TABLES[task].events_table]
    all_counts = export.row_counts()
    counts = {name: all_counts[name] for name in all_counts if name in tables}
    events = [TASK_TABLES[task].events_table for task in tasks]
    union = " UNION ALL ".join(f"SELECT occurred_at FROM {name}" for name in events)
    first, last = (None, None)
    if union:
        ((first, last),) = export.con.execute(
            f"SELECT min(occurred_at), max(occurred_at) FROM ({union})"
        ).fetchall()
    conversion = cancellation = silent = None
    if Task.LEADS in tasks:
        conversion = _scalar(
            export, "SELECT avg(CAST(converted_at IS NOT NULL AS DOUBLE)) FROM leads"
        )
    if Task.CHURN in tasks:
        cancellation = _scalar(
            export, "SELECT avg(CAST(churned_at IS NOT NULL AS DOUBLE)) FROM customers"
        )
        purchases = _spellings(export, Task.CHURN, as_of, activity_types)
        # No such type at all: the share would read 100% and mean nothing, so it stays None.
        # A join, not NOT EXISTS in the select list: Spark accepts EXISTS only in filters.
        silent = None
        if purchases:
            silent = _scalar(
                export,
                """
            SELECT avg(CAST(a.customer_id IS NULL AS DOUBLE))
            FROM customers c LEFT JOIN (
                SELECT DISTINCT customer_id FROM customer_events
                WHERE list_contains($types, type) AND occurred_at >= $start AND occurred_at < $as_of
            ) a ON a.customer_id = c.customer_id
            WHERE c.created_at <= $as_of AND (c.churned_at IS NULL OR c.churned_at >= $as_of)
            """,
                {
                    "types": purchases,
                    "start": as_of - DEFAULT_HORIZON,
                    "as_of": as_of,
                },
            )
    by_type: dict[str, dict[str, tuple[int, tuple[str, ...]]]] = {}
    for task in tasks:
        counts_by_type = type_counts(export, task=task, before=as_of)
        ordered = sorted(counts_by_type.items(), key=lambda item: (-item[1][0], item[0]))
        by_type[TASK_TABLES[task].events_table] = {
            name: (events, tuple(sorted(spellings))) for name, (events, _, spellings) in ordered
        }
    return ExportSummary(
        as_of,
        tasks,
        counts,
        first,
        last,
        conversion,
        cancellation,
        silent,
        activity_types,
        by_type,
    )


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def print_summary(summary: ExportSummary, console: Console) -> None:
    overview = Table(title=f"Export as of {iso_utc(summary.as_of)}", show_header=False)
    overview.add_row("tasks", ", ".join(t.value for t in summary.tasks))
    for name, count in summary.counts.items():
        overview.add_row(name.replace("_", " "), f"{count:,}")
    first = iso_utc(summary.first_event) if summary.first_event else "n/a"
    last = iso_utc(summary.last_event) if summary.last_event else "n/a"
    overview.add_row("events from", first)
    overview.add_row("events to", last)
    if Task.LEADS in summary.tasks:
        overview.add_row("lead conversion rate", _percent(summary.conversion_rate))
    if Task.CHURN in summary.tasks:
        overview.add_row("explicit cancellation rate", _percent(summary.cancellation_rate))
        days = DEFAULT_HORIZON.days
        named = "/".join(summary.activity_types)
        silent = _percent(summary.silent_share)
        if summary.silent_share is None:
            silent += (
                f" (no {named} event before the as-of; name the types that count as a "
                "purchase with --activity-types)"
            )
        overview.add_row(f"active customers with no {named} in {days} days", silent)
    console.print(overview)
    types = Table(title="Events per type (before the as-of; one type per normalised name)")
    types.add_column("table")
    types.add_column("type")
    types.add_column("events", justify="right")
    types.add_column("written as")
    for table, counts in summary.events_by_type.items():
        for name, (count, spellings) in counts.items():
            written = ", ".join(repr(s) for s in spellings) if spellings != (name,) else ""
            types.add_row(table, name, f"{count:,}", written)
    console.print(types)


def command(
    directory: ExportArgument,
    as_of: AsOfOption = None,
    engine: EngineOption = Engine.DUCKDB,
    activity_types: ActivityTypesOption = None,
) -> None:
    """Load a CRM export (validating it first) and print a short summary."""
    try:
        moment = parse_as_of(as_of)
        purchases = parse_activity_types(activity_types) or DEFAULT_ACTIVITY_TYPES
        location = export_location(directory, engine=engine, option=None)
    except UserError as exc:
        raise fail(exc) from None
    console = Console()
    try:
        with progress_bars(Console(stderr=True)) as progress:
            export = open_export(location, as_of=moment, engine=engine, progress=progress)
    except ExportInvalid as exc:
        print_report(exc.report, console, source=None if isinstance(location, Path) else location)
        raise typer.Exit(exc.exit_code) from None
    try:
        summary = summarize_export(export, as_of=moment, activity_types=purchases)
        print_summary(summary, console)
    finally:
        export.close()
