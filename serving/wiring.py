"""Assemble the service from ``Settings``: the real features, model loader and explainer.

Called by entry points (``salesradar serve``/``score``, the benchmark); tests assemble their own
``Services`` with the same pieces pointed at temporary folders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from features.compute.online import OnlineEntity, online_feature_rows
from features.compute.rows import FeatureRows, FeatureTable
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.btyd import add_btyd_features
from features.definitions.registry import FeatureSpec
from features.identity_memo import IdentityMemo
from features.model.reasons import explain
from features.model.scoring_model import ScoringModel
from serving.api.metrics import ServiceMetrics
from serving.api.services import Services
from serving.champions.lifecycle import ModelManager
from serving.champions.local_copies import LocalCopies
from serving.champions.served import ServedModel
from serving.champions.source import MlflowChampionSource
from serving.protocols import Explain
from serving.scoring.entity_scores import score_entities
from serving.scoring.input_warnings import model_levels
from serving.settings import Settings
from serving.store.database import ScoreStore
from serving.store.keys import KeyStore

logger = logging.getLogger(__name__)

# Warm-up scores a made-up entity as of a fixed moment: deterministic, no clock involved.
WARM_AS_OF = datetime(2025, 1, 1)


def utc_now() -> datetime:
    """Naive UTC wall-clock time: the one clock of the service, used by routes and entry points."""
    return datetime.now(UTC).replace(tzinfo=None)


def model_specs(model: ScoringModel) -> list[FeatureSpec]:
    """The registry specs a model was trained with (its own saved copy, not today's registry)."""
    return list(_specs_of(tuple(getattr(model, "feature_specs", ()))))


@lru_cache(maxsize=16)
def _registry_specs(saved: tuple[Any, ...]) -> tuple[FeatureSpec, ...]:
    # Per-model constant work, done once per model instead of on every request.
    return tuple(FeatureSpec(**vars(spec)) for spec in saved)


# Per request: found by identity of the model's own specs tuple (``features.identity_memo``).
_specs_of = IdentityMemo(_registry_specs, size=16)


def build_online_features(
    task: Task, model: ScoringModel, entities: Sequence[OnlineEntity], *, as_of: datetime
) -> FeatureRows:
    """``features.compute.online`` for the model's own columns; events at or after ``as_of`` never
    count."""
    specs = _specs_of(tuple(getattr(model, "feature_specs", ())))
    rows = online_feature_rows(
        task,
        entities,
        as_of=as_of,
        vocabulary=model.vocabulary,
        specs=specs,
        levels=model_levels(model),
    )
    return add_btyd_features(rows, getattr(model, "btyd", None))


def load_scoring_model(folder: Path, sha256: Mapping[str, str]) -> ScoringModel:
    return ScoringModel.load(folder, expected_sha256=sha256)


def build_warm_up(
    features: Callable[..., FeatureTable], explain_fn: Explain, settings: Settings
) -> Callable[[ServedModel], None]:
    """A full scoring pass on one made-up entity, so a model is proven usable before the swap."""

    def warm(served: ServedModel) -> None:
        tables = TASK_TABLES[served.task]
        entity = OnlineEntity(
            entity_id="warm-up",
            record={
                "created_at": WARM_AS_OF - timedelta(days=200),
                "owner_id": "warm-up",
                tables.value_column: 1000.0,
            },
            events=[{"occurred_at": WARM_AS_OF - timedelta(days=3), "type": "call"}],
        )
        frame = features(served.task, served.model, [entity], as_of=WARM_AS_OF)
        thresholds = settings.tier_thresholds(served.task)
        score_entities(
            served,
            frame,
            entity_ids=["warm-up"],
            values=np.array([1000.0]),
            thresholds=thresholds,
            explain=explain_fn,
        )

    return warm


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Services:
    """Services for the HTTP app, wired to the configured registry and scores database."""
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    explain_fn: Explain = explain
    source = MlflowChampionSource(
        tracking_uri=settings.mlflow_tracking_uri,
        alias=settings.champion_alias,
        timeout=settings.registry_timeout_seconds,
    )
    models = ModelManager(
        source=source,
        copies=LocalCopies(settings.served_dir),
        loader=load_scoring_model,
        warm=build_warm_up(build_online_features, explain_fn, settings),
        clock=clock,
    )
    return Services(
        settings=settings,
        store=store,
        keys=KeyStore(store.engine),
        models=models,
        metrics=ServiceMetrics(),
        features=build_online_features,
        explain=explain_fn,
        clock=clock,
    )
