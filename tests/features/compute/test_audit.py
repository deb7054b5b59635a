"""The leakage audit catches planted post-outcome attributes and leaves honest ones alone."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features.compute.audit import LeakageFinding, audit_leakage
from features.compute.snapshots import TrainingSet, build_training_set
from features.contract.tasks import Task
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary

CUTOFF = datetime(2024, 2, 1)


def _leads_with_planted_leak() -> list[dict[str, object]]:
    leads = []
    for i in range(40):
        converted = i % 2 == 0
        leads.append(
            {
                "lead_id": f"L{i:02d}",
                "created_at": datetime(2024, 1, 1),
                "owner_id": "o1",
                "converted_at": datetime(2024, 3, 1) if converted else None,
                "expected_value": 100.0,
                # Filled in by the CRM only once the deal is won: post-outcome information.
                "won_reason": ("price" if i % 4 == 0 else "fit") if converted else None,
                "industry": ["retail", "energy", "mining", "media"][(i // 2) % 4],
                "employees": float(10 + (i // 2) % 5),
            }
        )
    return leads


def test_audit_flags_a_planted_post_outcome_attribute_and_only_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    export = make_export(Task.LEADS, _leads_with_planted_leak(), [])
    training = build_training_set(
        export,
        task=Task.LEADS,
        cutoffs=[CUTOFF],
        horizon=timedelta(days=90),
        vocabulary=sim_vocabulary(Task.LEADS),
    )
    assert training.frame["label"].tolist() == [1, 0] * 20
    with caplog.at_level(logging.WARNING):
        findings = audit_leakage(training)
    assert [f.feature for f in findings] == ["won_reason", "won_reason"]
    # Reported once, by the caller (train prints each finding), not again as a WARNING line.
    assert caplog.records == []
    assert "ROC AUC 1.000" in findings[0].reason
    assert "present only on rows with label 1 (20 of 20)" in findings[1].reason


def test_audit_flags_a_numeric_proxy_of_the_label():
    leads = _leads_with_planted_leak()
    for i, lead in enumerate(leads):
        lead["days_to_close"] = 30.0 + i if lead["converted_at"] else 400.0 + i
    export = make_export(Task.LEADS, leads, [])
    training = build_training_set(
        export,
        task=Task.LEADS,
        cutoffs=[CUTOFF],
        horizon=timedelta(days=90),
        vocabulary=sim_vocabulary(Task.LEADS),
    )
    findings = audit_leakage(training, features=["days_to_close", "employees"])
    assert findings == [
        LeakageFinding(
            "days_to_close",
            "on its own it separates the labels with ROC AUC 1.000 (> 0.95) at the training "
            "cutoffs; real predictors rarely do, post-outcome fields do",
        )
    ]


def test_audit_is_silent_with_a_single_label():
    leads = [lead for lead in _leads_with_planted_leak() if lead["converted_at"] is None]
    export = make_export(Task.LEADS, leads, [])
    training = build_training_set(
        export,
        task=Task.LEADS,
        cutoffs=[CUTOFF],
        horizon=timedelta(days=90),
        vocabulary=sim_vocabulary(Task.LEADS),
    )
    assert audit_leakage(training) == []


def _random_postcodes(rows: int, levels: int, seed: int) -> TrainingSet:
    """One row per lead: a label at a 6% rate (a lead conversion rate) and a postcode drawn
    independently of it; the in-sample level rates of such a postcode separate the labels with
    ROC AUC ~0.96."""
    rng = np.random.default_rng(seed)
    codes = rng.choice([f"PC-{n:05d}" for n in rng.choice(100_000, levels, replace=False)], rows)
    frame = pd.DataFrame(
        {
            "entity_id": [f"L{i:05d}" for i in range(rows)],
            "cutoff": pd.Timestamp(CUTOFF),
            "label": (rng.random(rows) < 0.06).astype(np.int64),
            "postcode": codes,
        }
    )
    return TrainingSet(frame=frame, feature_names=["postcode"])


def test_audit_leaves_a_random_high_cardinality_attribute_alone():
    training = _random_postcodes(10_000, 4_000, seed=7)
    assert training.frame["postcode"].nunique() > 3_500  # ~2.5 rows per level
    assert audit_leakage(training, features=["postcode"]) == []


def test_audit_still_flags_a_text_column_equal_to_the_label():
    training = _random_postcodes(10_000, 4_000, seed=7)
    training.frame["outcome"] = np.where(training.frame["label"] == 1, "won", "lost")
    findings = audit_leakage(training, features=["postcode", "outcome"])
    assert [f.feature for f in findings] == ["outcome"]
    assert "ROC AUC 1.000" in findings[0].reason


def test_audit_keeps_a_leads_cutoffs_in_one_fold():
    # 2,000 leads at 5 cutoffs each, label fixed per lead (30% won), a random code per lead:
    # folds that split a lead's rows would learn its label from its other cutoffs and flag it.
    rng = np.random.default_rng(3)
    leads, cutoffs = 2_000, 5
    labels = (rng.random(leads) < 0.3).astype(np.int64)
    frame = pd.DataFrame(
        {
            "entity_id": np.repeat([f"L{i:04d}" for i in range(leads)], cutoffs),
            "cutoff": np.tile(pd.date_range(CUTOFF, periods=cutoffs, freq="MS"), leads),
            "label": np.repeat(labels, cutoffs),
            "code": np.repeat([f"C{i:04d}" for i in rng.permutation(leads)], cutoffs),
        }
    )
    training = TrainingSet(frame=frame, feature_names=["code"])
    assert audit_leakage(training, features=["code"]) == []
