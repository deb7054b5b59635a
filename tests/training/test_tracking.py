"""MLflow: a run logs everything, registers a challenger, promotion and rollback move aliases.

One embedded sqlite store (in tmp) serves the whole module: creating it runs MLflow's schema
migrations, which take seconds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from features.contract.tasks import Task
from features.model.artifact_contract import CHALLENGER, CHAMPION, file_sha256
from features.model.scoring_model import ESTIMATOR_FILE, MANIFEST_FILE
from tests.training.conftest import train_churn
from training import promotion
from training.config import TrainingConfig
from training.pyfunc import SKLEARN_MODEL_NAME
from training.tracking import (
    TrackingConfig,
    connect,
    dataset_schema,
    log_trained_task,
    resolve_tracking,
)
from training.trainer import TrainedTask

NAME = "salesradar-churn"
NOW = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    models_dir = tmp_path_factory.mktemp("models")
    yield models_dir
    mlflow.set_tracking_uri(None)  # leave no global pointer at a deleted folder


@pytest.fixture(scope="module")
def tracking(store: Path) -> TrackingConfig:
    return resolve_tracking(models_dir=store, environ={})


@pytest.fixture(scope="module")
def first(trained: TrainedTask, config: TrainingConfig, tracking: TrackingConfig) -> str:
    registered = log_trained_task(
        trained, config=config, tracking=tracking, data_source="/data/x", as_of=NOW
    )
    return registered.version


def test_embedded_store_lives_under_models_dir(store: Path, tracking: TrackingConfig) -> None:
    assert tracking.tracking_uri == f"sqlite:///{store.resolve() / 'mlflow.db'}"
    assert tracking.artifact_location == (store.resolve() / "mlartifacts").as_uri()
    env = resolve_tracking(models_dir=store, environ={"MLFLOW_TRACKING_URI": "http://h:1"})
    assert env == TrackingConfig("http://h:1", None)


def test_a_sqlite_tracking_uri_keeps_artifacts_beside_its_database(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'elsewhere' / 'm.db'}"
    env = resolve_tracking(models_dir=tmp_path / "unused", environ={"MLFLOW_TRACKING_URI": uri})
    assert env.artifact_location == (tmp_path / "elsewhere" / "mlartifacts").resolve().as_uri()


def test_run_logs_params_metrics_datasets_and_hashed_artifacts(
    first: str, tracking: TrackingConfig, trained: TrainedTask, store: Path
) -> None:
    client = connect(tracking)
    version = client.get_model_version(NAME, first)
    assert version.aliases == [CHALLENGER]
    run = client.get_run(version.run_id)
    assert run.data.params["test_cutoffs"] == "2025-09-01"
    assert run.data.params["horizon_days"] == "60"
    assert run.data.params["train_rows"] == "3600"
    assert run.data.metrics["test.roc_auc"] == trained.evaluation.model["roc_auc"]
    assert "baseline.days_since_last_purchase.roc_auc" in run.data.metrics
    assert "logistic.pr_auc" in run.data.metrics
    assert run.data.tags["leakage_audit"] == "passed"
    assert len(run.data.tags["git_commit"]) in (40, len("unknown"))
    assert run.data.tags["lib.lightgbm"] == "4.7.0"
    contexts = sorted(i.tags[0].value for i in run.inputs.dataset_inputs if i.tags)
    assert contexts == ["refit", "test", "training"]
    assert run.data.tags["temporal_test"] == "2025-09-01..2025-09-01"
    assert run.data.params["shipped_window"] == "2025-01-01..2025-09-01"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "evaluation", "plots", "scoring_model", "model_card.md"} <= artifacts
    assert {"manager_card.md", "manager_card.json"} <= artifacts
    assert "evaluated_model" in artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {
        "plots/roc.png",
        "plots/precision_recall.png",
        "plots/reliability.png",
        "plots/cumulative_gains.png",
        "plots/feature_importance.png",
        "plots/lift_by_decile.png",
        "plots/shap_beeswarm.png",
        "plots/backtest_by_date.png",
        "plots/value_gains.png",
        "plots/score_histogram.png",
        "plots/calibration_by_segment.png",
    }
    local = Path(client.download_artifacts(run.info.run_id, "scoring_model", str(store / "dl")))
    for name in (ESTIMATOR_FILE, MANIFEST_FILE):
        assert version.tags[f"sha256.{name}"] == file_sha256(local / name)
        assert run.data.tags[f"sha256.{name}"] == file_sha256(local / name)
    # The tested model is kept beside the shipped one, hashed on the run, and it is what
    # produced the logged test metrics.
    tested = promotion.load_tested(client, version, store / "tested")
    assert tested.metadata["test_cutoffs"] == ["2025-09-01T00:00:00"]
    np.testing.assert_array_equal(
        tested.predict_proba(trained.test_frame), trained.evaluation.scores.model
    )


def test_registered_model_loads_verified_and_through_mlflow_pyfunc(
    first: str, tracking: TrackingConfig, trained: TrainedTask, store: Path
) -> None:
    client = connect(tracking)
    version = client.get_model_version(NAME, first)
    model = promotion.load_version(client, version, store / "verified")
    rows = trained.test_frame.head(20)
    np.testing.assert_allclose(model.predict_proba(rows), trained.model.predict_proba(rows))
    # The bare estimator stays in the run; the registered version is the whole scorer.
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{version.run_id}/{SKLEARN_MODEL_NAME}")
    served = np.asarray(pyfunc.predict(rows[model.feature_names]))
    np.testing.assert_allclose(served[:, 1], trained.model.predict_proba(rows))


def test_promotion_and_rollback_move_the_champion(
    first: str,
    tracking: TrackingConfig,
    frame: pd.DataFrame,
    config: TrainingConfig,
) -> None:
    client = connect(tracking)
    decision = promotion.promote(client, task=Task.CHURN, config=config.promotion, now=NOW)
    assert decision.promote
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == first

    second = train_churn(frame, config, seed=5)
    v2 = log_trained_task(second, config=config, tracking=tracking, data_source="x", as_of=NOW)
    strict = dataclasses.replace(config.promotion, margin=1.0)
    rejected = promotion.promote(client, task=Task.CHURN, config=strict, now=NOW)
    assert not rejected.promote
    assert rejected.reasons[0].endswith("by 1.0")
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == first
    run = client.get_run(v2.run_id)
    assert run.data.tags["promotion.decision"] == "rejected"
    record = json.loads(
        Path(
            client.download_artifacts(
                v2.run_id, "promotion/decision-20260102T030405.json", str(tracking_dir(tracking))
            )
        ).read_text()
    )
    assert record["champion_version"] == first
    assert record["challenger_version"] == v2.version

    lenient = dataclasses.replace(config.promotion, margin=-1.0)
    assert promotion.promote(client, task=Task.CHURN, config=lenient, now=NOW).promote
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == v2.version

    assert promotion.rollback(client, task=Task.CHURN, now=NOW) == (v2.version, first)
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == first


def test_cli_models_lists_versions_and_rollback_error_is_one_line(store: Path, first: str) -> None:
    runner = CliRunner()
    app = build_app()
    listed = runner.invoke(
        app, ["models", "churn", "--models-dir", str(store)], env={"COLUMNS": "200"}
    )
    assert listed.exit_code == 0, listed.output
    assert "salesradar-churn" in listed.output
    assert "champion" in listed.output
    # History is now [first]: nothing older to restore.
    rolled = runner.invoke(app, ["promote", "churn", "--rollback", "--models-dir", str(store)])
    assert rolled.exit_code == 2
    assert "no previous champion to restore" in rolled.output


def tracking_dir(tracking: TrackingConfig) -> Path:
    return Path(tracking.tracking_uri.removeprefix("sqlite:///")).parent / "downloads"


def test_an_untested_challenger_is_refused_unless_forced(
    first: str, tracking: TrackingConfig, untested: TrainedTask, config: TrainingConfig
) -> None:
    registered = log_trained_task(
        untested, config=config, tracking=tracking, data_source="x", as_of=NOW
    )
    client = connect(tracking)
    champion = str(client.get_model_version_by_alias(NAME, CHAMPION).version)
    run = client.get_run(registered.run_id)
    assert run.data.tags["temporal_test"] == "none"
    assert not any(key.startswith("test.") for key in run.data.metrics)
    refused = promotion.promote(client, task=Task.CHURN, config=config.promotion, now=NOW)
    assert not refused.promote
    assert refused.reasons == (
        "no temporal test: the model was never scored on later time "
        "(promote with --force-untested to ship it anyway)",
    )
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == champion
    forced = promotion.promote(
        client, task=Task.CHURN, config=config.promotion, now=NOW, force_untested=True
    )
    assert forced.promote
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == registered.version


def test_dataset_schema_is_the_schema_mlflow_infers_from_every_row() -> None:
    """The logged dataset schema is computed from a few rows per column; it must be the one
    MLflow infers reading every value: types, and ``required`` only without a missing value."""
    from mlflow.types.utils import _infer_schema

    rows = 50
    rng = np.random.default_rng(0)
    later = np.arange(rows) > 30  # the missing value and the second Python type come late
    frame = pd.DataFrame(
        {
            "float_late_nan": np.where(later & (np.arange(rows) == 40), np.nan, rng.random(rows)),
            "float_full": rng.random(rows),
            "text_late_missing": pd.Series([None if i == 45 else f"l{i % 3}" for i in range(rows)]),
            "object_ints_then_float": pd.Series(
                [2.5 if i == 44 else i for i in range(rows)], dtype=object
            ),
            "object_ints": pd.Series(list(range(rows)), dtype=object),
            "ints": np.arange(rows),
            "flags": np.arange(rows) % 2 == 0,
            "when": pd.date_range("2026-01-01", periods=rows, freq="D"),
            "level": pd.Categorical([None if i == 49 else "a" for i in range(rows)]),
            "all_missing": [np.nan] * rows,
        }
    )
    schema = dataset_schema(frame)
    assert schema == _infer_schema(frame)
    required = {spec.name: spec.required for spec in schema.inputs}
    assert not required["float_late_nan"] and not required["text_late_missing"]
    assert required["float_full"] and required["ints"]


def test_backtest_metrics_are_dated_by_their_cutoff_in_the_tracking_store(
    first: str, tracking: TrackingConfig, trained: TrainedTask
) -> None:
    client = connect(tracking)
    run_id = client.get_model_version(NAME, first).run_id
    history = client.get_metric_history(run_id, "backtest.roc_auc")
    backtest = trained.evaluation.backtest
    assert len(backtest) >= 2
    by_cutoff = {row["cutoff"]: row["roc_auc"] for row in backtest}
    logged = {
        datetime.fromtimestamp(m.timestamp / 1000, UTC).replace(tzinfo=None): m for m in history
    }
    assert sorted(logged) == sorted(by_cutoff)
    for cutoff, metric in logged.items():
        assert metric.value == pytest.approx(by_cutoff[cutoff])
        # The step is the cutoff's day number, so MLflow's step axis reads by date too.
        assert metric.step == (cutoff - datetime(1970, 1, 1)).days
