"""`salesradar pipeline` at the keyboard: one-line refusals before any work, and the lock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from features.cli.root import build_app
from tests.features.exportkit import AS_OF, write_valid_export
from training.monitoring.store import create_store_engine
from training.pipeline.records import begin_pipeline_run, create_pipeline_schema
from training.tracking import connect, resolve_tracking


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'scores.db'}")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def test_mistakes_are_one_line_and_create_nothing(env: Path) -> None:
    data = write_valid_export(env / "export")
    typo = env / "typo"
    assert _invoke("pipeline", "--data", str(env / "nope")) == (
        2,
        [f"error: --data {env / 'nope'}: no such export folder"],
    )
    assert _invoke("pipeline", "--data", str(data), "--as-of", "garbage") == (
        2,
        ["error: --as-of 'garbage' is not an ISO 8601 date or time"],
    )
    code, lines = _invoke("pipeline", "--data", str(data), "--models-dir", str(typo))
    assert code == 2 and lines == [
        f"error: --models-dir {typo}: no MLflow store there (no mlflow.db); "
        "'salesradar train' creates one"
    ]
    assert not typo.exists() and not (env / "scores.db").exists()


def test_a_second_run_is_refused_with_one_line_naming_the_first(env: Path) -> None:
    data = write_valid_export(env / "export")
    models = env / "models"
    connect(resolve_tracking(models_dir=models, environ={}))  # an (empty) MLflow store
    engine = create_store_engine(f"sqlite:///{env / 'scores.db'}")
    create_pipeline_schema(engine)
    first = begin_pipeline_run(
        engine,
        fingerprint="f" * 64,
        data="export",
        as_of=AS_OF,
        started_at=datetime(2026, 10, 2, 3, 0),
        pid=4242,
        host="box",
    )
    with FileLock(models / "pipeline.lock"):
        code, lines = _invoke(
            "pipeline", "--data", str(data), "--as-of", AS_OF.isoformat(), "--models-dir",
            str(models),
        )  # fmt: skip
    assert code == 3
    assert lines == [
        f"error: another pipeline run is in progress (run {first} started "
        f"2026-10-02T03:00:00Z by pid 4242 on box); lock {models / 'pipeline.lock'}"
    ]
