"""Strict validation of CRM exports: every problem at once, each with file, rows and column.

Row numbers are 1-based record numbers, header not counted (see ``docs/contract.md``).
"""

from features.contract.validation.report import Issue, Severity, ValidationReport
from features.contract.validation.sources import ProgressHook
from features.contract.validation.validator import TableLayout, validate_export

__all__ = [
    "Issue",
    "ProgressHook",
    "Severity",
    "TableLayout",
    "ValidationReport",
    "validate_export",
]
