"""RareLevelGrouper: rare and unseen levels grouped, fixed categories, estimator contract."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from features.model.categories import OTHER, RareLevelGrouper

TRAIN = pd.DataFrame(
    {
        "industry": pd.array(["retail"] * 5 + ["energy"] * 3 + ["mining"] + [None], dtype="str"),
        "region": pd.array(["eu"] * 9 + ["us"], dtype="str"),
    }
)


def test_rare_levels_become_other_and_categories_are_fixed():
    grouper = RareLevelGrouper(min_frequency=2).fit(TRAIN)
    assert grouper.categories_ == {
        "industry": ["energy", "retail", OTHER],
        "region": ["eu", OTHER],
    }
    out = grouper.transform(TRAIN)
    assert out["industry"].tolist()[:9] == ["retail"] * 5 + ["energy"] * 3 + [OTHER]
    assert pd.isna(out["industry"].iloc[9])
    assert list(out["industry"].cat.categories) == ["energy", "retail", OTHER]
    assert out["region"].tolist().count(OTHER) == 1


def test_unseen_levels_map_to_other_and_missing_stays_missing():
    grouper = RareLevelGrouper(min_frequency=1).fit(TRAIN)
    new = pd.DataFrame({"industry": ["utilities", None, "mining"], "region": ["apac", "eu", None]})
    out = grouper.transform(new)
    assert out["industry"].iloc[0] == OTHER and out["industry"].iloc[2] == "mining"
    assert pd.isna(out["industry"].iloc[1]) and pd.isna(out["region"].iloc[2])
    # Category codes do not depend on which levels the batch happens to contain.
    assert out["industry"].cat.codes.tolist() == [3, -1, 1]


def test_float_threshold_is_a_share_of_present_rows():
    grouper = RareLevelGrouper(min_frequency=0.3).fit(TRAIN)
    # 9 present industry rows: 0.3 * 9 = 2.7, so energy (3) and retail (5) stay.
    assert grouper.categories_["industry"] == ["energy", "retail", OTHER]


@pytest.mark.parametrize("bad", [0, -1, 1.5, 0.0, "x", True])
def test_invalid_threshold_is_rejected(bad):
    with pytest.raises((ValueError, TypeError)):
        RareLevelGrouper(min_frequency=bad).fit(TRAIN)


def test_columns_must_match_fit():
    grouper = RareLevelGrouper().fit(TRAIN)
    with pytest.raises(ValueError, match="differ from the fitted"):
        grouper.transform(TRAIN[["region", "industry"]])


def test_estimator_contract_clone_and_params():
    grouper = RareLevelGrouper(min_frequency=3, other_label="rare")
    assert grouper.get_params() == {"min_frequency": 3, "other_label": "rare"}
    assert not hasattr(clone(grouper), "categories_")
    assert grouper.fit(TRAIN) is grouper
    assert list(grouper.get_feature_names_out()) == ["industry", "region"]


def test_round_trips_through_skops_and_feeds_a_tree_model(tmp_path):
    frame = pd.DataFrame(
        {"industry": TRAIN["industry"].tolist() * 4, "employees": np.arange(40, dtype=float)}
    )
    labels = np.array([0, 1] * 20)
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [("cat", RareLevelGrouper(min_frequency=2), ["industry"])],
                    remainder="passthrough",
                    verbose_feature_names_out=False,
                ).set_output(transform="pandas"),
            ),
            (
                "model",
                HistGradientBoostingClassifier(
                    categorical_features="from_dtype", max_iter=5, random_state=0
                ),
            ),
        ]
    ).fit(frame, labels)
    path = tmp_path / "grouper.skops"
    sio.dump(pipeline.named_steps["prepare"].transformers_[0][1], path)
    trusted = sio.get_untrusted_types(file=path)
    assert trusted == ["features.model.categories.RareLevelGrouper"]
    loaded = sio.load(path, trusted=trusted)
    assert loaded.categories_ == {"industry": ["energy", "mining", "retail", OTHER]}
    probabilities = pipeline.predict_proba(frame)
    assert probabilities.shape == (40, 2) and not math.isnan(probabilities.sum())


def test_rare_levels_are_recorded_apart_from_unseen_ones() -> None:
    grouper = RareLevelGrouper(min_frequency=2).fit(pd.DataFrame({"c": ["a", "a", "b", "c", None]}))
    assert grouper.categories_ == {"c": ["a", "__other__"]}
    assert grouper.grouped_levels_ == {"c": ["b", "c"]}
