"""CSV for spreadsheets, with formula injection neutralised.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets; such cells get a leading apostrophe (OWASP's
advice), which the spreadsheet shows as plain text. Numbers are written as numbers, datetimes
as ``iso_utc`` text (``2026-10-01T00:00:00Z``), the API's one timestamp format, booleans as
``true`` / ``false``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from features.contract.times import iso_utc

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> object:
    """``cell`` as a spreadsheet reads it safely: formula-like text gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):  # as JSON spells it, not Python's True / False
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    return neutralise(value)


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CRLF-separated CSV text of ``header`` and ``rows`` (None is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_cell(c) for c in row])
    return buffer.getvalue()
