"""BG/NBD predictions for one history, and the churn features derived from them.

Source: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284 ("FHL 2005").

The process (FHL 2005, section 3): a customer's first purchase ("trial") is at time 0. While
alive, purchases follow a Poisson process of rate ``lam`` ~ Gamma(shape ``r``, rate ``alpha``);
after every *repeat* purchase the customer dies with probability ``p`` ~ Beta(``a``, ``b``),
so nobody dies at the trial and a customer alive at a time stays alive until their next purchase.
A history observed up to time ``T`` after the trial is summarised by ``x`` (repeat purchases in
(0, T]), ``t_x`` (time of the last repeat purchase; 0 when ``x`` = 0) and ``T``.

Units: times in days throughout (``alpha`` is then in days too). Every formula takes numpy
arrays (or scalars) of equal shape and is vectorised.

Here (``features``) live the formulas a served model needs: the likelihood terms, P(alive),
expected purchases, P(no purchase in a window), and ``add_btyd_features``, the one post-step
that turns a churn model's engineered cadence columns (``purchase_count_all``,
``days_since_first_purchase``, ``days_since_last_purchase``) into the derived features
``btyd_*``, identically for a training frame, a batch scoring table and online ``FeatureRows``.
The maximum-likelihood fit of the parameters belongs to training (``training.btyd``); a model
carries the fitted ``BtydFeatures`` in its manifest (``features.model.scoring_model``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, hyp2f1

if TYPE_CHECKING:
    from features.compute.rows import FeatureRows, FeatureTable

Floats = NDArray[np.float64]

# Every derived feature's name starts with this; no export attribute may
# (features.definitions.registry).
BTYD_PREFIX = "btyd_"
# Eq. (10) divides by a - 1: closer to 1 than this it refuses (training moves a fit off it).
A_NEAR_ONE = 1e-5
# The engineered columns the derived features read: x = count - 1, T, T - t_x.
BTYD_INPUTS = ("purchase_count_all", "days_since_first_purchase", "days_since_last_purchase")


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


def as_histories(x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """(x, t_x, T) as float arrays; ``ValueError`` unless x >= 0 and 0 <= t_x <= T."""
    xs, txs, ts = (np.asarray(v, dtype="float64") for v in (x, t_x, t_obs))
    if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > ts):
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every history")
    return xs, txs, ts


def _log_alive_terms(
    params: BgNbdParameters, x: Floats, t_x: Floats, t_obs: Floats
) -> tuple[Floats, Floats]:
    """(ln A3, ln A4) of FHL 2005 eq. (6); ln A4 is -inf where x = 0 (no death at the trial)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_a3 = -(r + x) * np.log(alpha + t_obs)
    repeat = x > 0
    # Where x = 0, b + x - 1 may be <= 0; that branch is discarded, so log a harmless 1 there.
    log_a4 = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x)
    return log_a3, np.where(repeat, log_a4, -np.inf)


def _alive(params: BgNbdParameters, x: Floats, t_x: Floats, t_obs: Floats) -> Floats:
    log_a3, log_a4 = _log_alive_terms(params, x, t_x, t_obs)
    return np.exp(log_a3 - np.logaddexp(log_a3, log_a4))


def _expected_if_alive(params: BgNbdParameters, x: Floats, t_obs: Floats, days: float) -> Floats:
    """Eq. (10) without its P(alive) factor (see ``expected_purchases``)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < A_NEAR_ONE:
        raise ValueError(f"eq. (10) is undefined at a = 1 (a = {a})")
    base = alpha + t_obs
    log_one_minus_z = np.log(base) - np.log(base + days)
    tail = np.exp((a - 1) * log_one_minus_z) * hyp2f1(
        a + b - 1 - r, a - 1, a + b + x - 1, days / (base + days)
    )
    return np.asarray((a + b + x - 1) / (a - 1) * (1 - tail), dtype=np.float64)


def _buys_if_alive(params: BgNbdParameters, x: Floats, t_obs: Floats, days: float) -> Floats:
    """P(a purchase in (T, T + days] | alive at T): see ``probability_no_purchase``."""
    base = params.alpha + t_obs
    # -expm1 keeps precision when the window is short against alpha + T.
    return np.asarray(
        -np.expm1((params.r + x) * (np.log(base) - np.log(base + days))), dtype=np.float64
    )


def log_likelihood(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike
) -> Floats:
    """Each history's log-likelihood, ln L(r, alpha, a, b | x, t_x, T): FHL 2005 eq. (6)
    (the sum over customers is their eq. (7)), computed in logs so large ``x`` cannot
    overflow. Takes x (repeat purchases), t_x and T (days); returns one value per history."""
    x, t_x, t_obs = as_histories(x, t_x, t_obs)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    log_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    log_a3, log_a4 = _log_alive_terms(params, x, t_x, t_obs)
    return np.asarray(log_a1 + log_a2 + np.logaddexp(log_a3, log_a4), dtype=np.float64)


def probability_alive(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike
) -> Floats:
    """P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
    (alpha + t_x))^(r + x)): A3 / (A3 + A4) of eq. (6), the P(tau > T | ...) step of FHL 2005's
    appendix (derivation of eq. (10)). 1 for a customer without repeat purchases."""
    return _alive(params, *as_histories(x, t_x, t_obs))


def expected_purchases(
    params: BgNbdParameters, x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike, *, days: float
) -> Floats:
    """E[purchases in (T, T + days] | x, t_x, T]: FHL 2005 eq. (10),
    (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))] * P(alive). Refuses
    |a - 1| < ``A_NEAR_ONE``.

    The bracket is evaluated after Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B)
    2F1(C - A, C - B; C; z) with 1 - z = (alpha + T) / (alpha + T + t): (1 - z)^(a - 1)
    2F1(a + b - 1 - r, a - 1; a + b + x - 1; z). The untransformed series grows like
    (1 - z)^-(r + x) while its prefactor shrinks as fast, and scipy returns NaN for it once x
    is in the thousands (measured: x = 2,000, T = 40 days); the transformed one stays near 1
    for any x and agrees with the published form to about 1e-14 where that is finite.
    """
    x, t_x, t_obs = as_histories(x, t_x, t_obs)
    return _expected_if_alive(params, x, t_obs, days) * _alive(params, x, t_x, t_obs)


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
    x, t_x, t_obs = as_histories(x, t_x, t_obs)
    return 1.0 - _alive(params, x, t_x, t_obs) * _buys_if_alive(params, x, t_obs, days)


@dataclass(frozen=True)
class BtydFeatures:
    """What a churn model's derived features need: fitted parameters and the forecast span.

    ``horizon_days`` is the model's label horizon; it names the windowed features
    (``btyd_expected_purchases_90d``). Plain numbers, saved in the model's manifest.
    """

    params: BgNbdParameters
    horizon_days: int

    def __post_init__(self) -> None:
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days must be positive, got {self.horizon_days}")

    @property
    def names(self) -> tuple[str, str, str]:
        """P(alive), expected purchases and P(no purchase) over the horizon, in that order."""
        h = self.horizon_days
        return (
            f"{BTYD_PREFIX}p_alive",
            f"{BTYD_PREFIX}expected_purchases_{h}d",
            f"{BTYD_PREFIX}p_no_purchase_{h}d",
        )

    @property
    def no_purchase_name(self) -> str:
        """The feature P(no purchase over the horizon): the churn label's own probability
        under BG/NBD, hence the prior a churn model's trees may boost from."""
        return self.names[2]

    def to_dict(self) -> dict[str, float | int]:
        return {**dataclasses.asdict(self.params), "horizon_days": self.horizon_days}

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> BtydFeatures:
        params = BgNbdParameters(*(float(data[k]) for k in ("r", "alpha", "a", "b")))
        return cls(params, int(data["horizon_days"]))


