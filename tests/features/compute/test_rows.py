"""``FeatureRows`` (online requests, no pandas) against the feature frame it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.compute.rows import FeatureRows, concat_tables
from features.model.frame_values import FeatureFrameError
from features.model.reasons import explain
from features.model.scoring_model import ScoringModel
from tests.training.factories import SPECS

NAMES = tuple(s.name for s in SPECS)


@pytest.fixture
def model(fitted_model: ScoringModel) -> ScoringModel:
    return fitted_model


def _rows() -> FeatureRows:
    """Missing numbers, missing text, unseen and rare levels, the literal "other" level."""
    segments = ["a", None, "zzz", "f", "__other__", "c", "b"]
    return FeatureRows(
        entity_ids=tuple(f"E{i}" for i in range(len(segments))),
        names=NAMES,
        numeric=np.array(
            [
                [12.5, 1.0, np.nan],
                [np.nan, 0.0, np.nan],
                [80.0, 7.0, np.nan],
                [3.0, np.nan, np.nan],
                [200.0, 2.0, np.nan],
                [0.0, 3.0, np.nan],
                [45.0, 11.0, np.nan],
            ]
        ),
        text={2: segments},
    )


def test_to_frame_is_the_feature_frame() -> None:
    frame = _rows().to_frame()
    assert list(frame.columns) == list(NAMES) and frame.index.name == "entity_id"
    assert frame.index.tolist() == [f"E{i}" for i in range(7)]
    assert frame["orders_90d"].dtype == np.float64
    segment = frame["segment"].tolist()
    assert segment[0] == "a" and pd.isna(segment[1]) and segment[2] == "zzz"


def test_scores_and_reasons_equal_the_frames_bit_for_bit(model: ScoringModel) -> None:
    rows = _rows()
    frame = rows.to_frame()
    from_rows, from_frame = model.score(rows), model.score(frame)
    np.testing.assert_array_equal(from_rows.probability, from_frame.probability)
    np.testing.assert_array_equal(from_rows.contributions, from_frame.contributions)
    assert explain(model, rows, from_rows.contributions, top_k=3) == explain(
        model, frame, from_frame.contributions, top_k=3
    )


def test_columns_in_another_order_are_read_by_name(model: ScoringModel) -> None:
    rows = _rows()
    shuffled = FeatureRows(
        entity_ids=rows.entity_ids,
        names=(NAMES[2], NAMES[0], NAMES[1]),
        numeric=rows.numeric[:, [2, 0, 1]],
        text={0: rows.text[2]},
    )
    np.testing.assert_array_equal(model.score(shuffled).probability, model.score(rows).probability)


def test_wrong_columns_are_precise_errors(model: ScoringModel) -> None:
    rows = _rows()
    lacking = FeatureRows(rows.entity_ids, NAMES[:2], rows.numeric[:, :2], {})
    with pytest.raises(FeatureFrameError, match="lacks column\\(s\\): segment"):
        model.score(lacking)
    numbers = FeatureRows(rows.entity_ids, NAMES, rows.numeric, {})
    with pytest.raises(FeatureFrameError, match="categorical feature 'segment'"):
        model.score(numbers)
    text = FeatureRows(rows.entity_ids, NAMES, rows.numeric, {**rows.text, 1: ["1"] * 7})
    with pytest.raises(FeatureFrameError, match="numeric feature 'orders_90d'"):
        model.score(text)


def test_concat_keeps_rows_rows_and_order() -> None:
    rows = _rows()
    head = FeatureRows(rows.entity_ids[:2], NAMES, rows.numeric[:2], {2: rows.text[2][:2]})
    tail = FeatureRows(rows.entity_ids[2:], NAMES, rows.numeric[2:], {2: rows.text[2][2:]})
    joined = concat_tables([head, tail])
    assert isinstance(joined, FeatureRows)
    pd.testing.assert_frame_equal(joined.to_frame(), rows.to_frame())
    mixed = concat_tables([head, tail.to_frame()])
    assert isinstance(mixed, pd.DataFrame)
    pd.testing.assert_frame_equal(mixed, rows.to_frame(), check_index_type=False)
    with pytest.raises(ValueError, match="different columns"):
        FeatureRows.concat([head, FeatureRows(("x",), NAMES[:2], rows.numeric[:1, :2], {})])
