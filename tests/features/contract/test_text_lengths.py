"""Event texts longer than the API accepts (``MAX_TEXT_CHARS``: an event's ``type``, ``channel``,
``direction``, ``outcome``) are refused by validation, so an event scored in batch is never
refused online: reported like any other bad value (file, rows, column, the first value cut short
for display, how many rows), in CSV and Parquet. Extra columns the API never takes are not."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from features.contract.tables import MAX_TEXT_CHARS
from features.contract.validation import validate_export
from serving.api.schemas.fields import EventType, ShortText
from tests.features.exportkit import AS_OF, valid_tables, write_export

LONG_TYPE = "call_" + "x" * 300  # 305 characters
LONG_CHANNEL = "é" * (MAX_TEXT_CHARS + 1)  # characters, not UTF-8 bytes, are counted
LONGEST = "é" * MAX_TEXT_CHARS  # the API's longest text: accepted


def _long_tables() -> dict[str, list[dict[str, str]]]:
    tables = valid_tables()
    events = tables["lead_events"]
    events[0]["type"] = LONG_TYPE
    events[1]["channel"] = LONG_CHANNEL
    events[2]["channel"] = "c" * 1000
    for event in events:
        event["direction"] = LONGEST
        event["outcome"] = "o" * (MAX_TEXT_CHARS + 1)
        event["note"] = "n" * 1000  # no feature reads it, the API never takes it
    tables["customer_events"][2]["type"] = LONGEST
    return tables


def _write_parquet(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    directory.mkdir()
    for name, rows in tables.items():
        pd.DataFrame(rows).astype("string").to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def _shown(value: str) -> str:
    return f"'{value[:64]}…' ({len(value)} characters)"


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_event_texts_longer_than_the_api_accepts_are_errors_naming_file_row_and_column(
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
        if i.code == "text_too_long"
    )
    too_long = "a text longer than 255 characters, which the API refuses (first: {})"
    file = f"lead_events.{extension}"
    assert found == [
        (file, "channel", (2, 3), 2, too_long.format(_shown(LONG_CHANNEL)), "error"),
        (file, "outcome", (1, 2, 3), 3, too_long.format(_shown("o" * 256)), "error"),
        (file, "type", (1,), 1, too_long.format(_shown(LONG_TYPE)), "error"),
    ]
    assert not report.ok
    [channels] = [i for i in report.issues if i.code == "text_too_long" and i.column == "channel"]
    assert str(channels).startswith(f"{file}, rows 2, 3, column channel: a text longer")


def test_the_longest_text_the_api_accepts_passes_and_one_more_character_does_not() -> None:
    """Validation's limit is the API's own ``EventType`` and ``ShortText`` limit, one constant."""
    for field in (EventType, ShortText):
        adapter = TypeAdapter(field)
        assert adapter.validate_python(LONGEST) == LONGEST
        with pytest.raises(ValidationError):
            adapter.validate_python(LONG_CHANNEL)


def test_an_export_of_event_texts_at_the_limit_passes(tmp_path: Path) -> None:
    tables = valid_tables()
    for event in tables["lead_events"]:
        event["type"] = event["channel"] = event["direction"] = event["outcome"] = LONGEST
    report = validate_export(write_export(tmp_path / "export", tables), as_of=AS_OF)
    assert [i for i in report.issues if i.code == "text_too_long"] == []
    assert report.ok, report.issues
