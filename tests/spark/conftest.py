"""One local Spark session for every Spark test (starting one costs seconds of JVM start-up).

Without Java the Spark tests skip, unless ``SALESRADAR_REQUIRE_SPARK=1`` (CI, where ``.ci/run``
installs Java), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The serving tests' tiny champions (fitted once per session), for the batch-scoring parity.
from tests.serving.conftest import champions, trained  # noqa: F401

SPARK_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/spark carries the ``spark`` marker (``make test-fast`` skips it)."""
    for item in items:
        if SPARK_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The suite's Spark session: local[2], UTC, UI off, bound to 127.0.0.1; stopped at the end."""
    if shutil.which("java") is None:
        message = "no java on PATH: the Spark engine needs Java 17+"
        if os.environ.get("SALESRADAR_REQUIRE_SPARK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from features.compute.engines.spark.session import build_session

    session = build_session(master="local[2]", app_name="salesradar-tests")
    yield session
    session.stop()
