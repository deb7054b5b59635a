"""Eligibility and labels at the edges, cutoffs, and the shape of training and scoring frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from features.compute.snapshots import (
    CutoffSpacing,
    build_scoring_table,
    build_training_set,
    default_cutoffs,
)
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.vocabulary import Vocabulary
from tests.features.test_features_support import make_export
from tests.features.vocabkit import SIM_TYPES, sim_vocabulary

T = datetime(2024, 4, 1)
H = timedelta(days=90)
US = timedelta(microseconds=1)


def _lead(lead_id, *, created=datetime(2024, 1, 1), converted=None, lost=None):
    return {
        "lead_id": lead_id,
        "created_at": created,
        "owner_id": "o1",
        "converted_at": converted,
        "closed_lost_at": lost,
        "expected_value": 10.0,
    }


def _labels(task, entities, events, cutoffs=(T,), vocabulary=None):
    export = make_export(task, entities, events)
    frame = build_training_set(
        export,
        task=task,
        cutoffs=list(cutoffs),
        horizon=H,
        vocabulary=vocabulary or sim_vocabulary(task),
    ).frame
    return dict(zip(frame["entity_id"], frame["label"], strict=True))


def test_lead_labels_at_the_edges():
    leads = [
        _lead("converted_at_cutoff", converted=T),  # [t, t+H) includes t: eligible, converts
        _lead("converted_at_horizon_end", converted=T + H),  # ... and excludes t+H
        _lead("converted_just_after_horizon", converted=T + H + US),
        _lead("converted_just_after_cutoff", converted=T + US),
        _lead("lost_before_cutoff", lost=T - timedelta(days=1)),
        _lead("lost_at_cutoff", lost=T),
        _lead("lost_after_cutoff", lost=T + timedelta(days=1)),
        _lead("created_at_cutoff", created=T),
        _lead("created_after_cutoff", created=T + US),
        _lead("open"),
    ]
    assert _labels(Task.LEADS, leads, []) == {
        "converted_at_cutoff": 1,
        "converted_at_horizon_end": 0,
        "converted_just_after_horizon": 0,
        "converted_just_after_cutoff": 1,
        "lost_at_cutoff": 0,
        "lost_after_cutoff": 0,
        "created_at_cutoff": 0,
        "open": 0,
    }


def _customer(customer_id, *, created=datetime(2023, 1, 1), churned=None):
    return {
        "customer_id": customer_id,
        "created_at": created,
        "owner_id": "o1",
        "churned_at": churned,
        "annual_value": 100.0,
    }


def _order(customer_id, when, type_="order"):
    return {"customer_id": customer_id, "occurred_at": when, "type": type_, "value": 1.0}


def test_churn_labels_at_the_edges():
    customers = [
        _customer("single_order_then_silent"),
        _customer("orders_again"),
        _customer("orders_exactly_at_horizon_end"),
        _customer("orders_just_after_horizon"),
        _customer("churns_inside_window_despite_orders", churned=T + timedelta(days=10)),
        _customer("churns_after_window", churned=T + H + US),
        _customer("churned_at_cutoff", churned=T),
        _customer("no_order_before_cutoff"),
        _customer("order_exactly_at_cutoff_only"),
        _customer("created_after_cutoff", created=T + US),
        _customer("only_check_ins"),
    ]
    before = T - timedelta(days=20)
    events = [
        _order("single_order_then_silent", before),
        _order("orders_again", before),
        _order("orders_again", T + timedelta(days=30)),
        _order("orders_exactly_at_horizon_end", before),
        _order("orders_exactly_at_horizon_end", T + H),
        _order("orders_just_after_horizon", before),
        _order("orders_just_after_horizon", T + H + US),
        _order("churns_inside_window_despite_orders", before),
        _order("churns_inside_window_despite_orders", T + timedelta(days=5)),
        _order("churns_after_window", before),
        _order("churns_after_window", T + timedelta(days=5)),
        _order("churned_at_cutoff", before),
        _order("no_order_before_cutoff", T + timedelta(days=5)),
        _order("order_exactly_at_cutoff_only", T),
        _order("created_after_cutoff", T + timedelta(days=1)),
        _order("only_check_ins", before, "check_in"),
        _order("only_check_ins", T + timedelta(days=3), "check_in"),
    ]
    assert _labels(Task.CHURN, customers, events) == {
        "single_order_then_silent": 1,
        "orders_again": 0,
        "orders_exactly_at_horizon_end": 1,  # t + H is outside [t, t + H)
        "orders_just_after_horizon": 1,
        "churns_inside_window_despite_orders": 1,
        "churns_after_window": 0,
        "churned_at_cutoff": 1,  # leaving at t is in [t, t + H)
    }
    # Activity types are configurable: check-ins make "only_check_ins" eligible and active.
    pooled = Vocabulary.of_types(
        Task.CHURN, SIM_TYPES[Task.CHURN], activity_types=("order", "check_in")
    )
    with_check_ins = _labels(Task.CHURN, customers, events, vocabulary=pooled)
    assert with_check_ins["only_check_ins"] == 0


def test_training_frame_shape_order_and_dtypes():
    leads = [_lead("b"), _lead("a", converted=T + timedelta(days=40))]
    export = make_export(Task.LEADS, leads, [])
    cutoffs = [T, T - timedelta(days=31)]  # given out of order
    training = build_training_set(
        export, task=Task.LEADS, cutoffs=cutoffs, horizon=H, vocabulary=sim_vocabulary(Task.LEADS)
    )
    frame = training.frame
    names = [s.name for s in feature_specs(Task.LEADS, sim_vocabulary(Task.LEADS), export)]
    assert training.feature_names == names
    assert list(frame.columns) == ["entity_id", "cutoff", "label", "value", "owner_id", *names]
    assert frame[["entity_id", "cutoff", "label"]].values.tolist() == [
        ["a", datetime(2024, 3, 1), 1],  # converts 71 days later: inside the horizon
        ["b", datetime(2024, 3, 1), 0],
        ["a", T, 1],
        ["b", T, 0],
    ]
    assert str(frame["label"].dtype) == "int64" and str(frame["value"].dtype) == "float64"


def test_scoring_table_holds_every_entity_eligible_at_as_of():
    leads = [_lead("open"), _lead("won", converted=T - US), _lead("future", created=T + US)]
    export = make_export(Task.LEADS, leads, [])
    table = build_scoring_table(
        export, task=Task.LEADS, as_of=T, vocabulary=sim_vocabulary(Task.LEADS)
    )
    assert table["entity_id"].tolist() == ["open"]
    assert list(table.columns[:3]) == ["entity_id", "owner_id", "value"]
    assert table["lead_age_days"].tolist() == [91.0]


def test_tz_aware_as_of_is_converted_to_utc():
    export = make_export(Task.LEADS, [_lead("open")], [])
    plus_two = timezone(timedelta(hours=2))
    table = build_scoring_table(
        export,
        task=Task.LEADS,
        as_of=datetime(2024, 4, 1, 2, tzinfo=plus_two),
        vocabulary=sim_vocabulary(Task.LEADS),
    )
    assert table["lead_age_days"].tolist() == [91.0]
    assert default_cutoffs(export, task=Task.LEADS, horizon=H, as_of=T.replace(tzinfo=UTC))


def test_default_cutoffs_are_monthly_with_complete_label_windows():
    export = make_export(Task.LEADS, [_lead("x", created=datetime(2024, 1, 15, 8))], [])
    cutoffs = default_cutoffs(export, task=Task.LEADS, horizon=H, as_of=datetime(2024, 7, 30))
    # 2024-05-01 + 90 days = 2024-07-30, exactly at as_of: its window is complete.
    assert cutoffs == [
        datetime(2024, 2, 1),
        datetime(2024, 3, 1),
        datetime(2024, 4, 1),
        datetime(2024, 5, 1),
    ]
    assert default_cutoffs(export, task=Task.CHURN, horizon=H, as_of=T) == []


def test_horizon_must_be_positive():
    export = make_export(Task.LEADS, [_lead("x")], [])
    with pytest.raises(ValueError, match="horizon must be positive"):
        build_training_set(
            export,
            task=Task.LEADS,
            cutoffs=[T],
            horizon=timedelta(0),
            vocabulary=sim_vocabulary(Task.LEADS),
        )


def test_default_cutoffs_every_n_days_or_months():
    export = make_export(Task.LEADS, [_lead("x", created=datetime(2024, 1, 15, 8))], [])
    weekly = default_cutoffs(
        export, task=Task.LEADS, horizon=H, as_of=datetime(2024, 5, 1), every=CutoffSpacing(7, "d")
    )
    # The first midnight at or after the first creation, then every 7 days; 2024-01-30 + 90 days
    # = 2024-04-29 <= 2024-05-01, 2024-02-06 + 90 days = 2024-05-06 is later.
    assert weekly == [datetime(2024, 1, 16), datetime(2024, 1, 23), datetime(2024, 1, 30)]
    two_monthly = default_cutoffs(
        export, task=Task.LEADS, horizon=H, as_of=datetime(2025, 1, 1), every=CutoffSpacing(2, "m")
    )
    assert two_monthly == [datetime(2024, m, 1) for m in (2, 4, 6, 8, 10)]
    assert str(CutoffSpacing(14, "d")) == "14d"
    with pytest.raises(ValueError, match="positive count"):
        CutoffSpacing(0, "d")
