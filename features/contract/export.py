"""A loaded, typed CRM export: a DuckDB connection holding one relation per contract table.

Every relation has the contract's columns with canonical types (IDs and text ``VARCHAR``,
timestamps naive-UTC ``TIMESTAMP``, amounts ``DOUBLE``), optional contract columns present as
NULL when the export lacks them, and the export's extra columns (attributes of entity tables,
text columns of event tables). ``accounts`` is always present, possibly empty.

Exports come from files (``features.contract.loading.load_export``, after validation) or from
in-memory frames (``export_from_frames``: tests and the online path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from features.contract.tables import DUCKDB_SESSION_SETUP, TABLES, Kind, Table
from features.contract.tasks import TASK_TABLES, Task, tasks_with_rows
from features.errors import UserError

SQL_TYPES: dict[Kind, str] = {
    Kind.ID: "VARCHAR",
    Kind.TEXT: "VARCHAR",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.AMOUNT: "DOUBLE",
}


@dataclass(frozen=True)
class Attribute:
    """An extra column of an entity table (or of ``accounts``), used as a static feature."""

    table: str
    name: str
    numeric: bool  # False: categorical


@dataclass
class Export:
    con: duckdb.DuckDBPyConnection
    attributes: Mapping[str, tuple[Attribute, ...]]
    event_text_columns: Mapping[str, tuple[str, ...]]
    source: str = "<frames>"
    # "file, column" -> rows with a timestamp after the as-of it was loaded for, which every
    # as-of computation ignores (a backfill:
    # features.contract.loading.load_export(ignore_later_rows))
    later_rows: Mapping[str, int] = field(default_factory=dict)
    _closed: bool = field(default=False, repr=False)

    def relation(self, table: str) -> duckdb.DuckDBPyRelation:
        return self.con.table(table)

    def close(self) -> None:
        if not self._closed:
            self.con.close()
            self._closed = True

    def row_counts(self) -> dict[str, int]:
        """Rows per contract table (every table exists, possibly empty)."""
        counts = {}
        for table in TABLES:
            ((count,),) = self.con.execute(f"SELECT count(*) FROM {quote(table.name)}").fetchall()
            counts[table.name] = int(count)
        return counts

    def tasks(self) -> tuple[Task, ...]:
        """The tasks this export can serve: entity and event table both have rows."""
        return tasks_with_rows(self.row_counts())

    def task_gap(self, task: Task) -> str | None:
        """Why this export cannot serve ``task`` (naming its empty tables), or None if it can."""
        counts = self.row_counts()
        if task in tasks_with_rows(counts):
            return None
        tables = TASK_TABLES[task]
        empty = [t for t in (tables.entity_table, tables.events_table) if not counts[t]]
        others = [t.value for t in tasks_with_rows(counts)]
        return (
            f"the export has no rows in {' and '.join(empty)} ({self.source}); "
            f"it holds data for: {', '.join(others) or 'no task'}"
        )

    def require_task(self, task: Task) -> None:
        """Raise ``TaskNotInExport`` (one line, naming the tables) unless ``task`` can be served."""
        gap = self.task_gap(task)
        if gap is not None:
            raise TaskNotInExport(f"{task.value}: {gap}")


class TaskNotInExport(UserError):
    """A task was asked of an export that lacks its half (its entity or event table is empty)."""


def new_connection(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session settings the contract's parse rules assume."""
    con = duckdb.connect(":memory:")
    for statement in DUCKDB_SESSION_SETUP:
        con.execute(statement)
    if threads is not None:
        con.execute(f"SET threads={int(threads)}")
    return con


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def _empty_frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series([], dtype="object") for c in table.columns})


def export_from_frames(
    *,
    leads: pd.DataFrame,
    customers: pd.DataFrame,
    lead_events: pd.DataFrame,
    customer_events: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
) -> Export:
    """Build an Export from typed pandas frames (timestamps naive UTC, amounts numeric).

    Missing optional contract columns become NULL; extra columns become attributes (entity
    tables) or text columns (event tables). The frames are copied into DuckDB, so later changes
    to them do not leak in.
    """
    frames = {
        "leads": leads,
        "customers": customers,
        "accounts": accounts,
        "lead_events": lead_events,
        "customer_events": customer_events,
    }
    con = new_connection()
    attributes: dict[str, tuple[Attribute, ...]] = {}
    text_columns: dict[str, tuple[str, ...]] = {}
    for table in TABLES:
        frame = frames[table.name]
        if frame is None:
            frame = _empty_frame(table)
        extras = [c for c in frame.columns if c not in table.column_names]
        selects = []
        for column in table.columns:
            sql_type = SQL_TYPES[column.kind]
            if column.name in frame.columns:
                selects.append(f"CAST({quote(column.name)} AS {sql_type}) AS {quote(column.name)}")
            else:
                selects.append(f"CAST(NULL AS {sql_type}) AS {quote(column.name)}")
        if table.extra_columns_are == "attribute":
            attrs = []
            for name in extras:
                numeric = pd.api.types.is_numeric_dtype(frame[name]) and not (
                    pd.api.types.is_bool_dtype(frame[name])
                )
                sql_type = "DOUBLE" if numeric else "VARCHAR"
                selects.append(f"CAST({quote(name)} AS {sql_type}) AS {quote(name)}")
                attrs.append(Attribute(table=table.name, name=name, numeric=numeric))
            attributes[table.name] = tuple(attrs)
        else:
            for name in extras:
                selects.append(f"CAST({quote(name)} AS VARCHAR) AS {quote(name)}")
            text_columns[table.name] = tuple(extras)
        con.register("_frame", frame)
        con.execute(f"CREATE TABLE {quote(table.name)} AS SELECT {', '.join(selects)} FROM _frame")
        con.unregister("_frame")
    return Export(con=con, attributes=attributes, event_text_columns=text_columns)
