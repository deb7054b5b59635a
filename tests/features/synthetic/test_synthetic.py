"""The synthetic CRM: deterministic, on contract, and internally consistent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.contract.tables import EVENT_TEXT_COLUMNS, TABLES_BY_NAME, Kind
from features.errors import UserError
from features.synthetic import generate_crm
from tests.features.synthetic.test_synthetic_support import AS_OF, TABLE_NAMES, read_tables

SMALL = {"leads": 300, "customers": 200, "months": 12}


def generate_small(out: Path, *, seed: int = 11, **overrides: object) -> None:
    arguments = {**SMALL, "seed": seed, "as_of": AS_OF, **overrides}
    generate_crm(out, **arguments)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "export"
    generate_small(out)
    return out


@pytest.fixture(scope="module")
def tables(small_export: Path) -> dict[str, pd.DataFrame]:
    return read_tables(small_export)


def test_same_seed_gives_byte_identical_files(small_export: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_small(again)
    files = sorted(p.relative_to(small_export) for p in small_export.rglob("*.parquet"))
    assert len(files) == 7
    for file in files:
        assert (small_export / file).read_bytes() == (again / file).read_bytes(), file


def test_different_seed_gives_different_tables(small_export: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_small(other, seed=12)
    for name in ("leads", "customer_events"):
        a = pd.read_parquet(small_export / f"{name}.parquet")
        b = pd.read_parquet(other / f"{name}.parquet")
        assert not a.equals(b), name


def test_tables_follow_the_contract(small_export: Path) -> None:
    for name in TABLE_NAMES:
        table = TABLES_BY_NAME[name]
        schema = pq.read_schema(small_export / f"{name}.parquet")
        assert tuple(schema.names[: len(table.columns)]) == table.column_names
        for column in table.columns:
            arrow_type = str(schema.field(column.name).type)
            expected = {
                Kind.ID: "string",
                Kind.TEXT: "string",
                Kind.TIMESTAMP: "timestamp[us]",
                Kind.AMOUNT: "double",
            }[column.kind]
            assert arrow_type == expected, (name, column.name, arrow_type)
        if table.extra_columns_are == "text":
            assert tuple(schema.names[len(table.columns) :]) == EVENT_TEXT_COLUMNS
    leads_extra = pq.read_schema(small_export / "leads.parquet").names[7:]
    assert leads_extra == ["source", "company_size", "region", "product_interest", "first_touch"]


def test_ids_are_unique_zero_padded_strings(tables: dict[str, pd.DataFrame]) -> None:
    leads, customers = tables["leads"], tables["customers"]
    assert leads.lead_id.is_unique and customers.customer_id.is_unique
    assert tables["accounts"].account_id.is_unique
    assert leads.lead_id.iloc[0] == "L000001"
    assert customers.customer_id.iloc[-1] == "C000200"


def test_events_reference_existing_entities(tables: dict[str, pd.DataFrame]) -> None:
    assert tables["lead_events"].lead_id.isin(tables["leads"].lead_id).all()
    assert tables["customer_events"].customer_id.isin(tables["customers"].customer_id).all()
    accounts = set(tables["accounts"].account_id)
    for name in ("leads", "customers"):
        assert tables[name].account_id.dropna().isin(accounts).all()


def test_every_timestamp_is_before_as_of(tables: dict[str, pd.DataFrame]) -> None:
    as_of = pd.Timestamp(AS_OF)
    for name, frame in tables.items():
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                assert (frame[column].dropna() < as_of).all(), (name, column)


def test_outcomes_and_events_come_after_creation(tables: dict[str, pd.DataFrame]) -> None:
    leads, customers = tables["leads"], tables["customers"]
    assert (leads.converted_at.dropna() > leads.created_at[leads.converted_at.notna()]).all()
    assert (leads.closed_lost_at.dropna() > leads.created_at[leads.closed_lost_at.notna()]).all()
    assert not (leads.converted_at.notna() & leads.closed_lost_at.notna()).any()
    assert (
        customers.churned_at.dropna() > customers.created_at[customers.churned_at.notna()]
    ).all()
    for events, entities, key, end in (
        (tables["lead_events"], leads, "lead_id", leads.converted_at.fillna(leads.closed_lost_at)),
        (tables["customer_events"], customers, "customer_id", customers.churned_at),
    ):
        bounds = entities.assign(end=end).set_index(key)
        joined = events.join(bounds[["created_at", "end"]], on=key)
        assert (joined.occurred_at > joined.created_at).all()
        # Nothing happens after a conversion, a loss or a cancellation.
        assert not (joined.occurred_at >= joined.end).any()


def test_amounts_are_non_negative_with_some_missing(tables: dict[str, pd.DataFrame]) -> None:
    for name, column in (
        ("leads", "expected_value"),
        ("customers", "annual_value"),
        ("customer_events", "value"),
        ("lead_events", "value"),
    ):
        values = tables[name][column]
        assert (values.dropna() >= 0).all() and np.isfinite(values.dropna()).all()
    assert tables["leads"].expected_value.isna().mean() == pytest.approx(0.15, abs=0.07)
    orders = tables["customer_events"].query("type == 'order'")
    assert orders.value.notna().all() and (orders.value > 0).all()


def test_categories_are_messy_like_a_real_crm(tables: dict[str, pd.DataFrame]) -> None:
    sources = set(tables["leads"].source.dropna())
    assert {"Inbound Web", "Referral", "Outbound Call", "Trade Show"} <= sources
    assert sources & {"inbound web ", "web-form", "Web Form"}
    assert tables["leads"].source.isna().any()


def test_event_types_and_directions(tables: dict[str, pd.DataFrame]) -> None:
    lead_types = set(tables["lead_events"].type)
    assert {"email_open", "email_reply", "call", "meeting", "quote"} <= lead_types
    assert set(tables["customer_events"].type) >= {"order", "support_ticket", "check_in"}
    assert set(tables["lead_events"].direction) == {"inbound", "outbound"}
    quotes = tables["lead_events"].query("type == 'quote'")
    assert quotes.value.notna().all()


def test_exact_duplicate_events_exist_at_moderate_size(tmp_path: Path) -> None:
    generate_small(tmp_path / "dup", leads=50, customers=400, months=12, truth=False)
    events = pd.read_parquet(tmp_path / "dup" / "customer_events.parquet")
    share = events.duplicated().mean()
    assert 0 < share < 0.01


def test_csv_holds_the_same_instants_with_some_offsets(small_export: Path, tmp_path: Path) -> None:
    import duckdb

    from features.contract.tables import parse_timestamp_sql

    generate_small(tmp_path / "csv", fmt="csv")
    raw = (tmp_path / "csv" / "customer_events.csv").read_text(encoding="utf-8")
    assert "+02:00" in raw
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    path = tmp_path / "csv" / "customer_events.csv"
    parsed = con.execute(
        f"SELECT customer_id, {parse_timestamp_sql('occurred_at')} AS occurred_at "
        f"FROM read_csv('{path}', all_varchar=true)"
    ).df()
    expected = pd.read_parquet(small_export / "customer_events.parquet")
    assert parsed.customer_id.tolist() == expected.customer_id.tolist()
    assert (parsed.occurred_at.to_numpy() == expected.occurred_at.to_numpy()).all()


def test_no_truth_writes_no_ground_truth(tmp_path: Path) -> None:
    generate_small(tmp_path / "plain", truth=False)
    assert not (tmp_path / "plain" / "ground_truth").exists()
    assert (tmp_path / "plain" / "leads.parquet").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"leads": -1}, "--leads must be at least 1 (got -1)"),
        ({"customers": 0}, "--customers must be at least 1 (got 0)"),
        ({"months": 0}, "--months must be between 1 and 240 (got 0)"),
        ({"fmt": "xlsx"}, "--format must be one of parquet, csv (got 'xlsx')"),
        ({"as_of": datetime(2026, 10, 1, 12)}, "--as-of must be a date (00:00 UTC)"),
    ],
)
def test_bad_arguments_are_user_errors(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate_small(tmp_path / "bad", **overrides)
    assert not (tmp_path / "bad").exists()