def is_btyd_feature(name: str) -> bool:
    """Whether ``name`` is a derived BTYD feature (computed by ``add_btyd_features``, never
    by the feature SQL or the online definitions, never read from a record)."""
    return name.startswith(BTYD_PREFIX)


def btyd_values(
    btyd: BtydFeatures, purchases: ArrayLike, since_first: ArrayLike, since_last: ArrayLike
) -> dict[str, Floats]:
    """The derived features from the engineered columns, by name (``BtydFeatures.names``).

    ``purchases`` is ``purchase_count_all`` (x + 1: the trial counts), ``since_first`` is
    ``days_since_first_purchase`` (T) and ``since_last`` ``days_since_last_purchase``
    (T - t_x), all as of the same cutoff. NaN where the customer has no purchase yet; finite
    otherwise (every formula runs in logs).
    """
    count, first, last = (
        np.asarray(v, dtype="float64") for v in (purchases, since_first, since_last)
    )
    known = (count >= 1) & np.isfinite(first) & np.isfinite(last)
    t_obs = first[known]
    # Rounding can put t_x a hair outside [0, T]; the formulas need it inside.
    t_x = np.clip(t_obs - last[known], 0.0, t_obs)
    x = count[known] - 1.0
    days, params = float(btyd.horizon_days), btyd.params
    # The three public formulas' parts, P(alive) computed once (online latency: one request).
    alive = _alive(params, x, t_x, t_obs)
    computed = (
        alive,
        _expected_if_alive(params, x, t_obs, days) * alive,
        1.0 - alive * _buys_if_alive(params, x, t_obs, days),
    )
    out = {}
    for name, values in zip(btyd.names, computed, strict=True):
        column = np.full(count.shape, np.nan)
        column[known] = values
        out[name] = column
    return out


@overload
def add_btyd_features(table: FeatureRows, btyd: BtydFeatures | None) -> FeatureRows: ...
@overload
def add_btyd_features(table: pd.DataFrame, btyd: BtydFeatures | None) -> pd.DataFrame: ...
def add_btyd_features(table: FeatureTable, btyd: BtydFeatures | None) -> FeatureTable:
    """``table`` with the derived features appended (after every other column); unchanged
    when ``btyd`` is None (a leads model, or a churn model without a purchase kind).

    The one post-step of every path: a training frame, a batch scoring table (pandas) and
    online ``FeatureRows`` (numeric matrix, no pandas round trip) get the same numbers from
    the same three engineered columns, which ``table`` must hold. A frame is copied, never
    changed in place.
    """
    if btyd is None:
        return table
    if isinstance(table, pd.DataFrame):
        missing = [c for c in BTYD_INPUTS if c not in table.columns]
        if missing:
            raise ValueError(f"BTYD features need column(s) {', '.join(missing)}")
        values = btyd_values(btyd, *(table[c].to_numpy(dtype="float64") for c in BTYD_INPUTS))
        return table.assign(**values)
    missing = [c for c in BTYD_INPUTS if c not in table.positions]
    if missing:
        raise ValueError(f"BTYD features need column(s) {', '.join(missing)}")
    if any(name in table.positions for name in btyd.names):
        raise ValueError("the rows already hold BTYD features")
    matrix = table.numeric
    values = btyd_values(btyd, *(matrix[:, table.positions[c]] for c in BTYD_INPUTS))
    return dataclasses.replace(
        table,
        names=(*table.names, *values),
        numeric=np.column_stack([matrix, *values.values()]),
    )
