"""Ids longer than the API accepts (``MAX_ID_CHARS``) are refused by validation, so an entity
scored in batch can always be re-scored online: reported like any other bad value (file, rows,
column, the first value cut short for display, how many rows), in CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from features.contract.tables import MAX_ID_CHARS
from features.contract.validation import validate_export
from serving.api.schemas.fields import Identifier
from tests.features.exportkit import AS_OF, valid_tables, write_export

LONG_LEAD = "ACME/" + "x" * 300  # 305 characters
LONG_OWNER = "é" * (MAX_ID_CHARS + 1)  # characters, not UTF-8 bytes, are counted
LONGEST = "é" * MAX_ID_CHARS  # the API's longest id: accepted


def _long_tables() -> dict[str, list[dict[str, str]]]:
    tables = valid_tables()
    tables["leads"][1]["lead_id"] = LONG_LEAD
    tables["lead_events"][1]["lead_id"] = LONG_LEAD
    tables["customers"][0]["owner_id"] = LONG_OWNER
    tables["customers"][1]["owner_id"] = "o" * 1000
    tables["accounts"][0]["account_id"] = LONGEST
    tables["leads"][0]["account_id"] = LONGEST
    tables["customers"][0]["account_id"] = LONGEST
    return tables


def _write_parquet(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    directory.mkdir()
    for name, rows in tables.items():
        pd.DataFrame(rows).astype("string").to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def _shown(value: str) -> str:
    return f"'{value[:64]}…' ({len(value)} characters)"


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_ids_longer_than_the_api_accepts_are_errors_naming_file_row_and_column(
    tmp_path: Path, extension: str
) -> None:
    if extension == "csv":
        path = write_export(tmp_path / "export", _long_tables())
    else:
        path = _write_parquet(tmp_path / "export", _long_tables())
    report = validate_export(path, as_of=AS_OF)
    found = sorted(
        (i.file, i.column, i.rows, i.count, i.message, i.severity.value)
        for i in report.issues
        if i.code == "id_too_long"
    )
    too_long = "an id longer than 255 characters, which the API refuses (first: {})"
    assert found == [
        (f"customers.{extension}", "owner_id", (1, 2), 2,
         too_long.format(_shown(LONG_OWNER)), "error"),
        (f"lead_events.{extension}", "lead_id", (2,), 1,
         too_long.format(_shown(LONG_LEAD)), "error"),
        (f"leads.{extension}", "lead_id", (2,), 1,
         too_long.format(_shown(LONG_LEAD)), "error"),
    ]  # fmt: skip
    assert not report.ok
    [owners] = [i for i in report.issues if i.code == "id_too_long" and i.column == "owner_id"]
    assert str(owners).startswith(f"customers.{extension}, rows 1, 2, column owner_id: an id")


def test_the_longest_id_the_api_accepts_passes_and_one_more_character_does_not() -> None:
    """Validation's limit is the API's own ``Identifier`` limit, one constant for both."""
    identifier = TypeAdapter(Identifier)
    assert identifier.validate_python(LONGEST) == LONGEST
    with pytest.raises(ValidationError):
        identifier.validate_python(LONG_OWNER)


def test_an_export_of_ids_at_the_limit_passes(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][1]["lead_id"] = tables["lead_events"][1]["lead_id"] = LONGEST
    tables["customers"][1]["owner_id"] = LONGEST
    report = validate_export(write_export(tmp_path / "export", tables), as_of=AS_OF)
    assert report.ok and [i for i in report.issues if i.code == "id_too_long"] == []
