"""Build tiny CRM exports in a test's tmp_path: a valid one, then break it one way at a time.

Tables are lists of rows (dicts of text, exactly what the CSV holds); row ``i`` of a list is
record ``i + 1`` of the file, the numbering validation reports.
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import duckdb

AS_OF = datetime(2024, 6, 1)

Rows = list[dict[str, str]]

_VALID: dict[str, Rows] = {
    "accounts": [
        {"account_id": "A1", "region": "north"},
        {"account_id": "A2", "region": "south"},
    ],
    "leads": [
        {
            "lead_id": "L001",
            "created_at": "2024-01-01T09:00:00",
            "owner_id": "o1",
            "account_id": "A1",
            "converted_at": "",
            "closed_lost_at": "",
            "expected_value": "1000",
            "industry": "retail",
            "employees": "10",
        },
        {
            "lead_id": "L002",
            "created_at": "2024-01-02",
            "owner_id": "o2",
            "account_id": "A2",
            "converted_at": "2024-02-01",
            "closed_lost_at": "",
            "expected_value": "2500.5",
            "industry": "software",
            "employees": "250",
        },
        {
            "lead_id": "L003",
            "created_at": "2024-01-03 08:30:00+02:00",
            "owner_id": "o1",
            "account_id": "",
            "converted_at": "",
            "closed_lost_at": "2024-03-01",
            "expected_value": "",
            "industry": "retail",
            "employees": "40",
        },
    ],
    "customers": [
        {
            "customer_id": "C1",
            "created_at": "2023-06-01",
            "owner_id": "o1",
            "account_id": "A1",
            "churned_at": "",
            "annual_value": "12000",
            "plan": "gold",
        },
        {
            "customer_id": "C2",
            "created_at": "2023-07-01",
            "owner_id": "o2",
            "account_id": "A2",
            "churned_at": "2024-04-01",
            "annual_value": "5000",
            "plan": "silver",
        },
    ],
    "lead_events": [
        {
            "lead_id": "L001",
            "occurred_at": "2024-01-05",
            "type": "call",
            "value": "",
            "channel": "phone",
        },
        {
            "lead_id": "L002",
            "occurred_at": "2024-01-06",
            "type": "demo",
            "value": "",
            "channel": "video",
        },
        {
            "lead_id": "L003",
            "occurred_at": "2024-01-07",
            "type": "email",
            "value": "",
            "channel": "email",
        },
    ],
    "customer_events": [
        {"customer_id": "C1", "occurred_at": "2024-02-01", "type": "order", "value": "1200"},
        {"customer_id": "C2", "occurred_at": "2024-03-01", "type": "order", "value": "500"},
        {"customer_id": "C1", "occurred_at": "2024-03-15", "type": "ticket", "value": ""},
    ],
}


def valid_tables() -> dict[str, Rows]:
    """A fresh copy of the valid export: every contract table, no errors, no warnings."""
    return copy.deepcopy(_VALID)


def _field(value: str) -> str:
    # Python's csv module leaves a bare "\r" unquoted with "\n" line ends; RFC 4180 quotes it.
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(rows: Rows, columns: list[str] | None = None) -> str:
    """RFC 4180 CSV (quotes only where needed, LF line ends) of ``rows``."""
    columns = columns if columns is not None else list(rows[0])
    lines = [",".join(_field(c) for c in columns)]
    lines += [",".join(_field(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write_export(directory: Path, tables: dict[str, Rows], **columns: list[str]) -> Path:
    """Write each table as ``<name>.csv``; ``columns`` sets a table's header (e.g. when empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        (directory / f"{name}.csv").write_text(csv_text(rows, columns.get(name)), encoding="utf-8")
    return directory


def write_valid_export(directory: Path) -> Path:
    return write_export(directory, valid_tables())


def write_parquet_copy(con: duckdb.DuckDBPyConnection, directory: Path) -> Path:
    """Write every table of a loaded export's connection as typed Parquet into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("accounts", "leads", "customers", "lead_events", "customer_events"):
        con.execute(f"COPY {name} TO '{directory / name}.parquet' (FORMAT parquet)")
    return directory
