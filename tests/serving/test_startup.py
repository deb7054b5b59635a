"""Startup moves long-lived objects out of the cyclic collector's way (``gc_freeze``) and
makes young collections rarer."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from serving.app import SERVING_GC_THRESHOLDS, create_app
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
