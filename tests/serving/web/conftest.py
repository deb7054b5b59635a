"""Fixtures of the reps' pages: a scores database with two reps' books, an app, its keys."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.api.services import Services
from tests.serving.appkit import FolderChampions, build_test_services, create_keys
from tests.serving.web.bookkit import SECRET, publish_book

# Bound on starting and stopping the test server (a readiness wait, not a timing assertion).
STARTUP_SECONDS = 30


@pytest.fixture
def web_services(tmp_path: Path) -> Services:
    """Services over a fresh scores database holding the two published runs of ``bookkit``
    (no model: the pages read stored scores only)."""
    services = build_test_services(tmp_path, FolderChampions(), session_secret=SECRET)
    publish_book(services.store)
    return services


@pytest.fixture
def web_keys(web_services: Services) -> dict[str, str]:
    return create_keys(web_services)


@pytest.fixture
def web_client(web_services: Services, web_keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(web_services, load_models=False)) as test_client:
        yield test_client


def chromium_executable() -> str:
    """Debian's chromium (``chromium`` on PATH, else /usr/bin/chromium). Missing, the browser
    tests skip, unless ``SALESRADAR_REQUIRE_BROWSER=1`` (CI), where they fail."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        message = "chromium not found (apt-get install chromium; .ci/run does)"
        if os.environ.get("SALESRADAR_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 on a free port in a thread; yields its base URL
    and stops the server (and joins the thread) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()


@pytest.fixture
def live_url(web_services: Services, web_keys: dict[str, str]) -> Iterator[str]:
    """The pages over the ``bookkit`` database, served by uvicorn for the browser."""
    with serve_in_thread(create_app(web_services, load_models=False)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser), headless."""
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()
