"""Admin reloads are coalesced: one runs, the others are answered at once with 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.app import create_app
from serving.champions.lifecycle import ChampionPoller
from serving.champions.source import ChampionRef
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys

CALLERS = 45  # more than the 40 threads of the server's pool


def test_concurrent_reloads_run_once_and_health_keeps_answering(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    keys = create_keys(services)
    entered, release = threading.Event(), threading.Event()
    answer = champions.resolve

    with TestClient(create_app(services)) as client:

        def held_resolve(task: Task) -> ChampionRef:
            entered.set()
            release.wait(timeout=30)
            return answer(task)

        champions.resolve = held_resolve  # type: ignore[method-assign]
        refused = threading.Semaphore(0)

        def reload() -> tuple[int, dict]:
            response = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
            if response.status_code == 409:
                refused.release()
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=CALLERS) as pool:
            first = pool.submit(reload)
            assert entered.wait(timeout=30), "the first reload never started"
            others = [pool.submit(reload) for _ in range(CALLERS - 1)]
            try:
                # Every other caller is answered while the first reload is still held.
                for _ in others:
                    assert refused.acquire(timeout=30), "a reload queued behind the running one"
                assert client.get("/health/ready").status_code == 200
                assert client.get("/health/live").status_code == 200
            finally:
                release.set()
            statuses = [f.result(timeout=30) for f in others]
            assert first.result(timeout=30)[0] == 200
    assert {status for status, _ in statuses} == {409}
    detail = statuses[0][1]["detail"][0]
    assert detail["type"] == "reload_in_progress" and detail["field"] == ""
    assert (
        detail["message"] == "reload already in progress (started by admin at 2026-01-15T12:00:00Z)"
    )


def test_a_poll_skips_its_turn_while_a_reload_runs(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions)
    services.models.reload()
    entered, release = threading.Event(), threading.Event()
    answer = champions.resolve

    def held_resolve(task: Task) -> ChampionRef:
        entered.set()
        release.wait(timeout=30)
        return answer(task)

    champions.resolve = held_resolve  # type: ignore[method-assign]
    running = threading.Thread(target=services.models.reload)
    running.start()
    assert entered.wait(timeout=30)
    polled = threading.Event()
    original = services.models.reload

    def reload(**kwargs: object) -> list:
        try:
            return original(**kwargs)  # type: ignore[arg-type]
        finally:
            polled.set()

    services.models.reload = reload  # type: ignore[method-assign]
    poller = ChampionPoller(services.models, interval=0.01)
    poller.start()
    try:
        assert polled.wait(timeout=30), "the poll waited for the running reload"
    finally:
        poller.stop()
        release.set()
        running.join(timeout=30)
