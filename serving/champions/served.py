"""A model being served: the fitted model plus where it came from and how it was verified."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from features.contract.tasks import Task
from features.model.scoring_model import ScoringModel


@dataclass(frozen=True)
class ServedModel:
    """Immutable once built: a reload builds a new one and swaps the reference."""

    task: Task
    model: ScoringModel
    name: str
    version: str
    sha256: Mapping[str, str]
    loaded_at: datetime
    source: str  # "registry" or "local-copy"
    run_id: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def artifact_hash(self) -> str:
        """One digest for the whole artifact: sha256 over the sorted per-file digests."""
        joined = "\n".join(f"{name}={digest}" for name, digest in sorted(self.sha256.items()))
        return hashlib.sha256(joined.encode()).hexdigest()
