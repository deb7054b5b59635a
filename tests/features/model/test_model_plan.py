"""The compiled numpy scoring path against the scikit-learn pipeline it replaces (the reference).

The reference is the pipeline as it was served before: ``CalibratedClassifierCV.predict_proba``
on the feature frame, and the booster's contributions on the encoder's pandas output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract.tasks import Task
from features.model.frame_values import FeatureFrameError
from features.model.scoring_model import ScoringModel
from features.model.scoring_plan import SMALL_FRAME_ROWS
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS, make_training_frame
from training.tree_fit import fit_scoring_model

NAMES = [s.name for s in SPECS]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_training_frame(seed=5)


@pytest.fixture(scope="module", params=["isotonic", "sigmoid"])
def model(request: pytest.FixtureRequest, frame: pd.DataFrame) -> ScoringModel:
    """Its own fits, not the package's shared ``fitted_model``: both calibrations, and a frame
    (seed 5) whose rare level "f" is frequent enough to keep its own code (the shared model
    groups it into "__other__"), which the encoding tests below read."""
    return fit_scoring_model(
        frame,
        SPECS,
        task=Task.CHURN,
        seed=2,
        calibration_method=request.param,
        params={"n_estimators": 30},
        vocabulary=sim_vocabulary(Task.CHURN),
    )


def _reference(model: ScoringModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = frame[NAMES]
    probability = model.estimator.predict_proba(rows)[:, 1]
    encoded = model.pipeline[:-1].transform(rows)
    contributions = model.pipeline[-1].booster_.predict(encoded, pred_contrib=True)
    return probability, contributions


def _assert_same_contributions(got: np.ndarray, want: np.ndarray) -> None:
    # The plan looks TreeSHAP up in tables (features.model.shap_tables): the booster's terms, summed
    # in another order, so equal to rounding.
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_the_served_tree_size_is_explained_by_tables(model: ScoringModel) -> None:
    assert model.plan().shap is not None


def _awkward_rows() -> pd.DataFrame:
    """Unseen, rare, missing and literal-"other" levels; missing and integer numerics."""
    return pd.DataFrame(
        {
            "days_since_last_purchase": [12.5, np.nan, 80.0, 3.0, 200.0, np.nan],
            "orders_90d": pd.array([1, 0, None, 7, 2, 3], dtype="Int64"),
            "segment": pd.array(["a", "f", None, "zzz", "__other__", "e"], dtype="str"),
        },
        index=pd.Index([f"E{i}" for i in range(6)], name="entity_id"),
    )


def test_score_equals_the_pipeline_on_training_rows(
    model: ScoringModel, frame: pd.DataFrame
) -> None:
    probability, contributions = _reference(model, frame)
    scores = model.score(frame)
    np.testing.assert_allclose(scores.probability, probability, rtol=0, atol=1e-9)
    np.testing.assert_allclose(scores.contributions, contributions, rtol=0, atol=1e-9)
    # Probabilities are bit-identical: same booster, same inputs, same calibrator.
    np.testing.assert_array_equal(scores.probability, probability)
    np.testing.assert_array_equal(model.predict_proba(frame), probability)
    _assert_same_contributions(model.contributions(frame), contributions)


@pytest.mark.parametrize("copies", [1, 10])  # a few rows, and more than SMALL_FRAME_ROWS
def test_score_equals_the_pipeline_on_awkward_rows(model: ScoringModel, copies: int) -> None:
    rows = pd.concat([_awkward_rows()] * copies)
    assert (len(rows) <= SMALL_FRAME_ROWS) == (copies == 1)
    probability, contributions = _reference(model, rows)
    scores = model.score(rows)
    np.testing.assert_array_equal(scores.probability, probability)
    _assert_same_contributions(scores.contributions, contributions)
    raw = model.pipeline[-1].booster_.predict(
        model.pipeline[:-1].transform(rows[NAMES]), raw_score=True
    )
    np.testing.assert_array_equal(model.raw_score(rows), raw)


def test_one_row_and_many_rows_agree(model: ScoringModel, frame: pd.DataFrame) -> None:
    many = model.score(frame.head(50))
    for i in (0, 17, 49):
        one = model.score(frame.iloc[[i]])
        assert one.probability[0] == many.probability[i]
        np.testing.assert_array_equal(one.contributions[0], many.contributions[i])


def test_encoding_uses_the_codes_lightgbm_was_trained_with(model: ScoringModel) -> None:
    plan = model.plan()
    encoded = plan.encode(_awkward_rows())
    # Levels a..f are kept (in that order); unseen "zzz" and "__other__" itself are other (6).
    assert plan.categorical[0].codes == {
        "a": 0.0,
        "b": 1.0,
        "c": 2.0,
        "d": 3.0,
        "e": 4.0,
        "f": 5.0,
        "__other__": 6.0,
    }
    assert encoded[:, 2].tolist()[:2] == [0.0, 5.0]
    assert np.isnan(encoded[2, 2])
    assert encoded[3:, 2].tolist() == [6.0, 6.0, 4.0]
    assert encoded[:, 1].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(encoded[2, 1])


@pytest.mark.parametrize("copies", [1, 10])
def test_bad_frames_get_the_same_precise_errors(model: ScoringModel, copies: int) -> None:
    rows = pd.concat([_awkward_rows()] * copies)
    with pytest.raises(FeatureFrameError, match="lacks column\\(s\\): segment"):
        model.score(rows.drop(columns=["segment"]))
    floats = rows.assign(segment=np.arange(len(rows), dtype=np.float64))
    with pytest.raises(FeatureFrameError, match="'segment' holds float64 values; expected text"):
        model.score(floats)
    text = rows.assign(orders_90d=pd.array(["1", "x", "2", "3", "4", "5"] * copies, dtype=object))
    with pytest.raises(FeatureFrameError, match="non-numeric value 'x' at row 'E1'"):
        model.score(text)


def test_plan_is_built_once_and_survives_save_and_load(
    model: ScoringModel, frame: pd.DataFrame, tmp_path: object
) -> None:
    assert model.plan() is model.plan()
    from pathlib import Path

    folder = Path(str(tmp_path))
    loaded = ScoringModel.load(folder, expected_sha256=model.save(folder))
    np.testing.assert_array_equal(loaded.score(frame).probability, model.score(frame).probability)


@pytest.mark.parametrize("copies", [1, 10])
def test_object_categoricals_with_numbers_and_missing_match(
    model: ScoringModel, copies: int
) -> None:
    rows = pd.concat([_awkward_rows()] * copies, ignore_index=True)
    rows["segment"] = pd.array(["a", 3, None, np.nan, "b", "e"] * copies, dtype=object)
    probability, contributions = _reference(model, rows)
    scores = model.score(rows)
    np.testing.assert_array_equal(scores.probability, probability)
    _assert_same_contributions(scores.contributions, contributions)


def test_calibrate_equals_the_fitted_calibrators_predict(model: ScoringModel) -> None:
    plan = model.plan()
    # Far outside the fitted range on both sides (clipped), and densely inside it.
    response = np.concatenate([np.linspace(-30.0, 30.0, 6001), [-1e9, 1e9, 0.0, -0.0]])
    np.testing.assert_array_equal(plan.calibrate(response), plan.calibrator.predict(response))


def test_thread_count_never_changes_a_number(model: ScoringModel, frame: pd.DataFrame) -> None:
    # Batch-sized matrices use every core; rows are scored independently, so the results must
    # be bit-identical to one thread.
    plan = model.plan()
    encoded = plan.encode(frame)
    for kwargs in ({"pred_contrib": True}, {"raw_score": True}):
        one = plan.booster.predict(encoded, num_threads=1, **kwargs)
        every = plan.booster.predict(encoded, num_threads=0, **kwargs)
        np.testing.assert_array_equal(one, every)


@pytest.mark.parametrize("copies", [1, 10])
def test_an_all_null_categorical_column_typed_float_reads_as_missing(
    model: ScoringModel, copies: int
) -> None:
    # JSON cannot type an all-null column: pandas and MLflow's scoring server make it float64.
    rows = pd.concat([_awkward_rows()] * copies)
    as_text = rows.assign(segment=pd.array([None] * len(rows), dtype="str"))
    as_float = rows.assign(segment=np.full(len(rows), np.nan))
    np.testing.assert_array_equal(
        model.score(as_float).probability, model.score(as_text).probability
    )
    np.testing.assert_array_equal(
        model.estimator.predict_proba(as_float[NAMES]),
        model.estimator.predict_proba(as_text[NAMES]),
    )
    one_value = as_float.assign(segment=[np.nan] * (len(rows) - 1) + [1.0])
    with pytest.raises(FeatureFrameError, match="'segment' holds float64 values; expected text"):
        model.score(one_value)
