"""Which halves of a CRM an export holds: leads (+ lead_events), customers (+ customer_events).

An export may hold either half or both. A half whose two tables are both absent or empty is
simply not there (no issue); a half with rows in one table and none in the other is an error
naming both tables; an export with neither half is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from features.contract.tasks import TASK_TABLES, Task, tasks_with_rows
from features.contract.validation.report import IssueCollector, Severity

HALF_TABLES: frozenset[str] = frozenset(
    name for tables in TASK_TABLES.values() for name in (tables.entity_table, tables.events_table)
)


@dataclass(frozen=True)
class TaskCoverage:
    """Whether the export can serve ``task``, and in words why (or why not)."""

    task: Task
    available: bool
    detail: str  # "3 leads, 3 lead_events rows" / "customers and customer_events absent"

    def __str__(self) -> str:
        if self.available:
            return f"{self.task.value} ({self.detail})"
        return f"{self.task.value} not in this export ({self.detail})"


def _state(name: str, files: Mapping[str, Path], rows: Mapping[str, int]) -> str:
    if name not in files:
        return "absent"
    return f"{rows[name]:,} rows" if rows[name] else "empty"


def check_halves(
    files: Mapping[str, Path], rows: Mapping[str, int], issues: IssueCollector
) -> tuple[TaskCoverage, ...]:
    """Report a half that is only partly there, or an export with neither half.

    ``files`` maps the tables that have a file to it; ``rows`` holds the row counts of the tables
    that could be read (a table with a file but no count was unreadable and is already an
    error, so its half is not judged again). Returns the coverage of every task.
    """
    coverage = []
    partial_or_unread = False
    for task, tables in TASK_TABLES.items():
        entity, events = tables.entity_table, tables.events_table
        if any(name in files and name not in rows for name in (entity, events)):
            partial_or_unread = True
            coverage.append(TaskCoverage(task, False, "a table could not be read"))
            continue
        counts = {name: rows.get(name, 0) for name in (entity, events)}
        states = {name: _state(name, files, rows) for name in (entity, events)}
        if task in tasks_with_rows(counts):
            detail = f"{counts[entity]:,} {entity}, {counts[events]:,} {events} rows"
            coverage.append(TaskCoverage(task, True, detail))
            continue
        if not counts[entity] and not counts[events]:
            if states[entity] == states[events]:
                detail = f"{entity} and {events} {states[entity]}"
            else:
                detail = f"{entity} {states[entity]}, {events} {states[events]}"
            coverage.append(TaskCoverage(task, False, detail))
            continue
        partial_or_unread = True
        lacking, having = (events, entity) if counts[entity] else (entity, events)
        issues.add(
            Severity.ERROR,
            "missing_table" if states[lacking] == "absent" else "empty_table",
            file=files[lacking].name if lacking in files else f"{lacking}.csv",
            column=None,
            message=(
                f"table {lacking} is {'missing' if states[lacking] == 'absent' else 'empty'} "
                f"but {having} has {counts[having]:,} rows: the {task.value} task needs rows in "
                f"both (an export without this half leaves out or empties both files)"
            ),
        )
        coverage.append(TaskCoverage(task, False, f"{lacking} {states[lacking]}"))
    if not partial_or_unread and not any(c.available for c in coverage):
        issues.add(
            Severity.ERROR,
            "no_task",
            file="",
            column=None,
            message=(
                "the export holds neither leads with lead_events nor customers with "
                "customer_events; it needs rows in at least one of these pairs"
            ),
        )
    return tuple(coverage)
