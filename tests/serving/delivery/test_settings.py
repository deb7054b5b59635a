"""Delivery settings from the environment: a half-configured channel or a misspelt variable is
one line naming it, before anything is read or sent."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SALESRADAR_DELIVERY__WEBHOOK_URL": "http://127.0.0.1:9/hook"},
            "SALESRADAR_DELIVERY: a signed webhook URL needs webhook_secret",
        ),
        (
            {"SALESRADAR_DELIVERY__SMTP_HOST": "127.0.0.1"},
            "SALESRADAR_DELIVERY: email (smtp_host) needs smtp_from and recipients_file",
        ),
        (
            {"SALESRADAR_DELIVERY__SMTP_FROM": "radar"},
            "SALESRADAR_DELIVERY__SMTP_FROM: an address such as radar@example.com "
            "or 'Name <radar@...>'",
        ),
        (
            {"SALESRADAR_DELIVERY__ATTEMPTS": "0"},
            "SALESRADAR_DELIVERY__ATTEMPTS: Input should be greater than or equal to 1",
        ),
        (
            {"SALESRADAR_DELIVERY__SMTP_HOSTT": "127.0.0.1"},
            "SALESRADAR_DELIVERY__SMTP_HOSTT: Extra inputs are not permitted",
        ),
        (
            {},
            "no delivery channel is configured: set SALESRADAR_DELIVERY__SMTP_HOST or a webhook "
            "URL (docs/notifications.md)",
        ),
    ],
)
def test_bad_delivery_settings_are_one_line(env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(build_app(), ["notify"], env={"COLUMNS": "200", **env})
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == f"error: {message}"
