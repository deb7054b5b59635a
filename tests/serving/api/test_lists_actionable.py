"""Lists a rep can act on: default tiers, reasons for and against the score, the change since
the previous published run, and how fresh the run is (issue 10, section 1)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event

from features.contract.tasks import Task
from serving.api.services import Services
from serving.settings import Settings
from serving.store.database import ScoreRow, ScoreStore
from tests.serving.appkit import NOW, auth
from tests.serving.store.test_store import row

AS_OF = NOW - timedelta(days=59, hours=3)  # the run's as_of: 59 whole days before the request
WORTH = {"feature": "annual_value", "value": 1442051.0, "contribution": -0.51, "text": "Worth"}
IDLE = {"feature": "days_since_order", "value": 64.0, "contribution": 0.3, "text": "No order"}
TICKETS = {"feature": "tickets", "value": 0.0, "contribution": -0.1, "text": "No tickets"}


def entry(
    entity_id: str,
    probability: float,
    tier: str,
    *,
    value: float | None = 100.0,
    kind: str = "customer",
    reasons: list[dict[str, Any]] | None = None,
) -> ScoreRow:
    """One stored score of owner o1 as of ``AS_OF``."""
    return row(
        entity_id,
        probability,
        value=value,
        kind=kind,
        tier=tier,
        reasons=[IDLE] if reasons is None else reasons,
        as_of=AS_OF,
    )


def publish(store: ScoreStore, rows: list[ScoreRow], *, at: datetime = NOW) -> str:
    run_id = store.begin_run(as_of=AS_OF, started_at=at)
    store.write_scores(run_id, rows)
    store.publish(run_id, published_at=at)
    return run_id


def listed(client: TestClient, keys: dict[str, str], url: str) -> dict[str, Any]:
    response = client.get(url, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [i["entity_id"] for i in body["items"]]


# --- 1. default tiers ----------------------------------------------------------------------


def test_the_default_lists_hold_the_acting_tiers_and_tier_still_asks_for_any(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    publish(
        services.store,
        [
            entry("big-safe", 0.04, "low", value=1_442_051.0),
            entry("risky", 0.8, "high", value=100.0),
            entry("middling", 0.3, "medium", value=200.0),
            entry("hot", 0.9, "hot", kind="lead", value=10.0),
            entry("warm", 0.3, "warm", kind="lead", value=20.0),
            entry("cold-big", 0.01, "cold", kind="lead", value=9e6),
        ],
    )
    at_risk = listed(client, keys, "/v1/lists/at-risk")
    assert ids(at_risk) == ["middling", "risky"] and at_risk["total"] == 2
    by_probability = listed(client, keys, "/v1/lists/at-risk?rank_by=probability")
    assert ids(by_probability) == ["risky", "middling"]
    assert ids(listed(client, keys, "/v1/lists/at-risk?tier=low")) == ["big-safe"]
    everything = listed(client, keys, "/v1/lists/at-risk?tier=low&tier=medium&tier=high")
    assert ids(everything) == ["big-safe", "middling", "risky"]
    assert ids(listed(client, keys, "/v1/lists/hot-leads")) == ["warm", "hot"]
    assert ids(listed(client, keys, "/v1/lists/hot-leads?tier=cold")) == ["cold-big"]
    as_csv = client.get("/v1/lists/at-risk?format=csv", headers=auth(keys["crm"]))
    assert [r[1] for r in list(csv.reader(io.StringIO(as_csv.text)))[1:]] == ids(at_risk)


def test_default_tiers_are_a_setting_checked_against_the_lists_tiers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().default_tiers(Task.CHURN) == ("high", "medium")
    assert Settings().default_tiers(Task.LEADS) == ("hot", "warm")
    monkeypatch.setenv("SALESRADAR_AT_RISK_DEFAULT_TIERS", "high, medium, low")
    assert Settings().default_tiers(Task.CHURN) == ("high", "medium", "low")
    for bad in ("high,hot", "", "high,,low", "high,high"):
        monkeypatch.setenv("SALESRADAR_AT_RISK_DEFAULT_TIERS", bad)
        with pytest.raises(ValidationError, match="at_risk_default_tiers"):
            Settings()


# --- 2. reasons for and against ------------------------------------------------------------


def test_each_row_names_the_strongest_reason_for_and_against_its_score(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    publish(
        services.store,
        [
            entry("c1", 0.6, "high", reasons=[WORTH, IDLE, TICKETS]),
            entry("c2", 0.7, "high", value=50.0, reasons=[TICKETS]),
            entry("l1", 0.6, "hot", kind="lead", reasons=[WORTH, IDLE]),
        ],
    )
    first, second = listed(client, keys, "/v1/lists/at-risk")["items"]
    assert first["reason_for"] == {
        "feature": "days_since_order",
        "text": "No order",
        "contribution": 0.3,
        "direction": "raises risk",
        "background": False,
    }
    assert first["reason_against"] == {
        "feature": "annual_value",
        "text": "Worth",
        "contribution": -0.51,
        "direction": "lowers risk",
        "background": False,
    }
    assert first["top_reason"] == "No order"  # the deprecated alias follows reason_for
    assert second["reason_for"] is None and second["top_reason"] is None
    assert second["reason_against"]["text"] == "No tickets"
    (lead,) = listed(client, keys, "/v1/lists/hot-leads")["items"]
    assert lead["reason_for"]["direction"] == "raises the chance to buy"
    assert lead["reason_against"]["direction"] == "lowers the chance to buy"


def test_csv_keeps_its_columns_and_adds_rounded_labelled_ones_with_directions(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    publish(
        services.store,
        [
            entry("c1", 0.333333333, "medium", value=1_442_051.4, reasons=[WORTH, IDLE]),
            entry("l1", 0.5555, "hot", kind="lead", value=None, reasons=[IDLE]),
        ],
    )
    response = client.get("/v1/lists/at-risk?format=csv", headers=auth(keys["crm"]))
    header, row = list(csv.reader(io.StringIO(response.text)))
    assert header == [
        *("rank", "entity_id", "owner_id", "score", "probability", "tier", "value"),
        *("top_reason", "as_of", "probability_rounded", "value_at_risk_rounded"),
        *("reason_for", "reason_for_direction", "reason_against", "reason_against_direction"),
        *("score_delta", "new_in_tier", "Value at risk (EUR)", "last_order_at"),
    ]
    cells = dict(zip(header, row, strict=True))
    assert cells["probability"] == "0.333333333" and cells["value"] == "1442051.4"  # unchanged
    assert cells["probability_rounded"] == "0.333" and cells["value_at_risk_rounded"] == "1442051"
    assert cells["Value at risk (EUR)"] == "1442051" and cells["last_order_at"] == ""
    assert (cells["reason_for"], cells["reason_for_direction"]) == ("No order", "raises risk")
    assert (cells["reason_against"], cells["reason_against_direction"]) == ("Worth", "lowers risk")
    assert cells["top_reason"] == "No order"
    assert (cells["score_delta"], cells["new_in_tier"]) == ("", "")  # no previous run
    leads = client.get("/v1/lists/hot-leads?format=csv", headers=auth(keys["crm"]))
    header, row = list(csv.reader(io.StringIO(leads.text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["expected_value_rounded"] == "" and cells["probability_rounded"] == "0.555"
    assert cells["reason_for_direction"] == "raises the chance to buy"
    assert cells["reason_against"] == cells["reason_against_direction"] == ""


# --- 3. change since the previous published run --------------------------------------------


def test_rows_carry_the_score_delta_and_whether_they_are_new_in_their_tier(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    store = services.store
    first = publish(
        store,
        [entry("up", 0.3, "medium"), entry("down", 0.6, "high"), entry("gone", 0.9, "high")],
        at=NOW - timedelta(days=1),
    )
    alone = listed(client, keys, "/v1/lists/at-risk")
    assert alone["previous_run_id"] is None
    assert {(i["score_delta"], i["new_in_tier"]) for i in alone["items"]} == {(None, None)}
    second = publish(
        store,
        [
            entry("up", 0.61, "high", value=300.0),
            entry("down", 0.55, "high", value=200.0),
            entry("fresh", 0.4, "medium", value=100.0),
        ],
    )
    body = listed(client, keys, "/v1/lists/at-risk")
    assert body["run_id"] == second and body["previous_run_id"] == first
    changes = {i["entity_id"]: (i["score_delta"], i["new_in_tier"]) for i in body["items"]}
    assert changes == {"up": (31, True), "down": (-5, False), "fresh": (None, True)}
    table = list(
        csv.reader(
            io.StringIO(client.get("/v1/lists/at-risk?format=csv", headers=auth(keys["crm"])).text)
        )
    )
    assert [(r[1], r[15], r[16]) for r in table[1:]] == [
        ("up", "31", "true"),
        ("down", "-5", "false"),
        ("fresh", "", "true"),
    ]
    pinned = listed(client, keys, f"/v1/lists/at-risk?run_id={first}")
    assert pinned["previous_run_id"] is None
    assert {i["score_delta"] for i in pinned["items"]} == {None}


def test_the_store_joins_the_previous_run_in_the_page_query_off_the_indexes(
    store: ScoreStore,
) -> None:
    publish(store, [entry("a", 0.6, "high"), entry("b", 0.2, "low")], at=NOW - timedelta(1))
    publish(store, [entry("a", 0.7, "high"), entry("c", 0.3, "medium")])
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        page = store.list_scores("customer")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert [(s.entity_id, s.previous_score, s.previous_tier) for s in page.items] == [
        ("a", 60, "high"),
        ("c", None, None),
    ]
    pages = [(s, p) for s, p in statements if "previous" in s and "ORDER BY" in s]
    assert len(pages) == 1  # one query for the page and its previous scores
    if store.engine.dialect.name != "sqlite":
        return
    statement, parameters = pages[0]
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        plan = " | ".join(
            str(r[3]) for r in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    # The page is read off the rank index without sorting the run; only its own rows (at most
    # ``limit``) are sorted again after each looked up its previous row by primary key.
    page, outer = plan.split("SCAN page")
    assert "SEARCH scores USING INDEX ix_scores_rank_value" in page, plan
    assert "TEMP B-TREE" not in page, plan
    assert "SEARCH previous USING INDEX sqlite_autoindex_scores_1" in outer, plan


# --- 4. freshness ----------------------------------------------------------------------------


def test_every_list_says_when_its_run_was_published_and_how_old_its_as_of_is(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    empty = listed(client, keys, "/v1/lists/at-risk")
    assert (empty["published_at"], empty["as_of_age_days"]) == (None, None)
    publish(
        services.store,
        [entry("c1", 0.6, "high")],
        at=NOW.replace(microsecond=5) - timedelta(hours=2),
    )
    body = listed(client, keys, "/v1/lists/at-risk")
    assert body["published_at"] == "2026-01-15T10:00:00Z" and body["as_of_age_days"] == 59
    response = client.get("/v1/lists/at-risk?format=csv", headers=auth(keys["crm"]))
    assert response.headers["x-published-at"] == "2026-01-15T10:00:00Z"
    assert response.headers["x-as-of-age-days"] == "59"
