"""The served unit: calibrated on later time, exact contributions, safe verified persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract.tasks import Task
from features.model.artifact_contract import ModelIntegrityError, file_sha256
from features.model.frame_values import FeatureFrameError
from features.model.scoring_model import (
    ESTIMATOR_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    FeatureFrameEncoder,
    ScoringModel,
)
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS
from training.tree_fit import ModelDataError, fit_scoring_model, split_by_cutoff


@pytest.fixture
def frame(fitted_frame: pd.DataFrame) -> pd.DataFrame:
    return fitted_frame


@pytest.fixture
def model(fitted_model: ScoringModel) -> ScoringModel:
    return fitted_model


def test_calibration_rows_are_strictly_later_than_fit_rows(frame: pd.DataFrame) -> None:
    fit_rows, calibration_rows = split_by_cutoff(frame, calibration_cutoffs=2)
    assert fit_rows["cutoff"].max() < calibration_rows["cutoff"].min()
    assert sorted(calibration_rows["cutoff"].unique()) == list(
        pd.to_datetime(["2025-05-01", "2025-06-01"])
    )
    assert len(fit_rows) + len(calibration_rows) == len(frame)


def test_one_cutoff_cannot_fit_and_calibrate(frame: pd.DataFrame) -> None:
    single = frame[frame["cutoff"] == frame["cutoff"].min()]
    with pytest.raises(ModelDataError, match="need more than 1 cutoff"):
        fit_scoring_model(
            single, SPECS, task=Task.CHURN, seed=1, vocabulary=sim_vocabulary(Task.CHURN)
        )


def test_too_few_positives_says_how_many(frame: pd.DataFrame) -> None:
    fit_rows, _ = split_by_cutoff(frame, calibration_cutoffs=1)
    found = int(fit_rows["label"].sum())
    with pytest.raises(ModelDataError, match=f"found {found} positive label\\(s\\), need at least"):
        fit_scoring_model(
            frame,
            SPECS,
            task=Task.CHURN,
            seed=1,
            min_positives=found + 1,
            vocabulary=sim_vocabulary(Task.CHURN),
        )


def test_probabilities_are_calibrated_and_rank(model: ScoringModel, frame: pd.DataFrame) -> None:
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame),)
    assert ((proba >= 0) & (proba <= 1)).all()
    # Higher recency raises churn in the factory; the model must rank that way on average.
    recent = frame["days_since_last_purchase"] < 20
    stale = frame["days_since_last_purchase"] > 80
    assert proba[stale.to_numpy()].mean() > proba[recent.to_numpy()].mean() + 0.2


def test_contributions_sum_to_raw_score_with_categorical_splits(
    model: ScoringModel, frame: pd.DataFrame
) -> None:
    contributions = model.contributions(frame)
    assert contributions.shape == (len(frame), len(SPECS) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(frame), atol=1e-9)
    # The categorical feature is split on natively and must carry non-zero attributions.
    assert np.abs(contributions[:, 2]).max() > 0.05
    booster = model.pipeline[-1].booster_
    assert "segment" in booster.feature_name()
    assert booster.dump_model()["pandas_categorical"] == [["a", "b", "c", "d", "e", "__other__"]]


def test_same_seed_same_predictions(frame: pd.DataFrame, model: ScoringModel) -> None:
    # A second fit of the shared model's settings: determinism needs a fit twice.
    again = fit_scoring_model(
        frame,
        SPECS,
        task=Task.CHURN,
        seed=1,
        params={"n_estimators": 40},
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))


def test_save_load_round_trip_verifies_hashes(
    model: ScoringModel, frame: pd.DataFrame, tmp_path: Path
) -> None:
    hashes = model.save(tmp_path / "m")
    assert set(hashes) == {ESTIMATOR_FILE, MANIFEST_FILE}
    assert hashes[ESTIMATOR_FILE] == file_sha256(tmp_path / "m" / ESTIMATOR_FILE)
    loaded = ScoringModel.load(tmp_path / "m", expected_sha256=hashes)
    assert loaded.task is Task.CHURN
    assert loaded.feature_names == ["days_since_last_purchase", "orders_90d", "segment"]
    assert loaded.feature_specs == SPECS
    assert loaded.metadata == {"k": 1}
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.contributions(frame), model.contributions(frame))


def test_tampered_file_is_refused(model: ScoringModel, tmp_path: Path) -> None:
    hashes = model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    manifest["metadata"] = {"k": 2}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match=r"model\.json: sha256 .* != expected"):
        ScoringModel.load(tmp_path, expected_sha256=hashes)


def test_missing_file_is_refused(model: ScoringModel, tmp_path: Path) -> None:
    hashes = model.save(tmp_path)
    (tmp_path / ESTIMATOR_FILE).unlink()
    with pytest.raises(ModelIntegrityError, match=r"model\.skops: file missing"):
        ScoringModel.load(tmp_path, expected_sha256=hashes)


def test_untrusted_type_is_refused_even_with_matching_hash(tmp_path: Path) -> None:
    from collections import Counter

    import skops.io as sio

    # Counter is harmless but not in TRUSTED_TYPES: the point is that the list is enforced.
    sio.dump(Counter("abc"), tmp_path / ESTIMATOR_FILE)
    (tmp_path / MANIFEST_FILE).write_text(
        json.dumps(
            {"format_version": FORMAT_VERSION, "task": "churn", "feature_specs": [], "metadata": {}}
        )
    )
    hashes = {n: file_sha256(tmp_path / n) for n in (ESTIMATOR_FILE, MANIFEST_FILE)}
    with pytest.raises(ModelIntegrityError, match="untrusted type"):
        ScoringModel.load(tmp_path, expected_sha256=hashes)


def test_missing_feature_column_is_named(model: ScoringModel, frame: pd.DataFrame) -> None:
    with pytest.raises(FeatureFrameError, match="lacks column\\(s\\): orders_90d"):
        model.predict_proba(frame.drop(columns=["orders_90d"]))


def test_non_numeric_value_is_named_not_coerced(model: ScoringModel, frame: pd.DataFrame) -> None:
    bad = frame.head(3).copy()
    bad["orders_90d"] = pd.Series(["1", "two", "3"], index=bad.index, dtype="object")
    with pytest.raises(
        FeatureFrameError, match="'orders_90d' holds non-numeric value 'two' at row 1"
    ):
        model.predict_proba(bad)


def test_encoder_groups_rare_and_unseen_levels_and_keeps_missing() -> None:
    fit = pd.DataFrame({"x": [1.0] * 5, "seg": ["a", "a", "a", "b", "c"]})
    encoder = FeatureFrameEncoder(["seg", "x"], ["seg"], min_level_count=2).fit(fit)
    assert encoder.levels_ == {"seg": ["a", "__other__"]}
    out = encoder.transform(pd.DataFrame({"x": [2, None, 3], "seg": ["b", None, "zzz"]}))
    assert out["seg"].isna().tolist() == [False, True, False]
    assert out["seg"].dropna().tolist() == ["__other__", "__other__"]
    assert list(out["seg"].cat.categories) == ["a", "__other__"]
    assert list(out.columns) == ["seg", "x"]  # the given order, not numeric-first
    assert out["x"].dtype == "float64"
    assert out["x"].isna().tolist() == [False, True, False]


def test_contributions_follow_feature_order_with_a_categorical_first(frame: pd.DataFrame) -> None:
    reordered = (SPECS[2], SPECS[0], SPECS[1])  # segment, days, orders
    # Its own fit: the feature order is what this test is about.
    model = fit_scoring_model(
        frame,
        reordered,
        task=Task.CHURN,
        seed=1,
        params={"n_estimators": 40},
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    assert model.pipeline[-1].booster_.feature_name() == [
        "segment",
        "days_since_last_purchase",
        "orders_90d",
    ]
    contributions = model.contributions(frame)
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(frame), atol=1e-9)


def test_sigmoid_calibrated_model_round_trips(frame: pd.DataFrame, tmp_path: Path) -> None:
    # Its own fit: the shared model is isotonic-calibrated.
    sigmoid = fit_scoring_model(
        frame,
        SPECS,
        task=Task.CHURN,
        seed=1,
        calibration_method="sigmoid",
        params={"n_estimators": 20},
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    loaded = ScoringModel.load(tmp_path, expected_sha256=sigmoid.save(tmp_path))
    np.testing.assert_array_equal(loaded.predict_proba(frame), sigmoid.predict_proba(frame))
