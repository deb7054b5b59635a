"""MLFLOW_TRACKING_URI points training at a real MLflow tracking server (started here, local)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from features.model.artifact_contract import CHALLENGER, file_sha256
from tests.servers import mlflow_server
from tests.training.conftest import train_churn
from training.config import TrainingConfig
from training.tracking import connect, log_trained_task, resolve_tracking


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    backend = f"sqlite:///{tmp_path / 'm.db'}"
    with mlflow_server(backend=backend, artifacts=tmp_path / "art", log=tmp_path / "log") as url:
        yield url


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
