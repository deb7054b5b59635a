"""BG/NBD on the process: the closed forms of ``features.definitions.btyd`` against a forward
simulation of a population, the fit (``training.btyd``) recovering its parameters, histories from an
export.

Tolerances are set by the Monte Carlo standard error. The closed forms against numerical
integration are in ``tests/features/definitions/test_btyd.py``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.contract.tasks import Task
from features.definitions.btyd import (
    BTYD_INPUTS,
    BgNbdParameters,
    add_btyd_features,
    expected_purchases,
    log_likelihood,
    probability_no_purchase,
)
from features.definitions.registry import FeatureSpec, feature_specs
from features.definitions.vocabulary import Vocabulary
from features.definitions.wording import Wording
from features.model.scoring_model import ScoringModel
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary
from training.btyd import fit_bg_nbd, fit_btyd_features, purchase_histories, with_btyd_features
from training.btyd_check import train_churn
from training.btyd_process import BgNbdCohort, simulate_bg_nbd
from training.config import load_config
from training.evaluation import rows_at

PARAMS = BgNbdParameters(r=0.7, alpha=25.0, a=0.8, b=3.0)
HORIZON = timedelta(days=90)


@pytest.fixture(scope="module")
def population() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """40,000 customers drawn from the process: their histories as of day 365 (trials over the
    first 300 days) and what they did in the 90 days after it."""
    cohort = BgNbdCohort(
        params=PARAMS,
        customers=40_000,
        start=datetime(2024, 1, 1),
        acquisition_days=300.0,
        end=datetime(2025, 3, 31),  # day 455 = 365 + 90
    )
    histories = simulate_bg_nbd(cohort, seed=11)
    as_of = datetime(2024, 12, 31)
    export = histories.export()
    try:
        summary = purchase_histories(export, as_of=as_of, activity_types=("order",))
    finally:
        export.close()
    orders = histories.orders
    later = orders.loc[orders["occurred_at"] >= as_of].groupby("customer_id").size()
    after = later.reindex(summary["entity_id"], fill_value=0).to_numpy(dtype="float64")
    return (
        summary["x"].to_numpy(),
        summary["t_x"].to_numpy(),
        summary["T"].to_numpy(),
        after,
        np.full(len(summary), 90.0),
    )


def test_probability_no_purchase_is_calibrated_on_the_process(population) -> None:
    """Per decile of the predicted probability, the share of customers with no purchase in the
    next 90 days equals the mean prediction within 4 binomial standard errors."""
    x, t_x, t_obs, after, _ = population
    predicted = probability_no_purchase(PARAMS, x, t_x, t_obs, days=90.0)
    quiet = (after == 0).astype(float)
    order = np.argsort(predicted, kind="stable")
    for part in np.array_split(order, 10):
        mean = predicted[part].mean()
        standard_error = np.sqrt(max(mean * (1 - mean), 1e-4) / part.size)
        assert abs(quiet[part].mean() - mean) < 4 * standard_error, (mean, quiet[part].mean())


def test_expected_purchases_match_the_process(population) -> None:
    """Per decile of eq. (10), the mean number of purchases in the next 90 days equals the
    mean expectation within 4 standard errors (the sample's own spread)."""
    x, t_x, t_obs, after, _ = population
    expected = expected_purchases(PARAMS, x, t_x, t_obs, days=90.0)
    order = np.argsort(expected, kind="stable")
    for part in np.array_split(order, 10):
        standard_error = max(after[part].std(ddof=1), 1e-3) / np.sqrt(part.size)
        assert abs(after[part].mean() - expected[part].mean()) < 4 * standard_error


def test_fit_recovers_the_parameters(population) -> None:
    """The fit maximises the likelihood (at least as high as at the true parameters) and lands
    near them: with 40,000 customers each estimate's standard error is a few percent."""
    x, t_x, t_obs, _, _ = population
    fitted = fit_bg_nbd(x, t_x, t_obs)
    assert (
        log_likelihood(fitted, x, t_x, t_obs).sum() >= log_likelihood(PARAMS, x, t_x, t_obs).sum()
    )
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(PARAMS, name), rel=0.2), name


