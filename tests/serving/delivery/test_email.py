"""Email digests and alerts through a real local SMTP server; a rerun sends nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from serving.delivery.config import DeliverySettings
from serving.delivery.dispatch import deliver_run
from serving.delivery.ledger import DeliveryLedger
from serving.store.database import ScoreStore
from tests.serving.delivery.books import T1, T2, clock, publish_two_runs, reason, settings
from tests.serving.delivery.receivers import smtp_server
from tests.serving.store.test_store import publish, row


def recipients(tmp_path: Path) -> Path:
    path = tmp_path / "reps.csv"
    path.write_text("owner_id,email,name\no1,ana@example.com,Ana Silva\n", encoding="utf-8")
    return path


def email_settings(tmp_path: Path, port: int) -> DeliverySettings:
    return settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="salesradar@example.com",
        recipients_file=recipients(tmp_path),
    )


def test_each_rep_gets_a_text_and_html_digest_and_alert_linking_entity_pages(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with smtp_server() as (port, inbox):
        config = email_settings(tmp_path, port)
        report = deliver_run(
            store,
            settings=config,
            public_url="https://radar.example.com/",
            run_id=None,
            clock=clock,
        )
    assert report.ok and report.no_address == []  # o2 has no news, so needs no address
    assert [(k.channel, k.recipient, k.kind) for k in report.sent] == [
        ("email", "o1", "digest"),
        ("email", "o1", "alert"),
    ]
    (to_digest, digest), (to_alert, alert) = inbox.messages
    assert to_digest == to_alert == ["ana@example.com"]
    assert digest["To"] == "Ana Silva <ana@example.com>"
    assert digest["Subject"] == (
        "salesradar digest as of 2026-10-01T00:00:00Z: 1 newly high-risk customer, 1 newly hot lead"
    )
    assert digest["Date"] == "Fri, 02 Oct 2026 03:00:00 +0000"
    text = digest.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = digest.get_body(("html",)).get_content()
    link = "https://radar.example.com/web/customers/c1"
    assert "Customer c1: score 70 (was 40, +30), high (was medium), value at risk 100" in text
    assert f"  {link}\n" in text and "Newly hot leads" in text and f"Run {second}" in text
    assert f'<a href="{link}">' in html and "Biggest score moves" in html
    alert_text = alert.get_body(("plain",)).get_content()
    assert alert["Subject"] == "salesradar alert: 3 accounts need attention now"
    assert "[newly high, up 30 points]" in alert_text and "[down 16 points]" in alert_text


def test_a_rerun_of_the_same_run_sends_nothing_twice(store: ScoreStore, tmp_path: Path) -> None:
    publish_two_runs(store)
    with smtp_server() as (port, inbox):
        config = email_settings(tmp_path, port)
        first = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
        again = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    assert len(first.sent) == 2 and again.sent == [] and len(again.already_sent) == 2
    assert len(inbox.messages) == 2
    assert "http" not in inbox.messages[0][1].get_body(("plain",)).get_content()  # no URL set


def test_a_dry_run_sends_and_records_nothing(store: ScoreStore, tmp_path: Path) -> None:
    _, second = publish_two_runs(store)
    with smtp_server() as (port, inbox):
        config = email_settings(tmp_path, port)
        report = deliver_run(
            store, settings=config, public_url=None, run_id=second, clock=clock, dry_run=True
        )
        assert [k.kind for k, _ in report.planned] == ["digest", "alert"]
        assert inbox.messages == [] and report.sent == []
        # ... and a real run afterwards still sends both.
        real = deliver_run(store, settings=config, public_url=None, run_id=second, clock=clock)
    assert len(real.sent) == 2


def test_an_unreachable_smtp_server_leaves_dead_letters_for_a_later_retry(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    path = tmp_path / "reps.csv"
    path.write_text("owner_id,email\no2,bo@example.com\n", encoding="utf-8")
    config = settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=1,  # nothing listens there
        smtp_starttls=False,
        smtp_from="salesradar@example.com",
        recipients_file=path,
        smtp_timeout_seconds=2,
    )
    report = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    assert report.no_address == ["o1"] and report.sent == []
    # o1 has news but no address, o2 has an address but no news: nothing to send, nothing lost.
    assert report.failed == [] and DeliveryLedger(store.engine).dead_letters(second) == []
    path.write_text("owner_id,email\no1,ana@example.com\n", encoding="utf-8")
    report = deliver_run(store, settings=config, public_url=None, run_id=None, clock=clock)
    assert [(k.channel, k.kind) for k, _ in report.failed] == [
        ("email", "digest"),
        ("email", "alert"),
    ]
    letters = DeliveryLedger(store.engine).dead_letters(second)
    assert [(d.key.kind, d.attempts) for d in letters] == [("digest", 3), ("alert", 3)]
    assert "ConnectionRefusedError" in letters[0].error and "ana@example.com" in letters[0].payload


# The test server takes AUTH without TLS on 127.0.0.1, and aiosmtpd warns about exactly that.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_is_used_and_a_refused_login_is_not_retried(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    with smtp_server(login=("radar", "right")) as (port, inbox):
        wrong = email_settings(tmp_path, port).model_copy(
            update={"smtp_user": "radar", "smtp_password": SecretStr("wrong")}
        )
        refused = deliver_run(store, settings=wrong, public_url=None, run_id=None, clock=clock)
        letters = DeliveryLedger(store.engine).dead_letters(second)
        assert [d.attempts for d in letters] == [1, 1]  # 535 is permanent: one try each
        assert refused.failed[0][1].startswith("SMTP 535")
        right = wrong.model_copy(update={"smtp_password": SecretStr("right")})
        sent = deliver_run(store, settings=right, public_url=None, run_id=None, clock=clock)
    assert len(sent.sent) == 2 and len(inbox.messages) == 2


def test_entity_text_is_escaped_in_html(store: ScoreStore, tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script>'
    publish(store, [row("c<1>", 0.2, tier="low")], at=T1)
    publish(store, [row("c<1>", 0.7, tier="high", reasons=[reason(hostile, 0.9)])], at=T2)
    with smtp_server() as (port, inbox):
        deliver_run(
            store,
            settings=email_settings(tmp_path, port),
            public_url="https://r.example",
            run_id=None,
            clock=clock,
        )
    html = inbox.messages[0][1].get_body(("html",)).get_content()
    assert hostile not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; text" in html
    assert 'href="https://r.example/web/customers/c%3C1%3E"' in html
