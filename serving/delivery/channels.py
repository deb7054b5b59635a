"""Sending: SMTP email (stdlib ``smtplib``), JSON webhooks (``httpx``), retries (``tenacity``).

Every send is one message to one endpoint. Failures are sorted: a timeout, a dropped connection,
HTTP 408/429/5xx and SMTP 4xx replies are transient and tried again after an exponentially
growing wait; any other refusal (HTTP 4xx, SMTP 5xx) is permanent and ends the tries at once.
The signed webhook carries ``X-Salesradar-Timestamp`` (Unix seconds) and
``X-Salesradar-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>." + body`` under
the shared secret (the scheme Stripe and GitHub use; a receiver rejects old timestamps to stop
replays). The timestamp is taken from the injected clock at each try.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from serving.delivery.config import DeliverySettings

SIGNATURE_HEADER = "X-Salesradar-Signature"
TIMESTAMP_HEADER = "X-Salesradar-Timestamp"
_RETRIED_STATUS = {408, 429}

Clock = Callable[[], datetime]  # naive UTC "now" (serving.wiring.utc_now), from the entry point


class TransientFailure(Exception):
    """A failure worth another try (message says what happened)."""


class PermanentFailure(Exception):
    """A refusal another try would not change (message says what happened)."""


@dataclass(frozen=True)
class Outcome:
    """How a send ended: ``error`` None means delivered; ``attempts`` counts every try."""

    attempts: int
    error: str | None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``"<ts>." + body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def send_with_retries(send: Callable[[], None], settings: DeliverySettings) -> Outcome:
    """Call ``send`` until it returns, it raises ``PermanentFailure``, or ``settings.attempts``
    tries are spent, waiting ``backoff_seconds * 2**(n-1)`` (capped) between tries."""
    retrying = Retrying(
        stop=stop_after_attempt(settings.attempts),
        wait=wait_exponential(
            multiplier=settings.backoff_seconds, max=settings.backoff_max_seconds
        ),
        retry=retry_if_exception_type(TransientFailure),
        reraise=True,
    )
    try:
        retrying(send)
    except (TransientFailure, PermanentFailure) as exc:
        return Outcome(retrying.statistics.get("attempt_number", 1), str(exc))
    return Outcome(retrying.statistics.get("attempt_number", 1), None)


def post_json(
    client: httpx.Client,
    url: str,
    body: bytes,
    *,
    secret: str | None = None,
    clock: Clock | None = None,
) -> None:
    """POST ``body`` (JSON bytes) to ``url`` once; signed when ``secret`` is given (then
    ``clock`` is required). Returns on any 2xx; raises ``TransientFailure`` /
    ``PermanentFailure`` otherwise (the URL is never in the message: it may hold a token)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        if clock is None:
            raise ValueError("a signed post needs the clock")
        timestamp = int(clock().replace(tzinfo=UTC).timestamp())
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TransportError as exc:
        raise TransientFailure(f"{type(exc).__name__}: {exc}") from None
    if response.is_success:
        return
    failure = f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in _RETRIED_STATUS or response.status_code >= 500:
        raise TransientFailure(failure)
    raise PermanentFailure(failure)


def build_email(
    *, sender: str, to: Address, subject: str, text: str, html: str, sent_at: datetime
) -> EmailMessage:
    """A multipart/alternative message: ``text`` then ``html`` (clients show the last they
    can); ``sent_at`` (naive UTC) is the Date header."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at.replace(tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(message: EmailMessage, settings: DeliverySettings) -> None:
    """Send ``message`` once through ``settings``' SMTP server (STARTTLS and login when
    configured). Raises ``TransientFailure`` (connection trouble, 4xx replies) or
    ``PermanentFailure`` (5xx replies: bad address, refused login)."""
    assert settings.smtp_host is not None  # dispatch sends email only when it is configured
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user is not None and settings.smtp_password is not None:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        failure = f"recipient refused: {exc.recipients}"
        if all(400 <= code < 500 for code in codes):
            raise TransientFailure(failure) from None
        raise PermanentFailure(failure) from None
    except smtplib.SMTPResponseException as exc:
        failure = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500:
            raise TransientFailure(failure) from None
        raise PermanentFailure(failure) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientFailure(f"{type(exc).__name__}: {exc}") from None
