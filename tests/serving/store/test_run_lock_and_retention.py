"""One scoring run at a time (the scoring lock) and retention of old runs, on SQLite and PostgreSQL.

Each test runs once per backend through the ``store`` fixture; the PostgreSQL one is skipped when
no server binaries are installed, as the other PostgreSQL tests are.
"""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select

from serving.store.database import PrunedRuns, ScoreStore
from serving.store.run_lock import LockHolder, ScoringRunInProgress, scoring_lock_held
from serving.store.tables import score_runs, scores
from tests.serving.store.test_store import (
    AS_OF,
    publish,
    row,
    spawn_python,
    wait_for_no_advisory_lock,
)

HOLDER = LockHolder(pid=4242, host="batch-a", started_at=datetime(2026, 11, 1, 2, 0, 0, 123456))
OTHER = LockHolder(pid=4343, host="batch-b", started_at=datetime(2026, 11, 1, 2, 5))


@pytest.fixture
def second_store(store_url: str, store: ScoreStore) -> Iterator[ScoreStore]:
    """Another process's view of the same database: its own engine and connections."""
    other = ScoreStore.from_url(store_url)
    yield other
    other.engine.dispose()


def test_a_second_run_is_refused_in_one_line_naming_the_first(
    store: ScoreStore, second_store: ScoreStore
) -> None:
    with (
        scoring_lock_held(store.engine, HOLDER),
        pytest.raises(ScoringRunInProgress) as refused,
        scoring_lock_held(second_store.engine, OTHER),
    ):
        raise AssertionError("the second run must not get the lock")
    assert str(refused.value) == (
        "another scoring run is in progress (started 2026-11-01T02:00:00Z by pid 4242 on batch-a)"
    )
    assert refused.value.exit_code != 0
    # Released at the end of the block: the second run gets it now and is named as holder.
    with (
        scoring_lock_held(second_store.engine, OTHER),
        pytest.raises(ScoringRunInProgress, match="by pid 4343 on batch-b"),
        scoring_lock_held(store.engine, HOLDER),
    ):
        pass


def test_the_refused_run_leaves_the_running_one_to_finish_and_publish(
    store: ScoreStore, second_store: ScoreStore
) -> None:
    """The reported failure: the second run removed the first's unfinished run as abandoned and
    the first died on a foreign key. Now the second stops before touching anything."""
    first = publish(store, [row("c1", 0.2)], at=datetime(2026, 10, 1))
    with scoring_lock_held(store.engine, HOLDER):
        running = store.begin_run(as_of=AS_OF, started_at=HOLDER.started_at)
        store.write_scores(running, [row("c1", 0.5), row("c2", 0.6)])
        with (
            pytest.raises(ScoringRunInProgress),
            scoring_lock_held(second_store.engine, OTHER),
        ):
            second_store.begin_run(as_of=AS_OF, started_at=OTHER.started_at)
        store.write_scores(running, [row("c3", 0.7)])
        store.publish(running, published_at=datetime(2026, 11, 1, 3))
    assert store.published_run_id() == running != first
    assert store.list_scores("customer").total == 3


LOCK_HOLDER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from serving.store.run_lock import LockHolder, scoring_lock_held
    from serving.store.database import ScoreStore
    store = ScoreStore.from_url(sys.argv[1])
    with scoring_lock_held(store.engine, LockHolder(99, "doomed", datetime(2026, 11, 1))):
        print("locked", flush=True)
        time.sleep(600)
    """
)


def test_a_killed_run_leaves_no_lock_behind(store: ScoreStore, store_url: str) -> None:
    holder = spawn_python(LOCK_HOLDER, store_url)
    try:
        assert holder.stdout.readline().strip() == "locked"  # type: ignore[union-attr]
        with (
            pytest.raises(ScoringRunInProgress, match="by pid 99 on doomed"),
            scoring_lock_held(store.engine, HOLDER),
        ):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    wait_for_no_advisory_lock(store)
    # The row naming the dead holder is still there, and blocks nothing.
    with scoring_lock_held(store.engine, HOLDER):
        pass


def _counts(store: ScoreStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(score_runs)).scalar_one()
        rows = conn.execute(select(func.count()).select_from(scores)).scalar_one()
    return runs, rows


def test_retention_keeps_the_newest_runs_and_what_changed_needs(store: ScoreStore) -> None:
    published = [
        publish(store, [row("c1", 0.1 * n), row("c2", 0.5), row(f"only{n}", 0.3)], at=at)
        for n, at in enumerate([datetime(2026, m, 1) for m in range(1, 7)], start=1)
    ]
    unfinished = store.begin_run(as_of=AS_OF, started_at=datetime(2026, 7, 1))
    store.write_scores(unfinished, [row("c1", 0.9)])
    assert _counts(store) == (7, 19)

    assert store.prune_runs(keep=3) == PrunedRuns(runs=3, rows=9)
    assert _counts(store) == (4, 10)
    with store.engine.connect() as conn:
        left = {r for (r,) in conn.execute(select(score_runs.c.run_id))}
    assert left == {*published[-3:], unfinished}
    assert store.published_run_id() == published[-1]
    latest, previous = store.latest_with_previous("customer", "c1")
    assert latest is not None and previous is not None
    assert (latest.run_id, previous.run_id) == (published[-1], published[-2])
    assert store.list_scores("customer", run_id=published[-3]).total == 3

    assert store.prune_runs(keep=3) == PrunedRuns(runs=0, rows=0)  # nothing more to do
    assert store.prune_runs(keep=2) == PrunedRuns(runs=1, rows=3)
    assert _counts(store) == (3, 7)
    with pytest.raises(ValueError, match="at least 2"):
        store.prune_runs(keep=1)
    assert _counts(store) == (3, 7)
