"""The ground truth: exact forecasts of the simulated chain, on eligible rows, realistic AUC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.synthetic import generate_crm
from features.synthetic.chains import ChainModel, simulate_chain
from features.synthetic.outcomes import rank_auc
from features.synthetic.truth import exit_probability, silent_or_explicit_churn_probability
from tests.features.synthetic.test_synthetic_support import AS_OF, truth_with_labels


@pytest.fixture(scope="module")
def moderate_truth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("truth") / "export"
    generate_crm(out, leads=3000, customers=1500, seed=3, as_of=AS_OF, months=24)
    return truth_with_labels(out)


@pytest.mark.parametrize("task", ["leads", "churn"])
def test_truth_rows_are_exactly_the_eligible_entities(
    moderate_truth: dict[str, pd.DataFrame], task: str
) -> None:
    joined = moderate_truth[task]
    assert (joined["_merge"] == "both").all(), joined["_merge"].value_counts()
    assert not joined.duplicated(["entity_id", "cutoff"]).any()


@pytest.mark.parametrize("task", ["leads", "churn"])
def test_truth_cutoffs_are_month_starts_whose_window_ends_by_as_of(
    moderate_truth: dict[str, pd.DataFrame], task: str
) -> None:
    cutoffs = pd.DatetimeIndex(moderate_truth[task].cutoff.unique()).sort_values()
    assert (cutoffs.day == 1).all() and (cutoffs == cutoffs.normalize()).all()
    assert cutoffs[-1] == pd.Timestamp("2026-07-01")  # + 90 days <= 2026-10-01 < Aug 1 + 90 d
    assert cutoffs[0] == pd.Timestamp("2024-11-01")
    assert (moderate_truth[task].horizon_days == 90).all()


@pytest.mark.parametrize("task", ["leads", "churn"])
def test_truth_auc_is_realistic_and_calibrated(
    moderate_truth: dict[str, pd.DataFrame], task: str
) -> None:
    joined = moderate_truth[task]
    auc = roc_auc_score(joined.label, joined.probability)
    assert 0.80 <= auc <= 0.92
    # Exact probabilities are calibrated: predicted and realized rates agree overall.
    assert joined.probability.mean() == pytest.approx(joined.label.mean(), abs=0.02)
    assert joined.probability.between(0, 1).all()


def test_exit_probability_matches_closed_form_and_simulation() -> None:
    # Two states: 0 advances with 0.1 a day, 1 exits (kind 0) with 0.2 a day.
    n, days, horizon = 40_000, 30, 10
    model = ChainModel(
        advance=np.tile([0.1, 0.0], (n, 1)),
        exits=np.tile(np.array([[0.0], [0.2]]), (n, 1, 1)),
        exit_season=np.ones((1, days)),
    )
    rows = np.array([0, 1])
    p = exit_probability(
        model, rows=rows, states=np.array([1, 0]), cutoff_day=5, horizon_days=horizon, exit_kind=0
    )
    assert p[0] == pytest.approx(1 - 0.8**horizon, abs=1e-12)
    # From state 0: advance on day i (0-based, prob 0.9**i * 0.1), then exit within the rest.
    from_zero = sum(0.9**i * 0.1 * (1 - 0.8 ** (horizon - 1 - i)) for i in range(horizon))
    assert p[1] == pytest.approx(from_zero, abs=1e-12)
    path = simulate_chain(model, first_day=np.full(n, 5), n_days=days, rng=np.random.default_rng(0))
    realized = ((path.exit_day >= 5) & (path.exit_day < 5 + horizon)).mean()
    assert realized == pytest.approx(from_zero, abs=0.01)


def test_churn_probability_matches_closed_form() -> None:
    # One state: cancel with 0.01 a day, orders at 0.05 a day on a flat season.
    model = ChainModel(
        advance=np.zeros((1, 1)), exits=np.full((1, 1, 1), 0.01), exit_season=np.ones((1, 200))
    )
    p = silent_or_explicit_churn_probability(
        model,
        rows=np.array([0]),
        states=np.array([0]),
        cutoff_day=10,
        horizon_days=90,
        order_rates=np.array([[0.05]]),
        order_season=np.ones(200),
    )
    expected = 1 - 0.99**90 * (1 - np.exp(-0.05 * 90))
    assert p[0] == pytest.approx(expected, abs=1e-12)


def test_rank_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # many ties
    assert rank_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert np.isnan(rank_auc(np.zeros(3, dtype=int), np.arange(3.0)))
