"""Writing a converted export, and the placeholder half that today's validation still needs.

``Tables`` maps a contract table name to a frame of text columns (empty string = missing), exactly
what the CSV file will hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

Tables = dict[str, pd.DataFrame]

CONTRACT_TABLES = ("leads", "customers", "accounts", "lead_events", "customer_events")
# The name every placeholder row carries, so nobody mistakes it for the dataset's own data.
PLACEHOLDER = "placeholder-missing-half"


def write_export(tables: Tables, folder: Path) -> None:
    """Replace ``folder`` with one CSV per table in ``tables`` (other contract files removed)."""
    unknown = sorted(set(tables) - set(CONTRACT_TABLES))
    if unknown:
        raise ValueError(f"not contract tables: {', '.join(unknown)}")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def missing_half(tables: Tables) -> str | None:
    """``"leads"`` or ``"customers"`` when that half (entity table + its events) is absent."""
    for half, events in (("leads", "lead_events"), ("customers", "customer_events")):
        if half not in tables and events not in tables:
            return half
    return None


def pad_missing_half(tables: Tables, *, created_at: str) -> Tables:
    """Add a one-entity, one-event placeholder for the absent half (``--pad-missing-half``).

    Only for today's validation, which still requires both halves; the entity and its event are
    named ``PLACEHOLDER`` and ``created_at`` should be early in the data's span. Returns a new
    mapping; ``tables`` is not changed. To be removed once either half alone validates.
    """
    half = missing_half(tables)
    if half is None:
        return dict(tables)
    padded = dict(tables)
    if half == "leads":
        padded["leads"] = pd.DataFrame(
            [
                {
                    "lead_id": PLACEHOLDER,
                    "created_at": created_at,
                    "owner_id": PLACEHOLDER,
                    "converted_at": "",
                }
            ]
        )
        padded["lead_events"] = pd.DataFrame(
            [{"lead_id": PLACEHOLDER, "occurred_at": created_at, "type": PLACEHOLDER}]
        )
    else:
        padded["customers"] = pd.DataFrame(
            [{"customer_id": PLACEHOLDER, "created_at": created_at, "owner_id": PLACEHOLDER}]
        )
        padded["customer_events"] = pd.DataFrame(
            [{"customer_id": PLACEHOLDER, "occurred_at": created_at, "type": PLACEHOLDER}]
        )
    return padded
