"""`salesradar validate` prints the export's own values as text: a bad value that looks like
console markup (``[/oops]``, ``[red]``) is quoted as written, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from features.cli.root import build_app
from tests.features.exportkit import AS_OF, valid_tables, write_export


def test_values_that_look_like_markup_are_quoted_as_written(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customer_events"][1]["occurred_at"] = "[/oops]"
    tables["customer_events"][0]["value"] = "[red]12"
    path = write_export(tmp_path / "export", tables)
    result = CliRunner().invoke(
        build_app(), ["validate", str(path), "--as-of", AS_OF.isoformat()], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 1, result.output
    assert (
        "error customer_events.csv, row 2, column occurred_at: not an ISO 8601 timestamp "
        "(first: '[/oops]')" in result.output
    )
    assert (
        "error customer_events.csv, row 1, column value: not a number (first: '[red]12')"
        in result.output
    )
