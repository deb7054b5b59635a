"""Fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def _restored_mlflow_tracking_uri() -> Iterator[None]:
    """Put ``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI`` (environment and MLflow's
    module-level URIs) back as they were.

    ``mlflow.set_tracking_uri`` (called by ``training.tracking.connect``) also writes
    ``MLFLOW_TRACKING_URI`` into ``os.environ`` so that subprocesses inherit it; without this, a
    later test that resolves its store from the environment would silently use an earlier test's
    store (and a test that moved its store would make every later one refuse to train).
    ``mlflow.set_registry_uri`` (also called by ``connect``) does the same for the registry, and
    an ``MlflowClient(tracking_uri)`` made later takes its registry from that module-level URI,
    not from the tracking URI it was given: a test would read an earlier test's aliases.
    """
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved = {name: os.environ.get(name) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    # The module-level URIs are compared before the environment is written again: reset them too.
    tracking_utils._tracking_uri = None
    registry_utils._registry_uri = None


@pytest.fixture(autouse=True, scope="module")
def _module_mlflow_tracking_uri() -> Iterator[None]:
    """Each test module starts with the tracking URI the suite started with: a module-scoped
    fixture that connects to its own store (set up before the per-test fixture below saves
    the URI) cannot leak it into the next module."""
    with _restored_mlflow_tracking_uri():
        yield


@pytest.fixture(autouse=True)
def _isolated_mlflow_tracking_uri() -> Iterator[None]:
    """Each test starts with the tracking URI its module started with."""
    with _restored_mlflow_tracking_uri():
        yield
