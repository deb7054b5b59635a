"""Ids made only of spaces and event types made only of separators name nothing: validation
reports each like any other bad value (file, rows, column, the first value), in CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.contract.validation import validate_export
from tests.features.exportkit import AS_OF, valid_tables, write_export


def _blank_tables() -> dict[str, list[dict[str, str]]]:
    tables = valid_tables()
    tables["leads"][1]["owner_id"] = "   "
    tables["customers"][1]["account_id"] = " \t "
    tables["lead_events"][2]["type"] = " - "
    tables["customer_events"][0]["type"] = "  "
    return tables


def _write_parquet(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    directory.mkdir()
    for name, rows in tables.items():
        pd.DataFrame(rows).astype("string").to_parquet(directory / f"{name}.parquet", index=False)
    return directory


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_blank_ids_and_event_types_are_errors_naming_file_row_and_column(
    tmp_path: Path, extension: str
) -> None:
    if extension == "csv":
        path = write_export(tmp_path / "export", _blank_tables())
    else:
        path = _write_parquet(tmp_path / "export", _blank_tables())
    report = validate_export(path, as_of=AS_OF)
    found = sorted(
        (i.file, i.column, i.rows, i.message, i.severity.value)
        for i in report.issues
        if i.code == "blank_value"
    )
    assert found == [
        (f"customer_events.{extension}", "type", (1,),
         "a name made only of spaces, '-' and '_' (first: '  ')", "error"),
        (f"customers.{extension}", "account_id", (2,),
         "an id made only of spaces (first: ' \t ')", "error"),
        (f"lead_events.{extension}", "type", (3,),
         "a name made only of spaces, '-' and '_' (first: ' - ')", "error"),
        (f"leads.{extension}", "owner_id", (2,),
         "an id made only of spaces (first: '   ')", "error"),
    ]  # fmt: skip
    assert not report.ok


def test_ids_and_types_with_a_visible_character_pass(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][1]["owner_id"] = " o2 "
    tables["customer_events"][0]["type"] = "-order-"
    report = validate_export(write_export(tmp_path / "export", tables), as_of=AS_OF)
    assert [i for i in report.issues if i.code == "blank_value"] == []


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_unicode_spaces_alone_are_blank_too(tmp_path: Path, extension: str) -> None:
    """A no-break or ideographic space shows as nothing in a CRM like an ASCII one."""
    tables = valid_tables()
    tables["leads"][1]["owner_id"] = "\u00a0"
    tables["customer_events"][0]["type"] = "\u3000-\u2009"
    if extension == "csv":
        path = write_export(tmp_path / "export", tables)
    else:
        path = _write_parquet(tmp_path / "export", tables)
    report = validate_export(path, as_of=AS_OF)
    found = sorted((i.file, i.column, i.rows) for i in report.issues if i.code == "blank_value")
    assert found == [
        (f"customer_events.{extension}", "type", (1,)),
        (f"leads.{extension}", "owner_id", (2,)),
    ]
