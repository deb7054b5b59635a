"""The logistic-regression model as a served unit: calibrated like the trees, scored by
``features.model.linear_plan`` exactly as scikit-learn scores it, explained with contributions that
add up to its log-odds, and saved / loaded through the same verified skops path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.model.linear_plan import LINEAR_MEANS_KEY
from features.model.scoring_model import ScoringModel
from training.linear import LOGISTIC_KIND
from training.trainer import TrainedTask


def test_the_linear_model_scores_as_its_calibrated_pipeline(trained: TrainedTask) -> None:
    linear = trained.linear
    assert linear is not None and linear.metadata["model_kind"] == LOGISTIC_KIND
    test = trained.test_frame
    scored = linear.score(test)
    expected = linear.estimator.predict_proba(test[linear.feature_names])[:, 1]
    np.testing.assert_allclose(scored.probability, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        scored.raw_score, linear.pipeline.decision_function(test[linear.feature_names]), atol=1e-9
    )
    # The evaluation's logistic figures are this served model's.
    np.testing.assert_array_equal(trained.evaluation.scores.linear, expected)


def test_contributions_add_up_to_the_log_odds_and_are_coefficient_times_distance(
    trained: TrainedTask,
) -> None:
    linear = trained.linear
    test = trained.test_frame
    scored = linear.score(test)
    np.testing.assert_allclose(scored.contributions.sum(axis=1), scored.raw_score, atol=1e-9)
    # A numeric feature with no missing value: (w / scale) * (x - training mean), by hand.
    preprocess = linear.pipeline[0]
    numeric = list(preprocess.transformers_[0][2])
    name = next(n for n in numeric if trained.frame[n].notna().all())
    at = numeric.index(name)
    scaler = preprocess.named_transformers_["numeric"][-1]
    imputer = preprocess.named_transformers_["numeric"][0]
    train = trained.frame.loc[trained.frame["cutoff"].isin(trained.split.train)]
    weight = linear.pipeline[-1].coef_[0][at] / scaler.scale_[at]
    assert imputer.statistics_[at] == imputer.statistics_[at]  # fitted
    expected = weight * (test[name].to_numpy() - train[name].mean())
    column = linear.feature_names.index(name)
    np.testing.assert_allclose(scored.contributions[:, column], expected, atol=1e-9)
    assert len(linear.metadata[LINEAR_MEANS_KEY]) == len(linear.pipeline[-1].coef_[0])


def test_the_linear_model_survives_a_verified_save_and_load(
    trained: TrainedTask, tmp_path: Path
) -> None:
    hashes = trained.linear.save(tmp_path / "m")
    loaded = ScoringModel.load(tmp_path / "m", expected_sha256=hashes)
    test = trained.test_frame
    before, after = trained.linear.score(test), loaded.score(test)
    np.testing.assert_array_equal(after.probability, before.probability)
    np.testing.assert_array_equal(after.contributions, before.contributions)
    assert loaded.boost_from is None and loaded.metadata["model_kind"] == LOGISTIC_KIND
    # Rows with missing values and an unseen level score, and still add up.
    odd = test.head(3).copy()
    categorical = next(s.name for s in loaded.feature_specs if s.dtype == "categorical")
    numeric = next(s.name for s in loaded.feature_specs if s.dtype == "numeric")
    odd[categorical] = pd.Series(["never-seen", None, "never-seen"], index=odd.index)
    odd[numeric] = np.nan
    scored = loaded.score(odd)
    np.testing.assert_allclose(scored.contributions.sum(axis=1), scored.raw_score, atol=1e-9)
    assert np.isfinite(scored.probability).all()
