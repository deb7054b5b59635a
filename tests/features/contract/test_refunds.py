"""Refunds, negative and zero order values: valid, and every feature stays finite.

The contract (docs/contract.md, "Refunds") accepts a refund as a negative ``value`` on the
purchase type or as an event type of its own; an event's value may be zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.compute.online import OnlineEntity, online_feature_frame
from features.compute.snapshots import build_scoring_table
from features.contract.loading import load_export
from features.contract.tasks import Task
from features.contract.validation import validate_export
from features.definitions.registry import FeatureSpec, feature_specs
from tests.features.exportkit import AS_OF, valid_tables, write_export
from tests.features.vocabkit import sim_vocabulary

# C1: 1,200 ordered, 300 refunded as a negative order, one zero-value order: net 900.
# C3: 500 ordered and refunded in full (a "refund" event of its own type too): net 0.
EVENTS = [
    ("C1", 3, "order", "1200"),
    ("C1", 2, "order", "-300"),
    ("C1", 1, "order", "0"),
    ("C3", 3, "order", "500.00"),
    ("C3", 2, "order", "-500"),
    ("C3", 1, "refund", "500"),
]
NET = {"C1": 900.0, "C3": 0.0}


def _export_with_refunds(tmp_path: Path) -> Path:
    tables = valid_tables()
    tables["customers"].append({**tables["customers"][0], "customer_id": "C3"})
    tables["customer_events"] = [
        {
            "customer_id": customer,
            "occurred_at": (AS_OF - timedelta(days=days)).isoformat(),
            "type": kind,
            "value": value,
        }
        for customer, days, kind, value in EVENTS
    ]
    return write_export(tmp_path, tables)


def _value_sums(specs: list[FeatureSpec]) -> list[str]:
    # Engineered money features: value sums per window and the value trend (no attribute).
    return [s.name for s in specs if s.unit == "currency" and s.family != "attribute"]


def test_refunds_validate_and_every_feature_is_finite(tmp_path: Path) -> None:
    path = _export_with_refunds(tmp_path)
    report = validate_export(path, as_of=AS_OF)
    assert report.errors == ()
    assert [i.code for i in report.warnings] == ["no_events"]  # C2 has no events here
    export = load_export(path, as_of=AS_OF)
    try:
        table = build_scoring_table(
            export, task=Task.CHURN, as_of=AS_OF, vocabulary=sim_vocabulary(Task.CHURN)
        )
        specs = feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN), export)
    finally:
        export.close()
    numeric = table[[s.name for s in specs if s.dtype == "numeric"]].to_numpy(dtype=float)
    assert not np.isinf(numeric).any()
    counts = [s.name for s in specs if s.unit == "count"]
    assert not table[counts].isna().any().any()  # counts are always defined
    money = _value_sums(specs)
    assert money  # the churn task has value features
    for customer, net in NET.items():
        row = table.set_index("entity_id").loc[customer, money]
        # Every event is in the last 3 days, so every window's sum (and the 90-day trend, from
        # nothing before) is the net amount; a value average would be net / 3.
        assert set(row.astype(float)) <= {net, net / 3}, row.to_dict()
        assert net in set(row.astype(float))


def test_online_features_take_refunds_like_batch(tmp_path: Path) -> None:
    export = load_export(_export_with_refunds(tmp_path), as_of=AS_OF)
    try:
        batch = build_scoring_table(
            export, task=Task.CHURN, as_of=AS_OF, vocabulary=sim_vocabulary(Task.CHURN)
        )
        specs = feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN), export)
    finally:
        export.close()
    names = [s.name for s in specs]
    entities = [
        OnlineEntity(
            customer,
            {"created_at": datetime(2023, 6, 1), "annual_value": 12000.0, "plan": "gold"},
            [
                {"occurred_at": AS_OF - timedelta(days=d), "type": k, "value": float(v)}
                for c, d, k, v in EVENTS
                if c == customer
            ],
        )
        for customer in NET
    ]
    online = online_feature_frame(
        Task.CHURN, entities, as_of=AS_OF, specs=specs, vocabulary=sim_vocabulary(Task.CHURN)
    )
    expected = batch.set_index("entity_id").loc[list(NET), names]
    pd.testing.assert_frame_equal(
        online[names].astype(object),
        expected.astype(object),
        check_names=False,
        check_index_type=False,
    )
