"""An event exactly at a cutoff counts in exactly one place: the label window [t, t + H).

Date-only exports put every event at 00:00, which is where the default cutoffs fall, so this is
the common case, not a corner. Features (batch and online) read events strictly before t; labels
read [t, t + H); consecutive cutoffs H apart therefore partition time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from features.compute.online import OnlineEntity, online_feature_frame
from features.compute.snapshots import build_scoring_table, build_training_set
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary

T = datetime(2024, 4, 1)  # 00:00, where a monthly cutoff falls
H = timedelta(days=30)
CREATED = datetime(2023, 1, 1)


def _customer(customer_id: str) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "created_at": CREATED,
        "owner_id": "o1",
        "churned_at": None,
        "annual_value": 100.0,
    }


def _order(customer_id: str, when: datetime, value: float = 50.0) -> dict[str, object]:
    return {"customer_id": customer_id, "occurred_at": when, "type": "order", "value": value}


# "at_cutoff" orders exactly at T; "without" is the same customer without that order.
CUSTOMERS = [_customer("at_cutoff"), _customer("without")]
EVENTS = [
    _order("at_cutoff", T - H - timedelta(days=20)),
    _order("at_cutoff", T - timedelta(days=45)),
    _order("at_cutoff", T),
    _order("without", T - H - timedelta(days=20)),
    _order("without", T - timedelta(days=45)),
]


def _features(frame: pd.DataFrame, entity_id: str, names: list[str]) -> pd.Series:
    row = frame.loc[frame["entity_id"] == entity_id, names]
    assert len(row) == 1
    return row.iloc[0].rename(None)


def test_an_order_at_the_cutoff_is_in_the_label_window_and_not_in_the_features() -> None:
    export = make_export(Task.CHURN, CUSTOMERS, EVENTS)
    training = build_training_set(
        export,
        task=Task.CHURN,
        cutoffs=[T - H, T],
        horizon=H,
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    frame, names = training.frame, training.feature_names
    labels = {(row.entity_id, row.cutoff.to_pydatetime()): row.label for row in frame.itertuples()}
    # At T - H: the order at T is outside [T - H, T), so it does not rescue that window.
    assert labels[("at_cutoff", T - H)] == 1
    assert labels[("without", T - H)] == 1
    # At T: it is inside [T, T + H) (label 0) ...
    assert labels[("at_cutoff", T)] == 0
    assert labels[("without", T)] == 1
    # ... and not in the features as of T: both customers have the same feature row.
    at_t = frame[frame["cutoff"] == T]
    pd.testing.assert_series_equal(
        _features(at_t, "at_cutoff", names), _features(at_t, "without", names)
    )
    # One microsecond later it is history: the rows differ.
    later = build_scoring_table(
        export,
        task=Task.CHURN,
        as_of=T + timedelta(microseconds=1),
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    assert not _features(later, "at_cutoff", names).equals(_features(later, "without", names))


def test_online_features_ignore_an_event_at_as_of_like_batch() -> None:
    export = make_export(Task.CHURN, CUSTOMERS, EVENTS)
    specs = feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN), export)
    names = [s.name for s in specs]
    batch = build_scoring_table(
        export, task=Task.CHURN, as_of=T, specs=specs, vocabulary=sim_vocabulary(Task.CHURN)
    )
    record = {"created_at": CREATED, "annual_value": 100.0}
    entities = [
        OnlineEntity(
            customer_id,
            record,
            [
                {k: v for k, v in e.items() if k != "customer_id"}
                for e in EVENTS
                if e["customer_id"] == customer_id
            ],
        )
        for customer_id in ("at_cutoff", "without")
    ]
    online = online_feature_frame(
        Task.CHURN, entities, as_of=T, specs=specs, vocabulary=sim_vocabulary(Task.CHURN)
    )
    for customer_id in ("at_cutoff", "without"):
        pd.testing.assert_series_equal(
            online.loc[customer_id, names].rename(None).astype(object),
            _features(batch, customer_id, names).astype(object),
        )
    pd.testing.assert_series_equal(
        online.loc["at_cutoff"].rename(None), online.loc["without"].rename(None)
    )


def test_a_conversion_at_the_cutoff_labels_that_cutoff_only() -> None:
    lead = {
        "lead_id": "converts_at_t",
        "created_at": datetime(2024, 1, 1),
        "owner_id": "o1",
        "converted_at": T,
        "closed_lost_at": None,
        "expected_value": 10.0,
    }
    export = make_export(Task.LEADS, [lead], [])
    frame = build_training_set(
        export,
        task=Task.LEADS,
        cutoffs=[T - H, T, T + H],
        horizon=H,
        vocabulary=sim_vocabulary(Task.LEADS),
    ).frame
    got = [
        (c.to_pydatetime(), label) for c, label in zip(frame["cutoff"], frame["label"], strict=True)
    ]
    # Counted once: not in [T - H, T), in [T, T + H), and no longer open at T + H.
    assert got == [(T - H, 0), (T, 1)]
