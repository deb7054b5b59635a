"""The registry: stable, described, unit-tagged columns; attribute selection rules."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from features.contract.tasks import Task
from features.definitions.registry import FeatureSpec, feature_specs, select_attributes
from features.definitions.wording import Wording
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary

UNITS = {"days", "count", "currency", "ratio", "category", "number"}


@pytest.mark.parametrize("task", list(Task))
def test_specs_are_unique_described_and_typed(task):
    specs = feature_specs(task, sim_vocabulary(task))
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert spec.dtype in {"numeric", "categorical"}
        assert spec.unit in UNITS
        label = spec.description.label
        assert label and label[0].isupper() and len(label) < 80
        assert (spec.dtype == "categorical") == (spec.unit == "category")


def test_lead_and_churn_registries_hold_the_documented_families():
    leads = {s.name: s for s in feature_specs("leads", sim_vocabulary("leads"))}
    churn = {s.name: s for s in feature_specs("churn", sim_vocabulary("churn"))}
    # 7 lead / 5 customer kinds: 8 features per kind (10 with values), 8 for "any event" and 8
    # for "other" types, then each task's own (churn: cadence, and 90d-vs-usual per other kind).
    assert len(leads) == 83 and len(churn) == 74
    assert leads["email_reply_count_7d"] == FeatureSpec(
        "email_reply_count_7d",
        "numeric",
        Wording.of(
            "Email replies in the last 7 days",
            {
                "=0": "No replies to emails in the last 7 days",
                "=1": "Replied to 1 email in the last 7 days",
                "other": "Replied to {value} emails in the last 7 days",
            },
        ),
        "activity",
        "count",
    )
    assert churn["days_since_last_purchase"].description == Wording.of(
        "Days since the last order",
        {
            "missing": "Never ordered",
            "=0": "Ordered less than a day ago",
            "other": "No order for {value}",
        },
    )
    assert churn["median_days_between_purchases"].unit == "days"
    assert leads["last_touch_channel"].dtype == "categorical"
    assert {s.family for s in churn.values()} == {
        "activity",
        "recency",
        "trend",
        "tenure",
        "cadence",
        "engagement",
        "attribute",
    }


def test_column_set_does_not_depend_on_the_data():
    empty = make_export(Task.CHURN, [], [])
    assert feature_specs("churn", sim_vocabulary("churn"), empty) == feature_specs(
        "churn", sim_vocabulary("churn")
    )


def test_attributes_are_selected_from_entities_and_accounts():
    customers = [
        {
            "customer_id": f"c{i}",
            "created_at": datetime(2024, 1, 1),
            "owner_id": "o1",
            "account_id": f"a{i % 2}",
            "plan": ["basic", "pro"][i % 2],  # categorical
            "seats": float(i),  # numeric, many distinct values: fine
            "crm_ref": f"ref-{i}",  # text, all distinct: ID-like, never a feature
            "partner_id": "p1",  # *_id: never a feature
            "channel_score": 1.0,
        }
        for i in range(10)
    ]
    accounts = pd.DataFrame(
        {"account_id": ["a0", "a1"], "industry": ["retail", "energy"], "plan": ["x", "y"]}
    )
    export = make_export(Task.CHURN, customers, [], accounts=accounts)
    attributes = [
        s
        for s in feature_specs("churn", sim_vocabulary("churn"), export)
        if s.family == "attribute"
    ]
    assert [(s.name, s.dtype, s.unit) for s in attributes] == [
        ("annual_value", "numeric", "currency"),
        ("plan", "categorical", "category"),
        ("seats", "numeric", "number"),
        ("channel_score", "numeric", "number"),
        ("industry", "categorical", "category"),
    ]
    assert attributes[-1].description == Wording.of(
        "Industry (account attribute)",
        {"missing": "Account industry not known", "other": "Account industry: {value}"},
    )
    assert attributes[1].description.label == "Plan (customer attribute)"
    assert attributes[1].description.case("missing") == "Plan not known"
    # Every attribute left out is listed with why (what `salesradar train` prints).
    _, unused = select_attributes(Task.CHURN, export, sim_vocabulary("churn"))
    assert unused == [
        ("customers.crm_ref", "ID-like: named *_id, or most values distinct"),
        ("customers.partner_id", "ID-like: named *_id, or most values distinct"),
        ("accounts.plan", "its name is already a feature or an earlier attribute"),
    ]


def test_attributes_named_like_training_columns_are_reported_as_reserved():
    leads = [
        {
            "lead_id": f"L{i}",
            "created_at": datetime(2024, 1, 1),
            "owner_id": "o1",
            "label": ["hot", "cold"][i % 2],
            "value": float(i % 3),
            "cutoff": ["q1", "q2"][i % 2],
            "btyd_p_alive": float(i % 4),
            "industry": ["retail", "energy"][i % 2],
        }
        for i in range(10)
    ]
    export = make_export(Task.LEADS, leads, [])
    specs, unused = select_attributes(Task.LEADS, export, sim_vocabulary(Task.LEADS))
    assert [s.name for s in specs] == ["industry"]
    reserved = "is a reserved column name (cutoff, entity_id, label, owner_id, value); rename "
    assert unused == [
        ("leads.label", f"'label' {reserved}the column to use it as a feature"),
        ("leads.value", f"'value' {reserved}the column to use it as a feature"),
        ("leads.cutoff", f"'cutoff' {reserved}the column to use it as a feature"),
        (
            "leads.btyd_p_alive",
            "names starting with 'btyd_' are reserved for the BG/NBD features; rename the "
            "column to use it as a feature",
        ),
    ]
