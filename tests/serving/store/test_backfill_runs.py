"""A backfill run (an as-of before the published run's) is stored for ``monitor`` but does not
replace the published run unless the caller says so — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from serving.store.database import Publication, ScoreStore
from tests.serving.store.test_store import row
from training.monitoring.store import published_runs

LATER = datetime(2026, 10, 1)
EARLIER = datetime(2026, 7, 1)
T1 = datetime(2026, 10, 1, 2, 0)
T2 = datetime(2026, 10, 2, 2, 0)


def _run(store: ScoreStore, probability: float, *, as_of: datetime, at: datetime) -> str:
    run_id = store.begin_run(as_of=as_of, started_at=at)
    store.write_scores(run_id, [row("c1", probability, as_of=as_of)])
    return run_id


def test_a_backfill_is_stored_not_published_and_monitor_reads_it(store: ScoreStore) -> None:
    live = _run(store, 0.2, as_of=LATER, at=T1)
    assert store.publish(live, published_at=T1) == Publication(live, published=True)
    backfill = _run(store, 0.9, as_of=EARLIER, at=T2)
    assert store.publish(backfill, published_at=T2) == Publication(
        backfill, published=False, later_run_id=live, later_as_of=LATER
    )
    assert store.published_run_id() == live
    latest, previous = store.latest_with_previous("customer", "c1")
    assert (latest.run_id, previous) == (live, None)  # type: ignore[union-attr]
    assert [s.run_id for s in store.history("customer", "c1")] == [live]
    assert [(r.run_id, r.as_of) for r in published_runs(store.engine)] == [(live, LATER)]
    assert [(r.run_id, r.as_of) for r in published_runs(store.engine, stored=True)] == [
        (live, LATER),
        (backfill, EARLIER),
    ]


def test_a_backfill_publishes_when_asked_and_an_equal_as_of_always_does(
    store: ScoreStore,
) -> None:
    live = _run(store, 0.2, as_of=LATER, at=T1)
    store.publish(live, published_at=T1)
    again = _run(store, 0.3, as_of=LATER, at=T2)
    assert store.publish(again, published_at=T2).published  # a rescore of the same as-of
    backfill = _run(store, 0.9, as_of=EARLIER, at=T2)
    assert store.publish(backfill, published_at=T2, over_later=True).published
    assert store.published_run_id() == backfill
    assert store.latest("customer", "c1").probability == 0.9  # type: ignore[union-attr]


def test_stored_backfills_are_pruned_to_the_newest_kept(store: ScoreStore) -> None:
    live = _run(store, 0.2, as_of=LATER, at=T1)
    store.publish(live, published_at=T1)
    stored = []
    for day in range(1, 5):
        run_id = _run(store, 0.5, as_of=EARLIER, at=datetime(2026, 10, 2, day))
        assert not store.publish(run_id, published_at=T2).published
        stored.append(run_id)
    pruned = store.prune_runs(keep=2)
    assert (pruned.runs, pruned.rows) == (2, 2)
    kept = [r.run_id for r in published_runs(store.engine, stored=True)]
    assert kept == [live, *stored[2:]]
