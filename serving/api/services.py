"""Everything a request handler may use, built once in the entry point and held by the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from serving.api.metrics import ServiceMetrics
from serving.champions.lifecycle import ModelManager
from serving.protocols import Explain, FeatureFrameBuilder
from serving.settings import Settings
from serving.store.database import ScoreStore
from serving.store.keys import KeyStore


@dataclass
class Services:
    settings: Settings
    store: ScoreStore
    keys: KeyStore
    models: ModelManager
    metrics: ServiceMetrics
    features: FeatureFrameBuilder
    explain: Explain
    clock: Callable[[], datetime]  # naive UTC "now"; only routes and entry points call it
