"""Lists pinned to a run across pages, ``iso_utc``, and batch runs that hold the scoring lock and
apply retention (timestamps in responses: test_stored_scores.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from features.contract.times import iso_utc
from features.errors import UserError
from serving.api.services import Services
from serving.scoring.batch import check_keep_runs, score_export
from serving.settings import Settings
from serving.store.database import ScoreStore
from serving.store.run_lock import LockHolder, ScoringRunInProgress, scoring_lock_held
from tests.serving.appkit import NOW, auth
from tests.serving.factories import make_export
from tests.serving.store.test_store import publish, row

STAMP = datetime(2026, 11, 1, 2, 30, 15, 987654)  # a wall-clock stamp with microseconds


def _publish_book(store: ScoreStore, *, flip: bool, at: datetime) -> str:
    """Ten customers of owner o1 (and one of o2); ``flip`` reverses their ranking. All are
    tier "high", so the list's default tiers hold them."""
    rows = [
        row(f"c{n:02d}", 0.05 + 0.09 * (9 - n if flip else n), value=None, tier="high")
        for n in range(10)
    ]
    others = [row("other", 0.99, owner="o2", value=None, tier="high")]
    return publish(store, [*rows, *others], at=at)


def test_pages_pinned_to_a_run_stay_in_it_after_a_newer_run_is_published(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    first = _publish_book(services.store, flip=False, at=NOW)
    url = "/v1/lists/at-risk?owner=o1&rank_by=probability&limit=4"
    page1 = client.get(url, headers=auth(keys["crm"])).json()
    assert page1["run_id"] == first
    second = _publish_book(services.store, flip=True, at=NOW + timedelta(days=1))

    pinned = client.get(f"{url}&offset=4&run_id={first}", headers=auth(keys["crm"]))
    assert pinned.status_code == 200, pinned.text
    page2 = pinned.json()
    assert page2["run_id"] == first and page2["total"] == page1["total"] == 10
    assert [i["rank"] for i in page1["items"] + page2["items"]] == list(range(1, 9))
    ids1 = [i["entity_id"] for i in page1["items"]]
    ids2 = [i["entity_id"] for i in page2["items"]]
    assert not set(ids1) & set(ids2)
    # Contiguous: the two pages are the first eight of the pinned run's own ranking.
    assert ids1 + ids2 == [f"c{n:02d}" for n in range(9, 1, -1)]

    unpinned = client.get(f"{url}&offset=4", headers=auth(keys["crm"])).json()
    assert unpinned["run_id"] == second
    assert [i["entity_id"] for i in unpinned["items"]] == ["c04", "c05", "c06", "c07"]

    as_csv = client.get(f"{url}&offset=4&run_id={first}&format=csv", headers=auth(keys["crm"]))
    assert as_csv.headers["x-run-id"] == first
    assert [r[1] for r in list(csv.reader(io.StringIO(as_csv.text)))[1:]] == ids2
    # A rep pinned to a run still sees only their own book.
    rep = client.get(f"/v1/lists/at-risk?run_id={first}", headers=auth(keys["rep0"])).json()
    assert rep["run_id"] == first and rep["items"] == []


@pytest.mark.parametrize("kind", ["deleted", "unpublished", "unknown", "malformed"])
def test_a_run_id_that_is_not_a_kept_published_run_is_a_404_naming_run_id(
    client: TestClient, keys: dict[str, str], services: Services, kind: str
) -> None:
    store = services.store
    runs = [_publish_book(store, flip=False, at=NOW + timedelta(days=d)) for d in range(3)]
    store.prune_runs(keep=2)
    unpublished = store.begin_run(as_of=NOW, started_at=NOW)
    run_id = {
        "deleted": runs[0],
        "unpublished": unpublished,
        "unknown": "0" * 32,
        "malformed": "'; DROP TABLE scores; --\x00",
    }[kind]
    response = client.get(
        "/v1/lists/hot-leads", params={"run_id": run_id}, headers=auth(keys["crm"])
    )
    assert response.status_code == 404, response.text
    (error,) = response.json()["detail"]
    assert error["field"] == "run_id" and error["type"] == "not_found"
    assert run_id not in response.text and "DROP" not in response.text
    kept = client.get(f"/v1/lists/at-risk?run_id={runs[1]}", headers=auth(keys["crm"]))
    assert kept.status_code == 200 and kept.json()["run_id"] == runs[1]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 10, 1), "2026-10-01T00:00:00Z"),
        (STAMP, "2026-11-01T02:30:15Z"),
        (datetime(2026, 10, 1, 1, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2))), None),
        (datetime(2026, 10, 1, 23, 59, 59, tzinfo=UTC), "2026-10-01T23:59:59Z"),
    ],
)
def test_iso_utc(moment: datetime, text: str | None) -> None:
    assert iso_utc(moment) == (text or "2026-09-30T23:00:00Z")


def test_a_batch_run_refused_by_the_lock_writes_nothing_and_retention_follows_keep_runs(
    client: TestClient,  # starting the app loads the champions
    services: Services,
) -> None:
    store = services.store
    export = make_export(seed=11)
    run = {
        "models": {task: services.models.current(task) for task in Task},
        "store": store,
        "settings": services.settings,
        "explain": services.explain,
        "clock": lambda: NOW,
    }
    first = score_export(export, as_of=datetime(2025, 9, 1), **run)  # type: ignore[arg-type]
    other = LockHolder(pid=31337, host="elsewhere", started_at=STAMP)
    with (
        scoring_lock_held(store.engine, other),
        pytest.raises(ScoringRunInProgress) as refused,
    ):
        score_export(export, as_of=datetime(2025, 10, 1), **run)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "another scoring run is in progress (started 2026-11-01T02:30:15Z by pid 31337 on "
        "elsewhere)"
    )
    assert isinstance(refused.value, UserError)
    assert store.published_run_id() == first.run_id
    assert _run_ids(store) == [first.run_id]

    summaries = [
        score_export(export, as_of=datetime(2025, m, 1), keep_runs=2, **run)  # type: ignore[arg-type]
        for m in (10, 11, 12)
    ]
    assert [s.pruned.runs for s in summaries] == [0, 1, 1]
    per_run = sum(first.counts.values())
    assert summaries[1].pruned.rows == per_run
    assert _run_ids(store) == [s.run_id for s in summaries[1:]]
    with pytest.raises(UserError, match="--keep-runs must be at least 2"):
        score_export(export, as_of=datetime(2025, 12, 2), keep_runs=1, **run)  # type: ignore[arg-type]
    export.close()
    assert Settings().keep_runs == 12
    assert check_keep_runs(2) == 2


def _run_ids(store: ScoreStore) -> list[str]:
    from sqlalchemy import select

    from serving.store.tables import score_runs

    with store.engine.connect() as conn:
        query = select(score_runs.c.run_id).order_by(score_runs.c.published_seq)
        return [r for (r,) in conn.execute(query)]
