"""A list whose task the published run did not score is a 409 naming it, never an empty page
that reads as "nobody at risk" (a run of a leads-only export has no churn scores)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.contract.export import export_from_frames
from features.contract.tasks import KIND_TASKS, Task
from serving.api.services import Services
from serving.scoring.batch import BatchSummary, score_export
from tests.serving.appkit import auth
from tests.serving.factories import make_frames


def score_leads_only(services: Services, frames: dict[str, pd.DataFrame]) -> BatchSummary:
    """One published batch run of ``frames`` as of 2025-11-01 that scores leads only."""
    export = export_from_frames(**frames)
    try:
        return score_export(
            export,
            as_of=datetime(2025, 11, 1),
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
