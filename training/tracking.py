"""MLflow tracking and registration of a trained task.

Embedded by default: a sqlite backend store ``<models>/mlflow.db`` and artifacts under
``<models>/mlartifacts``; ``MLFLOW_TRACKING_URI`` points at any MLflow server instead. The URI is
resolved in the entry point and set here, inside functions, never at import.

Artifact layout of a run (serving relies on it; see docs/training.md):
``scoring_model/model.skops`` + ``scoring_model/model.json``
(``features.model.scoring_model.ScoringModel``), their sha256 as run tags and model-version tags
``sha256.<file>``; ``scorer/`` (the registered MLflow model: the whole scorer, raw entities in,
scores and reasons out, ``training.pyfunc``); ``model/`` (the bare estimator, MLflow sklearn flavor,
skops-serialized, not registered); ``config/``, ``evaluation/``, ``plots/``, ``model_card.md``,
``monitoring/reference.json`` (the training distribution that ``salesradar monitor`` measures drift
against, ``training.monitoring.reference``); ``manager_card.md`` and its facts ``manager_card.json``
(``training.card_artifacts``); ``simple_model/`` and, with ``[promotion] serve_simple_model``,
``simple_model_pack/`` (the logistic regression's own cards, plots and reference,
``training.simple_pack``).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.data
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.types import Schema
from mlflow.types.utils import _infer_schema

from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import to_naive_utc
from features.errors import UserError
from features.model.artifact_contract import (
    CHALLENGER,
    SCORING_MODEL_PATH,
    SCORING_MODEL_PATH_TAG,
    SHA256_TAG_PREFIX,
)
from features.model.scoring_model import TRUSTED_TYPES
from training.card import render_model_card
from training.card_artifacts import log_manager_card
from training.config import TrainingConfig
from training.evaluation import metric_table, rows_at
from training.monitoring.reference import REFERENCE_ARTIFACT, training_reference
from training.plots import write_plots
from training.pyfunc import SKLEARN_MODEL_NAME, card_section, log_scorer
from training.simple_pack import log_simple_pack
from training.trainer import TrainedTask, feature_list

logger = logging.getLogger(__name__)

# With [split] refit_on_all the model that was tested is not the one that ships; it is kept
# beside it so promotion compares tested models (files verified against these run tags).
EVALUATED_MODEL_PATH = "evaluated_model"
EVALUATED_SHA256_TAG_PREFIX = "evaluated_sha256."
TEMPORAL_TEST_TAG = "temporal_test"  # "none", or the test cutoffs' window
NO_TEMPORAL_TEST = "none"
TEST_FRAME_ARTIFACT = "evaluation/test_frame.parquet"
# The logistic-regression model fitted and calibrated beside the trees (training.linear), kept
# so promotion can register it when it prefers the simpler model (training.simple_model).
SIMPLE_MODEL_PATH = "simple_model"
SIMPLE_SHA256_TAG_PREFIX = "simple_sha256."
LEAKAGE_FINDINGS_ARTIFACT = "leakage_findings.json"  # {"leakage_findings": [[feature, reason]]}
LIBRARIES = ("scikit-learn", "lightgbm", "mlflow", "skops", "pandas", "numpy", "duckdb")


@dataclass(frozen=True)
class TrackingConfig:
    tracking_uri: str
    artifact_location: str | None  # for new experiments; None lets the server choose


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str


def resolve_tracking(*, models_dir: Path, environ: Mapping[str, str]) -> TrackingConfig:
    """``MLFLOW_TRACKING_URI`` when set, else the embedded sqlite store under ``models_dir``."""
    uri = environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return TrackingConfig(tracking_uri=uri, artifact_location=_local_artifact_root(uri))
    models_dir = models_dir.resolve()
    models_dir.mkdir(parents=True, exist_ok=True)
    return TrackingConfig(
        tracking_uri=f"sqlite:///{models_dir / 'mlflow.db'}",
        artifact_location=(models_dir / "mlartifacts").as_uri(),
    )


def _local_artifact_root(uri: str) -> str | None:
    """Artifacts beside a local sqlite store; a server (or anything else) chooses its own.

    Without this, MLflow puts a sqlite store's artifacts in ``./mlruns`` relative to whatever
    folder the command happened to run in.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    database = Path(uri.removeprefix(prefix)).resolve()
    return (database.parent / "mlartifacts").as_uri()


class MovedStore(UserError):
    """A local store whose experiments record their artifacts somewhere other than beside it."""


