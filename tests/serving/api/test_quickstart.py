"""What `make run` prints: keys that work and a lead request the API accepts as it stands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from features.contract.export import Export
from features.contract.tasks import Task
from serving.api.quickstart import Quickstart, prepare_quickstart
from serving.api.services import Services
from serving.store.database import ScoreRow
from tests.serving.appkit import NOW, auth
from tests.serving.factories import make_export

AS_OF = datetime(2025, 11, 1)


def _publish(services: Services, rows: list[ScoreRow]) -> None:
    run_id = services.store.begin_run(as_of=AS_OF, started_at=NOW)
    services.store.write_scores(run_id, rows)
    services.store.publish(run_id, published_at=NOW)


def _row(kind: str, entity_id: str, owner: str, probability: float, value: float) -> ScoreRow:
    return ScoreRow(
        entity_kind=kind,  # type: ignore[arg-type]
        entity_id=entity_id,
        owner_id=owner,
        probability=probability,
        score=round(100 * probability),
        tier="high",
        value=value,
        reasons=[],
        model_name="m",
        model_version="1",
        as_of=AS_OF,
    )


def _start(services: Services, export: Export, payload_dir: Path) -> Quickstart:
    started = prepare_quickstart(
        store=services.store,
        keys=services.keys,
        export=export,
        as_of=AS_OF,
        created_at=NOW,
        payload_dir=payload_dir,
        base_url="http://127.0.0.1:8000",
    )
    export.close()
    return started


def test_quickstart_keys_and_lead_request_work_against_the_api(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    export = make_export(seed=11)
    lead_id, lead_owner = export.con.execute(
        "SELECT lead_id, owner_id FROM leads ORDER BY lead_id LIMIT 1"
    ).fetchall()[0]
    _publish(
        services,
        [
            _row("lead", lead_id, lead_owner, 0.9, 1000.0),
            _row("customer", "C0007", "rep-1", 0.8, 50_000.0),
            _row("customer", "C0008", "rep-2", 0.3, 10_000.0),
        ],
    )
    start = _start(services, export, tmp_path)

    # The rep is the owner of the customer most at risk, and the customer is that one.
    assert (start.rep_owner_id, start.read_task, start.read_id) == ("rep-1", Task.CHURN, "C0007")
    assert start.payload_path == tmp_path / "quickstart-lead.json"
    payload = json.loads(start.payload_path.read_text(encoding="utf-8"))
    assert payload["leads"][0]["lead_id"] == lead_id
    assert all(e["occurred_at"] < "2025-11-01" for e in payload["leads"][0]["events"])

    scored = client.post("/v1/leads/score", json=payload, headers=auth(start.crm_key))
    assert scored.status_code == 200, scored.text
    assert scored.json()["results"][0]["status"] == "scored"
    mine = client.get("/v1/lists/at-risk", headers=auth(start.rep_key))
    assert [item["entity_id"] for item in mine.json()["items"]] == ["C0007"]
    assert client.get("/v1/models", headers=auth(start.admin_key)).status_code == 200
    commands = "\n".join(command for _, command in start.curls())
    for token in (start.crm_key, start.rep_key, start.admin_key, "/v1/customers/C0007"):
        assert token in commands


def test_quickstart_with_one_half_uses_that_half(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    export = make_export(seed=11)
    customer_id, owner = export.con.execute(
        "SELECT customer_id, owner_id FROM customers ORDER BY customer_id LIMIT 1"
    ).fetchall()[0]
    _publish(services, [_row("customer", customer_id, owner, 0.8, 50_000.0)])
    start = _start(services, export, tmp_path)

    assert (start.read_task, start.read_id, start.payload_task) == (
        Task.CHURN,
        customer_id,
        Task.CHURN,
    )
    payload = json.loads((tmp_path / "quickstart-customer.json").read_text(encoding="utf-8"))
    scored = client.post("/v1/customers/score", json=payload, headers=auth(start.crm_key))
    assert scored.status_code == 200, scored.text
    assert scored.json()["results"][0]["customer_id"] == customer_id
    commands = [command for _, command in start.curls()]
    assert commands[0].endswith("http://127.0.0.1:8000/v1/customers/score")
    assert commands[2].endswith("'http://127.0.0.1:8000/v1/lists/at-risk?limit=10'")

    _publish(services, [_row("lead", "L0003", "rep-2", 0.7, 100.0)])
    leads_only = _start(services, make_export(seed=11), tmp_path)
    assert (leads_only.rep_owner_id, leads_only.read_task, leads_only.read_id) == (
        "rep-2",
        Task.LEADS,
        "L0003",
    )
    assert "/v1/lists/hot-leads?limit=10" in leads_only.curls()[2][1]
