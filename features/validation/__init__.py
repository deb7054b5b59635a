"""Strict validation of CRM exports: every problem at once, each with file, rows and column.

Row numbers are 1-based record numbers, header not counted (see ``docs/contract.md``).
"""

from features.validation.report import Issue, Severity, ValidationReport
from features.validation.sources import ProgressHook
from features.validation.validator import TableLayout, validate_export

__all__ = [
    "Issue",
    "ProgressHook",
    "Severity",
    "TableLayout",
    "ValidationReport",
    "validate_export",
]
