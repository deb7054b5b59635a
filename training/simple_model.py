"""Registering the logistic-regression model when promotion prefers it to the trees.

A training run keeps its logistic-regression model (``training.linear``: fitted on the trees'
train cutoffs, calibrated on their calibration cutoffs) under ``simple_model/`` with its files'
sha256 as ``simple_sha256.<file>`` run tags (``training.tracking``). When the promotion rule
``[promotion] prefer_simple_margin`` prefers it, ``register_simple_model`` gives it a run of its
own with a training run's layout (``scoring_model/`` + ``sha256.*`` tags, the pyfunc ``scorer/``,
the monitoring reference and test frame of the run it came from) and registers that as a new
version, so serving, batch scoring, ``monitor`` and a later ``promote`` load it like any version.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run

from features.model import ScoringModel
from training.linear import LOGISTIC_KIND
from training.monitoring.reference import REFERENCE_ARTIFACT
from training.pyfunc import log_scorer
from training.tracking import (
    SCORING_MODEL_PATH,
    SHA256_TAG_PREFIX,
    SIMPLE_MODEL_PATH,
    SIMPLE_SHA256_TAG_PREFIX,
    TEMPORAL_TEST_TAG,
    TEST_FRAME_ARTIFACT,
    tag_version,
)

SOURCE_RUN_TAG = "simple_model_of"  # on the new run and version: the training run it came from
# Metrics of the training run that describe the logistic-regression model (``logistic.*``).
LOGISTIC_METRIC_PREFIX = "logistic."


def simple_model_hashes(run: Run) -> dict[str, str]:
    """{file: sha256} of the run's ``simple_model/`` files; empty when the run kept none
    (trained before the simple model was kept, or without a temporal test)."""
    return {
        key.removeprefix(SIMPLE_SHA256_TAG_PREFIX): value
        for key, value in run.data.tags.items()
        if key.startswith(SIMPLE_SHA256_TAG_PREFIX)
    }


def load_simple_model(client: MlflowClient, run: Run, directory: Path) -> tuple[ScoringModel, Path]:
    """The run's logistic-regression model and the folder it was downloaded to, verified
    against its ``simple_sha256.*`` tags (``ModelIntegrityError`` on a mismatch)."""
    local = Path(client.download_artifacts(run.info.run_id, SIMPLE_MODEL_PATH, str(directory)))
    return ScoringModel.load(local, expected_sha256=simple_model_hashes(run)), local


def register_simple_model(client: MlflowClient, run: Run, *, name: str) -> str:
    """Log ``run``'s logistic-regression model as a run of its own and register it as a new
    version of ``name``; return the version (a string, as MLflow's).

    The new run sits in ``run``'s experiment, tagged with the source run, the model kind and the
    source's leakage audit and temporal test; its test metrics are the source's ``logistic.*``.
    The scorer's input example is dated at the source run's ``as_of`` parameter.
    """
    tags = run.data.tags
    with (
        tempfile.TemporaryDirectory() as tmp,
        mlflow.start_run(
            experiment_id=run.info.experiment_id,
            run_name=f"{run.info.run_name}-logistic",
            tags={
                SOURCE_RUN_TAG: run.info.run_id,
                "model_kind": LOGISTIC_KIND,
                "leakage_audit": tags.get("leakage_audit", "unknown"),
                TEMPORAL_TEST_TAG: tags.get(TEMPORAL_TEST_TAG, "unknown"),
            },
        ) as simple_run,
    ):
        model, local = load_simple_model(client, run, Path(tmp) / "model")
        hashes = simple_model_hashes(run)
        mlflow.log_artifacts(str(local), SCORING_MODEL_PATH)
        mlflow.set_tags({f"{SHA256_TAG_PREFIX}{f}": digest for f, digest in hashes.items()})
        for artifact in (REFERENCE_ARTIFACT, TEST_FRAME_ARTIFACT):
            copy = client.download_artifacts(run.info.run_id, artifact, str(Path(tmp) / "copy"))
            mlflow.log_artifact(copy, str(Path(artifact).parent))
        mlflow.log_params({key: run.data.params[key] for key in ("as_of", "horizon_days")})
        mlflow.log_metrics(
            {
                f"test.{key.removeprefix(LOGISTIC_METRIC_PREFIX)}": value
                for key, value in run.data.metrics.items()
                if key.startswith(LOGISTIC_METRIC_PREFIX)
            }
        )
        info = log_scorer(
            model,
            local,
            sha256=hashes,
            name=name,
            run_id=simple_run.info.run_id,
            as_of=datetime.fromisoformat(run.data.params["as_of"]),
        )
        version = str(info.registered_model_version)
        tag_version(client, name, version, sha256=hashes, run_id=simple_run.info.run_id)
        client.set_model_version_tag(name, version, "model_kind", LOGISTIC_KIND)
        client.set_model_version_tag(name, version, SOURCE_RUN_TAG, run.info.run_id)
    return version
