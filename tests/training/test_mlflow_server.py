"""MLFLOW_TRACKING_URI points training at a real MLflow tracking server (started here, local)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from features.artifact_contract import CHALLENGER, file_sha256
from tests.training.conftest import train_churn
from training.config import TrainingConfig
from training.tracking import connect, log_trained_task, resolve_tracking

STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"mlflow server not healthy within {STARTUP_SECONDS} s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'm.db'}",
            "--default-artifact-root",
            str(tmp_path / "art"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        mlflow.set_tracking_uri(None)


@pytest.mark.slow
def test_training_logs_and_registers_on_a_tracking_server(
    server: str, tmp_path: Path, frame: pd.DataFrame, config: TrainingConfig
) -> None:
    tracking = resolve_tracking(
        models_dir=tmp_path / "unused", environ={"MLFLOW_TRACKING_URI": server}
    )
    assert tracking.tracking_uri == server
    trained = train_churn(frame, config, seed=1)
    registered = log_trained_task(
        trained, config=config, tracking=tracking, data_source="x", as_of=datetime(2026, 1, 1)
    )
    client = connect(tracking)
    version = client.get_model_version_by_alias("salesradar-churn", CHALLENGER)
    assert str(version.version) == registered.version
    local = Path(client.download_artifacts(version.run_id, "scoring_model", str(tmp_path / "d")))
    assert version.tags["sha256.model.skops"] == file_sha256(local / "model.skops")
    # The server kept the artifacts in its own root; nothing went to the embedded store.
    assert any((tmp_path / "art").rglob("model.skops"))
    assert not (tmp_path / "unused").exists()
