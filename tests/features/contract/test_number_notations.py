"""European number notations: a thousands dot read as a decimal point, a decimal comma read as
text. Both load, so both are warnings that name the column, the rows and the first value."""

from __future__ import annotations

from pathlib import Path

from features.contract.validation import Severity, validate_export
from tests.features.exportkit import AS_OF, valid_tables, write_export


def test_amount_with_a_thousands_dot_warns_with_its_rows(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customer_events"][0]["value"] = "1.234"
    tables["customer_events"][1]["value"] = "-12.500"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.severity, issue.code, issue.file, issue.column, issue.rows, issue.count) == (
        Severity.WARNING,
        "thousands_separator",
        "customer_events.csv",
        "value",
        (1, 2),
        2,
    )
    assert "first: '1.234'" in issue.message
    assert "read as a decimal number" in issue.message
    assert "'.' as the decimal point and has no thousands separator" in issue.message


def test_amount_with_two_decimals_or_two_thousands_dots_does_not_warn(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customers"][0]["annual_value"] = "1.23"
    tables["customers"][1]["annual_value"] = "12.345.678"
    tables["customer_events"][0]["value"] = "0.125"  # three places; no group starts at 0
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    # Two dots do not parse at all: an error already, not also a warning.
    assert [(i.severity, i.code, i.column, i.rows) for i in report.issues] == [
        (Severity.ERROR, "unparsable_number", "annual_value", (2,))
    ]


def test_numeric_attribute_with_a_thousands_dot_warns(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][1]["employees"] = "1.250"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.severity, issue.code, issue.file, issue.column, issue.rows) == (
        Severity.WARNING,
        "thousands_separator",
        "leads.csv",
        "employees",
        (2,),
    )
    assert "first: '1.250'" in issue.message


def test_attribute_with_decimal_commas_warns_that_it_is_text(tmp_path: Path) -> None:
    tables = valid_tables()
    for row, value in zip(tables["leads"], ["0,5", "12.345,67", "3"], strict=True):
        row["employees"] = value
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.severity, issue.code, issue.file, issue.column, issue.rows, issue.count) == (
        Severity.WARNING,
        "decimal_comma",
        "leads.csv",
        "employees",
        (1, 2),
        2,
    )
    assert issue.message.startswith(
        "looks like numbers with a decimal comma (first: '0,5'): read as text"
    )
    assert "write them with '.'" in issue.message
    (employees,) = [a for a in report.tables["leads"].attributes if a.name == "employees"]
    assert not employees.numeric


def test_thousands_commas_alone_stay_a_mixed_numeric_warning(tmp_path: Path) -> None:
    # "1,250" may be a thousands comma as well as a decimal one: no decimal-comma claim.
    tables = valid_tables()
    tables["leads"][0]["employees"] = "1,250"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert [i.code for i in report.issues] == ["mixed_numeric"]


def test_text_attribute_with_a_few_decimal_commas_is_not_called_decimal_comma(
    tmp_path: Path,
) -> None:
    tables = valid_tables()
    for row, value in zip(tables["leads"], ["0,5", "n/a", "7"], strict=True):
        row["employees"] = value
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert [i.code for i in report.issues] == []
