"""Warnings: loadable exports that are probably not what the sender meant (exit code stays 0)."""

from __future__ import annotations

from pathlib import Path

from features.contract.export import Attribute
from features.contract.loading import load_export
from features.contract.validation import Severity, validate_export
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


def _leads_with_employees(values: list[str]) -> dict[str, list[dict[str, str]]]:
    """The valid export with one lead (and one lead event) per value of ``employees``."""
    tables = valid_tables()
    template, event = tables["leads"][0], tables["lead_events"][0]
    tables["leads"] = [
        {**template, "lead_id": f"L{i:03d}", "employees": value, "industry": f"i{i % 3}"}
        for i, value in enumerate(values, start=1)
    ]
    tables["lead_events"] = [{**event, "lead_id": f"L{i:03d}"} for i in range(1, len(values) + 1)]
    return tables


def test_stray_tokens_in_a_numeric_attribute_are_named_with_their_rows(tmp_path: Path) -> None:
    values = ["10", " ", "250", "1,250", "40", "n/a", "75", "12", "9"]
    path = write_export(tmp_path, _leads_with_employees(values))
    report = validate_export(path, as_of=AS_OF)

    (issue,) = [i for i in report.issues if i.column == "employees"]
    assert (issue.severity, issue.code, issue.file, issue.rows, issue.count) == (
        Severity.WARNING,
        "mixed_numeric",
        "leads.csv",
        (2, 4, 6),
        3,
    )
    assert str(issue) == (
        "leads.csv, rows 2, 4, 6, column employees: treated as text (categorical), not as a "
        "number: 3 value(s) are not finite numbers (first: ' ') while 6 are; empty or correct "
        "them to use the attribute as a number"
    )
    # The treatment the warning announces is the one loading applies.
    export = load_export(path, as_of=AS_OF)
    try:
        assert Attribute("leads", "employees", numeric=False) in export.attributes["leads"]
    finally:
        export.close()
    fixed = write_export(
        tmp_path / "fixed", _leads_with_employees([v if v.isdigit() else "" for v in values])
    )
    assert validate_export(fixed, as_of=AS_OF).issues == ()


def test_mostly_text_attribute_with_some_numbers_does_not_warn(tmp_path: Path) -> None:
    path = write_export(tmp_path, _leads_with_employees(["small", "large", "12", "medium"]))
    assert validate_export(path, as_of=AS_OF).issues == ()
