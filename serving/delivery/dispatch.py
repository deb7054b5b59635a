"""``salesradar notify``'s work: every rep's digest and alerts for one run, on every channel.

For each rep with news, each message (``digest`` when it has entries, ``alert`` when a rule
fired) goes to each configured channel: email to the rep's address from the recipients file,
and the rep's message to the team's Slack, Teams and signed-webhook endpoints. The ledger
(``serving.delivery.ledger``) is checked before and written after each send, so a rerun sends
only what has not been delivered; a message that fails its last try becomes a dead letter and
is tried again by the next ``notify`` of that run. Nothing here touches the published run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from serving.delivery.channels import (
    Clock,
    Outcome,
    build_email,
    post_json,
    send_email,
    send_with_retries,
)
from serving.delivery.config import DeliverySettings
from serving.delivery.ledger import (
    DeadLetter,
    DeliveryLedger,
    MessageKey,
    create_ledger_tables,
)
from serving.delivery.messages import Message, build_alert, build_digest
from serving.delivery.news import build_news, read_books
from serving.delivery.recipients import Recipient, load_recipients
from serving.delivery.render import (
    generic_payload,
    render_html,
    render_text,
    slack_payload,
    teams_payload,
    to_json_bytes,
)
from serving.store.database import ScoreStore

# (channel name, send once, the payload as text for a dead letter)
Sender = tuple[str, Callable[[], None], str]


@dataclass
class DeliveryReport:
    """What one ``deliver_run`` did; ``planned`` is filled instead of sending on a dry run."""

    run_id: str
    sent: list[MessageKey] = field(default_factory=list)
    already_sent: list[MessageKey] = field(default_factory=list)
    failed: list[tuple[MessageKey, str]] = field(default_factory=list)
    planned: list[tuple[MessageKey, str]] = field(default_factory=list)  # key, subject
    no_address: list[str] = field(default_factory=list)  # owners with news but no email

    def add(self, key: MessageKey, outcome: Outcome) -> None:
        """Count one attempted message as sent or failed."""
        if outcome.error is None:
            self.sent.append(key)
        else:
            self.failed.append((key, outcome.error))

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed


def _senders(
    message: Message,
    recipient: Recipient | None,
    *,
    settings: DeliverySettings,
    client: httpx.Client,
    clock: Clock,
) -> Iterator[Sender]:
    """Each configured channel's one-shot send of ``message`` (email only with an address)."""
    if settings.smtp_host is not None and recipient is not None:
        assert settings.smtp_from is not None  # DeliverySettings requires it with smtp_host
        email = build_email(
            sender=settings.smtp_from,
            to=recipient.address,
            subject=message.subject,
            text=render_text(message),
            html=render_html(message),
            sent_at=clock(),
        )
        yield "email", lambda: send_email(email, settings), email.as_string()
    chats = (
        ("slack", settings.slack_webhook_url, slack_payload),
        ("teams", settings.teams_webhook_url, teams_payload),
    )
    for name, url, build in chats:
        if url is not None:
            body = to_json_bytes(build(message))
            yield name, _poster(client, url.get_secret_value(), body), body.decode()
    if settings.webhook_url is not None:
        assert settings.webhook_secret is not None  # DeliverySettings requires the pair
        body = to_json_bytes(generic_payload(message))
        secret = settings.webhook_secret.get_secret_value()
        post = _poster(client, settings.webhook_url.get_secret_value(), body, secret, clock)
        yield "webhook", post, body.decode()


def _poster(
    client: httpx.Client,
    url: str,
    body: bytes,
    secret: str | None = None,
    clock: Clock | None = None,
) -> Callable[[], None]:
    return lambda: post_json(client, url, body, secret=secret, clock=clock)


def deliver_key(
    ledger: DeliveryLedger,
    key: MessageKey,
    send: Callable[[], None],
    payload: str,
    *,
    settings: DeliverySettings,
    clock: Clock,
) -> Outcome:
    """Send one message with retries, then record it as sent or as a dead letter."""
    outcome = send_with_retries(send, settings)
    if outcome.error is None:
        ledger.record_sent(key, sent_at=clock(), attempts=outcome.attempts)
    else:
        ledger.record_dead(DeadLetter(key, clock(), outcome.attempts, outcome.error, payload))
    return outcome


def deliver_run(
    store: ScoreStore,
    *,
    settings: DeliverySettings,
    public_url: str | None,
    run_id: str | None,
    clock: Clock,
    dry_run: bool = False,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Deliver the digests and alerts of ``run_id`` (default: the published run).

    Returns what was sent, skipped as already sent, failed (after its last try) or, with
    ``dry_run``, would be sent (nothing is sent or recorded then). Raises ``UserError`` for a
    run that is not published or an invalid recipients file. ``clock`` (naive UTC) stamps the
    ledger, dead letters, the email Date header and webhook signatures; it never picks the run.
    """
    create_ledger_tables(store.engine)
    ledger = DeliveryLedger(store.engine)
    run, books = read_books(store, run_id)
    recipients = (
        load_recipients(settings.recipients_file)
        if settings.smtp_host is not None and settings.recipients_file is not None
        else {}
    )
    report = DeliveryReport(run.run_id)
    owned = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    try:
        for owner_id in sorted(books):
            news = build_news(
                owner_id,
                books[owner_id],
                run=run,
                alert_score_move=settings.alert_score_move,
                digest_items=settings.digest_items,
            )
            messages = (
                [build_digest(news, public_url=public_url, digest_items=settings.digest_items)]
                if news.has_digest()
                else []
            )
            if news.alerts:
                messages.append(build_alert(news, public_url=public_url))
            if messages and settings.smtp_host is not None and owner_id not in recipients:
                report.no_address.append(owner_id)
            for message in messages:
                senders = _senders(
                    message, recipients.get(owner_id), settings=settings, client=http, clock=clock
                )
                for channel, send, payload in senders:
                    key = MessageKey(run.run_id, channel, owner_id, message.kind)
                    if ledger.was_sent(key):
                        report.already_sent.append(key)
                    elif dry_run:
                        report.planned.append((key, message.subject))
                    else:
                        outcome = deliver_key(
                            ledger, key, send, payload, settings=settings, clock=clock
                        )
                        report.add(key, outcome)
    finally:
        if owned:
            http.close()
    return report
