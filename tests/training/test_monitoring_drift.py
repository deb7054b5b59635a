"""Drift against the training reference: quiet on a fresh sample of the same distribution, loud
on a shifted one; the reference is the shipped model's last training cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.conftest import train_churn
from tests.training.factories import make_training_frame
from training.config import TrainingConfig
from training.drift import EventDrift, drift_report, population_stability_index, seen_levels
from training.evaluation import rows_at
from training.monitoring.reference import SCORE, training_reference
from training.trainer import TrainedTask

NO_EVENTS = EventDrift(events=1000, unknown=0, unknown_types=())


def _fresh(seed: int) -> pd.DataFrame:
    """One cutoff of the factory's distribution, drawn with another seed (new entities)."""
    frame = make_training_frame(seed=seed, entities=600, months=1)
    return frame.assign(entity_id="N" + frame["entity_id"])


def _report(trained: TrainedTask, config: TrainingConfig, rows: pd.DataFrame):  # type: ignore[no-untyped-def]
    reference = training_reference(trained, bins=config.monitoring.reference_bins)
    return drift_report(
        reference,
        rows,
        trained.model.predict_proba(rows),
        events=NO_EVENTS,
        feature_names=trained.model.feature_names,
        seen=seen_levels(trained.model),
        config=config.monitoring,
    )


def test_reference_profiles_the_last_shipped_cutoff(
    trained: TrainedTask, config: TrainingConfig
) -> None:
    reference = training_reference(trained, bins=10)
    last = rows_at(trained.frame, trained.shipped_cutoffs[-1:])
    days = reference["features"]["days_since_last_purchase"]
    assert reference["rows"] == len(last) == 600
    assert sum(days["counts"]) + days["missing"] == len(last)
    assert days["missing"] == int(last["days_since_last_purchase"].isna().sum())
    assert reference["features"]["segment"]["levels"] == (
        last["segment"].value_counts().sort_index().to_dict()
    )
    assert sum(reference["features"][SCORE]["counts"]) == len(last)


def test_quiet_on_an_unshifted_sample(trained: TrainedTask, config: TrainingConfig) -> None:
    report = _report(trained, config, _fresh(seed=99))
    assert report.drifted == ()
    assert all(f.psi < config.monitoring.psi_warning for f in report.features)
    assert report.score.psi < config.monitoring.psi_warning


def test_fires_on_a_shifted_sample(trained: TrainedTask, config: TrainingConfig) -> None:
    rows = _fresh(seed=99)
    rng = np.random.default_rng(0)
    rows["days_since_last_purchase"] = rows["days_since_last_purchase"] * 3  # recency worse
    rows.loc[rng.random(len(rows)) < 0.3, "orders_90d"] = np.nan  # a broken feed
    rows.loc[rng.random(len(rows)) < 0.2, "segment"] = "new-segment"  # a level never seen
    report = _report(trained, config, rows)
    by_name = {f.name: f for f in report.features}
    assert by_name["days_since_last_purchase"].status == "drifted"
    assert by_name["days_since_last_purchase"].p_value < config.monitoring.p_value
    assert by_name["orders_90d"].missing_current == pytest.approx(0.3, abs=0.05)
    assert "missing" in by_name["orders_90d"].why
    assert by_name["segment"].unseen_levels == ("new-segment",)
    assert by_name["segment"].status == "drifted"
    assert "score" in report.drifted


def test_a_level_training_grouped_as_rare_is_not_unseen(
    frame: pd.DataFrame, config: TrainingConfig
) -> None:
    # 5 rows of a level at the first cutoff only: training groups it as rare into "other", and
    # the reference (the last shipped cutoff's rows) never holds it.
    frame = frame.astype({"segment": object})
    first = frame.index[frame["cutoff"] == frame["cutoff"].min()][:5]
    frame.loc[first, "segment"] = "rare-segment"
    trained = train_churn(frame, config)
    assert "rare-segment" in seen_levels(trained.model)["segment"]
    reference = training_reference(trained, bins=config.monitoring.reference_bins)
    assert "rare-segment" not in reference["features"]["segment"]["levels"]

    rows = _fresh(seed=99).astype({"segment": object})
    rows.loc[rows.index[:120], "segment"] = "rare-segment"  # 20% of rows: known, though rare
    rows.loc[rows.index[120:180], "segment"] = "new-segment"  # 10%: never seen
    segment = {f.name: f for f in _report(trained, config, rows).features}["segment"]
    assert segment.unseen_levels == ("new-segment",)
    assert segment.unseen_share == pytest.approx(60 / len(rows))


def test_unknown_event_share_alerts(trained: TrainedTask, config: TrainingConfig) -> None:
    rows = _fresh(seed=99)
    reference = training_reference(trained, bins=10)
    report = drift_report(
        reference,
        rows,
        trained.model.predict_proba(rows),
        events=EventDrift(events=1000, unknown=200, unknown_types=("web order",)),
        feature_names=trained.model.feature_names,
        seen=seen_levels(trained.model),
        config=config.monitoring,
    )
    assert report.drifted == ("unknown event types",)


def test_psi_is_zero_for_equal_shares_and_symmetric() -> None:
    a = np.array([10.0, 20.0, 70.0])
    b = np.array([30.0, 30.0, 40.0])
    assert population_stability_index(a, 2 * a) == pytest.approx(0.0)
    assert population_stability_index(a, b) == pytest.approx(population_stability_index(b, a))
    # The textbook formula, sum((a - e) * ln(a / e)) over shares.
    e, o = a / a.sum(), b / b.sum()
    assert population_stability_index(a, b) == pytest.approx(float(np.sum((o - e) * np.log(o / e))))