def test_purchase_histories_from_an_export() -> None:
    """Time 0 is the first purchase; other types, purchases at or after as_of and repeats of one
    instant do not count; type names match after normalisation."""
    customers = [
        {"customer_id": "a", "created_at": "2025-01-01", "owner_id": "o"},
        {"customer_id": "b", "created_at": "2025-01-01", "owner_id": "o"},
        {"customer_id": "c", "created_at": "2025-01-01", "owner_id": "o"},
    ]
    events = [
        {"customer_id": "a", "occurred_at": "2025-01-03 12:00", "type": "order", "value": 5.0},
        {"customer_id": "a", "occurred_at": "2025-01-13 00:00", "type": " Order", "value": None},
        {"customer_id": "a", "occurred_at": "2025-01-13 00:00", "type": "order", "value": 7.0},
        {"customer_id": "a", "occurred_at": "2025-02-02 12:00", "type": "order", "value": 1.0},
        {"customer_id": "a", "occurred_at": "2025-02-10 00:00", "type": "order", "value": 1.0},
        {"customer_id": "a", "occurred_at": "2025-02-05 00:00", "type": "call", "value": None},
        {"customer_id": "b", "occurred_at": "2025-01-20 00:00", "type": "order", "value": 2.0},
        {"customer_id": "c", "occurred_at": "2025-01-20 00:00", "type": "call", "value": None},
    ]
    export = make_export(Task.CHURN, customers, events)
    try:
        got = purchase_histories(export, as_of=datetime(2025, 2, 10), activity_types=("order",))
    finally:
        export.close()
    assert got["entity_id"].tolist() == ["a", "b"]
    assert got["x"].tolist() == [2.0, 0.0]
    assert got["t_x"].tolist() == [30.0, 0.0]
    assert got["T"].tolist() == [37.5, 21.0]


def test_histories_are_deterministic_and_follow_the_process() -> None:
    cohort = BgNbdCohort(
        params=PARAMS,
        customers=2_000,
        start=datetime(2024, 1, 1),
        acquisition_days=100.0,
        end=datetime(2024, 12, 1),
    )
    first, again = simulate_bg_nbd(cohort, seed=5), simulate_bg_nbd(cohort, seed=5)
    assert first.orders.equals(again.orders) and first.customers.equals(again.customers)
    assert not first.orders.equals(simulate_bg_nbd(cohort, seed=6).orders)
    orders = first.orders.merge(first.customers, on="customer_id").merge(
        first.truth, on="customer_id"
    )
    trials = orders.groupby("customer_id")["occurred_at"].min()
    created = first.customers.set_index("customer_id")["created_at"]
    assert trials.reindex(created.index).equals(created)  # the first order is the trial
    assert (orders["occurred_at"] < cohort.end).all()
    assert not (orders["occurred_at"] > orders["died_at"]).any()  # nobody buys after death
    assert first.truth["died_at"].isna().any() and first.truth["died_at"].notna().any()


# --- the derived features' fit (training.btyd.with_btyd_features) ---


def _frame_from(population, cutoffs: list[datetime]) -> pd.DataFrame:
    """The population's histories as engineered columns, split evenly over ``cutoffs``."""
    x, t_x, t_obs, _, _ = population
    return pd.DataFrame(
        {
            "cutoff": np.resize(pd.to_datetime(cutoffs).to_numpy(), x.size),
            "purchase_count_all": x + 1.0,
            "days_since_first_purchase": t_obs,
            "days_since_last_purchase": t_obs - t_x,
        }
    )


def _specs(vocabulary) -> list:
    return [s for s in feature_specs(Task.CHURN, vocabulary) if s.name in BTYD_INPUTS]


def test_the_fit_reads_the_train_cutoffs_only(population) -> None:
    train, later = datetime(2025, 1, 1), datetime(2025, 2, 1)
    frame = _frame_from(population, [train, later])
    vocabulary = sim_vocabulary(Task.CHURN)
    out, specs, btyd = with_btyd_features(
        frame, _specs(vocabulary), vocabulary, fit_cutoffs=[train], horizon=HORIZON, seed=1
    )
    assert btyd is not None and btyd.horizon_days == 90
    mine = frame[frame["cutoff"] == train]
    x = mine["purchase_count_all"] - 1
    t_obs = mine["days_since_first_purchase"]
    assert btyd.params == fit_bg_nbd(x, t_obs - mine["days_since_last_purchase"], t_obs)
    # Whatever the later cutoffs hold, the parameters stay.
    scrambled = frame.copy()
    scrambled.loc[scrambled["cutoff"] == later, "purchase_count_all"] = 1.0
    _, _, again = with_btyd_features(
        scrambled, _specs(vocabulary), vocabulary, fit_cutoffs=[train], horizon=HORIZON, seed=1
    )
    assert again == btyd
    # Every row gets the columns, named after the horizon, with specs for them.
    assert [s.name for s in specs[-3:]] == list(btyd.names)
    pd.testing.assert_frame_equal(out, add_btyd_features(frame, btyd))
    assert out[list(btyd.names)].notna().all().all()
    # Fed its own output (a backtest origin refits), it replaces the derived features.
    refit, respecs, _ = with_btyd_features(
        out, specs, vocabulary, fit_cutoffs=[train], horizon=HORIZON, seed=1
    )
    assert [s.name for s in respecs] == [s.name for s in specs]
    pd.testing.assert_frame_equal(refit, out)


