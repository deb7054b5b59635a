"""Test helpers: tiny exports from handwritten rows, and batch/online frame comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from features.compute.online import OnlineEntity
from features.contract.export import Export, export_from_frames
from features.contract.tasks import TASK_TABLES, Task

TEXT_COLUMNS = ("channel", "direction", "outcome")


def make_export(
    task: Task,
    entities: Sequence[Mapping[str, object]],
    events: Sequence[Mapping[str, object]],
    accounts: pd.DataFrame | None = None,
) -> Export:
    """An export with the task's entity and event tables from rows; the other task's are empty."""
    tables = TASK_TABLES[task]
    entity_frame = pd.DataFrame(list(entities)) if entities else pd.DataFrame({tables.key: []})
    event_columns = [tables.key, "occurred_at", "type", "value", *TEXT_COLUMNS]
    event_frame = pd.DataFrame(list(events), columns=event_columns)
    event_frame["occurred_at"] = pd.to_datetime(event_frame["occurred_at"]).astype("datetime64[us]")
    event_frame["value"] = event_frame["value"].astype("float64")
    for column in (tables.key, "type", *TEXT_COLUMNS):
        event_frame[column] = event_frame[column].astype(object)
    empty_leads = pd.DataFrame(
        {"lead_id": [], "created_at": pd.to_datetime([]), "owner_id": [], "converted_at": []}
    )
    empty_customers = pd.DataFrame(
        {"customer_id": [], "created_at": pd.to_datetime([]), "owner_id": []}
    )
    empty_events = pd.DataFrame({"occurred_at": pd.to_datetime([]), "type": []})
    frames = {
        "leads": empty_leads,
        "customers": empty_customers,
        "lead_events": empty_events.assign(lead_id=[]),
        "customer_events": empty_events.assign(customer_id=[]),
    }
    frames[tables.entity_table] = entity_frame
    frames[tables.events_table] = event_frame
    return export_from_frames(accounts=accounts, **frames)


def online_entities(
    task: Task,
    entities: Sequence[Mapping[str, object]],
    events: Sequence[Mapping[str, object]],
) -> list[OnlineEntity]:
    """The same rows as OnlineEntity requests (events without the key column)."""
    key = TASK_TABLES[task].key
    out = []
    for entity in entities:
        own = [
            {k: v for k, v in e.items() if k != key and not _missing(v)}
            for e in events
            if e[key] == entity[key]
        ]
        record = {k: v for k, v in entity.items() if k != key}
        out.append(OnlineEntity(str(entity[key]), record, own))
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def assert_frames_match(batch: pd.DataFrame, online: pd.DataFrame, names: Sequence[str]) -> None:
    """Same dtypes; numbers equal within 1e-9 (NaN == NaN); categories exactly equal."""
    assert [c for c in online.columns if c in names] == list(names)
    for name in names:
        assert batch[name].dtype == online[name].dtype, name
        left, right = batch[name].to_numpy(), online[name].to_numpy()
        if batch[name].dtype == np.float64:
            same = np.isclose(left, right, rtol=1e-9, atol=1e-9, equal_nan=True)
            assert same.all(), (name, left[~same], right[~same])
        else:
            assert list(left) == list(right), name


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
