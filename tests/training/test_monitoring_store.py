"""Monitoring results in the scores database, on SQLite and PostgreSQL: the runs `score`
published are read back; a result is replaced, never duplicated; NaN is stored as null."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from serving.store.database import ScoreRow, ScoreStore
from tests.serving.postgres import PostgresServer, create_database, start_postgres
from training.monitoring.store import (
    create_monitoring_schema,
    load_results,
    published_runs,
    run_scores,
    save_result,
)

AS_OF = datetime(2026, 7, 1)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScoreStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('scores') / 'scores.db'}"
    else:
        url = create_database(request.getfixturevalue("postgres_server"))
    score_store = ScoreStore.from_url(url)
    score_store.create_schema()
    yield score_store
    score_store.engine.dispose()


def _row(entity_id: str, probability: float, kind: str, tier: str) -> ScoreRow:
    return ScoreRow(
        entity_kind=kind,  # type: ignore[arg-type]
        entity_id=entity_id,
        owner_id="o1",
        probability=probability,
        score=round(100 * probability),
        tier=tier,
        value=None,
        reasons=[],
        model_name="salesradar-churn" if kind == "customer" else "salesradar-leads",
        model_version="3",
        as_of=AS_OF,
    )


def _publish(store: ScoreStore, rows: list[ScoreRow], *, as_of: datetime) -> str:
    run_id = store.begin_run(as_of=as_of, started_at=as_of)
    store.write_scores(run_id, rows)
    store.publish(run_id, published_at=as_of)
    return run_id


def _result(run_id: str, roc_auc: float) -> dict[str, object]:
    return {
        "run_id": run_id,
        "task": "churn",
        "model_name": "salesradar-churn",
        "model_version": "3",
        "as_of": AS_OF,
        "window_end": datetime(2026, 9, 29),
        "partial": False,
        "monitored_as_of": datetime(2026, 10, 1),
        "monitored_at": datetime(2026, 10, 2),
        "scored": 2,
        "matched": 2,
        "outcome": {"metrics": {"roc_auc": roc_auc, "pr_auc": 0.5}},
        "drift": {"drifted": [], "score": {"p_value": float("nan")}},
        "mlflow_run_id": "abc",
    }


def test_published_runs_and_their_scores_are_read_per_task(store: ScoreStore) -> None:
    first = _publish(
        store,
        [_row("C2", 0.7, "customer", "high"), _row("C1", 0.1, "customer", "low")],
        as_of=AS_OF,
    )
    store.begin_run(as_of=datetime(2026, 8, 1), started_at=AS_OF)  # never published
    second = _publish(store, [_row("L1", 0.4, "lead", "warm")], as_of=datetime(2026, 9, 1))
    runs = published_runs(store.engine)
    assert [(r.run_id, r.task, r.as_of) for r in runs] == [
        (first, "churn", AS_OF),
        (second, "leads", datetime(2026, 9, 1)),
    ]
    assert runs[0].model_name == "salesradar-churn" and runs[0].model_version == "3"
    scores = run_scores(store.engine, runs[0])
    assert scores.to_dict("records") == [
        {"entity_id": "C1", "probability": 0.1, "tier": "low"},
        {"entity_id": "C2", "probability": 0.7, "tier": "high"},
    ]


def test_a_result_is_replaced_not_duplicated_and_nan_is_null(store: ScoreStore) -> None:
    run_id = _publish(store, [_row("C1", 0.1, "customer", "low")], as_of=AS_OF)
    create_monitoring_schema(store.engine)
    create_monitoring_schema(store.engine)  # idempotent
    save_result(store.engine, _result(run_id, float("nan")))
    save_result(store.engine, _result(run_id, 0.8))
    results = load_results(store.engine)
    assert len(results) == 1
    assert results.loc[0, "outcome"]["metrics"]["roc_auc"] == 0.8
    assert results.loc[0, "drift"]["score"]["p_value"] is None
