"""Warnings: loadable exports that are probably not what the sender meant (exit code stays 0)."""

from __future__ import annotations

from pathlib import Path

from features.validation import Severity, validate_export
from tests.features.exportkit import AS_OF, valid_tables, write_export, write_valid_export


def test_single_valued_attribute_warns(tmp_path: Path) -> None:
    tables = valid_tables()
    for row in tables["customers"]:
        row["plan"] = "gold"
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.severity, issue.code, issue.file, issue.column) == (
        Severity.WARNING,
        "single_value",
        "customers.csv",
        "plan",
    )
    assert report.ok


def test_numeric_attribute_with_one_value_in_two_spellings_warns(tmp_path: Path) -> None:
    tables = valid_tables()
    for row, value in zip(tables["leads"], ["10", "10.0", "1e1"], strict=True):
        row["employees"] = value
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert [(i.code, i.column, i.message) for i in report.issues] == [
        ("single_value", "employees", "attribute has a single value ('10')")
    ]


def test_mostly_missing_attribute_warns(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][0]["industry"] = ""
    tables["leads"][2]["industry"] = ""
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    # Two of three missing; the one value left is also the only value.
    assert sorted((i.code, i.column, i.message) for i in report.issues) == [
        ("mostly_missing", "industry", "attribute is 67% missing"),
        ("single_value", "industry", "attribute has a single value ('software')"),
    ]


def test_half_missing_attribute_does_not_warn(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customers"][0]["plan"] = ""
    tables["customers"].append({**tables["customers"][1], "customer_id": "C3", "plan": "bronze"})
    tables["customer_events"].append({**tables["customer_events"][0], "customer_id": "C3"})
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert report.issues == ()


def test_entities_without_events_warn_with_their_rows(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["lead_events"] = [e for e in tables["lead_events"] if e["lead_id"] != "L002"]
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.code, issue.file, issue.column, issue.rows) == (
        "no_events",
        "leads.csv",
        "lead_id",
        (2,),
    )


def test_unknown_file_warns_and_subfolders_are_ignored(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "notes.txt").write_text("hello")
    (path / "ground_truth").mkdir()
    (path / "ground_truth" / "leads.parquet").write_bytes(b"not parquet")

    report = validate_export(path, as_of=AS_OF)

    (issue,) = report.issues
    assert (issue.severity, issue.code, issue.file) == (
        Severity.WARNING,
        "unknown_file",
        "notes.txt",
    )
