"""Keep library chatter (MLflow, alembic, library warnings) out of the CLI's output.

The CLI speaks for itself: progress, results and one-line errors. MLflow prints INFO lines
("Creating initial MLflow database tables...") and messages through its own stream
("Successfully registered model ..."), alembic logs its migrations, and libraries emit
deprecation warnings; none of that helps the person running ``salesradar train``.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Packages whose warnings are ours and do reach the user.
OWN_PACKAGES = r"(features|training|serving|benchmarks)(\.|$)"


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """For the duration of a command: no log record below WARNING from anyone, no MLflow event
    stream (its ``eprint`` bypasses logging), and no warning raised outside our own packages.

    Everything is restored on exit, so tests and embedding processes keep their settings.
    """
    previous_disable = logging.root.manager.disable
    logging.disable(logging.INFO)
    mlflow_logging = _mlflow_logging_utils()
    was_enabled = mlflow_logging is not None and mlflow_logging.MLFLOW_LOGGING_STREAM.enabled
    if was_enabled:
        mlflow_logging.disable_logging()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore")
            warnings.filterwarnings("default", module=OWN_PACKAGES)
            yield
    finally:
        if was_enabled:
            mlflow_logging.enable_logging()
        logging.disable(previous_disable)


def _mlflow_logging_utils():  # type: ignore[no-untyped-def]
    """MLflow's logging module when MLflow is installed (serving and training use it)."""
    try:
        return importlib.import_module("mlflow.utils.logging_utils")
    except ImportError:
        return None
