"""Import files of the published run, checked column by column for each CRM's conventions."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from features.errors import UserError
from serving.store.database import ScoreStore
from serving.writeback.files import export_scores
from serving.writeback.formats import CrmFormat
from tests.serving.delivery.books import publish_two_runs, reason
from tests.serving.store.test_store import T1, publish, row

# Written out here, not imported: the test pins the documented names (docs/writeback.md).
SALESFORCE_COLUMNS = [
    "Id",
    "Salesradar_Score__c",
    "Salesradar_Tier__c",
    "Salesradar_Probability__c",
    "Salesradar_Top_Factor_Up__c",
    "Salesradar_Top_Factor_Down__c",
    "Salesradar_As_Of__c",
]


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_salesforce_columns_are_api_names_with_data_loader_datetimes(
    store: ScoreStore, tmp_path: Path
) -> None:
    _, second = publish_two_runs(store)
    out = tmp_path / "sf" / "accounts.csv"
    summary = export_scores(store, kind="customer", crm_format=CrmFormat.SALESFORCE, out=out)
    assert (summary.run_id, summary.rows) == (second, 5)
    columns, rows = read(out)
    assert columns == SALESFORCE_COLUMNS
    c1 = next(r for r in rows if r["Id"] == "c1")
    assert c1 == {
        "Id": "c1",
        "Salesradar_Score__c": "70",
        "Salesradar_Tier__c": "high",
        "Salesradar_Probability__c": "0.7000",
        "Salesradar_Top_Factor_Up__c": "a text",
        "Salesradar_Top_Factor_Down__c": "b text",
        "Salesradar_As_Of__c": "2026-10-01T00:00:00.000Z",
    }
    c2 = next(r for r in rows if r["Id"] == "c2")
    assert (c2["Salesradar_Top_Factor_Up__c"], c2["Salesradar_Top_Factor_Down__c"]) == ("x", "")
    assert {r["Id"] for r in rows} == {"c0", "c1", "c2", "c3", "c9"}  # customers only


def test_hubspot_columns_are_record_id_and_internal_property_names(
    store: ScoreStore, tmp_path: Path
) -> None:
    publish_two_runs(store)
    out = tmp_path / "contacts.csv"
    export_scores(store, kind="lead", crm_format=CrmFormat.HUBSPOT, out=out)
    columns, rows = read(out)
    assert columns == [
        "Record ID",
        "salesradar_score",
        "salesradar_tier",
        "salesradar_probability",
        "salesradar_top_factor_up",
        "salesradar_top_factor_down",
        "salesradar_as_of",
    ]
    assert rows == [
        {
            "Record ID": "l1",
            "salesradar_score": "60",
            "salesradar_tier": "hot",
            "salesradar_probability": "0.6000",
            "salesradar_top_factor_up": "x",
            "salesradar_top_factor_down": "",
            "salesradar_as_of": "2026-10-01",
        }
    ]


def test_the_plain_csv_carries_every_field(store: ScoreStore, tmp_path: Path) -> None:
    _, second = publish_two_runs(store)
    out = tmp_path / "scores.csv"
    export_scores(store, kind="customer", crm_format=CrmFormat.CSV, out=out)
    columns, rows = read(out)
    assert columns == [
        "entity_kind",
        "entity_id",
        "owner_id",
        "score",
        "previous_score",
        "tier",
        "probability",
        "value",
        "top_factor_up",
        "top_factor_down",
        "as_of",
        "run_id",
    ]
    c3 = next(r for r in rows if r["entity_id"] == "c3")
    assert c3 == {
        "entity_kind": "customer",
        "entity_id": "c3",
        "owner_id": "o1",
        "score": "4",
        "previous_score": "20",
        "tier": "low",
        "probability": "0.0400",
        "value": "100.00",
        "top_factor_up": "a text",
        "top_factor_down": "b text",
        "as_of": "2026-10-01T00:00:00Z",
        "run_id": second,
    }
    assert next(r for r in rows if r["entity_id"] == "c0")["owner_id"] == ""


def test_a_value_the_crm_cannot_hold_is_refused_and_the_old_file_stays(
    store: ScoreStore, tmp_path: Path
) -> None:
    publish(store, [row("c1", 0.7, tier="high", reasons=[reason("a" * 300, 0.5)])], at=T1)
    out = tmp_path / "accounts.csv"
    out.write_text("the previous import\n", encoding="utf-8")
    with pytest.raises(
        UserError, match="customer c1, factor up: 305 characters, more than the 255"
    ):
        export_scores(store, kind="customer", crm_format=CrmFormat.SALESFORCE, out=out)
    assert out.read_text(encoding="utf-8") == "the previous import\n"
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.csv"]  # no temporary left behind


def test_hubspot_refuses_an_as_of_that_is_not_a_day(store: ScoreStore, tmp_path: Path) -> None:
    timed = row("c1", 0.7, tier="high", as_of=datetime(2026, 10, 1, 14, 30))
    run_id = store.begin_run(as_of=timed.as_of, started_at=T1)
    store.write_scores(run_id, [timed])
    store.publish(run_id, published_at=T1)
    with pytest.raises(UserError, match="as_of 2026-10-01T14:30:00Z is not midnight UTC"):
        export_scores(store, kind="customer", crm_format=CrmFormat.HUBSPOT, out=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_an_empty_kind_still_writes_the_header(store: ScoreStore, tmp_path: Path) -> None:
    publish(store, [row("c1", 0.7, tier="high")], at=T1)
    out = tmp_path / "leads.csv"
    summary = export_scores(store, kind="lead", crm_format=CrmFormat.SALESFORCE, out=out)
    assert summary.rows == 0
    assert read(out) == (
        SALESFORCE_COLUMNS,
        [],
    )
