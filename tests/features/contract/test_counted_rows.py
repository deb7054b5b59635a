"""validate counts what it reports: the exact duplicate events it drops, per table, naming
their rows (rows that differ in any column after typing are not duplicates), and "rows in all"
with a thousands separator."""

from __future__ import annotations

from pathlib import Path

from features.contract.validation import Issue, Severity, validate_export
from tests.features.exportkit import AS_OF, valid_tables, write_export


def test_exact_duplicate_events_are_counted_per_table_with_their_rows(tmp_path: Path) -> None:
    tables = valid_tables()
    order = tables["customer_events"][0]
    tables["customer_events"] += [
        dict(order),  # row 4: the same as row 1
        {**order, "occurred_at": "2024-02-01T02:00:00+02:00", "value": "1200.00"},  # row 5: too
        {**order, "value": "1201"},  # row 6: another value, another event
    ]
    tables["lead_events"].append(dict(tables["lead_events"][1]))  # row 4
    tables["lead_events"].append({**tables["lead_events"][1], "channel": "phone"})  # row 5: not
    report = validate_export(write_export(tmp_path / "export", tables), as_of=AS_OF)
    found = sorted(
        (i.file, i.rows, i.count, i.message, i.severity.value)
        for i in report.issues
        if i.code == "duplicate_events"
    )
    message = (
        "{} exact duplicate row(s) of earlier rows (equal in every column after typing) "
        "dropped: each event counts once"
    )
    assert found == [
        ("customer_events.csv", (4, 5), 2, message.format(2), "warning"),
        ("lead_events.csv", (4,), 1, message.format(1), "warning"),
    ]
    assert report.ok  # a warning: the export loads and each event counts once
    assert str(next(i for i in report.issues if i.file == "customer_events.csv")) == (
        "customer_events.csv, rows 4, 5: " + message.format(2)
    )


def test_the_count_of_rows_in_all_has_a_thousands_separator() -> None:
    issue = Issue(Severity.ERROR, "x", "leads.csv", "owner_id", "bad", rows=(1, 2), count=1200)
    assert str(issue) == "leads.csv, rows 1, 2 (1,200 rows in all), column owner_id: bad"
