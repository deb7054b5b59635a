"""Either half of a CRM alone: leads only or customers only, the other tables absent or empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.commands.summary import summarize_export
from features.cli.root import build_app
from features.contract.export import TaskNotInExport
from features.contract.loading import load_export
from features.contract.tasks import Task
from features.contract.validation import Issue, validate_export
from tests.features.exportkit import AS_OF, Rows, valid_tables, write_export

LEAD_HALF = ("leads", "lead_events")
CUSTOMER_HALF = ("customers", "customer_events")
HEADERS = {
    "leads": ["lead_id", "created_at", "owner_id", "converted_at"],
    "lead_events": ["lead_id", "occurred_at", "type"],
    "customers": ["customer_id", "created_at", "owner_id"],
    "customer_events": ["customer_id", "occurred_at", "type"],
}


def _export(tmp_path: Path, *, absent: tuple[str, ...] = (), empty: tuple[str, ...] = ()) -> Path:
    tables: dict[str, Rows] = valid_tables()
    for name in absent:
        del tables[name]
    for name in empty:
        tables[name] = []
    return write_export(tmp_path, tables, **{name: HEADERS[name] for name in empty})


def _errors(path: Path) -> list[tuple[str, str, str]]:
    report = validate_export(path, as_of=AS_OF)
    return [(i.code, i.file, i.message) for i in report.errors]


@pytest.mark.parametrize("variant", ["absent", "empty"])
@pytest.mark.parametrize(
    ("missing", "task", "coverage"),
    [
        (
            CUSTOMER_HALF,
            Task.LEADS,
            ["leads (3 leads, 3 lead_events rows)", "churn not in this export ({})"],
        ),
        (
            LEAD_HALF,
            Task.CHURN,
            ["leads not in this export ({})", "churn (2 customers, 3 customer_events rows)"],
        ),
    ],
)
def test_either_half_alone_is_valid_and_says_what_it_serves(
    tmp_path: Path, variant: str, missing: tuple[str, str], task: Task, coverage: list[str]
) -> None:
    kwargs = {variant: missing}
    report = validate_export(_export(tmp_path, **kwargs), as_of=AS_OF)  # type: ignore[arg-type]

    assert report.issues == ()
    assert report.tasks == (task,)
    states = f"{missing[0]} and {missing[1]} {variant}"
    assert [str(c) for c in report.coverage] == [line.format(states) for line in coverage]


def test_entities_without_their_events_table_are_an_error(tmp_path: Path) -> None:
    path = _export(tmp_path, absent=("customer_events",))
    assert _errors(path) == [
        (
            "missing_table",
            "customer_events.csv",
            "table customer_events is missing but customers has 2 rows: the churn task needs "
            "rows in both (an export without this half leaves out or empties both files)",
        )
    ]


def test_events_without_their_entities_are_an_error(tmp_path: Path) -> None:
    path = _export(tmp_path, empty=("leads",))
    assert _errors(path) == [
        (
            "unknown_reference",
            "lead_events.csv",
            "refers to a lead_id that is not in leads (first: 'L001')",
        ),
        (
            "empty_table",
            "leads.csv",
            "table leads is empty but lead_events has 3 rows: the leads task needs "
            "rows in both (an export without this half leaves out or empties both files)",
        ),
    ]
    assert validate_export(path, as_of=AS_OF).tasks == (Task.CHURN,)


def test_neither_half_is_an_error(tmp_path: Path) -> None:
    path = _export(tmp_path, absent=LEAD_HALF, empty=CUSTOMER_HALF)
    report = validate_export(path, as_of=AS_OF)
    assert [i.code for i in report.issues] == ["no_task"]
    assert str(report.issues[0]) == (
        "<export>: the export holds neither leads with lead_events nor customers with "
        "customer_events; it needs rows in at least one of these pairs"
    )


def test_validate_cli_says_which_tasks_the_export_serves(tmp_path: Path) -> None:
    path = _export(tmp_path, absent=CUSTOMER_HALF)
    result = CliRunner().invoke(build_app(), ["validate", str(path), "--as-of", AS_OF.isoformat()])

    assert result.exit_code == 0, result.output
    assert (
        "tasks: leads (3 leads, 3 lead_events rows); churn not in this export "
        "(customers and customer_events absent)"
    ) in result.stdout


def test_a_lead_only_export_loads_and_refuses_churn_in_one_line(tmp_path: Path) -> None:
    export = load_export(_export(tmp_path, absent=CUSTOMER_HALF), as_of=AS_OF)
    try:
        assert export.tasks() == (Task.LEADS,)
        export.require_task(Task.LEADS)
        with pytest.raises(TaskNotInExport) as raised:
            export.require_task(Task.CHURN)
        summary = summarize_export(export, as_of=AS_OF)
    finally:
        export.close()
    assert str(raised.value) == (
        f"churn: the export has no rows in customers and customer_events ({tmp_path}); "
        "it holds data for: leads"
    )
    assert summary.tasks == (Task.LEADS,)
    assert summary.counts == {"leads": 3, "accounts": 2, "lead_events": 3}
    assert summary.conversion_rate == 1 / 3
    assert (summary.cancellation_rate, summary.silent_share) == (None, None)
    assert summary.events_by_type == {
        "lead_events": {"call": (1, ("call",)), "demo": (1, ("demo",)), "email": (1, ("email",))}
    }


def test_report_issue_for_a_table_of_the_other_half_keeps_its_file(tmp_path: Path) -> None:
    # A present-but-broken file of an otherwise absent half is still checked.
    path = _export(tmp_path, absent=("customer_events",), empty=("customers",))
    (path / "customers.csv").write_text("customer_id,created_at\n", encoding="utf-8")
    report = validate_export(path, as_of=AS_OF)
    assert [(i.code, i.file, i.column) for i in report.errors] == [
        ("missing_column", "customers.csv", "owner_id")
    ]
    assert isinstance(report.errors[0], Issue) and report.tasks == (Task.LEADS,)
