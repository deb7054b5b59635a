"""Trees boosted from a prior probability (``OffsetBoostedClassifier``): one offset everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from features.compute.rows import FeatureRows
from features.contract.tasks import Task
from features.definitions.wording import Wording
from features.model.artifact_contract import ModelIntegrityError
from features.model.frame_values import OFFSET_CLIP, offset_log_odds
from features.model.scoring_model import FORMAT_VERSION, MANIFEST_FILE, ModelFeature, ScoringModel
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS, make_training_frame
from training.tree_fit import fit_scoring_model

PRIOR = ModelFeature(
    "prior", "numeric", Wording("Prior probability of churn"), "btyd", "probability"
)
OFFSET_SPECS = (*SPECS, PRIOR)
NAMES = [s.name for s in OFFSET_SPECS]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The factory frame plus a noisy prior of its label; missing for ~5% of rows, and a few
    rows at exactly 0 and 1 (clipped)."""
    out = make_training_frame(seed=3)
    rng = np.random.default_rng(5)
    days = out["days_since_last_purchase"].fillna(40.0).to_numpy()
    prior = expit(-1.5 + 0.03 * days - 0.35 * out["orders_90d"].to_numpy())
    prior = np.clip(prior + rng.normal(0.0, 0.05, len(out)), 0.0, 1.0)
    prior[rng.random(len(out)) < 0.05] = np.nan
    prior[:3] = [0.0, 1.0, 0.0]
    return out.assign(prior=prior)


def _fit(frame: pd.DataFrame, **kwargs: object) -> ScoringModel:
    options: dict[str, object] = {
        "task": Task.CHURN,
        "seed": 1,
        "params": {"n_estimators": 40},
        "vocabulary": sim_vocabulary(Task.CHURN),
        "calibration_method": "sigmoid",
        "boost_from": "prior",
    }
    return fit_scoring_model(frame, OFFSET_SPECS, **{**options, **kwargs})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> ScoringModel:
    """Its own fit, not the package's shared ``fitted_model``: boosted from the prior."""
    return _fit(frame)


@pytest.fixture(scope="module")
def constant(frame: pd.DataFrame) -> ScoringModel:
    """The same fit boosted from a constant, as the shared model is, but over ``OFFSET_SPECS``
    and sigmoid-calibrated: the twin the offset model is compared with."""
    return _fit(frame, boost_from=None)


def test_offset_is_the_clipped_log_odds_and_zero_when_missing() -> None:
    got = offset_log_odds(np.array([np.nan, 0.0, 1.0, 0.5, 0.8]))
    edge = np.log((1 - OFFSET_CLIP) / OFFSET_CLIP)
    np.testing.assert_allclose(got, [0.0, -edge, edge, 0.0, np.log(4.0)], rtol=1e-9)


def test_the_trees_start_from_the_prior(frame: pd.DataFrame) -> None:
    """With steps too small to move anything, the raw score is the prior's log-odds: a model
    boosted from a constant would give every row the same score."""
    still = _fit(frame, params={"n_estimators": 1, "learning_rate": 1e-12})
    assert still.boost_from == "prior"
    np.testing.assert_allclose(
        still.raw_score(frame), offset_log_odds(frame["prior"].to_numpy()), atol=1e-9
    )


def test_every_path_adds_the_same_offset(model: ScoringModel, frame: pd.DataFrame) -> None:
    """The plan (served path) against scikit-learn's own pipeline and calibrator."""
    pipeline_raw = model.pipeline.decision_function(frame[NAMES])
    np.testing.assert_array_equal(model.raw_score(frame), pipeline_raw)
    np.testing.assert_array_equal(
        model.predict_proba(frame), model.estimator.predict_proba(frame[NAMES])[:, 1]
    )
    trees = model.plan().booster.predict(model.plan().encode(frame), raw_score=True)
    np.testing.assert_allclose(pipeline_raw - trees, offset_log_odds(frame["prior"].to_numpy()))


