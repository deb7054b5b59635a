"""Startup moves long-lived objects out of the cyclic collector's way (``gc_freeze``)."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from serving.app import create_app
from tests.serving.appkit import FolderChampions, build_test_services


def test_startup_freezes_the_heap_only_when_asked(
    tmp_path: Path, champions: FolderChampions
) -> None:
    gc.unfreeze()
    try:
        off = build_test_services(tmp_path / "off", champions)
        with TestClient(create_app(off)) as client:
            assert client.get("/health/ready").status_code == 200
            assert gc.get_freeze_count() == 0
        on = build_test_services(tmp_path / "on", champions, gc_freeze=True)
        with TestClient(create_app(on)) as client:
            assert client.get("/health/ready").status_code == 200
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
