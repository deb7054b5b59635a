"""Write-back pushes: one signed request per changed entity, each once, failures retried."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from pydantic import SecretStr

from serving.delivery.ledger import DeliveryLedger
from serving.store.database import ScoreStore
from serving.writeback.push import push_changes
from tests.serving.delivery.books import clock, publish_two_runs, settings
from tests.serving.delivery.receivers import http_receiver

SECRET = "crm-secret"


def test_only_changed_entities_are_pushed_signed_and_never_twice(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with http_receiver(fail_first=1) as (url, received):
        config = settings(
            tmp_path,
            writeback_webhook_url=SecretStr(url),
            webhook_secret=SecretStr(SECRET),
        )
        report = push_changes(store, settings=config, run_id=None, clock=clock)
        again = push_changes(store, settings=config, run_id=second, clock=clock)
    # c9 kept its score and tier; c0 is new in the second run; l1, c1, c2 and c3 moved.
    assert sorted(k.recipient for k in report.sent) == [
        "customer:c0",
        "customer:c1",
        "customer:c2",
        "customer:c3",
        "lead:l1",
    ]
    assert report.ok and again.sent == [] and len(again.already_sent) == 5
    assert len(received.requests) == 6  # the first try was refused once, then each once
    for headers, body in received.requests:
        timestamp = headers["X-Salesradar-Timestamp"]
        mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        assert headers["X-Salesradar-Signature"] == f"sha256={mac.hexdigest()}"
    payloads = {json.loads(b)["entity_id"]: json.loads(b) for _, b in received.requests}
    assert payloads["c1"] == {
        "event": "salesradar.score",
        "entity_kind": "customer",
        "entity_id": "c1",
        "owner_id": "o1",
        "score": 70,
        "tier": "high",
        "probability": 0.7,
        "value": 100.0,
        "top_factor_up": "a text",
        "top_factor_down": "b text",
        "as_of": "2026-10-01T00:00:00Z",
        "previous_score": 40,
        "previous_tier": "medium",
        "run_id": second,
    }
    assert DeliveryLedger(store.engine).dead_letters(second) == []


def test_a_dead_crm_endpoint_leaves_dead_letters(store: ScoreStore, tmp_path: Path) -> None:
    _, second = publish_two_runs(store)
    with http_receiver(fail_first=10**6) as (url, received):
        config = settings(
            tmp_path, writeback_webhook_url=SecretStr(url), webhook_secret=SecretStr(SECRET)
        )
        report = push_changes(store, settings=config, run_id=None, clock=clock)
    assert len(report.failed) == 5 and len(received.requests) == 15  # 3 tries each
    letters = DeliveryLedger(store.engine).dead_letters(second)
    assert {d.key.channel for d in letters} == {"writeback"} and len(letters) == 5
