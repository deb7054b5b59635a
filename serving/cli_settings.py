"""What every serving command shares: the console it prints to and the settings it reads.

Apart from ``serving.cli`` so the sub-command modules (``serving.delivery.cli``,
``serving.writeback.cli``) that ``serving.cli`` registers can use them without importing it back.
"""

from __future__ import annotations

import os

from pydantic import ValidationError
from rich.console import Console

from features.errors import UserError
from serving.settings import Settings

console = Console()


def settings_error(exc: ValidationError) -> str:
    """pydantic's report on bad ``SALESRADAR_*`` values as one line naming each variable."""
    prefix = Settings.model_config.get("env_prefix", "")
    parts = []
    for error in exc.errors():
        name = prefix + "__".join(str(p) for p in error["loc"]).upper()
        parts.append(f"{name}: {error['msg']}")
    return "; ".join(parts)


def load_settings() -> Settings:
    """The service settings from the environment; a bad value is a one-line ``UserError``."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise UserError(settings_error(exc)) from None
    # Bounded waits on an HTTP tracking server, on top of serving's own hard timeouts.
    timeout = str(max(1, int(settings.registry_timeout_seconds)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", timeout)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    return settings
