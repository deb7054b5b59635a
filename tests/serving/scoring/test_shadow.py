"""The shadow challenger's serving side: which challengers load (and how a broken one is
reported instead of raised), and that a run's shadow rows go with the run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from features.contract.tasks import Task
from serving.champions.served import ServedModel
from serving.scoring.shadow import Challenger, load_challengers
from serving.store.database import ScoreStore
from serving.store.tables import shadow_runs, shadow_scores
from tests.serving.appkit import FolderChampions

AS_OF = datetime(2026, 6, 15)


def _champion(version: str) -> ServedModel:
    return ServedModel(Task.CHURN, object(), "salesradar-churn", version, {}, AS_OF, "registry")  # type: ignore[arg-type]


def test_a_challenger_that_is_the_champion_or_absent_is_not_shadowed(tmp_path: Path) -> None:
    source = FolderChampions()
    assert load_challengers(source, {Task.CHURN: _champion("3")}, clock=lambda: AS_OF) == {}
    source.publish(Task.CHURN, "3", tmp_path, {"estimator.skops": "0" * 64})
    assert load_challengers(source, {Task.CHURN: _champion("3")}, clock=lambda: AS_OF) == {}


def test_a_broken_or_unreachable_challenger_is_a_problem_not_an_exception(
    tmp_path: Path,
) -> None:
    source = FolderChampions()
    source.publish(Task.CHURN, "4", tmp_path, {"estimator.skops": "0" * 64})
    found = load_challengers(source, {Task.CHURN: _champion("3")}, clock=lambda: AS_OF)
    broken = found[Task.CHURN]
    assert (broken.name, broken.version, broken.served) == ("salesradar-churn", "4", None)
    assert broken.problem is not None and broken.problem.startswith("cannot load: ")
    source.down = True
    found = load_challengers(source, {Task.CHURN: _champion("3")}, clock=lambda: AS_OF)
    assert found[Task.CHURN] == Challenger(
        Task.CHURN,
        "salesradar-churn",
        None,
        problem="cannot resolve: connection refused",
    )


def _count(store: ScoreStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_runs_shadow_goes_with_the_run(tmp_path: Path) -> None:
    store = ScoreStore.from_url(f"sqlite:///{tmp_path / 'scores.db'}")
    store.create_schema()
    published = []
    for day in range(3):
        run_id = store.begin_run(as_of=AS_OF, started_at=AS_OF)
        written = store.write_shadow(
            run_id,
            "customer",
            model_name="salesradar-churn",
            model_version="4",
            status="scored",
            probabilities=[("c1", 0.25), ("c2", 0.75)],
        )
        assert written == 2
        store.publish(run_id, published_at=datetime(2026, 6, 16 + day))
        published.append(run_id)
    assert (_count(store, shadow_scores), _count(store, shadow_runs)) == (6, 3)
    assert store.prune_runs(keep=2).runs == 1
    assert (_count(store, shadow_scores), _count(store, shadow_runs)) == (4, 2)
    # A run abandoned mid-way (never published) loses its shadow when the next run begins.
    abandoned = store.begin_run(as_of=AS_OF, started_at=AS_OF)
    store.write_shadow(
        abandoned, "customer", model_name="salesradar-churn", model_version=None,
        status="failed", reason="cannot resolve: timeout",
    )  # fmt: skip
    store.begin_run(as_of=AS_OF, started_at=AS_OF)
    with store.engine.connect() as conn:
        left = {r for (r,) in conn.execute(select(shadow_runs.c.run_id))}
    assert left == set(published[1:])
    store.engine.dispose()
