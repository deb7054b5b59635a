"""Column names that differ only by case or by surrounding spaces are refused at the header, with
both names, instead of failing later in DuckDB (which binds names case-insensitively)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.contract.validation import Severity, validate_export
from tests.features.exportkit import AS_OF, valid_tables, write_export


@pytest.mark.parametrize(
    ("other", "shown"),
    [("Industry", "'industry' and 'Industry'"), ("industry ", "'industry' and 'industry '")],
)
def test_csv_names_differing_by_case_or_spaces_are_refused(
    tmp_path: Path, other: str, shown: str
) -> None:
    tables = valid_tables()
    for row in tables["leads"]:
        row[other] = "x"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.errors
    assert (issue.severity, issue.code, issue.file, issue.column) == (
        Severity.ERROR,
        "unreadable_file",
        "leads.csv",
        None,
    )
    assert issue.message == (
        "duplicate column names (case-insensitive, surrounding spaces ignored): "
        f"{shown}; rename or remove one of each"
    )


def test_parquet_names_differing_by_case_are_refused(tmp_path: Path) -> None:
    tables = valid_tables()
    path = write_export(tmp_path, {k: v for k, v in tables.items() if k != "accounts"})
    accounts = pa.table({"account_id": ["A1", "A2"], "region": ["n", "s"], "Region": ["n", "s"]})
    pq.write_table(accounts, path / "accounts.parquet")

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file) == ("unreadable_file", "accounts.parquet")
    assert "'region' and 'Region'" in issue.message
