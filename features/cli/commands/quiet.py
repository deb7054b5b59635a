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
from contextlib import AbstractContextManager, contextmanager, nullcontext

# Packages whose warnings are ours and do reach the user.
OWN_PACKAGES = r"(features|training|serving|benchmarks)(\.|$)"


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """For the duration of a command: no log record below WARNING from anyone, no MLflow event
    output (its ``eprint`` bypasses logging) and no warning raised outside our own packages.

    Everything is restored on exit, so tests and embedding processes keep their settings.
    """
    previous_disable = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with _mlflow_events_off(), warnings.catch_warnings():
            warnings.filterwarnings("ignore")
            warnings.filterwarnings("default", module=OWN_PACKAGES)
            yield
    finally:
        logging.disable(previous_disable)


def _mlflow_events_off() -> AbstractContextManager[object]:
    """MLflow's own switch for its event output, when MLflow is installed.

    Its counter is shared with MLflow's internal uses of the same switch, which would turn the
    output back on if we flipped ``disable_logging()`` directly.
    """
    try:
        module = importlib.import_module("mlflow.utils.autologging_utils")
    except ImportError:
        return nullcontext()
    behavior = module.MlflowEventsAndWarningsBehaviorGlobally
    quiet: AbstractContextManager[object, bool | None] = behavior(
        disable_event_logs=True, disable_warnings=True, reroute_warnings=False
    )
    return quiet