def test_a_large_fit_is_subsampled_with_the_seed(population) -> None:
    frame = _frame_from(population, [datetime(2025, 1, 1)])
    cutoffs = [datetime(2025, 1, 1)]
    first = fit_btyd_features(frame, fit_cutoffs=cutoffs, horizon=HORIZON, seed=1, max_rows=4000)
    again = fit_btyd_features(frame, fit_cutoffs=cutoffs, horizon=HORIZON, seed=1, max_rows=4000)
    other = fit_btyd_features(frame, fit_cutoffs=cutoffs, horizon=HORIZON, seed=2, max_rows=4000)
    assert first == again and first != other
    assert first.params.r == pytest.approx(PARAMS.r, rel=0.3)


def test_leads_and_churn_without_purchases_get_no_derived_features(population) -> None:
    frame = _frame_from(population, [datetime(2025, 1, 1)])
    for vocabulary in (
        sim_vocabulary(Task.LEADS),
        Vocabulary.of_types(Task.CHURN, ["call"], activity_types=()),
    ):
        out, specs, btyd = with_btyd_features(
            frame, [], vocabulary, fit_cutoffs=[datetime(2025, 1, 1)], horizon=HORIZON, seed=1
        )
        assert btyd is None and out is frame and specs == []


@pytest.mark.parametrize("boost", ["always", "never", "auto"])
def test_a_churn_model_trained_on_the_process_carries_its_parameters(tmp_path, boost) -> None:
    """Through ``train_task`` as ``salesradar train churn`` runs it: the parameters come from
    the train cutoffs, every split's rows hold the derived columns, and they survive saving.
    ``[trees].boost_from_btyd``: the evaluated and the shipped trees (refit with cross-fitted
    calibration) start from the BG/NBD P(no purchase) ("always"), from a constant ("never"), or
    from whichever ranked the calibration cutoff better ("auto", both AUCs recorded)."""
    cohort = BgNbdCohort(
        params=PARAMS,
        customers=1_500,
        start=datetime(2024, 1, 1),
        acquisition_days=200.0,
        end=datetime(2025, 4, 1),
    )
    export = simulate_bg_nbd(cohort, seed=3).export()
    config = load_config()
    config = dataclasses.replace(
        config,
        trees=dataclasses.replace(
            config.trees,
            params={**config.trees.params, "n_estimators": 40},
            boost_from_btyd=boost,
        ),
    )
    try:
        trained = train_churn(export, as_of=cohort.end, horizon=HORIZON, config=config, seed=1)
    finally:
        export.close()
    btyd = trained.model.btyd
    assert btyd is not None and trained.model.feature_names[-3:] == list(btyd.names)
    engineered = trained.frame.drop(columns=list(btyd.names))
    expected = fit_btyd_features(
        engineered, fit_cutoffs=trained.split.train, horizon=HORIZON, seed=1
    )
    assert btyd == expected
    pd.testing.assert_frame_equal(trained.frame, add_btyd_features(engineered, btyd))
    assert trained.refit and trained.evaluated is not None
    prior = btyd.no_purchase_name
    aucs = trained.evaluated.metadata.get("boost_from_calibration_roc_auc")
    if boost == "auto":
        assert set(aucs) == {"constant", prior}
        boost_from = prior if aucs[prior] > aucs["constant"] else None
    else:
        assert aucs is None
        boost_from = prior if boost == "always" else None
    assert (trained.evaluated.boost_from, trained.model.boost_from) == (boost_from, boost_from)
    loaded = ScoringModel.load(tmp_path, expected_sha256=trained.model.save(tmp_path))
    assert loaded.boost_from == boost_from
    if aucs is not None:  # the choice's AUC is the chosen model's on the calibration cutoff
        calibration = rows_at(trained.frame, trained.split.calibration)
        auc = roc_auc_score(calibration["label"], trained.evaluated.raw_score(calibration))
        assert auc == pytest.approx(aucs[boost_from or "constant"], abs=1e-12)
    test = trained.test_frame
    assert np.array_equal(loaded.predict_proba(test), trained.model.predict_proba(test))
    assert np.array_equal(loaded.raw_score(test), trained.model.pipeline.decision_function(test))


def test_a_bg_nbd_fit_that_fails_leaves_the_features_out(monkeypatch) -> None:
    import training.btyd as module
    from tests.features.vocabkit import sim_vocabulary

    def fails(*args: object, **kwargs: object) -> None:
        raise module.BgNbdFitError("BG/NBD fit did not converge: test")

    monkeypatch.setattr(module, "fit_btyd_features", fails)
    frame = pd.DataFrame({"cutoff": pd.to_datetime(["2025-01-01"]), "label": [0]})
    specs = [
        FeatureSpec(name, "numeric", Wording("x"), "cadence", "count")
        for name in module.BTYD_INPUTS
    ]
    out, out_specs, btyd = module.with_btyd_features(
        frame,
        specs,
        sim_vocabulary("churn"),
        fit_cutoffs=[datetime(2025, 1, 1)],
        horizon=timedelta(days=90),
        seed=1,
    )
    assert btyd is None and out is frame and out_specs == specs
