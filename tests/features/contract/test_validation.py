"""validate_export: a valid export is clean; each broken export names file, rows and column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from features.contract.validation import Issue, Severity, validate_export
from tests.features.exportkit import AS_OF, Rows, valid_tables, write_export, write_valid_export

Tables = dict[str, Rows]


def only_issue(path: Path, code: str, *, as_of: datetime = AS_OF) -> Issue:
    report = validate_export(path, as_of=as_of)
    found = [i for i in report.issues if i.code == code]
    assert len(found) == 1, report.issues
    return found[0]


def test_valid_export_has_no_issues(tmp_path: Path) -> None:
    report = validate_export(write_valid_export(tmp_path), as_of=AS_OF)

    assert report.issues == ()
    assert report.ok
    assert dict(report.row_counts) == {
        "leads": 3,
        "customers": 2,
        "accounts": 2,
        "lead_events": 3,
        "customer_events": 3,
    }


@dataclass(frozen=True)
class Broken:
    code: str
    file: str
    column: str | None
    rows: tuple[int, ...]
    mutate: Callable[[Tables], None]


def _set(table: str, row: int, column: str, value: str) -> Callable[[Tables], None]:
    """Set 1-based record ``row`` of ``table``."""

    def mutate(tables: Tables) -> None:
        tables[table][row - 1][column] = value

    return mutate


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        for row in tables[table]:
            del row[column]

    return mutate


def _drop_table(table: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        del tables[table]

    return mutate


BROKEN = {
    "missing table": Broken("missing_table", "customers.csv", None, (), _drop_table("customers")),
    "missing column": Broken(
        "missing_column", "leads.csv", "owner_id", (), _drop_column("leads", "owner_id")
    ),
    "missing converted_at column": Broken(
        "missing_column", "leads.csv", "converted_at", (), _drop_column("leads", "converted_at")
    ),
    "bad timestamp": Broken(
        "unparsable_timestamp",
        "leads.csv",
        "created_at",
        (2,),
        _set("leads", 2, "created_at", "2024-13-01"),
    ),
    "bad event timestamp": Broken(
        "unparsable_timestamp",
        "customer_events.csv",
        "occurred_at",
        (3,),
        _set("customer_events", 3, "occurred_at", "15/03/2024"),
    ),
    "bad number": Broken(
        "unparsable_number",
        "customers.csv",
        "annual_value",
        (1,),
        _set("customers", 1, "annual_value", "12k"),
    ),
    "duplicate id": Broken(
        "duplicate_id", "leads.csv", "lead_id", (1, 3), _set("leads", 3, "lead_id", "L001")
    ),
    "orphan event": Broken(
        "unknown_reference",
        "lead_events.csv",
        "lead_id",
        (2,),
        _set("lead_events", 2, "lead_id", "L999"),
    ),
    "unknown account": Broken(
        "unknown_reference",
        "customers.csv",
        "account_id",
        (2,),
        _set("customers", 2, "account_id", "A9"),
    ),
    "after as-of": Broken(
        "after_as_of",
        "customer_events.csv",
        "occurred_at",
        (3,),
        _set("customer_events", 3, "occurred_at", "2024-06-01T00:00:01"),
    ),
    "converted before created": Broken(
        "outcome_before_created",
        "leads.csv",
        "converted_at",
        (2,),
        _set("leads", 2, "converted_at", "2023-12-31"),
    ),
    "closed lost before created": Broken(
        "outcome_before_created",
        "leads.csv",
        "closed_lost_at",
        (3,),
        _set("leads", 3, "closed_lost_at", "2024-01-03T06:29:59"),
    ),
    "churned before created": Broken(
        "outcome_before_created",
        "customers.csv",
        "churned_at",
        (2,),
        _set("customers", 2, "churned_at", "2023-01-01"),
    ),
    "negative expected value": Broken(
        "negative_number",
        "leads.csv",
        "expected_value",
        (2,),
        _set("leads", 2, "expected_value", "-0.5"),
    ),
    "negative annual value": Broken(
        "negative_number",
        "customers.csv",
        "annual_value",
        (2,),
        _set("customers", 2, "annual_value", "-5000"),
    ),
    "nan": Broken(
        "non_finite_number",
        "customer_events.csv",
        "value",
        (2,),
        _set("customer_events", 2, "value", "NaN"),
    ),
    "inf": Broken(
        "non_finite_number",
        "leads.csv",
        "expected_value",
        (1,),
        _set("leads", 1, "expected_value", "inf"),
    ),
    "infinite timestamp": Broken(
        "unparsable_timestamp",
        "leads.csv",
        "created_at",
        (1,),
        _set("leads", 1, "created_at", "-infinity"),
    ),
    "empty id": Broken(
        "missing_value", "leads.csv", "lead_id", (2,), _set("leads", 2, "lead_id", "")
    ),
    "empty created_at": Broken(
        "missing_value", "customers.csv", "created_at", (1,), _set("customers", 1, "created_at", "")
    ),
    "empty occurred_at": Broken(
        "missing_value",
        "lead_events.csv",
        "occurred_at",
        (3,),
        _set("lead_events", 3, "occurred_at", ""),
    ),
    "empty type": Broken(
        "missing_value", "lead_events.csv", "type", (1,), _set("lead_events", 1, "type", "")
    ),
    "empty owner": Broken(
        "missing_value", "customers.csv", "owner_id", (2,), _set("customers", 2, "owner_id", "")
    ),
}


@pytest.mark.parametrize("case", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_export_names_file_rows_and_column(tmp_path: Path, case: Broken) -> None:
    tables = valid_tables()
    case.mutate(tables)
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    errors = [i for i in report.errors if i.code == case.code]
    assert len(errors) == 1, report.issues
    (issue,) = errors
    assert (issue.file, issue.column, issue.rows) == (case.file, case.column, case.rows)
    assert issue.count == len(case.rows)
    text = str(issue)
    assert text.startswith(case.file)
    if case.rows:
        assert f"row{'s' if len(case.rows) > 1 else ''} {', '.join(map(str, case.rows))}" in text
    if case.column:
        assert f"column {case.column}" in text
    assert not report.ok


def test_empty_table_is_an_error(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["lead_events"] = []
    path = write_export(tmp_path, tables, lead_events=["lead_id", "occurred_at", "type"])

    issue = only_issue(path, "empty_table")

    assert (issue.severity, issue.file) == (Severity.ERROR, "lead_events.csv")


def test_table_in_both_formats_is_an_error(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.parquet").write_bytes(b"")

    issue = only_issue(path, "ambiguous_table")

    assert issue.file == "accounts.csv and accounts.parquet"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][0]["created_at"] = "soon"
    tables["customers"][1]["annual_value"] = "-1"
    tables["lead_events"][2]["lead_id"] = "L404"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert sorted((i.code, i.file, i.rows) for i in report.errors) == [
        ("negative_number", "customers.csv", (2,)),
        ("unknown_reference", "lead_events.csv", (3,)),
        ("unparsable_timestamp", "leads.csv", (1,)),
    ]


def test_one_problem_on_many_rows_is_one_issue_with_count_and_first_rows(tmp_path: Path) -> None:
    tables = valid_tables()
    event = tables["customer_events"][0]
    tables["customer_events"] = [{**event, "occurred_at": "bad"} for _ in range(25)]

    issue = only_issue(write_export(tmp_path, tables), "unparsable_timestamp")

    assert (issue.count, issue.rows) == (25, tuple(range(1, 11)))
    assert "rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 (25 rows in all)" in str(issue)
    assert "(first: 'bad')" in str(issue)


def test_as_of_with_offset_is_converted_to_utc(tmp_path: Path) -> None:
    from datetime import timedelta, timezone

    tables = valid_tables()
    tables["customer_events"][2]["occurred_at"] = "2024-06-01T01:00:00"
    path = write_export(tmp_path, tables)
    # 03:00 at UTC+2 is 01:00 UTC: the event is exactly at the as-of time, not after it.
    as_of = datetime(2024, 6, 1, 3, 0, tzinfo=timezone(timedelta(hours=2)))

    assert validate_export(path, as_of=as_of).ok
    assert not validate_export(path, as_of=datetime(2024, 6, 1, 0, 59)).ok


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        validate_export(tmp_path / "nope", as_of=AS_OF)
