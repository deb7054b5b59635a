"""load_export: typed DuckDB tables, CSV traps intact, Parquet = CSV, refusal of invalid exports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract.export import Attribute
from features.contract.loading import ExportInvalid, load_export
from tests.features.exportkit import (
    AS_OF,
    csv_text,
    valid_tables,
    write_export,
    write_parquet_copy,
    write_valid_export,
)


def test_tables_have_the_canonical_types_and_null_optional_columns(tmp_path: Path) -> None:
    export = load_export(write_valid_export(tmp_path), as_of=AS_OF)

    leads = export.con.execute("DESCRIBE leads").fetchall()
    assert [(name, sql_type) for name, sql_type, *_ in leads] == [
        ("lead_id", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("owner_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("converted_at", "TIMESTAMP"),
        ("closed_lost_at", "TIMESTAMP"),
        ("expected_value", "DOUBLE"),
        ("industry", "VARCHAR"),
        ("employees", "DOUBLE"),
    ]
    # customer_events.csv has no channel column and no optional contract column is missing,
    # but lead_events has no ``value`` values: NULL, not 0.
    assert export.con.execute("SELECT count(value) FROM lead_events").fetchall() == [(0,)]
    assert export.attributes == {
        "leads": (Attribute("leads", "industry", False), Attribute("leads", "employees", True)),
        "customers": (Attribute("customers", "plan", False),),
        "accounts": (Attribute("accounts", "region", False),),
    }
    assert export.event_text_columns == {"lead_events": ("channel",), "customer_events": ()}
    assert export.source == str(tmp_path)
    export.close()


def test_offsets_are_converted_to_utc_and_naive_values_taken_as_utc(tmp_path: Path) -> None:
    export = load_export(write_valid_export(tmp_path), as_of=AS_OF)

    rows = export.con.execute("SELECT lead_id, created_at FROM leads ORDER BY lead_id").fetchall()

    assert rows == [
        ("L001", datetime(2024, 1, 1, 9, 0)),
        ("L002", datetime(2024, 1, 2, 0, 0)),
        ("L003", datetime(2024, 1, 3, 6, 30)),  # 08:30 at +02:00
    ]


def test_csv_traps_survive_loading(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][0]["lead_id"] = "007"
    tables["lead_events"][0]["lead_id"] = "007"
    for row, value in zip(tables["leads"], ["NA", "None", "null"], strict=True):
        row["industry"] = value
    tables["lead_events"][1]["channel"] = 'video\ncall, "quoted"'
    tables["lead_events"][2]["channel"] = ""
    path = write_export(tmp_path, tables)
    leads = path / "leads.csv"
    leads.write_bytes(b"\xef\xbb\xbf" + leads.read_bytes())

    export = load_export(path, as_of=AS_OF)

    assert export.con.execute(
        "SELECT lead_id, industry FROM leads ORDER BY created_at"
    ).fetchall() == [
        ("007", "NA"),
        ("L002", "None"),
        ("L003", "null"),
    ]
    assert export.con.execute(
        "SELECT lead_id, channel FROM lead_events ORDER BY occurred_at"
    ).fetchall() == [
        ("007", "phone"),
        ("L002", 'video\ncall, "quoted"'),
        ("L003", None),  # only an empty field is missing
    ]


def test_parquet_and_csv_exports_load_the_same_tables(tmp_path: Path) -> None:
    from_csv = load_export(write_valid_export(tmp_path / "csv"), as_of=AS_OF)
    parquet_dir = write_parquet_copy(from_csv.con, tmp_path / "parquet")
    from_parquet = load_export(parquet_dir, as_of=AS_OF)

    for table in ("accounts", "leads", "customers", "lead_events", "customer_events"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert from_parquet.con.execute(f"DESCRIBE {table}").fetchall() == (
            from_csv.con.execute(f"DESCRIBE {table}").fetchall()
        )
        assert from_parquet.con.execute(query).fetchall() == from_csv.con.execute(query).fetchall()
    assert from_parquet.attributes == from_csv.attributes
    assert from_parquet.event_text_columns == from_csv.event_text_columns


def test_parquet_timestamps_with_a_zone_become_naive_utc(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "customer_events.csv").unlink()
    berlin = pa.timestamp("us", tz="Europe/Berlin")
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "C2"],
                "occurred_at": pa.array(
                    [datetime(2024, 2, 1, 12), datetime(2024, 3, 1, 12)], berlin
                ),
                "type": ["order", "order"],
                "value": pa.array([10, 20], pa.int64()),
                "seats": pa.array([3, 4], pa.int32()),
            }
        ),
        path / "customer_events.parquet",
    )

    export = load_export(path, as_of=AS_OF)

    assert export.con.execute(
        "SELECT occurred_at, value, seats FROM customer_events"
    ).fetchall() == [
        (datetime(2024, 2, 1, 12), 10.0, "3"),  # arrow stores the UTC instant
        (datetime(2024, 3, 1, 12), 20.0, "4"),
    ]


def test_parquet_attribute_kind_follows_the_physical_type(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").unlink()
    pq.write_table(
        pa.table({"account_id": ["A1", "A2"], "size": [1.5, 2.0], "code": ["10", "20"]}),
        path / "accounts.parquet",
    )

    export = load_export(path, as_of=AS_OF)

    assert export.attributes["accounts"] == (
        Attribute("accounts", "size", True),
        Attribute("accounts", "code", False),
    )


def test_parquet_nan_is_an_error(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").unlink()
    pq.write_table(
        pa.table({"account_id": ["A1", "A2"], "size": pa.array([1.5, float("nan")])}),
        path / "accounts.parquet",
    )

    with pytest.raises(ExportInvalid) as raised:
        load_export(path, as_of=AS_OF)

    (issue,) = raised.value.report.errors
    assert (issue.code, issue.file, issue.column, issue.rows) == (
        "non_finite_number",
        "accounts.parquet",
        "size",
        (2,),
    )


def test_invalid_export_raises_with_the_report(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customers"][1]["created_at"] = "later"
    path = write_export(tmp_path, tables)

    with pytest.raises(ExportInvalid) as raised:
        load_export(path, as_of=AS_OF)

    assert raised.value.exit_code == 1
    assert [(i.code, i.rows) for i in raised.value.report.errors] == [
        ("unparsable_timestamp", (2,))
    ]
    assert "customers.csv, row 2, column created_at" in str(raised.value)


def test_missing_accounts_table_loads_empty(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["accounts"]
    export = load_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert export.con.execute("SELECT count(*) FROM accounts").fetchall() == [(0,)]
    assert export.attributes["accounts"] == ()


def test_csv_written_with_quotes_everywhere_loads_like_minimal_quoting(tmp_path: Path) -> None:
    tables = valid_tables()
    path = write_export(tmp_path, tables)
    rows = tables["accounts"]
    quoted = "\n".join(",".join(f'"{v}"' for v in row.values()) for row in rows)
    (path / "accounts.csv").write_text('"account_id","region"\n' + quoted + "\n")

    export = load_export(path, as_of=AS_OF)

    assert export.con.execute("SELECT * FROM accounts ORDER BY ALL").fetchall() == [
        ("A1", "north"),
        ("A2", "south"),
    ]
    assert csv_text(rows).startswith("account_id,region\n")


text_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters='\n\r",; '),
    max_size=12,
).filter(lambda v: v.strip() != "")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    channels=st.lists(
        text_values | st.sampled_from(["NA", "None", "null", "007", " x "]), min_size=3, max_size=3
    ),
    zeros=st.integers(min_value=1, max_value=4),
)
def test_csv_text_round_trips_verbatim(tmp_path: Path, channels: list[str], zeros: int) -> None:
    tables = valid_tables()
    lead_id = "0" * zeros + "1"
    tables["leads"][0]["lead_id"] = lead_id
    tables["lead_events"][0]["lead_id"] = lead_id
    for event, channel in zip(tables["lead_events"], channels, strict=True):
        event["channel"] = channel
    directory = tmp_path / f"x{zeros}-{abs(hash(tuple(channels)))}"
    export = load_export(write_export(directory, tables), as_of=AS_OF)

    loaded = export.con.execute(
        "SELECT lead_id, channel FROM lead_events ORDER BY occurred_at"
    ).fetchall()

    assert [c for _, c in loaded] == channels
    assert loaded[0][0] == lead_id
    export.close()
