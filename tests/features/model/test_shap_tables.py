"""Table-lookup TreeSHAP against LightGBM's own ``pred_contrib``, on the rows that trip splits up.

The reference is the booster itself. Rows include NaN where training had none (missing type
"None") and where it had some ("NaN"), zeros under ``zero_as_missing`` ("Zero"), values exactly
on thresholds, tiny values LightGBM reads as zero, infinities, and category codes that are
negative, fractional, unseen or beyond every split's bitset.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from features.model.shap_tables import MAX_TABLE_NODES, ShapTables

ROWS = 600
CATEGORY_LEVELS = 12


def _training(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(size=ROWS),  # dense, no NaN: missing type "None"
            np.where(rng.random(ROWS) < 0.2, np.nan, rng.exponential(3.0, ROWS)),  # "NaN"
            np.where(rng.random(ROWS) < 0.3, 0.0, rng.normal(2.0, 1.0, ROWS)),  # many zeros
            rng.integers(0, CATEGORY_LEVELS, ROWS).astype(float),  # categorical codes
            np.where(rng.random(ROWS) < 0.1, np.nan, rng.integers(0, 5, ROWS)),  # categorical
            rng.poisson(2.0, ROWS).astype(float),
        ]
    )
    logit = (
        x[:, 0]
        + np.nan_to_num(x[:, 1], nan=4.0) / 3
        - (x[:, 2] == 0)
        + np.isin(x[:, 3], [1, 4, 7, 9])
        - 0.5 * (x[:, 4] == 2)
        + 0.2 * x[:, 5]
    )
    y = (rng.random(ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def _booster(num_leaves: int, seed: int = 0, **params: Any) -> lgb.Booster:
    x, y = _training(seed)
    data = lgb.Dataset(x, y, categorical_feature=[3, 4], free_raw_data=False)
    settings = {
        "objective": "binary",
        "num_leaves": num_leaves,
        "min_data_in_leaf": 5,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "learning_rate": 0.2,
        "seed": seed,
        "deterministic": True,
        "verbose": -1,
        **params,
    }
    return lgb.train(settings, data, num_boost_round=40)


def _awkward_rows(booster: lgb.Booster, seed: int) -> np.ndarray:
    x, _ = _training(seed + 100)
    rng = np.random.default_rng(seed)
    rows = x.copy()
    rows[rng.random(rows.shape) < 0.15] = np.nan
    rows[rng.random(rows.shape) < 0.1] = 0.0
    # Every numeric threshold of the model, exactly, on its own feature.
    for tree in booster.dump_model()["tree_info"]:
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" not in node:
                continue
            stack += [node["left_child"], node["right_child"]]
            if node["decision_type"] == "<=":
                row = rng.integers(len(rows))
                rows[row, node["split_feature"]] = float(node["threshold"])
    special = [np.inf, -np.inf, 1e-36, -1e-36, 1e-300, -0.5, -1.0, 0.7, 3.99, 57.0, 1e12]
    for column in range(rows.shape[1]):
        rows[: len(special), column] = special
    return rows


@pytest.mark.parametrize("num_leaves", [2, 3, 7, MAX_TABLE_NODES + 1])
@pytest.mark.parametrize("seed", [0, 1])
def test_contributions_equal_lightgbm_pred_contrib(num_leaves: int, seed: int) -> None:
    booster = _booster(num_leaves, seed)
    tables = ShapTables.build(booster)
    assert tables is not None
    rows = _awkward_rows(booster, seed)
    want = booster.predict(rows, pred_contrib=True)
    got = tables.contributions(rows)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_zero_as_missing_splits() -> None:
    booster = _booster(7, zero_as_missing=True)
    tables = ShapTables.build(booster)
    assert tables is not None and len(tables.splits.zero_nodes)
    rows = _awkward_rows(booster, 3)
    np.testing.assert_allclose(
        tables.contributions(rows), booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12
    )


def test_rows_are_scored_in_blocks_without_seams(monkeypatch: pytest.MonkeyPatch) -> None:
    booster = _booster(7)
    tables = ShapTables.build(booster)
    assert tables is not None
    rows = _awkward_rows(booster, 4)
    whole = tables.contributions(rows)
    monkeypatch.setattr("features.model.shap_tables.BLOCK_ROWS", 7)
    np.testing.assert_array_equal(tables.contributions(rows), whole)
    np.testing.assert_array_equal(tables.contributions(rows[:1]), whole[:1])


def test_single_leaf_trees_are_all_bias() -> None:
    booster = _booster(7, min_data_in_leaf=ROWS)  # no split is ever allowed
    tables = ShapTables.build(booster)
    assert tables is not None
    rows = _awkward_rows(booster, 5)
    want = booster.predict(rows, pred_contrib=True)
    assert not want[:, :-1].any()
    np.testing.assert_allclose(tables.contributions(rows), want, rtol=0, atol=1e-12)


def test_trees_too_large_for_tables_get_none() -> None:
    assert ShapTables.build(_booster(MAX_TABLE_NODES + 2)) is None