def connect(tracking: TrackingConfig) -> MlflowClient:
    """Point MLflow (fluent API and registry) at the configured store; return a client.

    Raises ``MovedStore`` for a local sqlite store that was copied or moved (``check_store``).
    """
    mlflow.set_tracking_uri(tracking.tracking_uri)
    mlflow.set_registry_uri(tracking.tracking_uri)
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    check_store(client, tracking)
    return client


def check_store(client: MlflowClient, tracking: TrackingConfig) -> None:
    """Refuse a local store whose experiments keep their artifacts elsewhere.

    MLflow records absolute artifact locations, so in a copied or moved checkout training would
    read, and write new runs into, the original's artifacts. (Serving reads a moved store's
    artifacts from beside it: ``serving.champions.source.store_relative_folder``.) Stores whose
    artifacts a server chooses are not checked.
    """
    here = tracking.artifact_location
    if here is None or not tracking.tracking_uri.startswith("sqlite:///"):
        return
    for experiment in client.search_experiments(filter_string="name LIKE 'salesradar-%'"):
        if experiment.artifact_location != here:
            database = tracking.tracking_uri.removeprefix("sqlite:///")
            raise MovedStore(
                f"the MLflow store {database} keeps its artifacts in "
                f"{experiment.artifact_location}, not beside it in {here}: it was copied or "
                "moved, and training would read and write the original's files (move it back, "
                "or remove it and its mlartifacts folder to start a new store)"
            )


def experiment_id(client: MlflowClient, task: Task, tracking: TrackingConfig) -> str:
    """The task's experiment, created on first use with the configured artifact location."""
    name = f"salesradar-{task}"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(client.create_experiment(name, artifact_location=tracking.artifact_location))


