"""What serving needs from the ``features`` package, as small protocols.

``features.model.ScoringModel``, ``features.reasons.explain`` and
``features.online.online_feature_rows`` satisfy these; tests may pass stand-ins. Keeping the
seams this narrow is what lets serving import ``features`` and never ``training``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from features.rows import FeatureTable
from features.tasks import Task
from features.vocabulary import Vocabulary


class ScoringModelLike(Protocol):
    """A fitted, calibrated model of one task (see docs/internal-api.md, ``ScoringModel``)."""

    task: Task
    feature_names: Sequence[str]
    metadata: Mapping[str, Any]
    vocabulary: Vocabulary

    def predict_proba(self, frame: FeatureTable) -> np.ndarray: ...

    def contributions(self, frame: FeatureTable) -> np.ndarray: ...

    def score(self, frame: FeatureTable) -> ModelScoresLike:
        """Probabilities and contributions from one encoding of ``frame``."""
        ...


class ModelScoresLike(Protocol):
    """What ``ScoringModelLike.score`` returns (``features.model.ModelScores``)."""

    @property
    def probability(self) -> np.ndarray: ...
    @property
    def contributions(self) -> np.ndarray: ...


class ReasonLike(Protocol):
    feature: str
    value: Any
    contribution: float
    text: str
    background: bool


class Explain(Protocol):
    def __call__(
        self, model: Any, frame: FeatureTable, contributions: np.ndarray, *, top_k: int = 5
    ) -> list[list[ReasonLike]]: ...


@dataclass(frozen=True)
class EntityInput:
    """One entity as the online feature path reads it (same fields as ``features.online``)."""

    entity_id: str
    record: Mapping[str, object]
    events: Sequence[Mapping[str, object]] = field(default_factory=tuple)


class FeatureFrameBuilder(Protocol):
    """Online features of ``entities`` for ``model``'s columns, as of ``as_of``.

    Only events strictly before ``as_of`` may count (``features.online`` guarantees it).
    """

    def __call__(
        self,
        task: Task,
        model: ScoringModelLike,
        entities: Sequence[EntityInput],
        *,
        as_of: datetime,
    ) -> FeatureTable: ...


ModelLoader = Callable[[Path, Mapping[str, str]], ScoringModelLike]
