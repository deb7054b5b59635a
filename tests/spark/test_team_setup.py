"""The README's team set-up end to end: train on Spark, log to an MLflow server whose backend
store is PostgreSQL, then score on Spark from that server's champion into PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from features.model.artifact_contract import CHALLENGER, CHAMPION
from features.synthetic import DEFAULT_AS_OF, generate_crm
from serving.scoring import batch
from serving.store.database import ScoreStore
from tests.servers import mlflow_server
from tests.serving.postgres import PostgresServer, create_database, start_postgres


@pytest.fixture()
def postgres() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


@pytest.fixture()
def tracking_server(postgres: PostgresServer, tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 with a PostgreSQL backend store and a local artifact root."""
    backend = create_database(postgres)
    artifacts, log = tmp_path / "mlartifacts", tmp_path / "mlflow.log"
    with mlflow_server(backend=backend, artifacts=artifacts, log=log) as url:
        yield url


@pytest.mark.slow
@pytest.mark.postgres
def test_train_on_spark_log_to_a_postgres_backed_server_and_score(
    spark, postgres, tracking_server, tmp_path, monkeypatch
):
    data = tmp_path / "export"
    generate_crm(data, leads=60, customers=400, seed=5, as_of=DEFAULT_AS_OF, months=18)
    scores_url = create_database(postgres)
    env = {
        "MLFLOW_TRACKING_URI": tracking_server,
        "SALESRADAR_ENGINE": "spark",  # the setting, not the option
        "SALESRADAR_SCORES_URL": scores_url,
        "SALESRADAR_SERVED_DIR": str(tmp_path / "served"),
        "SALESRADAR_SPARK_RUNS_DIR": str(tmp_path / "runs"),
        "COLUMNS": "200",
    }
    as_of = DEFAULT_AS_OF.date().isoformat()
    runner = CliRunner()
    trained = runner.invoke(
        build_app(), ["train", "churn", "--data", str(data), "--as-of", as_of], env=env
    )
    assert trained.exit_code == 0, trained.output
    client = mlflow.MlflowClient(tracking_server)
    version = client.get_model_version_by_alias("salesradar-churn", CHALLENGER)
    # Promotion rules are tested elsewhere: make this version the champion directly.
    client.set_registered_model_alias("salesradar-churn", CHAMPION, version.version)
    written: list[Path] = []
    remove = batch.remove_run_parts

    def note_then_remove(location: str) -> None:
        written.extend(Path(location).rglob("*.parquet"))
        remove(location)

    monkeypatch.setattr(batch, "remove_run_parts", note_then_remove)
    scored = runner.invoke(
        build_app(), ["score", "--data", str(data), "--as-of", as_of, "--task", "churn"], env=env
    )
    assert scored.exit_code == 0, scored.output
    store = ScoreStore.from_url(scores_url)
    page = store.list_scores("customer", limit=1000)
    store.engine.dispose()
    assert page.total > 0
    assert {item.model_version for item in page.items} == {str(version.version)}
    # Scored inside Spark: the rows went through Parquet, removed once the run was published.
    assert written
    assert not any((tmp_path / "runs").rglob("*.parquet"))
