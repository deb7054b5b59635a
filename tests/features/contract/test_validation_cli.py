"""`salesradar validate` / `salesradar summary`: exit codes 0/1/2 and what they print."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from features.cli.commands.summary import summarize_export
from features.cli.root import build_app
from features.contract.loading import load_export
from tests.features.exportkit import AS_OF, valid_tables, write_export, write_valid_export

AS_OF_TEXT = AS_OF.isoformat()


def run(*args: str) -> tuple[int, str, str]:
    # Wide enough that no table cell wraps.
    result = CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_valid_export_exits_0(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(write_valid_export(tmp_path)), "--as-of", AS_OF_TEXT)

    assert code == 0
    assert "valid as of 2024-06-01T00:00:00" in out
    assert "0 error(s), 0 warning(s)" in out


def test_warnings_only_exit_0(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "readme.txt").write_text("hi")

    code, out, _ = run("validate", str(path), "--as-of", AS_OF_TEXT)

    assert code == 0
    assert "warning readme.txt: not a table of the export contract; ignored" in out


def test_errors_exit_1_and_are_all_listed(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][1]["created_at"] = "someday"
    tables["customers"][0]["annual_value"] = "-3"
    path = write_export(tmp_path, tables)

    code, out, _ = run("validate", str(path), "--as-of", AS_OF_TEXT)

    assert code == 1
    assert (
        "error leads.csv, row 2, column created_at: not an ISO 8601 timestamp (first: 'someday')"
        in out
    )
    assert "error customers.csv, row 1, column annual_value: negative amount (first: '-3')" in out
    assert "2 error(s), 0 warning(s)" in out


def test_a_valid_export_prints_its_tasks_and_nothing_before_its_issues(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "readme.txt").write_text("hi")

    code, out, err = run("validate", str(path), "--as-of", AS_OF_TEXT)

    assert code == 0 and err == ""
    assert out.splitlines()[0] == "warning readme.txt: not a table of the export contract; ignored"
    assert out.splitlines()[1].startswith("tasks: leads (")


def test_an_unusable_export_gets_no_tasks_line_and_its_times_end_in_z(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["lead_events"][0]["occurred_at"] = "2024-07-01"
    path = write_export(tmp_path, tables)

    code, out, err = run("validate", str(path), "--as-of", AS_OF_TEXT)

    assert code == 1 and err == ""
    assert out.splitlines()[0] == (
        "error lead_events.csv, row 1, column occurred_at: timestamp after the as-of time "
        "2024-06-01T00:00:00Z (first: '2024-07-01')"
    )
    assert not any(line.startswith("tasks:") for line in out.splitlines()), out
    assert "invalid as of 2024-06-01T00:00:00Z" in out


def test_default_as_of_is_the_time_of_the_run(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["lead_events"][0]["occurred_at"] = "2999-01-01"
    path = write_export(tmp_path, tables)

    code, out, _ = run("validate", str(path))

    assert code == 1
    assert "timestamp after the as-of time" in out


def test_missing_folder_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = run("validate", str(tmp_path / "nope"))

    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [f"error: {tmp_path / 'nope'} is not a folder"]


def test_bad_as_of_exits_2_with_one_line(tmp_path: Path) -> None:
    code, _, err = run("summary", str(write_valid_export(tmp_path)), "--as-of", "next week")

    assert code == 2
    assert err.strip().splitlines() == [
        "error: --as-of 'next week' is not an ISO 8601 date or time"
    ]


def test_summary_prints_counts_and_rates(tmp_path: Path) -> None:
    code, out, _ = run("summary", str(write_valid_export(tmp_path)), "--as-of", AS_OF_TEXT)

    assert code == 0, out
    assert "lead conversion rate" in out
    assert "33.3%" in out
    assert "order" in out


def test_summary_of_invalid_export_lists_errors_and_exits_1(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["leads"][0]["lead_id"] = ""
    code, out, _ = run("summary", str(write_export(tmp_path, tables)), "--as-of", AS_OF_TEXT)

    assert code == 1
    assert "leads.csv, row 1, column lead_id: required value is empty" in out


def test_summary_figures(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customers"].append(
        {
            **tables["customers"][0],
            "customer_id": "C3",
            "churned_at": "",
            "created_at": "2024-01-01",
        }
    )
    # C3 ordered only before the 90-day window (2024-03-03 .. 2024-06-01); C1 ordered inside it.
    tables["customer_events"] += [
        {"customer_id": "C3", "occurred_at": "2024-03-02T23:59:59", "type": "order", "value": "1"},
        {"customer_id": "C1", "occurred_at": "2024-05-31", "type": "order", "value": "1"},
    ]
    export = load_export(write_export(tmp_path, tables), as_of=AS_OF)

    summary = summarize_export(export, as_of=AS_OF)

    assert summary.counts == {
        "leads": 3,
        "customers": 3,
        "accounts": 2,
        "lead_events": 3,
        "customer_events": 5,
    }
    assert (summary.first_event, summary.last_event) == (
        datetime(2024, 1, 5),
        datetime(2024, 5, 31),
    )
    assert summary.conversion_rate == 1 / 3
    assert summary.cancellation_rate == 1 / 3
    assert summary.silent_share == 1 / 2  # active: C1 (ordered), C3 (silent); C2 churned
    assert summary.events_by_type == {
        "lead_events": {"call": (1, ("call",)), "demo": (1, ("demo",)), "email": (1, ("email",))},
        "customer_events": {"order": (4, ("order",)), "ticket": (1, ("ticket",))},
    }


def test_summary_groups_spellings_of_one_type_and_reads_them_as_purchases(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["customer_events"] += [
        {"customer_id": "C1", "occurred_at": "2024-05-20", "type": "Order ", "value": "1"},
        {"customer_id": "C1", "occurred_at": "2024-05-21", "type": "ORDER", "value": "1"},
    ]
    export = load_export(write_export(tmp_path, tables), as_of=AS_OF)
    summary = summarize_export(export, as_of=AS_OF)
    assert summary.events_by_type["customer_events"]["order"] == (4, ("ORDER", "Order ", "order"))
    assert summary.silent_share == 0.0  # C1 (the one active customer) ordered, respelt


def test_summary_has_no_silent_share_without_the_purchase_type(tmp_path: Path) -> None:
    tables = valid_tables()
    for event in tables["customer_events"]:
        event["type"] = "purchase"
    export = load_export(write_export(tmp_path, tables), as_of=AS_OF)
    assert summarize_export(export, as_of=AS_OF).silent_share is None


def test_summary_says_why_a_rate_is_na_and_takes_the_purchase_types(tmp_path: Path) -> None:
    tables = valid_tables()
    for event in tables["customer_events"]:
        event["type"] = "purchase"
    path = str(write_export(tmp_path, tables))

    code, out, _ = run("summary", path, "--as-of", AS_OF_TEXT)
    assert code == 0, out
    row = next(line for line in out.splitlines() if "active customers with no order" in line)
    assert "n/a (no order event before the as-of; name the types that count as a purchase" in row

    code, out, _ = run("summary", path, "--as-of", AS_OF_TEXT, "--activity-types", "purchase")
    assert code == 0, out
    row = next(line for line in out.splitlines() if "active customers with no purchase" in line)
    assert "0.0%" in row and "n/a" not in row

    code, _, err = run("summary", path, "--as-of", AS_OF_TEXT, "--activity-types", "a,,b")
    assert code == 2
    assert err == "error: --activity-types: expected comma-separated type names, got 'a,,b'\n"
