"""The two prediction tasks and the contract tables each one reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal


class Task(StrEnum):
    LEADS = "leads"  # will this lead convert within the horizon?
    CHURN = "churn"  # will this customer leave (explicitly or silently) within the horizon?


@dataclass(frozen=True)
class TaskTables:
    entity_table: str
    events_table: str
    key: str
    value_column: str  # revenue weighting: expected deal size or annual value
    model_name: str  # registered model name in MLflow


TASK_TABLES: dict[Task, TaskTables] = {
    Task.LEADS: TaskTables("leads", "lead_events", "lead_id", "expected_value", "salesradar-leads"),
    Task.CHURN: TaskTables(
        "customers", "customer_events", "customer_id", "annual_value", "salesradar-churn"
    ),
}

# What a task scores, as the scores database, the lists and the reps' pages name it.
EntityKind = Literal["lead", "customer"]
TASK_KINDS: dict[Task, EntityKind] = {Task.LEADS: "lead", Task.CHURN: "customer"}
KIND_TASKS: dict[EntityKind, Task] = {kind: task for task, kind in TASK_KINDS.items()}

DEFAULT_HORIZON = timedelta(days=90)
# Event types that count as "activity" for silent churn: no such event in the horizon = churned.
DEFAULT_ACTIVITY_TYPES: tuple[str, ...] = ("order",)


def tasks_with_rows(row_counts: Mapping[str, int]) -> tuple[Task, ...]:
    """The tasks an export can serve: those whose entity table and event table both have rows.

    ``row_counts`` maps table names to row counts; an absent table counts as 0 rows. This is the
    one rule for "which half of the CRM does this export hold", used by validation, loading,
    training and batch scoring alike.
    """
    return tuple(
        task
        for task, tables in TASK_TABLES.items()
        if row_counts.get(tables.entity_table, 0) > 0 and row_counts.get(tables.events_table, 0) > 0
    )
