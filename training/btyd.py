"""The BG/NBD buy-till-you-die model: likelihood, fit, and what it predicts for one history.

Source: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284 ("FHL 2005").

The process (FHL 2005, section 3): a customer's first purchase ("trial") is at time 0. While
alive, purchases follow a Poisson process of rate ``lam`` ~ Gamma(shape ``r``, rate ``alpha``);
after every *repeat* purchase the customer dies with probability ``p`` ~ Beta(``a``, ``b``),
so nobody dies at the trial and a customer alive at a time stays alive until their next purchase.
A history observed up to time ``T`` after the trial is summarised by ``x`` (repeat purchases in
(0, T]), ``t_x`` (time of the last repeat purchase; 0 when ``x`` = 0) and ``T``.

Units: times in days throughout (``alpha`` is then in days too). Every function takes numpy
arrays (or scalars) of equal shape and is vectorised.

Why here (``training``) and not in ``features``: today only evaluation and benchmarks use it
(``training.btyd_check``); the served model has no BTYD features yet. When it gets them, the
prediction formulas (not the fit, which training owns) move to ``features`` so that batch and
online scoring compute them from one definition (design in docs/training.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from features.export import Export, quote
from features.tasks import TASK_TABLES, Task
from features.vocabulary import normalise_event_type, raw_event_types

logger = logging.getLogger(__name__)

Floats = NDArray[np.float64]
_MICROSECONDS_PER_DAY = 86_400_000_000.0


@dataclass(frozen=True)
class BgNbdParameters:
    """The four population parameters of FHL 2005: purchase rates ~ Gamma(r, alpha) (alpha a
    rate, in days), death probabilities ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        if not all(np.isfinite(v) and v > 0 for v in (self.r, self.alpha, self.a, self.b)):
            raise ValueError(f"BG/NBD parameters must be finite and positive: {self}")


class BgNbdFitError(RuntimeError):
    """The maximum-likelihood search did not reach a finite optimum."""


def _arrays(x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike) -> tuple[Floats, Floats, Floats]:
    xs, txs, ts = (np.asarray(v, dtype="float64") for v in (x, t_x, t_obs))
    if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > ts):
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every history")
    return xs, txs, ts


