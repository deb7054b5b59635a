"""BG/NBD (training.btyd): each closed form against an independent computation.

The likelihood and P(alive) against direct numerical integration of the individual-level
likelihood (FHL 2005 eq. (3)) over the Gamma and Beta mixing distributions; P(no purchase) and
the expected purchases against the process itself (importance sampling for one history, and a
forward simulation of a population), with tolerances set by the Monte Carlo standard error.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from scipy import integrate, stats

from features.tasks import Task
from tests.features.test_features_support import make_export
from training.btyd import (
    BgNbdParameters,
    expected_purchases,
    fit_bg_nbd,
    log_likelihood,
    probability_alive,
    probability_no_purchase,
    purchase_histories,
)
from training.btyd_process import BgNbdCohort, simulate_bg_nbd

PARAMS = BgNbdParameters(r=0.7, alpha=25.0, a=0.8, b=3.0)
# (x, t_x, T) in days: no repeat purchase, a steady buyer, a buyer gone quiet, a heavy buyer.
HISTORIES = [(0, 0.0, 40.0), (3, 150.0, 160.0), (4, 30.0, 300.0), (25, 410.0, 420.0)]


def _lambda_integral(power: float, decay: float) -> float:
    """∫ lam^power e^(-lam decay) Gamma(lam; r, alpha) dlam, by quadrature."""
    density = stats.gamma(PARAMS.r, scale=1.0 / PARAMS.alpha).pdf
    value, _ = integrate.quad(
        lambda lam: lam**power * np.exp(-lam * decay) * density(lam),
        0,
        np.inf,
        epsabs=0,
        epsrel=1e-11,
        limit=500,
    )
    return value


def _p_integral(dies: int, survives: int) -> float:
    """∫ p^dies (1 - p)^survives Beta(p; a, b) dp, by quadrature."""
    density = stats.beta(PARAMS.a, PARAMS.b).pdf
    value, _ = integrate.quad(
        lambda p: p**dies * (1 - p) ** survives * density(p),
        0,
        1,
        epsabs=0,
        epsrel=1e-11,
        limit=500,
    )
    return value


def _integrated(x: int, t_x: float, t_obs: float) -> tuple[float, float]:
    """(alive branch, dead branch) of eq. (3) integrated over the mixing distributions."""
    alive = _p_integral(0, x) * _lambda_integral(x, t_obs)
    dead = _p_integral(1, x - 1) * _lambda_integral(x, t_x) if x > 0 else 0.0
    return alive, dead


@pytest.mark.parametrize(("x", "t_x", "t_obs"), HISTORIES)
def test_log_likelihood_matches_numerical_integration(x: int, t_x: float, t_obs: float) -> None:
    alive, dead = _integrated(x, t_x, t_obs)
    got = log_likelihood(PARAMS, [x], [t_x], [t_obs])[0]
    assert got == pytest.approx(np.log(alive + dead), abs=1e-7)


@pytest.mark.parametrize(("x", "t_x", "t_obs"), HISTORIES)
def test_probability_alive_matches_numerical_integration(x: int, t_x: float, t_obs: float) -> None:
    alive, dead = _integrated(x, t_x, t_obs)
    got = probability_alive(PARAMS, [x], [t_x], [t_obs])[0]
    assert got == pytest.approx(alive / (alive + dead), abs=1e-8)
    if x == 0:
        assert got == 1.0  # nobody dies at the trial


def test_probability_no_purchase_matches_importance_sampling() -> None:
    """Draw (lam, p) from the priors, weight by eq. (3), then run the process forward from T:
    alive with P(alive | lam, p, history), next purchase after an exponential(lam) wait."""
    rng = np.random.default_rng(3)
    draws, days = 400_000, 90.0
    for x, t_x, t_obs in HISTORIES:
        lam = rng.gamma(PARAMS.r, 1.0 / PARAMS.alpha, draws)
        p = rng.beta(PARAMS.a, PARAMS.b, draws)
        alive_branch = (1 - p) ** x * lam**x * np.exp(-lam * t_obs)
        dead_branch = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x else 0.0
        weight = alive_branch + dead_branch
        alive = rng.random(draws) < alive_branch / weight
        quiet = ~alive | (rng.exponential(1.0 / lam) > days)
        w = weight / weight.sum()
        estimate = float(np.sum(w * quiet))
        standard_error = float(np.sqrt(np.sum(w**2 * (quiet - estimate) ** 2)))
        exact = probability_no_purchase(PARAMS, [x], [t_x], [t_obs], days=days)[0]
        assert abs(estimate - exact) < 4 * standard_error + 1e-12, (x, estimate, exact)


def test_probability_no_purchase_limits() -> None:
    x, t_x, t_obs = np.array([0, 3, 4]), np.array([0.0, 150.0, 30.0]), np.array([40, 160, 300])
    assert np.allclose(probability_no_purchase(PARAMS, x, t_x, t_obs, days=0.0), 1.0)
    # Over an endless window only the dead stay quiet.
    endless = probability_no_purchase(PARAMS, x, t_x, t_obs, days=1e12)
    assert np.allclose(endless, 1 - probability_alive(PARAMS, x, t_x, t_obs), atol=1e-6)


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
