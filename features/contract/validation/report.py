"""Validation issues and the report that collects them.

Row numbers are 1-based record numbers that do not count the header: the first data record of a
file is row 1, whatever physical lines quoted newlines make it span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from features.contract.tasks import Task
    from features.contract.validation.halves import TaskCoverage
    from features.contract.validation.validator import TableLayout

# How many row numbers an issue that hits many rows names; the count covers the rest.
MAX_ROWS_SHOWN = 10


class Severity(StrEnum):
    ERROR = "error"  # the export cannot be loaded
    WARNING = "warning"  # loadable, but probably not what the sender meant


@dataclass(frozen=True)
class Issue:
    """One problem, possibly hitting many rows of one column of one file.

    ``rows`` holds the first ``MAX_ROWS_SHOWN`` affected row numbers (1-based records, header not
    counted); ``count`` is how many rows are affected in all (0 for file- or column-level issues).
    """

    severity: Severity
    code: str
    file: str
    column: str | None
    message: str
    rows: tuple[int, ...] = ()
    count: int = 0

    def __str__(self) -> str:
        where = [self.file or "<export>"]
        if self.rows:
            label = "row" if len(self.rows) == 1 else "rows"
            shown = ", ".join(str(r) for r in self.rows)
            more = f" ({self.count:,} rows in all)" if self.count > len(self.rows) else ""
            where.append(f"{label} {shown}{more}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """Every problem of one export, checked as of ``as_of`` (naive UTC)."""

    path: Path
    as_of: datetime
    issues: tuple[Issue, ...]
    row_counts: Mapping[str, int] = field(default_factory=dict)
    # What loading needs: each table's file, column families and attribute kinds.
    tables: Mapping[str, TableLayout] = field(default_factory=dict, repr=False)
    # Per task: can the export serve it (its entity and event tables both have rows)?
    coverage: tuple[TaskCoverage, ...] = ()

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this export can serve, in ``Task`` order."""
        return tuple(c.task for c in self.coverage if c.available)

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Pending:
    severity: Severity
    message: str
    rows: list[int] = field(default_factory=list)
    count: int = 0


class IssueCollector:
    """Merges the per-batch findings of one check into a single issue with a total row count.

    Findings are keyed by (code, file, column); the first message seen for a key is kept, so
    a message that quotes an example value quotes the earliest one.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, str | None], _Pending] = {}

    def add(
        self,
        severity: Severity,
        code: str,
        *,
        file: str,
        column: str | None,
        message: str,
        rows: Iterable[int] = (),
        count: int = 0,
    ) -> None:
        key = (code, file, column)
        pending = self._pending.setdefault(key, _Pending(severity, message))
        pending.rows.extend(rows)
        pending.count += count

    def merge(self, other: IssueCollector) -> None:
        """Fold another collector's findings into this one."""
        for (code, file, column), p in other._pending.items():
            self.add(
                p.severity,
                code,
                file=file,
                column=column,
                message=p.message,
                rows=p.rows,
                count=p.count,
            )

    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self._pending.values())

    def issues(self) -> tuple[Issue, ...]:
        """The merged issues, errors first, in the order the checks found them."""
        merged = [
            Issue(
                severity=p.severity,
                code=code,
                file=file,
                column=column,
                message=p.message,
                rows=tuple(sorted(p.rows)[:MAX_ROWS_SHOWN]),
                count=p.count,
            )
            for (code, file, column), p in self._pending.items()
        ]
        return tuple(sorted(merged, key=lambda i: i.severity is not Severity.ERROR))