def log_trained_task(
    trained: TrainedTask,
    *,
    config: TrainingConfig,
    tracking: TrackingConfig,
    data_source: str,
    as_of: datetime,
) -> RegisteredVersion:
    """Log params, metrics, datasets, artifacts and the model; register it as ``challenger``."""
    client = connect(tracking)
    task = trained.task
    name = TASK_TABLES[task].model_name
    with (
        mlflow.start_run(
            experiment_id=experiment_id(client, task, tracking),
            run_name=f"{task}-seed{trained.seed}",
        ) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        staging = Path(tmp)
        mlflow.log_params(_params(trained, config, data_source, as_of))
        mlflow.set_tags(_tags(trained))
        _log_metrics(trained)
        _log_datasets(trained, data_source)
        _log_artifacts(trained, config, staging)
        hashes = trained.model.save(staging / SCORING_MODEL_PATH)
        mlflow.log_artifacts(str(staging / SCORING_MODEL_PATH), SCORING_MODEL_PATH)
        sha_tags = {f"{SHA256_TAG_PREFIX}{file}": digest for file, digest in hashes.items()}
        mlflow.set_tags(sha_tags)
        # What `salesradar monitor` measures drift against (docs/monitoring.md).
        reference = training_reference(trained, bins=config.monitoring.reference_bins)
        mlflow.log_dict(reference, REFERENCE_ARTIFACT)
        if trained.refit and trained.evaluated is not None:
            evaluated = trained.evaluated.save(staging / EVALUATED_MODEL_PATH)
            mlflow.log_artifacts(str(staging / EVALUATED_MODEL_PATH), EVALUATED_MODEL_PATH)
            mlflow.set_tags(
                {f"{EVALUATED_SHA256_TAG_PREFIX}{f}": digest for f, digest in evaluated.items()}
            )
        if trained.linear is not None:
            simple = trained.linear.save(staging / SIMPLE_MODEL_PATH)
            mlflow.log_artifacts(str(staging / SIMPLE_MODEL_PATH), SIMPLE_MODEL_PATH)
            mlflow.set_tags({f"{SIMPLE_SHA256_TAG_PREFIX}{f}": d for f, d in simple.items()})
            # Its own cards, plots and reference, should promotion serve it (serve_simple_model).
            log_simple_pack(trained, config, as_of=as_of, model_name=name, staging=staging)
        _log_mlflow_model(trained)
        # The registered version is the whole scorer (raw entities in); the bare estimator
        # stays in the run beside it (`model/`) for data scientists.
        info = log_scorer(
            trained.model,
            staging / SCORING_MODEL_PATH,
            sha256=hashes,
            name=name,
            run_id=run.info.run_id,
            as_of=as_of,
        )
        model_version = str(info.registered_model_version)
        tag_version(client, name, model_version, sha256=hashes, run_id=run.info.run_id)
        client.set_registered_model_alias(name, CHALLENGER, model_version)
        card = render_model_card(
            trained, capacity=config.evaluation.capacity[task], version=model_version
        )
        card += card_section(name=name, version=model_version, run_id=run.info.run_id)
        mlflow.log_text(card, "model_card.md")
        log_manager_card(
            trained,
            capacity=config.evaluation.capacity[task],
            as_of=as_of,
            model_name=name,
            version=model_version,
        )
    logger.info("registered %s version %s (run %s)", name, model_version, run.info.run_id)
    return RegisteredVersion(name=name, version=model_version, run_id=run.info.run_id)


def tag_version(
    client: MlflowClient, name: str, version: str, *, sha256: Mapping[str, str], run_id: str
) -> None:
    """The model-version tags serving reads: ``sha256.<file>`` of its ``scoring_model/`` files
    (verified before loading), ``scoring_model.path`` and the ``run_id`` holding them."""
    tags = {f"{SHA256_TAG_PREFIX}{file}": digest for file, digest in sha256.items()}
    tags.update({SCORING_MODEL_PATH_TAG: SCORING_MODEL_PATH, "run_id": run_id})
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def _params(
    trained: TrainedTask, config: TrainingConfig, data_source: str, as_of: datetime
) -> dict[str, object]:
    split = trained.split
    params: dict[str, object] = {
        "task": str(trained.task),
        "seed": trained.seed,
        "horizon_days": trained.horizon.days,
        "as_of": as_of.isoformat(),
        "data": data_source,
        "train_window": _window(split.train),
        "calibration_cutoffs": ",".join(f"{c:%Y-%m-%d}" for c in split.calibration) or "none",
        "test_cutoffs": ",".join(f"{c:%Y-%m-%d}" for c in split.test) or NO_TEMPORAL_TEST,
        "shipped_window": _window(trained.shipped_cutoffs),
        "refit_on_all": trained.refit,
        "calibration_folds": len(trained.calibration_blocks) or "none",
        "n_features": len(trained.model.feature_names),
        "vocabulary_kinds": len(trained.model.vocabulary.kinds),
        "activity_types": ",".join(trained.model.vocabulary.activity_types) or "-",
        "calibration": config.trees.calibration,
        "min_level_count": config.trees.min_level_count,
        "capacity": config.evaluation.capacity[trained.task],
        "promotion_metric": config.promotion.metric,
        "promotion_margin": config.promotion.margin,
        "linear_C": config.linear.C,
        **{f"trees_{k}": v for k, v in config.trees.params.items()},
        **trained.counts(),
    }
    return params


def _window(cutoffs: tuple[datetime, ...]) -> str:
    return f"{cutoffs[0]:%Y-%m-%d}..{cutoffs[-1]:%Y-%m-%d}" if cutoffs else "none"


def _tags(trained: TrainedTask) -> dict[str, str]:
    return {
        "git_commit": _git_commit(),
        "leakage_audit": "passed" if trained.leakage.passed else "failed",
        TEMPORAL_TEST_TAG: _window(trained.split.test),
        "shipped_model": "refit on all labelled cutoffs" if trained.refit else "evaluated",
        **{f"lib.{name}": version(name) for name in LIBRARIES},
    }


def _git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()


def _log_metrics(trained: TrainedTask) -> None:
    evaluation = trained.evaluation
    if evaluation is None:
        return
    metrics: dict[str, float] = {}
    for scorer, values in metric_table(evaluation).items():
        prefix = "test" if scorer == "model" else scorer.replace("naive: ", "baseline.")
        metrics.update({f"{prefix}.{k}": v for k, v in values.items()})
    mlflow.log_metrics(metrics)
    for row in evaluation.backtest:
        step, timestamp = backtest_step(row["cutoff"])  # type: ignore[arg-type]
        mlflow.log_metrics(
            {f"backtest.{k}": float(v) for k, v in row.items() if k != "cutoff"},  # type: ignore[arg-type]
            step=step,
            timestamp=timestamp,
        )


def backtest_step(cutoff: datetime) -> tuple[int, int]:
    """(step, timestamp) under which a backtest origin's metrics are logged: whole days since
    1970-01-01 of ``cutoff`` (naive UTC, or aware) and ``cutoff`` in epoch milliseconds.

    MLflow charts a metric's history by step or by (wall-clock) time; with both taken from the
    origin's cutoff, the backtest reads by date in either view, instead of by origin number.
    """
    moment = to_naive_utc(cutoff).replace(tzinfo=UTC)
    millis = int(moment.timestamp() * 1000)
    return millis // 86_400_000, millis


def _log_datasets(trained: TrainedTask, data_source: str) -> None:
    for context, cutoffs in (
        ("training", trained.split.fit),
        ("test", trained.split.test),
        ("refit", trained.shipped_cutoffs if trained.refit else ()),
    ):
        if not cutoffs:
            continue
        rows = rows_at(trained.frame, cutoffs)
        with warnings.catch_warnings():
            # A local path matches two equivalent artifact-source classes; either is right.
            warnings.filterwarnings("ignore", message="The specified dataset source")
            # The integer label column is part of the dataset record, not of a model input.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            dataset = mlflow.data.from_pandas(
                rows, source=data_source, targets="label", name=f"{trained.task}-{context}"
            )
            # MLflow would infer the schema value by value in Python (minutes on churn's
            # 200,000-row frames); the same schema from a few rows per column (dataset_schema).
            with contextlib.suppress(MlflowException):  # MLflow's own then says why not
                dataset.__dict__["schema"] = dataset_schema(rows)
            tags = {"window": _window(cutoffs), "rows": str(len(rows))}
            mlflow.log_input(dataset, context=context, tags=tags)


