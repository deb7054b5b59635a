"""/metrics exposes the latest monitoring result per task and window state, read per scrape from
the ``monitoring_results`` rows that ``salesradar monitor`` writes (its own writer used here)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from serving.api.services import Services
from tests.serving.api.test_metrics import samples
from tests.serving.appkit import NOW
from training.monitoring.store import create_monitoring_schema, save_result

RUN = ("task", "model_version", "run_id", "partial")


def _result(
    run_id: str, *, as_of: datetime, partial: bool, roc_auc: float, high_rate: float
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "task": "churn",
        "model_name": "salesradar-churn",
        "model_version": "3",
        "as_of": as_of,
        "window_end": as_of + timedelta(days=90),
        "partial": partial,
        "monitored_as_of": NOW - timedelta(days=1),
        "monitored_at": NOW - timedelta(hours=2),
        "scored": 10,
        "matched": 10,
        "outcome": {
            "metrics": {"roc_auc": roc_auc, "pr_auc": 0.4, "ece": 0.03, "precision_at_k": 0.6},
            "tiers": [
                {"tier": "high", "entities": 3, "realised_rate": high_rate, "expected_rate": 0.6},
                {"tier": "low", "entities": 7, "realised_rate": 0.1, "expected_rate": 0.12},
            ],
        },
        "drift": {
            "features": [{"name": "orders_90d", "psi": 0.3}],
            "score": {"psi": 0.02},
            "events": {"share": 0.01},
            "drifted": ["orders_90d"],
        },
        "mlflow_run_id": "m1",
    }


def _labels(run_id: str, partial: str, **extra: str) -> tuple[tuple[str, str], ...]:
    values = dict(zip(RUN, ("churn", "3", run_id, partial), strict=True))
    return tuple(sorted({**values, **extra}.items()))


def test_no_monitoring_table_no_series(client: TestClient, keys: dict[str, str]) -> None:
    found = samples(client, keys["admin"])
    assert not [name for name, _ in found if name.startswith("salesradar_realised")]


def test_latest_complete_and_partial_results_per_task(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    engine = services.store.engine
    create_monitoring_schema(engine)
    older = datetime(2025, 7, 1)
    save_result(engine, _result("old", as_of=older, partial=False, roc_auc=0.7, high_rate=0.5))
    latest = datetime(2025, 8, 1)
    save_result(engine, _result("done", as_of=latest, partial=False, roc_auc=0.81, high_rate=0.61))
    save_result(
        engine,
        _result("open", as_of=datetime(2025, 11, 1), partial=True, roc_auc=math.nan, high_rate=0.4),
    )
    found = samples(client, keys["admin"])
    done, open_ = _labels("done", "false"), _labels("open", "true")
    assert found[("salesradar_realised_roc_auc", done)] == 0.81
    assert math.isnan(found[("salesradar_realised_roc_auc", open_)])  # stored as null
    assert found[("salesradar_realised_pr_auc", done)] == 0.4
    assert found[("salesradar_realised_ece", done)] == 0.03
    assert found[("salesradar_realised_precision_at_capacity", done)] == 0.6
    assert found[("salesradar_realised_rate", _labels("done", "false", tier="high"))] == 0.61
    assert found[("salesradar_realised_rate", _labels("open", "true", tier="high"))] == 0.4
    assert found[("salesradar_expected_rate", _labels("done", "false", tier="low"))] == 0.12
    assert found[("salesradar_drift_psi", _labels("done", "false", feature="orders_90d"))] == 0.3
    assert found[("salesradar_score_psi", done)] == 0.02
    assert found[("salesradar_unknown_event_share", done)] == 0.01
    assert found[("salesradar_drifted_features", done)] == 1.0
    assert found[("salesradar_monitoring_age_seconds", done)] == 7200.0
    # The older complete run is superseded: no series of it.
    assert not [labels for _, labels in found if ("run_id", "old") in labels]


def test_a_new_result_shows_at_the_next_scrape(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    engine = services.store.engine
    create_monitoring_schema(engine)
    save_result(
        engine, _result("a", as_of=datetime(2025, 7, 1), partial=False, roc_auc=0.7, high_rate=0.5)
    )
    assert samples(client, keys["admin"])[("salesradar_realised_roc_auc", _labels("a", "false"))]
    save_result(
        engine, _result("b", as_of=datetime(2025, 8, 1), partial=False, roc_auc=0.9, high_rate=0.5)
    )
    found = samples(client, keys["admin"])
    assert found[("salesradar_realised_roc_auc", _labels("b", "false"))] == 0.9
    assert ("salesradar_realised_roc_auc", _labels("a", "false")) not in found
