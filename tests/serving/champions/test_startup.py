"""Startup never waits on the registry (the first load runs in the background), moves
long-lived objects out of the cyclic collector's way (``gc_freeze``) and makes young
collections rarer."""

from __future__ import annotations

import gc
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import SERVING_GC_THRESHOLDS, create_app
from serving.champions.source import ChampionRef, RegistryTimeout
from serving.settings import Settings
from serving.wiring import build_services
from tests.serving.appkit import FolderChampions, build_test_services


def test_startup_freezes_the_heap_only_when_asked(
    tmp_path: Path, champions: FolderChampions
) -> None:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        off = build_test_services(tmp_path / "off", champions)
        with TestClient(create_app(off)) as client:
            assert client.get("/health/ready").status_code == 200
            assert gc.get_freeze_count() == 0
            assert gc.get_threshold() == thresholds
        on = build_test_services(tmp_path / "on", champions, gc_freeze=True)
        with TestClient(create_app(on)) as client:
            assert client.get("/health/ready").status_code == 200
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == SERVING_GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class SilentRegistry:
    """A TCP server on 127.0.0.1 that accepts connections and never answers them.

    Holds what it accepts until ``close`` or until ``lifetime`` seconds have passed, whichever
    comes first, so nothing outlives the test.
    """

    def __init__(self, *, lifetime: float) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._run, name="silent-registry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self._held.append(connection)
            self.accepted.set()
        for connection in self._held:
            connection.close()
        self._server.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_liveness_answers_while_the_registry_never_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow's own client would otherwise retry a dropped connection for minutes.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    registry = SilentRegistry(lifetime=120)
    try:
        settings = Settings(
            scores_url=f"sqlite:///{tmp_path / 'scores.db'}",
            served_dir=tmp_path / "served",
            mlflow_tracking_uri=f"http://127.0.0.1:{registry.port}",
            registry_timeout_seconds=20,
            poll_seconds=0,
            gc_freeze=False,
        )
        services = build_services(settings)
        with TestClient(create_app(services)) as client:
            assert registry.accepted.wait(timeout=60), "the startup load never asked the registry"
            # The registry holds the call open: everything below is answered meanwhile.
            assert client.get("/health/live").status_code == 200
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["tasks"]["leads"] == {
                "state": "loading",
                "version": None,
                "detail": "the leads champion is still loading",
                "error": None,
            }
    finally:
        registry.close()


def test_the_service_becomes_ready_when_the_first_load_finishes(
    tmp_path: Path, champions: FolderChampions
) -> None:
    release = threading.Event()
    answer = champions.resolve

    def held_resolve(task: Task) -> ChampionRef:
        release.wait(timeout=60)
        return answer(task)

    champions.resolve = held_resolve  # type: ignore[method-assign]
    services = build_test_services(tmp_path, champions, startup_wait_seconds=0)
    with TestClient(create_app(services)) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").json()["status"] == "not ready"
        release.set()
        deadline = time.monotonic() + 60
        while client.get("/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "the first load never finished"
            time.sleep(0.05)
        assert client.get("/health/ready").json()["models"] == {"leads": "1", "churn": "1"}


def test_a_registry_that_timed_out_is_not_asked_again_in_the_same_reload(
    tmp_path: Path, champions: FolderChampions
) -> None:
    asked: list[Task] = []

    def silent(task: Task) -> ChampionRef:
        asked.append(task)
        raise RegistryTimeout("resolve salesradar-leads@champion: no answer within 10 s")

    champions.resolve = silent  # type: ignore[method-assign]
    services = build_test_services(tmp_path, champions)
    results = services.models.reload()
    assert asked == [Task.LEADS]
    assert [r.outcome for r in results] == ["degraded", "degraded"]
    assert services.models.last_errors[Task.CHURN].startswith("not asked: resolve salesradar")
