"""The scores store: atomic publication, history, lists — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table

from serving.store.database import ScoreRow, ScoreStore, create_store_engine
from serving.store.run_lock import LockHolder, scoring_lock_held
from serving.store.tables import (
    ADDED_SCORE_COLUMNS,
    api_keys,
    published_run,
    score_runs,
    scores,
    scoring_lock,
)

AS_OF = datetime(2026, 10, 1)
T1 = datetime(2026, 10, 1, 2, 0)
T2 = datetime(2026, 11, 1, 2, 0)


def row(
    entity_id: str,
    probability: float,
    *,
    owner: str = "o1",
    value: float | None = 100.0,
    kind: str = "customer",
    tier: str = "low",
    reasons: list[dict[str, Any]] | None = None,
    as_of: datetime = AS_OF,
) -> ScoreRow:
    return ScoreRow(
        entity_kind=kind,  # type: ignore[arg-type]
        entity_id=entity_id,
        owner_id=owner,
        probability=probability,
        score=round(100 * probability),
        tier=tier,
        value=value,
        reasons=[{"feature": "days_since_order", "value": 40.0, "contribution": 0.3, "text": "x"}]
        if reasons is None
        else reasons,
        model_name="salesradar-churn",
        model_version="3",
        as_of=as_of,
    )


def publish(store: ScoreStore, rows: list[ScoreRow], *, at: datetime) -> str:
    run_id = store.begin_run(as_of=AS_OF, started_at=at)
    store.write_scores(run_id, rows)
    store.publish(run_id, published_at=at)
    return run_id


def test_unpublished_run_is_invisible_until_published(store: ScoreStore) -> None:
    first = publish(store, [row("c1", 0.2), row("c2", 0.4)], at=T1)
    second = store.begin_run(as_of=AS_OF, started_at=T2)
    store.write_scores(second, [row("c1", 0.9)])
    assert store.published_run_id() == first
    latest = store.latest("customer", "c1")
    assert latest is not None and latest.probability == 0.2 and latest.run_id == first
    assert store.list_scores("customer").total == 2
    store.publish(second, published_at=T2)
    assert store.published_run_id() == second
    assert store.latest("customer", "c1").probability == 0.9  # type: ignore[union-attr]
    # c2 was not scored in the new run: it has no current score (no mix of runs).
    assert store.latest("customer", "c2") is None
    assert [s.probability for s in store.history("customer", "c1")] == [0.9, 0.2]


def test_reasons_round_trip_and_publish_twice_fails(store: ScoreStore) -> None:
    run_id = publish(store, [row("c1", 0.5)], at=T1)
    assert store.latest("customer", "c1").reasons == row("c1", 0.5).reasons  # type: ignore[union-attr]
    try:
        store.publish(run_id, published_at=T2)
    except ValueError as exc:
        assert run_id in str(exc)
    else:
        raise AssertionError("publishing a published run must fail")


def test_list_ranks_filters_and_paginates(store: ScoreStore) -> None:
    publish(
        store,
        [
            row("a", 0.9, value=10.0, tier="high"),
            row("b", 0.3, value=500.0, tier="medium"),
            row("c", 0.6, value=None, tier="high", owner="o2"),
            row("d", 0.7, value=200.0, tier="high"),
            row("e", 0.1, value=200.0, tier="low"),
        ],
        at=T1,
    )
    by_value = store.list_scores("customer")
    assert [s.entity_id for s in by_value.items] == ["b", "d", "e", "a", "c"]
    by_prob = store.list_scores("customer", rank_by="probability")
    assert [s.entity_id for s in by_prob.items] == ["a", "d", "c", "b", "e"]
    page = store.list_scores("customer", owner_ids=["o1"], tiers=["high"], limit=1, offset=1)
    assert page.total == 2 and [s.entity_id for s in page.items] == ["a"]
    rich = store.list_scores("customer", min_value=200.0)
    assert [s.entity_id for s in rich.items] == ["b", "d", "e"]
    assert store.list_scores("lead").total == 0


def test_list_totals_follow_the_published_run_and_tell_no_filter_from_no_owner(
    store: ScoreStore,
) -> None:
    publish(store, [row("a", 0.9, value=1.0), row("b", 0.2, value=2.0, owner="o2")], at=T1)
    assert store.list_scores("customer").total == 2
    assert store.list_scores("customer", owner_ids=["o2"]).total == 1
    assert store.list_scores("customer", owner_ids=[]).total == 0  # a rep without a book
    publish(store, [row("c", 0.5, value=3.0)], at=T2)  # totals are per run, never stale
    assert store.list_scores("customer").total == 1
    assert store.list_scores("customer", owner_ids=["o2"]).total == 0


def test_pages_are_read_in_index_order_and_old_databases_gain_the_indexes(
    store: ScoreStore,
) -> None:
    from sqlalchemy import inspect, text

    from serving.store.tables import RANK_INDEXES

    wanted = {index.name for index in RANK_INDEXES}
    with store.engine.begin() as conn:
        for name in wanted:
            conn.execute(text(f"DROP INDEX {name}"))
    store.create_schema()
    store.create_schema()  # idempotent
    if store.engine.dialect.name != "sqlite":
        assert wanted <= {i["name"] for i in inspect(store.engine).get_indexes("scores")}
        return
    # SQLAlchemy does not reflect SQLite expression indexes: ask SQLite itself.
    with store.engine.connect() as conn:
        listed = {r[1] for r in conn.execute(text("PRAGMA index_list(scores)"))}
        plan = " ".join(
            str(r[3])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT entity_id FROM scores WHERE run_id = 'r' "
                    "AND entity_kind = 'customer' ORDER BY value IS NULL, value DESC, "
                    "probability DESC, entity_id LIMIT 50"
                )
            )
        )
    assert wanted <= listed
    assert "ix_scores_rank_value" in plan and "TEMP B-TREE" not in plan


def test_empty_store_reads_nothing(store: ScoreStore) -> None:
    assert store.published_run_id() is None
    assert store.latest("lead", "x") is None
    assert store.history("lead", "x") == []
    assert store.list_scores("lead").run_id is None


WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from serving.store.run_lock import LockHolder, scoring_lock_held
    from serving.store.database import ScoreRow, ScoreStore
    store = ScoreStore.from_url(sys.argv[1])
    def rows():
        i = 0
        while True:
            yield ScoreRow("customer", f"c{i}", "o1", 0.99, 99, "high", 1.0, [], "m", "9",
                           datetime(2026, 10, 1))
            i += 1
            if i == 6000:  # one chunk is committed by now: tell the parent, keep writing
                print(run_id, flush=True)
            if i > 6000:
                time.sleep(0.001)
    # As a batch run does: under the scoring lock, which the kill must not leave behind.
    with scoring_lock_held(store.engine, LockHolder(1, "killed", datetime(2026, 11, 1))):
        run_id = store.begin_run(as_of=datetime(2026, 10, 1), started_at=datetime(2026, 11, 1))
        store.write_scores(run_id, rows())
    """
)


