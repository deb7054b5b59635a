"""Batch runs feed GET by id (with what changed), the lists, CSV export and rep isolation."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import Task
from serving.api.services import Services
from serving.scoring.batch import score_export
from serving.scoring.spreadsheet import neutralise, render_csv
from serving.scoring.tiers import TIER_NAMES
from serving.store.database import ScoreRow
from tests.serving.appkit import NOW, auth
from tests.serving.factories import make_export

RUN1 = datetime(2025, 10, 1)
RUN2 = datetime(2025, 11, 1)
PUBLISHED = NOW.replace(microsecond=987_654)  # a wall-clock stamp: responses show whole seconds


@pytest.fixture
def scored(client: TestClient, services: Services) -> Services:
    """Two published batch runs of the same export, a month apart."""
    export = make_export(seed=11)
    models = {task: services.models.current(task) for task in Task}
    for as_of in (RUN1, RUN2):
        score_export(
            export,
            as_of=as_of,
            models=models,
            store=services.store,  # type: ignore[arg-type]
            settings=services.settings,
            explain=services.explain,
            clock=lambda: PUBLISHED,
        )
    export.close()
    return services


def test_batch_run_scores_every_eligible_entity(scored: Services) -> None:
    page = scored.store.list_scores("customer", limit=1000)
    assert page.total > 100
    for item in page.items:
        assert item.score == round(100 * item.probability)
        assert item.as_of == RUN2
        assert 1 <= len(item.reasons) <= 5
    lead_page = scored.store.list_scores("lead", limit=1000)
    assert all(i.model_name == "salesradar-leads" for i in lead_page.items)


def test_get_customer_with_change(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    item = scored.store.list_scores("customer", owner_ids=["rep-0"], limit=1).items[0]
    history = scored.store.history("customer", item.entity_id)
    response = client.get(f"/v1/customers/{item.entity_id}", headers=auth(keys["rep0"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["probability"] == item.probability and body["as_of"] == "2025-11-01T00:00:00Z"
    assert body["model"] == {"name": "salesradar-churn", "version": "1"}
    if len(history) > 1:
        change = body["change"]
        assert change["score_delta"] == history[0].score - history[1].score
        assert change["previous_as_of"] == "2025-10-01T00:00:00Z"
        changes = [abs(m["change"]) for m in change["movers"]]
        assert changes == sorted(changes, reverse=True) and len(changes) <= 3


def test_every_timestamp_of_lists_entities_and_csv_is_utc_with_z(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    crm = auth(keys["crm"])
    listed = client.get("/v1/lists/at-risk?limit=3", headers=crm).json()
    assert {i["as_of"] for i in listed["items"]} == {"2025-11-01T00:00:00Z"}
    for item in listed["items"]:
        body = client.get(f"/v1/customers/{item['entity_id']}", headers=crm).json()
        assert body["as_of"] == "2025-11-01T00:00:00Z"
        assert body["published_at"] == "2026-01-15T12:00:00Z"  # stamped at 12:00:00.987654
        if body["change"] is not None:
            assert body["change"]["previous_as_of"] == "2025-10-01T00:00:00Z"
    leads = client.get("/v1/lists/hot-leads?format=csv&limit=3", headers=crm)
    table = list(csv.reader(io.StringIO(leads.text)))
    column = table[0].index("as_of")
    assert {r[column] for r in table[1:]} == {"2025-11-01T00:00:00Z"}


def test_rep_sees_another_reps_entity_as_missing(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    other = scored.store.list_scores("lead", owner_ids=["rep-1"], limit=1).items[0]
    as_rep0 = client.get(f"/v1/leads/{other.entity_id}", headers=auth(keys["rep0"]))
    missing = client.get("/v1/leads/NO-SUCH-LEAD", headers=auth(keys["rep0"]))
    assert as_rep0.status_code == missing.status_code == 404
    assert as_rep0.json()["detail"][0]["field"] == missing.json()["detail"][0]["field"] == "id"
    assert client.get(f"/v1/leads/{other.entity_id}", headers=auth(keys["rep1"])).status_code == 200


def test_rep_lists_are_their_own_book(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    own = client.get("/v1/lists/at-risk?limit=500", headers=auth(keys["rep0"])).json()
    default_tiers = ("high", "medium")  # the list's default (SALESRADAR_AT_RISK_DEFAULT_TIERS)
    expected = scored.store.list_scores("customer", owner_ids=["rep-0"], tiers=default_tiers)
    assert own["total"] == expected.total > 0
    assert {i["owner_id"] for i in own["items"]} == {"rep-0"}
    named = client.get("/v1/lists/at-risk?owner=rep-0&limit=500", headers=auth(keys["rep0"]))
    assert named.status_code == 200 and named.json()["items"] == own["items"]


def test_a_rep_naming_another_owner_is_refused(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    refused = {
        "field": "owner",
        "message": "a rep key reads only its own book; other owners are for crm and admin keys",
        "type": "forbidden_owner",
    }
    for path in ("/v1/lists/at-risk", "/v1/lists/hot-leads"):
        for query in ("owner=rep-1", "owner=rep-0&owner=rep-1", "owner=rep-1&format=csv"):
            sneaky = client.get(f"{path}?{query}", headers=auth(keys["rep0"]))
            assert sneaky.status_code == 403, (path, query, sneaky.text)
            assert sneaky.json() == {"detail": [refused]}
        # Crm and admin keys name any owner.
        for role in ("crm", "admin"):
            other = client.get(f"{path}?owner=rep-1", headers=auth(keys[role]))
            assert other.status_code == 200 and other.json()["total"] > 0, (path, role)


def test_list_ranking_filters_and_pages(
    client: TestClient, keys: dict[str, str], scored: Services
) -> None:
    url = "/v1/lists/hot-leads?limit=5&offset=5&rank_by=probability&min_value=1000"
    body = client.get(url, headers=auth(keys["crm"])).json()
    expected = scored.store.list_scores(
        "lead", rank_by="probability", min_value=1000.0, limit=5, offset=5, tiers=("hot", "warm")
    )
    assert [i["entity_id"] for i in body["items"]] == [s.entity_id for s in expected.items]
    assert [i["rank"] for i in body["items"]] == [6, 7, 8, 9, 10]
    assert body["total"] == expected.total
    tiers = client.get("/v1/lists/at-risk?tier=high&tier=medium", headers=auth(keys["crm"])).json()
    assert {i["tier"] for i in tiers["items"]} <= {"high", "medium"}


def test_csv_list(client: TestClient, keys: dict[str, str], scored: Services) -> None:
    response = client.get("/v1/lists/at-risk?format=csv&limit=3", headers=auth(keys["crm"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    # The first release's columns stay first and unchanged; the labelled ones follow.
    assert rows[0] == [
        "rank",
        "entity_id",
        "owner_id",
        "score",
        "probability",
        "tier",
        "value",
        "top_reason",
        "as_of",
        "probability_rounded",
        "value_at_risk_rounded",
        "reason_for",
        "reason_for_direction",
        "reason_against",
        "reason_against_direction",
        "score_delta",
        "new_in_tier",
        "Value at risk (EUR)",
        "last_order_at",
    ]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("path", "raises"), [("at-risk", "risk"), ("hot-leads", "the chance to buy")]
)
def test_reasons_agree_with_the_score_direction_over_a_whole_run(
    client: TestClient, keys: dict[str, str], scored: Services, path: str, raises: str
) -> None:
    kind = "customer" if path == "at-risk" else "lead"
    every_tier = TIER_NAMES[Task.CHURN if kind == "customer" else Task.LEADS]
    url = f"/v1/lists/{path}?limit=500&" + "&".join(f"tier={t}" for t in every_tier)
    body = client.get(url, headers=auth(keys["crm"])).json()
    assert body["total"] == scored.store.list_scores(kind).total == len(body["items"]) > 100
    against_seen = 0
    for item in body["items"]:
        stored = scored.store.latest(kind, item["entity_id"])  # type: ignore[arg-type]
        assert stored is not None
        positive = [r for r in stored.reasons if r["contribution"] > 0]
        negative = [r for r in stored.reasons if r["contribution"] < 0]
        reason_for, reason_against = item["reason_for"], item["reason_against"]
        assert (reason_for is None) == (not positive) and (reason_against is None) == (not negative)
        # The strongest in each direction among the actionable reasons, else the background.
        if reason_for is not None:
            assert reason_for["contribution"] > 0
            assert reason_for["contribution"] == max(
                r["contribution"] for r in positive if r["background"] == positive[0]["background"]
            )
            assert reason_for["background"] == all(r["background"] for r in positive)
            assert reason_for["direction"] == f"raises {raises}"
            assert item["top_reason"] == reason_for["text"]
        if reason_against is not None:
            against_seen += 1
            assert reason_against["contribution"] < 0
            assert reason_against["contribution"] == min(
                r["contribution"] for r in negative if r["background"] == negative[0]["background"]
            )
            assert reason_against["background"] == all(r["background"] for r in negative)
            assert reason_against["direction"] == f"lowers {raises}"
        # Two published runs: each row is compared with the previous one; a row absent there
        # (a lead created between the runs) has no delta and is new in its tier.
        assert item["new_in_tier"] is not None
        assert item["score_delta"] is not None or item["new_in_tier"] is True
    assert against_seen > 0


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("acme", "acme"),
        (-5.0, -5.0),
        (None, None),
    ],
)
def test_formula_injection_is_neutralised(cell: object, expected: object) -> None:
    assert neutralise(cell) == expected


def test_csv_endpoint_neutralises_stored_values(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    run = services.store.begin_run(as_of=RUN1, started_at=NOW)
    services.store.write_scores(
        run,
        [
            ScoreRow(
                "customer",
                "=cmd|' /C calc'!A0",
                "@evil",
                0.9,
                90,
                "high",
                10.0,
                [{"feature": "f", "value": 1, "contribution": 0.5, "text": "+danger"}],
                "m",
                "1",
                RUN1,
            )
        ],
    )
    services.store.publish(run, published_at=NOW)
    response = client.get("/v1/lists/at-risk?format=csv", headers=auth(keys["crm"]))
    row = list(csv.reader(io.StringIO(response.text)))[1]
    assert row[1:3] == ["'=cmd|' /C calc'!A0", "'@evil"] and row[7] == "'+danger"
    assert render_csv(["a"], [["=1"]]) == "a\r\n'=1\r\n"
