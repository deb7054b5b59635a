"""Registering the logistic-regression model when promotion prefers it to the trees.

A training run keeps its logistic-regression model (``training.linear``: fitted on the trees'
train cutoffs, calibrated on their calibration cutoffs) under ``simple_model/`` with its files'
sha256 as ``simple_sha256.<file>`` run tags (``training.tracking``). When the promotion rule
``[promotion] prefer_simple_margin`` prefers it, ``register_simple_model`` gives it a run of its
own with a training run's layout (``scoring_model/`` + ``sha256.*`` tags, the pyfunc ``scorer/``,
the test frame of the run it came from, and from that run's ``simple_model_pack/``
(``training.simple_pack``) its own model card, manager card, plots and monitoring reference) and
registers that as a new version, so serving, batch scoring, ``monitor``, ``models --card`` and a
later ``promote`` use it like any version. Only a run that logged the pack is servable
(``simple_model_servable``): without it the version would borrow the trees' card, plots and
score reference, and drift would be measured against the wrong baseline.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run

from features.errors import UserError
from features.model.scoring_model import ScoringModel
from training.linear import LOGISTIC_KIND
from training.manager_card import MANAGER_CARD, MANAGER_FACTS, render_manager_card
from training.monitoring.reference import REFERENCE_ARTIFACT
from training.pyfunc import log_scorer
from training.simple_pack import PACK_LOGGED, SIMPLE_PACK_PATH, SIMPLE_PACK_TAG
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


def simple_model_servable(run: Run) -> bool:
    """Whether promotion can serve ``run``'s logistic-regression model: the run kept it
    (``simple_sha256.*`` tags) and its own evaluation pack (``simple_model_pack/``, logged by
    training with ``[promotion] serve_simple_model = true``)."""
    return bool(simple_model_hashes(run)) and run.data.tags.get(SIMPLE_PACK_TAG) == PACK_LOGGED


def load_simple_model(client: MlflowClient, run: Run, directory: Path) -> tuple[ScoringModel, Path]:
    """The run's logistic-regression model and the folder it was downloaded to, verified
    against its ``simple_sha256.*`` tags (``ModelIntegrityError`` on a mismatch)."""
    local = Path(client.download_artifacts(run.info.run_id, SIMPLE_MODEL_PATH, str(directory)))
    return ScoringModel.load(local, expected_sha256=simple_model_hashes(run)), local


def register_simple_model(client: MlflowClient, run: Run, *, name: str) -> str:
    """Log ``run``'s logistic-regression model as a run of its own and register it as a new
    version of ``name``; return the version (a string, as MLflow's).

    The new run sits in ``run``'s experiment, tagged with the source run, the model kind and the
    source's leakage audit and temporal test; its test metrics are the source's ``logistic.*``,
    its test frame the source's; its ``model_card.md``, ``manager_card.json`` / ``.md``,
    ``plots/`` and ``monitoring/reference.json`` are the logistic regression's own, from the
    source's ``simple_model_pack/`` (the manager card's facts get the new version's number).
    The scorer's input example is dated at the source run's ``as_of`` parameter. Raises
    ``UserError`` naming the run when it logged no pack (``simple_model_servable``).
    """
    if not simple_model_servable(run):
        raise UserError(
            f"run {run.info.run_id} kept no logistic-regression model with its own "
            f"{SIMPLE_PACK_PATH}/ (train with [promotion] serve_simple_model = true)"
        )
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
        test = client.download_artifacts(run.info.run_id, TEST_FRAME_ARTIFACT, f"{tmp}/test")
        mlflow.log_artifact(test, str(Path(TEST_FRAME_ARTIFACT).parent))
        pack = Path(client.download_artifacts(run.info.run_id, SIMPLE_PACK_PATH, f"{tmp}/pack"))
        mlflow.log_artifact(str(pack / REFERENCE_ARTIFACT), str(Path(REFERENCE_ARTIFACT).parent))
        mlflow.log_artifacts(str(pack / "plots"), "plots")
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
        facts = json.loads((pack / MANAGER_FACTS).read_text(encoding="utf-8"))
        facts["version"] = version
        mlflow.log_dict(facts, MANAGER_FACTS)
        mlflow.log_text(render_manager_card(facts), MANAGER_CARD)
        card = (pack / "model_card.md").read_text(encoding="utf-8")
        card += _which_model(name, version, simple_run.info.run_id, run)
        mlflow.log_text(card, "model_card.md")
    return version


def _which_model(name: str, version: str, run_id: str, source: Run) -> str:
    """The model card's note on which logged model is which, for a simple version."""
    return (
        "\n## Which model is which\n\n"
        f"- `models:/{name}/{version}` (and its aliases): the whole scorer, an MLflow pyfunc "
        "model, as for the trees (raw entities in; probability, score, tier and reasons out).\n"
        f"- `scoring_model/` of run {run_id}: this logistic regression itself "
        "(`features.model.scoring_model.ScoringModel`, skops).\n"
        f"- The training run that fitted and evaluated it beside the trees: run "
        f"{source.info.run_id}.\n"
    )