def dataset_schema(frame: pd.DataFrame) -> Schema:
    """The MLflow schema ``mlflow.data.from_pandas(frame)`` infers, from a few rows per column.

    MLflow's inference (``mlflow.types.utils._infer_schema``) reads every value in Python: a
    column's type from the Python types of its values (one dtype-typed value stands for all
    of a non-object column), its ``required`` flag from whether any value is missing. So each
    column is inferred from the same column cut to its first present value of each Python type
    and its first missing value, if any: what that inference can tell apart is kept. Same
    column names and order; raises what MLflow raises on a column it cannot type.
    """
    return Schema(
        [spec for name in frame.columns for spec in _infer_schema(_schema_rows(frame[name])).inputs]
    )


def _schema_rows(column: pd.Series) -> pd.DataFrame:
    """``column`` cut to the rows its inferred schema depends on (see ``dataset_schema``)."""
    missing = column.isna().to_numpy()
    keep = np.zeros(len(column), dtype=bool)
    if missing.any():
        keep[missing.argmax()] = True
    present = np.flatnonzero(~missing)
    if column.dtype == object:
        # Values of an object column may be of any Python type: one of each distinct type.
        kinds = pd.Series(column.to_numpy()[present]).map(type)
        keep[present[~kinds.duplicated().to_numpy()]] = True
    elif len(present):
        keep[present[0]] = True
    return column[keep].to_frame()


def _log_artifacts(trained: TrainedTask, config: TrainingConfig, staging: Path) -> None:
    evaluation = trained.evaluation
    mlflow.log_text(config.text, "config/config.toml")
    mlflow.log_dict(feature_list(trained.model), "features.json")
    mlflow.log_dict(trained.model.vocabulary.to_dict(), "vocabulary.json")
    findings = [list(f) for f in trained.leakage.findings]
    mlflow.log_dict({"leakage_findings": findings}, LEAKAGE_FINDINGS_ARTIFACT)
    if evaluation is None:
        return
    mlflow.log_dict(
        {
            "metrics": {k: dict(v) for k, v in metric_table(evaluation).items()},
            "notes": evaluation.notes,
            "leakage_findings": [list(f) for f in trained.leakage.findings],
            "importance": evaluation.importance,
        },
        "evaluation/metrics.json",
    )
    backtest = pd.DataFrame(evaluation.backtest)
    mlflow.log_text(backtest.to_csv(index=False), "evaluation/backtest.csv")
    # The test rows travel with the run so `promote` can score the champion on the same set.
    test_path = staging / "test_frame.parquet"
    trained.test_frame.to_parquet(test_path, index=False)
    mlflow.log_artifact(str(test_path), "evaluation")
    for path in write_plots(trained, staging / "plots", bins=config.evaluation.ece_bins):
        mlflow.log_artifact(str(path), "plots")


def _log_mlflow_model(trained: TrainedTask) -> None:
    model = trained.model
    latest = rows_at(trained.frame, trained.shipped_cutoffs[-1:])
    example = latest[model.feature_names].head(5)
    # Numeric features are doubles in the signature: an integer column could not hold a missing
    # value at serving time.
    numeric = [s.name for s in model.feature_specs if s.dtype == "numeric"]
    example = example.astype(dict.fromkeys(numeric, "float64"))
    signature = infer_signature(example, model.estimator.predict_proba(example))
    mlflow.sklearn.log_model(
        model.estimator,
        name=SKLEARN_MODEL_NAME,
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        # Explicit pins skip MLflow's slow requirement inference (it imports the model again).
        pip_requirements=[f"{lib}=={version(lib)}" for lib in LIBRARIES if lib != "duckdb"],
    )