def test_online_rows_get_the_batch_numbers(model: ScoringModel, frame: pd.DataFrame) -> None:
    """Online requests arrive as ``FeatureRows``: their own encoding, the same offset."""
    head = frame.head(50)
    segment = NAMES.index("segment")
    numeric = head[NAMES].assign(segment=np.nan).to_numpy(dtype=np.float64)
    rows = FeatureRows(
        entity_ids=tuple(map(str, head.index)),
        names=tuple(NAMES),
        numeric=numeric,
        text={segment: [None if pd.isna(v) else str(v) for v in head["segment"]]},
    )
    online, batch = model.score(rows), model.score(head)
    np.testing.assert_array_equal(online.probability, batch.probability)
    np.testing.assert_array_equal(online.raw_score, batch.raw_score)
    np.testing.assert_array_equal(online.contributions, batch.contributions)


def test_the_offset_is_the_prior_features_contribution(
    model: ScoringModel, frame: pd.DataFrame
) -> None:
    """Each row still sums to the raw score; the prior's column gains the offset minus its fit
    mean and the bias gains that mean; the other columns are the trees' TreeSHAP values."""
    contributions = model.contributions(frame)
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(frame), atol=1e-9)
    plan = model.plan()
    trees = plan.booster.predict(plan.encode(frame), pred_contrib=True)
    offset = offset_log_odds(frame["prior"].to_numpy())
    mean = model.pipeline[-1].offset_mean_
    fit_rows = frame[frame["cutoff"] < frame["cutoff"].max()]
    assert mean == pytest.approx(offset_log_odds(fit_rows["prior"].to_numpy()).mean())
    expected = trees.copy()
    expected[:, NAMES.index("prior")] += offset - mean
    expected[:, -1] += mean
    np.testing.assert_allclose(contributions, expected, atol=1e-12)


def test_the_manifest_records_what_the_trees_boost_from(
    model: ScoringModel, constant: ScoringModel, frame: pd.DataFrame, tmp_path: Path
) -> None:
    hashes = model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert (manifest["format_version"], manifest["boost_from"]) == (FORMAT_VERSION, "prior")
    loaded = ScoringModel.load(tmp_path, expected_sha256=hashes)
    assert loaded.boost_from == "prior"
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.contributions(frame), model.contributions(frame))
    constant.save(tmp_path / "constant")
    saved = json.loads((tmp_path / "constant" / MANIFEST_FILE).read_text())
    assert saved["boost_from"] is None


def test_a_manifest_that_disagrees_with_the_estimator_is_refused(
    model: ScoringModel, tmp_path: Path
) -> None:
    model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    manifest["boost_from"] = None
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(
        ModelIntegrityError, match="boost_from None but the estimator boosts from 'prior'"
    ):
        ScoringModel.load(tmp_path)


def test_a_version_3_model_loads_as_boosted_from_a_constant(
    model: ScoringModel, constant: ScoringModel, frame: pd.DataFrame, tmp_path: Path
) -> None:
    for name, saved in (("constant", constant), ("offset", model)):
        saved.save(tmp_path / name)
        path = tmp_path / name / MANIFEST_FILE
        manifest = json.loads(path.read_text())
        del manifest["boost_from"]
        # Version 3 wrote each description as one string (here a label without cases).
        for spec in manifest["feature_specs"]:
            spec["description"] = spec["description"]["label"]
        path.write_text(json.dumps({**manifest, "format_version": 3}))
    loaded = ScoringModel.load(tmp_path / "constant")
    assert loaded.boost_from is None
    np.testing.assert_array_equal(loaded.predict_proba(frame), constant.predict_proba(frame))
    # Version 3 cannot say the trees boost from a prior, so such an estimator is refused.
    with pytest.raises(ModelIntegrityError, match="boost_from None but the estimator"):
        ScoringModel.load(tmp_path / "offset")


@pytest.mark.parametrize("name", ["segment", "nope"])
def test_the_prior_must_be_a_numeric_feature(frame: pd.DataFrame, name: str) -> None:
    with pytest.raises(ValueError, match=f"boost_from '{name}' is not a numeric feature"):
        _fit(frame, boost_from=name)
