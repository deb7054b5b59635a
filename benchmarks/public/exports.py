"""Writing a converted export: one CSV per contract table the dataset has (one half or both).

``Tables`` maps a contract table name to a frame of text columns (empty string = missing), exactly
what the CSV file will hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

Tables = dict[str, pd.DataFrame]

CONTRACT_TABLES = ("leads", "customers", "accounts", "lead_events", "customer_events")


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
