"""Two published runs of a small book, handwritten so every rule's outcome is known."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from serving.delivery.config import DeliverySettings
from serving.store.database import ScoreStore
from tests.serving.store.test_store import publish, row

T1 = datetime(2026, 10, 1, 2, 0)
T2 = datetime(2026, 10, 2, 2, 0)
NOW = datetime(2026, 10, 2, 3, 0)


def reason(feature: str, contribution: float) -> dict[str, Any]:
    return {
        "feature": feature,
        "value": 1.0,
        "contribution": contribution,
        "text": f"{feature} text",
    }


def publish_two_runs(store: ScoreStore) -> tuple[str, str]:
    """Run 1 then run 2. Owner o1: c1 medium -> high (+30), c2 high -> high (+2), c3 low -> low
    (-16), lead l1 warm -> hot (+10). Owner o2: c9 high -> high (0). Nobody owns c0."""
    first = publish(
        store,
        [
            row("c1", 0.40, tier="medium"),
            row("c2", 0.60, tier="high"),
            row("c3", 0.20, tier="low"),
            row("l1", 0.50, kind="lead", tier="warm", value=1000.0),
            row("c9", 0.70, owner="o2", tier="high"),
        ],
        at=T1,
    )
    second = publish(
        store,
        [
            row("c1", 0.70, tier="high", reasons=[reason("a", 0.9), reason("b", -0.3)]),
            row("c2", 0.62, tier="high"),
            row("c3", 0.04, tier="low", reasons=[reason("a", 0.1), reason("b", -0.8)]),
            row("l1", 0.60, kind="lead", tier="hot", value=1000.0),
            row("c9", 0.70, owner="o2", tier="high"),
            row("c0", 0.90, owner=None, tier="high"),  # type: ignore[arg-type]
        ],
        at=T2,
    )
    return first, second


def settings(tmp_path: Path, **changes: Any) -> DeliverySettings:
    """No channel, no waiting between tries; ``changes`` set the channels under test."""
    return DeliverySettings(backoff_seconds=0, attempts=3, **changes)


def clock() -> datetime:
    return NOW
