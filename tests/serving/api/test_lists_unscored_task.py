"""A list whose task the published run did not score is a 409 naming it, never an empty page
that reads as "nobody at risk" (a run of a leads-only export has no churn scores)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from features.contract.export import export_from_frames
from features.contract.tasks import KIND_TASKS, Task
from features.errors import UserError
from serving.api.services import Services
from serving.scoring.batch import BatchSummary, score_export
from serving.store.tables import score_runs, scores
from tests.serving.appkit import auth
from tests.serving.factories import make_frames


def score_leads_only(
    services: Services, frames: dict[str, pd.DataFrame], *, as_of: datetime = datetime(2025, 11, 1)
) -> BatchSummary:
    """One published batch run of ``frames`` as of ``as_of`` that scores leads only."""
    export = export_from_frames(**frames)
    try:
        return score_export(
            export,
            as_of=as_of,
            models={Task.LEADS: services.models.current(Task.LEADS)},  # type: ignore[dict-item]
            store=services.store,  # type: ignore[arg-type]
            settings=services.settings,
            explain=services.explain,
            clock=lambda: datetime(2025, 11, 2),
        )
    finally:
        export.close()


def test_a_list_of_a_task_the_published_run_did_not_score_is_a_409(
    services: Services, keys: dict[str, str], client: TestClient
) -> None:
    score_leads_only(services, make_frames(seed=11))
    hot = client.get("/v1/lists/hot-leads", headers=auth(keys["admin"]))
    assert hot.status_code == 200 and hot.json()["total"] > 0
    for key in ("admin", "rep0"):
        at_risk = client.get("/v1/lists/at-risk", headers=auth(keys[key]))
        assert at_risk.status_code == 409
        assert at_risk.json()["detail"] == [
            {
                "field": "run_id",
                "message": "the run read has no churn scores (its batch run did not score churn)",
                "type": "task_not_scored",
            }
        ]
    # A rep with no lead in the run still gets an empty page: the task was scored.
    assert (
        client.get("/v1/lists/hot-leads?owner=nobody", headers=auth(keys["admin"])).json()["total"]
        == 0
    )


def test_the_409_names_the_task_of_the_kind_from_the_one_map(
    services: Services,
    keys: dict[str, str],
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    score_leads_only(services, make_frames(seed=11))
    # features.contract.tasks.KIND_TASKS is read at request time: a changed map changes the message.
    monkeypatch.setitem(KIND_TASKS, "customer", Task.LEADS)
    at_risk = client.get("/v1/lists/at-risk", headers=auth(keys["admin"]))
    assert at_risk.status_code == 409
    assert at_risk.json()["detail"][0]["message"] == (
        "the run read has no leads scores (its batch run did not score leads)"
    )


def test_a_run_with_nobody_eligible_is_refused_and_the_published_run_stays(
    services: Services, keys: dict[str, str], client: TestClient
) -> None:
    frames = make_frames(seed=11)
    first = score_leads_only(services, frames)
    before = client.get("/v1/lists/hot-leads", headers=auth(keys["admin"])).json()
    with pytest.raises(UserError) as raised:
        # Before any lead of the export was created: nobody to score.
        score_leads_only(services, frames, as_of=datetime(2000, 1, 1))
    assert str(raised.value) == (
        "nothing was published: no lead of the export is eligible for leads scoring as of "
        "2000-01-01T00:00:00Z (the published run stays as it was)"
    )
    assert services.store.published_run_id() == first.run_id
    with services.store.engine.connect() as conn:  # the refused run is gone, rows and all
        assert conn.execute(select(score_runs.c.run_id)).scalars().all() == [first.run_id]
        assert conn.execute(select(func.count()).select_from(scores)).scalar_one() == sum(
            first.counts.values()
        )
    assert client.get("/v1/lists/hot-leads", headers=auth(keys["admin"])).json() == before
    second = score_leads_only(services, frames)
    assert second.run_id != first.run_id
    assert services.store.published_run_id() == second.run_id