def wait_for_no_advisory_lock(store: ScoreStore) -> None:
    """On PostgreSQL, wait (bounded) until the server has ended a killed client's session and
    so released its advisory lock: it notices the closed socket on its own schedule. Nothing
    is waited for on SQLite, where the kernel drops a dead process's flock at once.
    """
    if store.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for _ in range(200):
        with store.engine.connect() as conn:
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            ).scalar_one()
        if held == 0:
            return
        time.sleep(0.05)


def spawn_python(script: str, store_url: str) -> subprocess.Popen[str]:
    """Run ``script`` with ``store_url`` as its argument in a child Python, stdout piped."""
    repo = Path(__file__).resolve().parents[3]
    return subprocess.Popen(
        [sys.executable, "-c", script, store_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )


def test_sigkill_mid_run_leaves_previous_run_published(store: ScoreStore, store_url: str) -> None:
    first = publish(store, [row("c1", 0.2), row("c2", 0.4)], at=T1)
    writer = spawn_python(WRITER, store_url)
    try:
        dying_run = writer.stdout.readline().strip()  # type: ignore[union-attr]
        assert dying_run, "writer did not start"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == -signal.SIGKILL
    assert store.published_run_id() == first
    assert store.latest("customer", "c1").probability == 0.2  # type: ignore[union-attr]
    assert store.list_scores("customer").total == 2
    assert store.history("customer", "c1")[0].run_id == first
    # The killed run left committed rows behind, invisibly; the next run removes them.
    with store.engine.connect() as conn:
        from sqlalchemy import func, select

        from serving.store.tables import scores

        leftover = conn.execute(
            select(func.count()).select_from(scores).where(scores.c.run_id == dying_run)
        ).scalar_one()
    assert leftover >= 5000
    wait_for_no_advisory_lock(store)
    with scoring_lock_held(store.engine, LockHolder(2, "next", T2)):  # the next run gets it
        second = publish(store, [row("c1", 0.7)], at=T2)
    assert store.published_run_id() == second
    with store.engine.connect() as conn:
        leftover = conn.execute(
            select(func.count()).select_from(scores).where(scores.c.run_id == dying_run)
        ).scalar_one()
    assert leftover == 0


def test_latest_with_previous_follows_publication_order(store: ScoreStore) -> None:
    first = publish(store, [row("c1", 0.2), row("c2", 0.4)], at=T1)
    assert store.latest_with_previous("customer", "c1")[0].run_id == first  # type: ignore[union-attr]
    assert store.latest_with_previous("customer", "c1")[1] is None
    second = publish(store, [row("c1", 0.6)], at=T2)
    latest, previous = store.latest_with_previous("customer", "c1")
    assert (latest.run_id, latest.probability) == (second, 0.6)  # type: ignore[union-attr]
    assert (previous.run_id, previous.probability) == (first, 0.2)  # type: ignore[union-attr]
    # c2 is missing from the published run: no current score, even though it has history.
    assert store.latest_with_previous("customer", "c2") == (None, None)
    # An unpublished run changes nothing.
    hidden = store.begin_run(as_of=AS_OF, started_at=T2)
    store.write_scores(hidden, [row("c1", 0.99)])
    assert store.latest_with_previous("customer", "c1")[0].run_id == second  # type: ignore[union-attr]


def test_a_database_written_by_the_previous_release_opens_and_gains_the_new_columns(
    store_url: str,
) -> None:
    # The tables exactly as the release before display fields and contributions created them.
    old = MetaData()
    for table in (score_runs, published_run, api_keys, scoring_lock):
        table.to_metadata(old)
    kept = [c._copy() for c in scores.columns if c.name not in ADDED_SCORE_COLUMNS]
    old_scores = Table("scores", old, *kept)
    engine = create_store_engine(store_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            old.tables["score_runs"]
            .insert()
            .values(
                run_id="a" * 32,
                status="published",
                as_of=AS_OF,
                started_at=T1,
                published_at=T1,
                published_seq=1,
                row_count=1,
            )
        )
        legacy = {k: v for k, v in row("c1", 0.4).__dict__.items() if k in old_scores.c}
        conn.execute(old_scores.insert().values(run_id="a" * 32, **legacy))
        conn.execute(old.tables["published_run"].insert().values(slot=1, run_id="a" * 32))
    store = ScoreStore(engine)
    store.create_schema()
    store.create_schema()  # idempotent
    before = store.latest("customer", "c1")
    assert before is not None and before.probability == 0.4
    assert (before.display, before.last_activity_at) == (None, None)
    assert store.run_detail("customer", "c1", "a" * 32) is None
    fresh = replace(row("c1", 0.6), display={"name": "Acme"}, last_activity_at=T1)
    second = publish(store, [fresh], at=T2)
    latest, previous = store.latest_with_previous("customer", "c1")
    assert latest is not None and previous is not None
    assert (latest.run_id, latest.display) == (second, {"name": "Acme"})
    assert latest.last_activity_at == T1
    assert previous.display is None and store.list_scores("customer").total == 1
    engine.dispose()
