"""``salesradar notify`` and the delivery step ``salesradar score`` runs after publishing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from features.errors import UserError
from serving.settings import Settings
from serving.store.database import ScoreStore

if TYPE_CHECKING:  # the senders (httpx, jinja2, tenacity) load only when a command sends
    from serving.delivery.dispatch import DeliveryReport


def print_report(console: Console, report: DeliveryReport, *, dry_run: bool) -> None:
    """One line per sent, planned or failed message, then the totals and the retry hint."""
    for key, subject in report.planned:
        console.print(f"would send {key.kind} to {key.recipient} by {key.channel}: {subject}")
    for key in report.sent:
        console.print(f"sent {key.kind} to {key.recipient} by {key.channel}", highlight=False)
    for key, error in report.failed:
        console.print(
            f"warning: {key.kind} to {key.recipient} by {key.channel} failed: {error}",
            highlight=False,
            markup=False,
        )
    if report.no_address:
        console.print(
            f"warning: no email address for owner(s) {', '.join(report.no_address)} "
            "(add them to the recipients file)",
            highlight=False,
        )
    verb = "would send" if dry_run else "sent"
    count = len(report.planned) if dry_run else len(report.sent)
    console.print(
        f"run {report.run_id}: {verb} {count}, already sent {len(report.already_sent)}, "
        f"failed {len(report.failed)}",
        highlight=False,
    )
    if report.failed:
        console.print(
            f"the failed messages are dead letters; retry with: salesradar notify --run-id "
            f"{report.run_id}",
            highlight=False,
        )


def deliver_after_publish(console: Console, settings: Settings, store: ScoreStore) -> None:
    """``score``'s last step: deliver the run just published when a channel is configured.

    Publishing already succeeded, so no delivery problem may fail the command: every failure,
    even an unexpected one, is printed as a warning with the ``notify --run-id`` retry and the
    command exits 0.
    """
    if not settings.delivery.configured():
        return
    from serving.delivery.dispatch import deliver_run
    from serving.wiring import utc_now

    try:
        report = deliver_run(
            store,
            settings=settings.delivery,
            public_url=settings.public_url,
            run_id=None,
            clock=utc_now,
        )
    except Exception as exc:  # reported below: publishing succeeded and must stand
        console.print(
            f"warning: delivery failed ({type(exc).__name__}: {exc}); the run is published; "
            "retry with: salesradar notify",
            highlight=False,
            markup=False,
        )
        return
    print_report(console, report, dry_run=False)


def notify(
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="A published run (default: the published one)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be sent; send and record nothing")
    ] = False,
    if_configured: Annotated[
        bool,
        typer.Option(
            "--if-configured",
            help="Without any delivery channel configured, say so and exit 0 (for `pipeline`)",
        ),
    ] = False,
) -> None:
    """Send each rep's digest and alerts for a published run (email, Slack, Teams, webhook).

    Messages already delivered for the run are skipped, so it is safe to rerun; exits 1 when a
    message failed its last try (it is kept as a dead letter and retried by the next run).
    """
    from serving.cli_settings import console, load_settings
    from serving.delivery.dispatch import deliver_run
    from serving.wiring import utc_now

    settings = load_settings()
    if not settings.delivery.configured() and if_configured:
        console.print("delivery: not configured; nothing sent", highlight=False)
        return
    if not settings.delivery.configured():
        raise UserError(
            "no delivery channel is configured: set SALESRADAR_DELIVERY__SMTP_HOST or a "
            "webhook URL (docs/notifications.md)"
        )
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    report = deliver_run(
        store,
        settings=settings.delivery,
        public_url=settings.public_url,
        run_id=run_id,
        clock=utc_now,
        dry_run=dry_run,
    )
    print_report(console, report, dry_run=dry_run)
    if not report.ok:
        raise typer.Exit(1)
