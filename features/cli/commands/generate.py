"""`salesradar generate`: write a synthetic CRM export (and its ground truth) to a folder."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from features.cli.progress import progress_bars
from features.contract.times import parse_moment
from features.synthetic import DEFAULT_AS_OF, GenerationSummary, generate_crm

DEFAULT_LEADS = 20_000
DEFAULT_CUSTOMERS = 20_000
DEFAULT_MONTHS = 24


class OutputFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


def _print_summary(console: Console, summary: GenerationSummary) -> None:
    console.print(
        f"wrote {summary.out} ({summary.fmt}): {summary.leads:,} leads, "
        f"{summary.customers:,} customers, {summary.accounts:,} accounts, "
        f"{summary.lead_events:,} lead events, {summary.customer_events:,} customer events; "
        f"history {summary.start:%Y-%m-%d} .. {summary.as_of:%Y-%m-%d}",
        highlight=False,
        soft_wrap=True,
    )
    for task, auc in summary.truth_auc.items():
        console.print(
            f"ground truth {task}: {summary.truth_rows[task]:,} rows over {summary.cutoffs} "
            f"cutoffs, {summary.positives_per_cutoff[task]:,.0f} positives per cutoff, "
            f"ROC AUC {auc:.3f}",
            highlight=False,
            soft_wrap=True,
        )


def command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into.")],
    leads: Annotated[int, typer.Option(help="Number of leads.")] = DEFAULT_LEADS,
    customers: Annotated[int, typer.Option(help="Number of customers.")] = DEFAULT_CUSTOMERS,
    seed: Annotated[int, typer.Option(help="Random seed (same seed: identical files).")] = 7,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="End of the history, a date (00:00 UTC); fixed by default for reproducibility.",
        ),
    ] = DEFAULT_AS_OF.date().isoformat(),
    months: Annotated[int, typer.Option(help="Months of history before --as-of.")] = DEFAULT_MONTHS,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="File format of the tables.")
    ] = OutputFormat.PARQUET,
    truth: Annotated[
        bool, typer.Option("--truth/--no-truth", help="Also write ground_truth/ probabilities.")
    ] = True,
    rename: Annotated[
        bool,
        typer.Option(
            "--rename/--no-rename",
            help="Write event types, channels and attribute names in other words "
            "('order' -> 'Zq Order'): an export whose vocabulary is not ours.",
        ),
    ] = False,
) -> None:
    """Generate a synthetic CRM export of an office-supply distributor, with its ground truth."""
    end = parse_moment(as_of)  # before any output: a bad time is the only line printed
    console = Console()
    with progress_bars(console) as report:
        summary = generate_crm(
            out,
            leads=leads,
            customers=customers,
            seed=seed,
            as_of=end,
            months=months,
            fmt=fmt.value,
            truth=truth,
            rename=rename,
            progress=report,
        )
    _print_summary(console, summary)
