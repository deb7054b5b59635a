"""The two callables serving is handed in its entry points, typed exactly as their one
implementation in ``features``.

``Explain`` is ``features.model.reasons.explain``; ``FeatureFrameBuilder`` is
``serving.wiring.build_online_features`` (over ``features.compute.online``). Both have keyword-only
arguments, which ``Callable[...]`` cannot spell, hence a ``Protocol`` each; every other type serving
uses from ``features`` (``ScoringModel``, ``ModelScores``, ``Reason``, ``OnlineEntity``) is imported
as it is, not wrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from features.compute.online import OnlineEntity
from features.compute.rows import FeatureTable
from features.contract.tasks import Task
from features.model.reasons import Reason
from features.model.scoring_model import ScoringModel


class Explain(Protocol):
    """The ``top_k`` reasons of each row of ``frame`` from its ``contributions`` (shape
    (n, n_features + 1)): ``features.model.reasons.explain``."""

    def __call__(
        self, model: ScoringModel, frame: FeatureTable, contributions: np.ndarray, *, top_k: int = 5
    ) -> list[list[Reason]]: ...


class FeatureFrameBuilder(Protocol):
    """Online features of ``entities`` for ``model``'s columns, as of ``as_of``.

    Only events strictly before ``as_of`` may count (``features.compute.online`` guarantees it).
    """

    def __call__(
        self,
        task: Task,
        model: ScoringModel,
        entities: Sequence[OnlineEntity],
        *,
        as_of: datetime,
    ) -> FeatureTable: ...


# (folder, {file: sha256}) -> the model; it must verify every file before parsing it.
ModelLoader = Callable[[Path, Mapping[str, str]], ScoringModel]
