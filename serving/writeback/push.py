"""Push each changed entity of a published run to the CRM's endpoint, signed like the
notification webhook (``serving.delivery.channels``), with the same retries, ledger and dead
letters: a rerun pushes nothing twice, a failure is retried by the next push of that run.

Changed means: not scored in the previous run, or its score or tier differs from it (on the
first published run every entity is new, so the first push carries the whole run).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import httpx

from features.contract.times import iso_utc
from serving.delivery.channels import Clock, post_json
from serving.delivery.config import DeliverySettings
from serving.delivery.dispatch import DeliveryReport, deliver_key
from serving.delivery.ledger import DeliveryLedger, MessageKey, create_ledger_tables
from serving.delivery.published import resolve_run, run_pages
from serving.delivery.render import to_json_bytes
from serving.store.database import ListedScore, ScoreStore
from serving.writeback.formats import fields_of

CHANNEL = "writeback"


def changed(row: ListedScore) -> bool:
    """True when the row is new since the previous run or its score or tier moved."""
    return (
        row.previous_score is None
        or row.score != row.previous_score
        or row.tier != row.previous_tier
    )


def push_payload(row: ListedScore) -> dict[str, Any]:
    """The body for one entity: ``event`` ``salesradar.score`` and the export's fields, numbers
    as numbers, ``as_of`` as ISO 8601 UTC."""
    fields = asdict(fields_of(row))
    return {
        "event": "salesradar.score",
        **fields,
        "as_of": iso_utc(row.as_of),
        "previous_tier": row.previous_tier,
    }


def push_changes(
    store: ScoreStore,
    *,
    settings: DeliverySettings,
    run_id: str | None,
    clock: Clock,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """POST every changed entity of ``run_id`` (default: the published run) to
    ``settings.writeback_webhook_url``, signed; returns what was sent, skipped as already
    sent, or failed. Raises ``UserError`` for an unknown run, ``ValueError`` when no
    write-back URL is configured. ``clock`` (naive UTC) stamps signatures and the ledger."""
    if settings.writeback_webhook_url is None or settings.webhook_secret is None:
        raise ValueError("no write-back webhook is configured")
    url = settings.writeback_webhook_url.get_secret_value()
    secret = settings.webhook_secret.get_secret_value()
    chosen = resolve_run(store, run_id)
    create_ledger_tables(store.engine)
    ledger = DeliveryLedger(store.engine)
    report = DeliveryReport(chosen)
    owned = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    try:
        for kind in ("customer", "lead"):
            for page in run_pages(store, kind, chosen):
                for row in filter(changed, page.items):
                    key = MessageKey(chosen, CHANNEL, f"{row.entity_kind}:{row.entity_id}", "score")
                    if ledger.was_sent(key):
                        report.already_sent.append(key)
                        continue
                    body = to_json_bytes(push_payload(row))

                    def send(body: bytes = body) -> None:
                        post_json(http, url, body, secret=secret, clock=clock)

                    outcome = deliver_key(
                        ledger, key, send, body.decode(), settings=settings, clock=clock
                    )
                    report.add(key, outcome)
    finally:
        if owned:
            http.close()
    return report
