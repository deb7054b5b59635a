"""The same event in two notations is one event: one instant, one number, counted once.

``2024-02-01T10:00:00Z`` and ``2024-02-01 12:00:00+02:00`` are the same instant; ``1200`` and
``1200.00`` the same value. Both load to the same naive-UTC row (CSV text and zoned Parquet
timestamps alike), so exact duplicates are dropped in batch features and online.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.compute.online import OnlineEntity, online_feature_frame
from features.compute.snapshots import build_scoring_table
from features.contract.loading import load_export
from features.contract.tasks import Task
from features.contract.validation import validate_export
from features.definitions.registry import feature_specs
from tests.features.exportkit import AS_OF, valid_tables, write_export
from tests.features.vocabkit import sim_vocabulary

INSTANT = datetime(2024, 2, 1, 10)
ORDER = {"customer_id": "C1", "type": "order"}
TWICE = [
    {**ORDER, "occurred_at": "2024-02-01T10:00:00Z", "value": "1200"},
    {**ORDER, "occurred_at": "2024-02-01 12:00:00+02:00", "value": "1200.00"},
]


def _write(tmp_path: Path, name: str, events: list[dict[str, str]]) -> Path:
    tables = valid_tables()
    tables["customer_events"] = [e for e in tables["customer_events"] if e["customer_id"] != "C1"]
    tables["customer_events"] += events
    return write_export(tmp_path / name, tables)


def _features(path: Path) -> tuple[pd.DataFrame, list[tuple[object, ...]]]:
    export = load_export(path, as_of=AS_OF)
    try:
        rows = export.con.execute(
            "SELECT occurred_at, value FROM customer_events "
            "WHERE customer_id = 'C1' AND type = 'order'"
        ).fetchall()
        table = build_scoring_table(
            export, task=Task.CHURN, as_of=AS_OF, vocabulary=sim_vocabulary(Task.CHURN)
        )
    finally:
        export.close()
    return table, rows


def test_two_notations_load_to_one_row_and_count_once_in_batch(tmp_path: Path) -> None:
    both, rows = _features(_write(tmp_path, "both", TWICE))
    once, _ = _features(_write(tmp_path, "once", TWICE[:1]))

    assert rows == [(INSTANT, 1200.0), (INSTANT, 1200.0)]
    pd.testing.assert_frame_equal(both, once)


def test_zoned_parquet_timestamps_load_as_naive_utc(tmp_path: Path) -> None:
    path = _write(tmp_path, "parquet", TWICE[:1])
    (path / "customer_events.csv").unlink()
    events = pa.table(
        {
            "customer_id": ["C1", "C1", "C2"],
            "occurred_at": pa.array(
                [
                    pd.Timestamp("2024-02-01 12:00:00+02:00"),
                    pd.Timestamp("2024-02-01 05:00:00-05:00"),
                    pd.Timestamp("2024-03-01 00:00:00+00:00"),
                ],
                pa.timestamp("us", tz="Europe/Berlin"),
            ),
            "type": ["order", "order", "order"],
            "value": pa.array([1200, 1200, 500], pa.decimal128(10, 2)),
        }
    )
    pq.write_table(events, path / "customer_events.parquet")

    table, rows = _features(path)
    once, _ = _features(_write(tmp_path, "once", TWICE[:1]))

    assert rows == [(INSTANT, 1200.0), (INSTANT, 1200.0)]
    pd.testing.assert_frame_equal(table, once)


def test_online_drops_the_same_event_in_two_notations() -> None:
    specs = feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN))
    record = {"created_at": datetime(2023, 6, 1), "annual_value": 12000.0}
    twice = [
        {"occurred_at": "2024-02-01T10:00:00Z", "type": "order", "value": 1200},
        {"occurred_at": "2024-02-01 12:00:00+02:00", "type": "order", "value": 1200.0},
    ]
    frame = online_feature_frame(
        Task.CHURN,
        [OnlineEntity("both", record, twice), OnlineEntity("once", record, twice[:1])],
        as_of=AS_OF,
        specs=specs,
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    pd.testing.assert_series_equal(frame.loc["both"].rename(None), frame.loc["once"].rename(None))


def test_rows_differing_only_in_unparsable_timestamps_are_not_duplicates(tmp_path: Path) -> None:
    tables = valid_tables()
    order = {"customer_id": "C1", "type": "order", "value": "1200"}
    tables["customer_events"] = [
        {**order, "occurred_at": "01.02.2024"},
        {**order, "occurred_at": "15.03.2024"},
        {**order, "occurred_at": "15.03.2024"},  # written the same: a duplicate indeed
        {**tables["customer_events"][1]},
    ]
    report = validate_export(write_export(tmp_path, tables), as_of=AS_OF)

    assert [(i.code, i.rows, i.count) for i in report.issues] == [
        ("unparsable_timestamp", (1, 2, 3), 3),
        ("duplicate_events", (3,), 1),
    ]
