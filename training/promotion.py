"""Promotion rules, champion history and rollback in the MLflow model registry.

A challenger becomes ``champion`` only if, on the challenger's own temporal test set (stored with
its run), it beats the current champion by ``margin`` on the configured metric, beats every
naive baseline, and passed the leakage audit. Every decision is recorded on the challenger's run.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from features.errors import UserError
from features.model import FeatureFrameError, ScoringModel
from features.tasks import TASK_TABLES, Task
from training.config import PromotionConfig
from training.metrics import probability_metrics
from training.tracking import (
    CHALLENGER,
    CHAMPION,
    SCORING_MODEL_PATH,
    SHA256_TAG_PREFIX,
    TEST_FRAME_ARTIFACT,
)

logger = logging.getLogger(__name__)

HISTORY_TAG = "champion_history"  # registered-model tag: JSON list of versions, newest last
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "ece"})


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]
    metric: str
    challenger: float
    champion: float | None


def decide(
    *,
    metric: str,
    margin: float,
    challenger: float,
    champion: float | None,
    baselines: Mapping[str, float],
    leakage_passed: bool,
    champion_problem: str | None = None,
) -> Decision:
    """Apply the promotion rules; ``reasons`` say why, pass or fail, one per rule."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    failures: list[str] = []
    passes: list[str] = []
    if champion_problem is not None:
        failures.append(champion_problem)
    elif champion is None:
        passes.append("no current champion")
    elif sign * (challenger - champion) >= margin:
        passes.append(f"{metric} {challenger:.4f} beats champion {champion:.4f} by >= {margin}")
    else:
        failures.append(
            f"{metric} {challenger:.4f} does not beat champion {champion:.4f} by {margin}"
        )
    if not baselines:
        failures.append("no naive baseline was evaluated")
    for name, value in baselines.items():
        if math.isnan(value) or sign * (challenger - value) > 0:
            passes.append(f"{metric} beats naive baseline {name} ({value:.4f})")
        else:
            failures.append(f"{metric} {challenger:.4f} does not beat naive {name} ({value:.4f})")
    if leakage_passed:
        passes.append("leakage audit passed")
    else:
        failures.append("leakage audit failed")
    return Decision(
        promote=not failures,
        reasons=tuple(failures or passes),
        metric=metric,
        challenger=challenger,
        champion=champion,
    )


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``, or None when the alias (or the model) does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def load_version(client: MlflowClient, version: ModelVersion, directory: Path) -> ScoringModel:
    """Download a version's ScoringModel files and load them, verified against its sha256 tags."""
    expected = {
        key.removeprefix(SHA256_TAG_PREFIX): value
        for key, value in version.tags.items()
        if key.startswith(SHA256_TAG_PREFIX)
    }
    local = client.download_artifacts(version.run_id, SCORING_MODEL_PATH, str(directory))
    return ScoringModel.load(Path(local), expected_sha256=expected)


def promote(
    client: MlflowClient, *, task: Task, config: PromotionConfig, now: datetime
) -> Decision:
    """Decide on the current challenger and move ``champion`` to it if the rules pass."""
    name = TASK_TABLES[task].model_name
    challenger = alias_version(client, name, CHALLENGER)
    if challenger is None:
        raise UserError(f"{name} has no '{CHALLENGER}' version; run 'salesradar train {task}'")
    champion = alias_version(client, name, CHAMPION)
    if champion is not None and str(champion.version) == str(challenger.version):
        raise UserError(f"{name} version {challenger.version} is already the champion")
    run = client.get_run(challenger.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        test_path = client.download_artifacts(run.info.run_id, TEST_FRAME_ARTIFACT, str(root))
        test = pd.read_parquet(test_path)
        capacity = int(run.data.params.get("capacity", "200"))
        challenger_value = _metric(
            load_version(client, challenger, root / "challenger"), test, config.metric, capacity
        )
        champion_value, problem = None, None
        if champion is not None:
            try:
                model = load_version(client, champion, root / "champion")
                champion_value = _metric(model, test, config.metric, capacity)
            except FeatureFrameError as exc:
                problem = f"champion version {champion.version} cannot score this test set: {exc}"
    baselines = {
        key.removeprefix("baseline.").removesuffix(f".{config.metric}"): value
        for key, value in run.data.metrics.items()
        if key.startswith("baseline.") and key.endswith(f".{config.metric}")
    }
    decision = decide(
        metric=config.metric,
        margin=config.margin,
        challenger=challenger_value,
        champion=champion_value,
        baselines=baselines,
        leakage_passed=run.data.tags.get("leakage_audit") == "passed",
        champion_problem=problem,
    )
    _record(client, run.info.run_id, name, challenger, champion, decision, now)
    if decision.promote:
        history = _history(client, name, champion)
        client.set_registered_model_alias(name, CHAMPION, str(challenger.version))
        client.set_registered_model_tag(
            name, HISTORY_TAG, json.dumps([*history, str(challenger.version)])
        )
    return decision


def rollback(client: MlflowClient, *, task: Task, now: datetime) -> tuple[str, str]:
    """Restore the previous champion; return (version rolled back from, version restored)."""
    name = TASK_TABLES[task].model_name
    champion = alias_version(client, name, CHAMPION)
    if champion is None:
        raise UserError(f"{name} has no champion to roll back")
    history = _history(client, name, champion)
    if len(history) < 2:
        raise UserError(f"{name} has no previous champion to restore (history: {history})")
    current, previous = history[-1], history[-2]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[:-1]))
    client.set_model_version_tag(name, current, "rolled_back_at", now.isoformat())
    logger.info("%s: champion rolled back from %s to %s", name, current, previous)
    return current, previous


def _history(client: MlflowClient, name: str, champion: ModelVersion | None) -> list[str]:
    """Champion versions, oldest first, ending with the current champion if there is one."""
    tags = client.get_registered_model(name).tags
    history: list[str] = json.loads(tags.get(HISTORY_TAG, "[]"))
    # An alias moved by hand (e.g. in the MLflow UI) still counts as a champion we can return to.
    if champion is not None and (not history or history[-1] != str(champion.version)):
        history.append(str(champion.version))
    return history


def _metric(model: ScoringModel, test: pd.DataFrame, metric: str, capacity: int) -> float:
    labels = test["label"].to_numpy(dtype="int64")
    values = test["value"].to_numpy(dtype="float64")
    proba = model.predict_proba(test)
    metrics = probability_metrics(labels, proba, values, capacity=capacity, ece_bins=10)
    if metric not in metrics:
        raise UserError(f"promotion metric {metric!r} is not one of {', '.join(metrics)}")
    return float(np.asarray(metrics[metric]))


def _record(
    client: MlflowClient,
    run_id: str,
    name: str,
    challenger: ModelVersion,
    champion: ModelVersion | None,
    decision: Decision,
    now: datetime,
) -> None:
    outcome = "promoted" if decision.promote else "rejected"
    client.set_tag(run_id, "promotion.decision", outcome)
    client.set_tag(run_id, "promotion.reasons", "; ".join(decision.reasons)[:5000])
    client.set_model_version_tag(name, str(challenger.version), "promotion.decision", outcome)
    record = {
        **asdict(decision),
        "decided_at": now.isoformat(),
        "challenger_version": str(challenger.version),
        "champion_version": str(champion.version) if champion else None,
    }
    client.log_dict(run_id, record, f"promotion/decision-{now:%Y%m%dT%H%M%S}.json")