def _log_terms(
    params: BgNbdParameters, x: Floats, t_x: Floats, t_obs: Floats
) -> tuple[Floats, Floats, Floats]:
    """(ln A1 + ln A2, ln A3, ln A4) of FHL 2005 eq. (6); ln A4 is -inf where x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    log_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    log_a3 = -(r + x) * np.log(alpha + t_obs)
    repeat = x > 0
    log_a4 = np.full_like(x, -np.inf)
    xr, txr = x[repeat], t_x[repeat]
    log_a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + txr)
    return log_a1 + log_a2, log_a3, log_a4


def log_likelihood(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike
) -> Floats:
    """Each history's log-likelihood, ln L(r, alpha, a, b | x, t_x, T): FHL 2005 eq. (6)
    (the sum over customers is their eq. (7)), computed in logs so large ``x`` cannot
    overflow. Takes x (repeat purchases), t_x and T (days); returns one value per history."""
    x, t_x, t_obs = _arrays(x, t_x, t_obs)
    log_a12, log_a3, log_a4 = _log_terms(params, x, t_x, t_obs)
    return log_a12 + np.logaddexp(log_a3, log_a4)


def probability_alive(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike
) -> Floats:
    """P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
    (alpha + t_x))^(r + x)): A3 / (A3 + A4) of eq. (6), the P(tau > T | ...) step of FHL 2005's
    appendix (derivation of eq. (10)). 1 for a customer without repeat purchases."""
    x, t_x, t_obs = _arrays(x, t_x, t_obs)
    _, log_a3, log_a4 = _log_terms(params, x, t_x, t_obs)
    return np.exp(log_a3 - np.logaddexp(log_a3, log_a4))


def expected_purchases(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike, *, days: float
) -> Floats:
    """E[purchases in (T, T + days] | x, t_x, T]: FHL 2005 eq. (10),
    (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))] * P(alive). Needs a != 1."""
    x, t_x, t_obs = _arrays(x, t_x, t_obs)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if np.isclose(a, 1.0):
        raise ValueError("eq. (10) is undefined at a = 1")
    base = alpha + t_obs
    tail = np.exp((r + x) * (np.log(base) - np.log(base + days))) * hyp2f1(
        r + x, b + x, a + b + x - 1, days / (base + days)
    )
    return (a + b + x - 1) / (a - 1) * (1 - tail) * probability_alive(params, x, t_x, t_obs)


def probability_no_purchase(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike, *, days: float
) -> Floats:
    """P(no purchase in (T, T + days] | x, t_x, T): what salesradar's silent-churn label asks.

    A dead customer never buys again; death only follows a purchase, so a customer alive at T
    is alive until their next purchase and makes none in the window with probability
    exp(-lam * days). Given alive and the history, lam ~ Gamma(r + x, alpha + T) (the alive
    branch of FHL 2005 eq. (3), lam^x e^(-lam T), times the Gamma prior), whose Laplace
    transform gives E[exp(-lam * days)] = ((alpha + T) / (alpha + T + days))^(r + x). Hence
    1 - P(alive) * (1 - ((alpha + T) / (alpha + T + days))^(r + x)). Checked against
    simulation of the process in the tests.
    """
    x, t_x, t_obs = _arrays(x, t_x, t_obs)
    base = params.alpha + t_obs
    # -expm1 keeps precision when the window is short against alpha + T.
    buys = -np.expm1((params.r + x) * (np.log(base) - np.log(base + days)))
    return 1.0 - probability_alive(params, x, t_x, t_obs) * buys


def fit_bg_nbd(x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike) -> BgNbdParameters:
    """Maximum-likelihood (r, alpha, a, b) for histories (x, t_x, T in days): maximises the sum
    of eq. (6) (FHL 2005 eq. (7)) with scipy's L-BFGS-B over the parameters' logarithms.

    Deterministic (no random start). Raises ``BgNbdFitError`` when the search fails or runs to
    a bound, ``ValueError`` on an empty or malformed history set.
    """
    xs, txs, ts = _arrays(x, t_x, t_obs)
    if xs.size == 0:
        raise ValueError("no histories to fit")
    # Start alpha at the mean observation time so every start is O(1) in its own units.
    scale = float(np.mean(ts)) or 1.0
    start = np.log([1.0, scale, 1.0, 1.0])
    bounds = [(-12.0, 12.0), (np.log(scale) - 12.0, np.log(scale) + 12.0)] + [(-12.0, 12.0)] * 2

    def loss(theta: Floats) -> float:
        r, alpha, a, b = np.exp(theta)
        return -float(np.mean(log_likelihood(BgNbdParameters(r, alpha, a, b), xs, txs, ts)))

    result = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    theta = np.asarray(result.x)
    at_bound = any(
        np.isclose(v, lo) or np.isclose(v, hi) for v, (lo, hi) in zip(theta, bounds, strict=True)
    )
    if not np.isfinite(result.fun) or at_bound:
        raise BgNbdFitError(f"BG/NBD fit did not converge: {result.message}")
    fitted = BgNbdParameters(*(float(v) for v in np.exp(theta)))
    logger.info(
        "BG/NBD fit on %d histories: %s (mean log-likelihood %.5f)", xs.size, fitted, -result.fun
    )
    return fitted


def purchase_histories(
    export: Export, *, as_of: datetime, activity_types: tuple[str, ...]
) -> pd.DataFrame:
    """Every customer's BG/NBD summary as of ``as_of``: ``entity_id, x, t_x, T``.

    Reads purchases (events whose normalised type is in ``activity_types``) strictly before
    ``as_of`` (naive UTC), as salesradar's features do. Time 0 is the customer's first purchase
    (the BG/NBD trial, whatever ``created_at`` says); purchases at one instant count once;
    ``x`` = distinct purchase instants - 1; ``t_x``, ``T`` in days from day-exact microseconds.
    Customers without a purchase before ``as_of`` are absent; rows are ordered by entity id.
    """
    table = TASK_TABLES[Task.CHURN].events_table
    wanted = {normalise_event_type(t) for t in activity_types}
    raw = [t for t in raw_event_types(export, task=Task.CHURN) if normalise_event_type(t) in wanted]
    if not raw:
        return pd.DataFrame({"entity_id": [], "x": [], "t_x": [], "T": []})
    placeholders = ", ".join("?" for _ in raw)
    frame = export.con.execute(
        "SELECT customer_id AS entity_id, count(DISTINCT occurred_at) - 1 AS x, "
        "date_diff('microsecond', min(occurred_at), max(occurred_at)) AS tx_us, "
        "date_diff('microsecond', min(occurred_at), CAST(? AS TIMESTAMP)) AS t_us "
        f"FROM {quote(table)} WHERE occurred_at < ? AND type IN ({placeholders}) "
        "GROUP BY customer_id ORDER BY customer_id",
        [as_of, as_of, *raw],
    ).df()
    return pd.DataFrame(
        {
            "entity_id": frame["entity_id"].astype(object),
            "x": frame["x"].astype("float64"),
            "t_x": frame["tx_us"].astype("float64") / _MICROSECONDS_PER_DAY,
            "T": frame["t_us"].astype("float64") / _MICROSECONDS_PER_DAY,
        }
    )
