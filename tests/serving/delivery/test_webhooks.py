"""Slack, Teams and the signed generic webhook against a local receiver: retries with backoff,
a dead letter after the last try, and a rerun that retries only what failed."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from pathlib import Path

from pydantic import SecretStr

from serving.delivery.dispatch import deliver_run
from serving.delivery.ledger import DeliveryLedger
from serving.store.database import ScoreStore
from tests.serving.delivery.books import NOW, clock, publish_two_runs, settings
from tests.serving.delivery.receivers import http_receiver

SECRET = "s3cret"


def test_chat_payloads_have_the_slack_and_teams_shapes(store: ScoreStore, tmp_path: Path) -> None:
    publish_two_runs(store)
    with (
        http_receiver(fail_first=0) as (slack_url, slack),
        http_receiver(fail_first=0) as (
            teams_url,
            teams,
        ),
    ):
        config = settings(
            tmp_path, slack_webhook_url=SecretStr(slack_url), teams_webhook_url=SecretStr(teams_url)
        )
        report = deliver_run(
            store, settings=config, public_url="https://r.example", run_id=None, clock=clock
        )
    assert report.ok and len(report.sent) == 4  # digest and alert of o1, on both channels
    digest = json.loads(slack.requests[0][1])
    assert digest["text"].startswith("salesradar digest as of 2026-10-01T00:00:00Z")
    assert [b["type"] for b in digest["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "section",
    ]
    assert (
        "<https://r.example/web/customers/c1|Customer c1: score 70"
        in digest["blocks"][2]["text"]["text"]
    )
    card = json.loads(teams.requests[1][1])
    assert card["type"] == "message"
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    texts = [block["text"] for block in attachment["content"]["body"]]
    assert texts[0] == "salesradar alert: 3 accounts need attention now"
    assert "[Customer c1: score 70 (was 40, +30), high (was medium), value at risk 100]" in texts[3]


def test_the_generic_payload_is_signed_over_timestamp_and_body(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with http_receiver(fail_first=0) as (url, received):
        config = settings(tmp_path, webhook_url=SecretStr(url), webhook_secret=SecretStr(SECRET))
        deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    headers, body = received.requests[0]
    timestamp = headers["X-Salesradar-Timestamp"]
    assert int(timestamp) == int(NOW.replace(tzinfo=UTC).timestamp())
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Salesradar-Signature"] == f"sha256={expected.hexdigest()}"
    payload = json.loads(body)
    assert payload["event"] == "salesradar.digest" and payload["run_id"] == second
    first_line = payload["sections"][0]["lines"][0]
    assert first_line["entry"] == {
        "entity_kind": "customer",
        "entity_id": "c1",
        "score": 70,
        "tier": "high",
        "previous_score": 40,
        "previous_tier": "medium",
        "value": 100.0,
        "reason": "a text",
    }


def test_a_receiver_failing_twice_gets_the_message_on_the_third_try(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with http_receiver(fail_first=2) as (url, received):
        config = settings(tmp_path, webhook_url=SecretStr(url), webhook_secret=SecretStr(SECRET))
        report = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    assert report.ok and [k.kind for k in report.sent] == ["digest", "alert"]
    assert len(received.requests) == 4  # 503, 503, 200 for the digest; 200 for the alert
    assert len({body for _, body in received.requests[:3]}) == 1  # the same message each try
    assert DeliveryLedger(store.engine).dead_letters(second) == []


def test_a_receiver_that_always_fails_leaves_a_dead_letter_and_a_retry_delivers_it(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with http_receiver(fail_first=10**6) as (url, received):
        config = settings(tmp_path, webhook_url=SecretStr(url), webhook_secret=SecretStr(SECRET))
        report = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
        assert len(received.requests) == 6  # 3 tries for each of the two messages
        assert [(k.kind, error) for k, error in report.failed] == [
            ("digest", "HTTP 503: busy"),
            ("alert", "HTTP 503: busy"),
        ]
        letters = DeliveryLedger(store.engine).dead_letters(second)
        assert [(d.key.channel, d.key.recipient, d.key.kind, d.attempts) for d in letters] == [
            ("webhook", "o1", "digest", 3),
            ("webhook", "o1", "alert", 3),
        ]
        assert json.loads(letters[0].payload)["event"] == "salesradar.digest"
        received.fail_first = 0  # the endpoint recovers: `notify --run-id` delivers the rest
        retry = deliver_run(store, settings=config, public_url=None, run_id=second, clock=clock)
    assert retry.ok and [k.kind for k in retry.sent] == ["digest", "alert"]
    again = deliver_run(store, settings=config, public_url=None, run_id=second, clock=clock)
    assert again.sent == [] and len(again.already_sent) == 2


def test_a_client_error_is_not_retried(store: ScoreStore, tmp_path: Path) -> None:
    publish_two_runs(store)
    with http_receiver(fail_first=10**6, status=404) as (url, received):
        config = settings(tmp_path, slack_webhook_url=SecretStr(url))
        report = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    assert len(received.requests) == 2  # one try per message: another would be refused too
    assert [error for _, error in report.failed] == ["HTTP 404: busy", "HTTP 404: busy"]
