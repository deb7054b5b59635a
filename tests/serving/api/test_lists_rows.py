"""List rows over whole batch runs (issue 10, section 1): display fields, last order / touch,
money with currency, exact "what changed", the default lists' tiers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from features.contract.export import export_from_frames
from features.contract.tasks import EntityKind, Task
from serving.api.app import create_app
from serving.api.services import Services
from serving.scoring.batch import score_export
from serving.scoring.batch_rows import build_served_table
from serving.scoring.changes import decompose, sum_tolerance
from serving.scoring.export_context import UnknownDisplayField
from serving.settings import Settings
from serving.store.tables import score_details, score_runs
from tests.serving.appkit import NOW, FolderChampions, auth, build_test_services, create_keys
from tests.serving.factories import make_frames

RUN1 = datetime(2025, 10, 1)
RUN2 = datetime(2025, 11, 1)
KINDS: dict[Task, EntityKind] = {Task.CHURN: "customer", Task.LEADS: "lead"}


def frames() -> dict[str, pd.DataFrame]:
    """The factory export with the columns a rep knows an entity by."""
    out = make_frames(seed=11)
    customers = out["customers"]
    customers["name"] = [f"Customer {i}" for i in range(len(customers))]
    customers["city"] = [("Leipzig", "Lyon", None)[i % 3] for i in range(len(customers))]
    out["leads"]["company"] = [f"Lead Co {i}" for i in range(len(out["leads"]))]
    return out


def run_twice(
    services: Services,
    data: dict[str, pd.DataFrame],
    as_ofs: tuple[datetime, ...] = (RUN1, RUN2),
    *,
    keep_runs: int | None = None,
) -> list[str]:
    """Batch-score ``data`` as of each of ``as_ofs`` (RUN1 then RUN2 unless given); the run ids."""
    export = export_from_frames(**data)
    models = {task: services.models.current(task) for task in Task}
    try:
        return [
            score_export(
                export,
                as_of=as_of,
                models=models,  # type: ignore[arg-type]
                store=services.store,  # type: ignore[arg-type]
                settings=services.settings,
                explain=services.explain,
                clock=lambda: NOW,
                keep_runs=keep_runs,
            ).run_id
            for as_of in as_ofs
        ]
    finally:
        export.close()


@pytest.fixture
def usd(tmp_path: Path, champions: FolderChampions) -> Iterator[tuple[Services, TestClient, dict]]:
    services = build_test_services(tmp_path, champions, currency="USD")
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        yield services, client, keys


def test_scores_decompose_exactly_over_two_whole_runs(
    client: TestClient, services: Services
) -> None:
    data = frames()
    first, second = run_twice(services, data)
    store = services.store
    export = export_from_frames(**data)
    checked = moved = 0
    for task, kind in KINDS.items():
        served = services.models.current(task)
        assert served is not None
        # The stored raw margin is the model's own raw log-odds, recomputed here from scratch.
        table, _ = build_served_table(export, served, as_of=RUN2)
        raw = dict(
            zip(table["entity_id"].astype(str), served.model.raw_score(table), strict=True)  # type: ignore[attr-defined]
        )
        for entity_id, margin in raw.items():
            latest = store.run_detail(kind, entity_id, second)
            previous = store.run_detail(kind, entity_id, first)
            assert latest is not None
            assert abs(latest.detail.raw_margin - margin) <= 1e-9
            if previous is None:
                continue  # not scored in the first run (created in between)
            terms = decompose(latest, previous)
            bias = latest.detail.contributions[-1] - previous.detail.contributions[-1]
            delta = latest.detail.raw_margin - previous.detail.raw_margin
            total = sum(t.change for t in terms) + bias
            assert bias == 0.0  # one model: the same bias in both runs
            assert abs(total - delta) <= sum_tolerance(latest, previous), entity_id
            checked += 1
            moved += delta != 0.0
    export.close()
    assert checked > 300 and moved > 100


def test_the_entity_view_lists_the_terms_in_the_direction_of_the_change(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    run_twice(services, frames())
    page = services.store.list_scores("customer", owner_ids=["rep-0"], limit=500)
    seen = 0
    for item in page.items:
        body = client.get(f"/v1/customers/{item.entity_id}", headers=auth(keys["rep0"])).json()
        change = body["change"]
        if change is None or change["margin_delta"] in (None, 0.0):
            continue
        assert change["exact"] and not change["model_changed"]
        assert 1 <= len(change["movers"]) <= 3
        for mover in change["movers"]:
            assert (mover["change"] > 0) == (change["margin_delta"] > 0)
            assert ": was " in mover["text"] and ", now " in mover["text"]
        seen += 1
    assert seen > 20


def test_the_default_lists_hold_no_low_or_cold_row_over_a_whole_run(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    run_twice(services, frames())
    for path, kind, acting in (
        ("at-risk", "customer", {"high", "medium"}),
        ("hot-leads", "lead", {"hot", "warm"}),
    ):
        body = client.get(f"/v1/lists/{path}?limit=500", headers=auth(keys["crm"])).json()
        everything = services.store.list_scores(kind, limit=500).items  # type: ignore[arg-type]
        assert {i.tier for i in everything} - acting  # the run does have other tiers
        assert body["total"] == len(body["items"]) == sum(i.tier in acting for i in everything)
        assert {i["tier"] for i in body["items"]} <= acting
        for item in body["items"]:
            if item["top_reason"] is not None:  # agrees with the score's direction
                assert item["reason_for"]["contribution"] > 0


def test_rows_carry_display_fields_last_order_and_money(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    data = frames()
    run_twice(services, data)
    body = client.get("/v1/lists/at-risk?limit=500", headers=auth(keys["crm"])).json()
    customers = data["customers"].set_index("customer_id")
    events = data["customer_events"]
    orders = events[(events["type"] == "order") & (events["occurred_at"] < RUN2)]
    last_order = orders.groupby("customer_id")["occurred_at"].max()
    for item in body["items"]:
        entity_id = item["customer_id"]
        # No SALESRADAR_DISPLAY_FIELDS: the export's name-like columns, in NAME_LIKE_COLUMNS order.
        assert item["display"] == {
            "name": customers.loc[entity_id, "name"],
            "city": None if pd.isna(city := customers.loc[entity_id, "city"]) else city,
        }
        expected = last_order.get(entity_id)
        stamp = None if expected is None else expected.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert item["last_order_at"] == stamp
        assert item["currency"] == "EUR"
        amount = round(item["value_at_risk"])
        assert item["money"] == {
            "label": "Value at risk",
            "amount": amount,
            "currency": "EUR",
            "text": f"Value at risk: {amount:,} EUR",
        }
    assert any(i["last_order_at"] is not None for i in body["items"])
    leads = data["leads"].set_index("lead_id")
    lead = client.get("/v1/lists/hot-leads?limit=1", headers=auth(keys["crm"])).json()["items"][0]
    assert lead["display"] == {"company": leads.loc[lead["lead_id"], "company"]}
    touches = data["lead_events"]
    touches = touches[(touches["lead_id"] == lead["lead_id"]) & (touches["occurred_at"] < RUN2)]
    assert lead["last_touch_at"] == touches["occurred_at"].max().strftime("%Y-%m-%dT%H:%M:%SZ")
    view = client.get(f"/v1/customers/{body['items'][0]['customer_id']}", headers=auth(keys["crm"]))
    assert {k: view.json()[k] for k in ("display", "last_order_at", "money")} == {
        k: body["items"][0][k] for k in ("display", "last_order_at", "money")
    }


def test_csv_labels_money_with_the_configured_currency_and_adds_display_columns(
    usd: tuple[Services, TestClient, dict[str, str]],
) -> None:
    services, client, keys = usd
    run_twice(services, frames())
    response = client.get("/v1/lists/at-risk?format=csv&limit=5", headers=auth(keys["crm"]))
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert header[-4:] == ["Value at risk (USD)", "last_order_at", "name", "city"]
    body = client.get("/v1/lists/at-risk?limit=5", headers=auth(keys["crm"])).json()
    for row, item in zip(rows, body["items"], strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["Value at risk (USD)"] == str(round(item["value_at_risk"]))
        assert cells["probability_rounded"] == str(round(item["probability"], 3))
        assert (cells["name"], cells["city"]) == (item["display"]["name"], item["display"]["city"])
    assert body["items"][0]["money"]["text"].endswith(" USD")


def test_configured_display_fields_are_read_and_an_unknown_one_stops_the_run_unwritten(
    tmp_path: Path, champions: FolderChampions
) -> None:
    services = build_test_services(tmp_path, champions, display_fields="plan, name")
    data = frames()
    data["leads"]["name"] = "lead name"
    data["leads"]["plan"] = "n/a"
    with TestClient(create_app(services)):  # its startup loads the champions
        run_twice(services, data)
    (item,) = services.store.list_scores("customer", limit=1).items
    assert list(item.display or {}) == ["plan", "name"]
    missing = build_test_services(tmp_path / "other", champions, display_fields="name,phone")
    with (
        TestClient(create_app(missing)),
        pytest.raises(
            UnknownDisplayField, match=r"'phone', which is a column of neither leads nor accounts"
        ),
    ):
        run_twice(missing, data)
    with missing.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(score_runs)).scalar_one() == 0


def test_retention_removes_the_contributions_of_pruned_runs(
    client: TestClient, services: Services
) -> None:
    runs = run_twice(services, frames(), (RUN1, RUN2, datetime(2025, 12, 1)), keep_runs=2)
    with services.store.engine.connect() as conn:
        kept = conn.execute(
            select(score_details.c.run_id, func.count()).group_by(score_details.c.run_id)
        ).all()
    assert {run for run, _ in kept} == set(runs[1:])


def test_stored_reasons_put_the_actionable_ones_first_over_a_whole_run(
    client: TestClient, services: Services
) -> None:
    run_twice(services, frames())
    promoted = 0
    for kind in KINDS.values():
        for item in services.store.list_scores(kind, limit=500).items:
            flags = [r["background"] for r in item.reasons]
            assert flags == sorted(flags), item.entity_id
            actionable = [abs(r["contribution"]) for r in item.reasons if not r["background"]]
            background = [abs(r["contribution"]) for r in item.reasons if r["background"]]
            promoted += bool(actionable and background and max(background) > min(actionable))
    assert promoted > 0  # the rule did reorder some rows: a stronger background reason came after


def test_display_fields_and_currency_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().display_columns() is None  # auto: the export's name-like columns
    assert Settings().currency == "EUR"
    monkeypatch.setenv("SALESRADAR_DISPLAY_FIELDS", " name, city ")
    monkeypatch.setenv("SALESRADAR_CURRENCY", "USD")
    assert (Settings().display_columns(), Settings().currency) == (("name", "city"), "USD")
    monkeypatch.setenv("SALESRADAR_DISPLAY_FIELDS", "")
    assert Settings().display_columns() == ()
    for bad in ("name,,city", "name,name"):
        monkeypatch.setenv("SALESRADAR_DISPLAY_FIELDS", bad)
        with pytest.raises(ValidationError, match="display_fields"):
            Settings()
    monkeypatch.delenv("SALESRADAR_DISPLAY_FIELDS")
    for bad in ("usd", "EURO", "XXQ"):
        monkeypatch.setenv("SALESRADAR_CURRENCY", bad)
        with pytest.raises(ValidationError, match="ISO 4217"):
            Settings()
