"""Delivery settings: SMTP, webhooks and alert rules (``SALESRADAR_DELIVERY__*`` variables).

A nested model of ``serving.settings.Settings`` (field ``delivery``), so it is read from the
environment in entry points only, like every other setting. Secrets (the SMTP password, webhook
URLs, which carry their own token, and the signing secret) are ``SecretStr``: never printed.
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class DeliverySettings(BaseModel):
    """Where digests and alerts go and when an alert fires; every channel is off by default.

    Email needs ``smtp_host``, ``smtp_from`` and ``recipients_file`` (a CSV of ``owner_id,email``,
    see ``serving.delivery.recipients``). The Slack and Teams URLs are the channels' incoming
    webhooks; ``webhook_url`` receives the generic payload signed with ``webhook_secret``.
    """

    model_config = ConfigDict(extra="forbid")

    recipients_file: Path | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    slack_webhook_url: SecretStr | None = None
    teams_webhook_url: SecretStr | None = None
    webhook_url: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    # The CRM's push endpoint for `export-scores --push` (one signed request per changed entity).
    writeback_webhook_url: SecretStr | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Tries per message (the first included) and the first wait; waits double up to the cap:
    # with the defaults a dead endpoint costs 0.5 + 1 + 2 = 3.5 s per message, not minutes.
    attempts: int = Field(default=4, ge=1, le=20)
    backoff_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    # Alert when a score moves by at least this many points (0-100 scale) between two runs.
    alert_score_move: int = Field(default=15, ge=1, le=100)
    # Entries per digest section (the rest are counted, "and 12 more").
    digest_items: int = Field(default=10, ge=1)

    @field_validator("smtp_from")
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        """``radar@example.com`` or ``Salesradar <radar@example.com>``."""
        if value is not None:
            local, at, domain = parseaddr(value)[1].rpartition("@")
            if not (local and at and domain) or "@" in local:
                raise ValueError("an address such as radar@example.com or 'Name <radar@...>'")
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> DeliverySettings:
        signed = self.webhook_url is not None or self.writeback_webhook_url is not None
        if signed and self.webhook_secret is None:
            raise ValueError("a signed webhook URL needs webhook_secret")
        if self.smtp_host is not None and (self.smtp_from is None or self.recipients_file is None):
            raise ValueError("email (smtp_host) needs smtp_from and recipients_file")
        if (self.smtp_user is None) != (self.smtp_password is None):
            raise ValueError("smtp_user and smtp_password go together")
        return self

    def configured(self) -> bool:
        """True when at least one notification channel is set up (email or a webhook)."""
        return any(
            value is not None
            for value in (
                self.smtp_host,
                self.slack_webhook_url,
                self.teams_webhook_url,
                self.webhook_url,
            )
        )
