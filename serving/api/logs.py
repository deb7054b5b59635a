"""Logging of the server process: one handler on the root logger, text or JSON lines.

Configured by the entry point (``salesradar serve``), never at import. Libraries' INFO chatter
(MLflow's, alembic's, HTTP clients') is raised to WARNING so that the server's own lines (which
models it loaded, one access line per request) are not buried; uvicorn's loggers propagate to
the same handler, and its own access log stays off (``serving.api.request_ids`` writes one with
the request id instead).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
NOISY_LIBRARIES = ("mlflow", "alembic", "urllib3", "httpx", "httpcore", "git")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Every record's message, level, logger and time, plus whatever ``extra=`` it carries (the
# access log's request_id, method, route, status, duration_ms).
JSON_FIELDS = "{asctime}{levelname}{name}{message}"


def build_formatter(log_format: LogFormat) -> logging.Formatter:
    """A text formatter, or a JSON one writing one object per line; times in UTC with a Z."""
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(
            JSON_FIELDS,
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt=TIME_FORMAT,
        )
    else:
        formatter = logging.Formatter(TEXT_FORMAT, datefmt=TIME_FORMAT)
    formatter.converter = time.gmtime
    return formatter


def configure_logging(
    log_format: LogFormat, *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records at ``level`` and above to ``stream`` (stderr by default).

    Sets ``MLFLOW_CONFIGURE_LOGGING=false`` in the environment unless already set, so that an
    MLflow imported later leaves the loggers configured here alone.
    Replaces the root logger's handlers (a second call does not duplicate lines) and returns
    the handler installed."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(build_formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # MLflow otherwise installs its own INFO handler on first import, in its own format,
    # undoing the level below; an explicit MLFLOW_CONFIGURE_LOGGING from the caller still wins.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    for name in NOISY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(logging.WARNING)
        library.handlers.clear()
        library.propagate = True
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    return handler
