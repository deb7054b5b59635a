"""BG/NBD in training: the maximum-likelihood fit, per-customer histories from an export, and
the fit of a churn model's derived BTYD features on its training rows.

The model (FHL 2005: P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your Customers' the
Easy Way", Marketing Science 24(2)) and its prediction formulas live in
``features.definitions.btyd``, which serving imports; training owns the fit. Times are in days.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.btyd import (
    A_NEAR_ONE,
    BTYD_INPUTS,
    BgNbdParameters,
    BtydFeatures,
    add_btyd_features,
    as_histories,
    is_btyd_feature,
    log_likelihood,
)
from features.definitions.registry import btyd_specs
from features.definitions.vocabulary import Vocabulary, normalise_event_type, raw_event_types
from features.model.scoring_model import FeatureSpecLike, ScoringModel

logger = logging.getLogger(__name__)

Floats = NDArray[np.float64]
_MICROSECONDS_PER_DAY = 86_400_000_000.0

# The derived features' fit reads at most this many training rows (a seeded sample).
FIT_MAX_ROWS = 100_000


class BgNbdFitError(RuntimeError):
    """The maximum-likelihood search did not reach a finite optimum."""


def fit_bg_nbd(x: ArrayLike, t_x: ArrayLike, t_obs: ArrayLike) -> BgNbdParameters:
    """Maximum-likelihood (r, alpha, a, b) for histories (x, t_x, T in days): maximises the sum
    of eq. (6) (FHL 2005 eq. (7)) with scipy's L-BFGS-B over the parameters' logarithms.

    Deterministic (no random start). Raises ``BgNbdFitError`` when the search fails or runs to
    a bound, ``ValueError`` on an empty or malformed history set.
    """
    xs, txs, ts = as_histories(x, t_x, t_obs)
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


def fit_btyd_features(
    frame: pd.DataFrame,
    *,
    fit_cutoffs: Sequence[datetime],
    horizon: timedelta,
    seed: int,
    max_rows: int = FIT_MAX_ROWS,
) -> BtydFeatures:
    """BG/NBD parameters fitted on the rows of ``frame`` at ``fit_cutoffs`` (the trees' train
    cutoffs: calibration and test rows never reach the fit), for features over ``horizon``.

    Each row's (x, t_x, T) is read from the engineered columns ``BTYD_INPUTS`` as of its cutoff.
    A customer eligible at several cutoffs appears once per cutoff, so the summed likelihood is
    a composite likelihood (not the likelihood of independent customers): its maximum is still
    a consistent estimate of the parameters, but its curvature overstates their precision,
    which nothing here uses. More than ``max_rows`` rows are subsampled, seeded by ``seed``.
    A fitted ``a`` within the tolerance at which eq. (10) is undefined (a = 1) is moved just
    outside it. Raises ``BgNbdFitError`` when the fit fails, ``ValueError`` without rows.
    """
    rows = frame.loc[frame["cutoff"].isin(pd.to_datetime(list(fit_cutoffs)))]
    rows = rows.loc[rows[BTYD_INPUTS[0]] >= 1]
    if len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=np.random.RandomState(seed))
    count, first, last = (rows[c].to_numpy(dtype="float64") for c in BTYD_INPUTS)
    t_x = np.clip(first - last, 0.0, first)
    params = fit_bg_nbd(count - 1.0, t_x, first)
    if abs(params.a - 1.0) < A_NEAR_ONE:
        params = BgNbdParameters(params.r, params.alpha, 1.0 + 2 * A_NEAR_ONE, params.b)
    return BtydFeatures(params, horizon_days=horizon.days)


def with_btyd_features(
    frame: pd.DataFrame,
    specs: Sequence[FeatureSpecLike],
    vocabulary: Vocabulary,
    *,
    fit_cutoffs: Sequence[datetime],
    horizon: timedelta,
    seed: int,
) -> tuple[pd.DataFrame, list[FeatureSpecLike], BtydFeatures | None]:
    """A training frame and its specs with the derived BTYD features added, and the fitted
    parameters (``fit_btyd_features`` on ``fit_cutoffs``) the model will carry.

    Only for a churn ``vocabulary`` (the frame's) with a purchase kind whose engineered inputs
    are among ``specs``, and only when the BG/NBD fit succeeds (a failed fit is logged as a
    warning); anything else comes back unchanged with None. Derived specs already in
    ``specs`` are replaced, never doubled. The columns are computed for every row (train,
    calibration and test) by ``features.definitions.btyd.add_btyd_features``, as batch and online
    scoring compute them from the saved parameters.
    """
    specs = [s for s in specs if not is_btyd_feature(s.name)]
    names = {s.name for s in specs}
    if (
        vocabulary.task is not Task.CHURN
        or not vocabulary.purchase
        or not set(BTYD_INPUTS) <= names
    ):
        return frame, specs, None
    try:
        btyd = fit_btyd_features(frame, fit_cutoffs=fit_cutoffs, horizon=horizon, seed=seed)
    except (BgNbdFitError, ValueError) as error:
        # BG/NBD is a model of sparse repeat purchases; on dense usage logs (every event an
        # "activity") its likelihood may have no finite optimum. The model is then trained
        # without these three features rather than not at all.
        logger.warning("BTYD features left out: %s", error)
        return frame, specs, None
    logger.info("BTYD features over %d days from %s", btyd.horizon_days, btyd.params)
    derived = btyd_specs(vocabulary, btyd)
    return add_btyd_features(frame, btyd), [*specs, *derived], btyd


def boost_candidates(btyd: BtydFeatures | None, *, mode: str) -> tuple[str | None, ...]:
    """What the evaluated model's trees may boost from
    (``training.tree_fit.build_tree_pipeline``): None is a constant start, a name the
    BG/NBD P(no purchase over the horizon). "always" and "never" give one; "auto" both, for
    ``choose_boost`` to decide on the calibration cutoffs. Without BTYD features (``btyd`` None)
    only a constant start."""
    if btyd is None or mode == "never":
        return (None,)
    return (btyd.no_purchase_name,) if mode == "always" else (None, btyd.no_purchase_name)


def boost_feature(btyd: BtydFeatures | None, *, mode: str) -> str | None:
    """The start of a model fitted without a calibration cutoff to decide on (no temporal
    test): the prior only when ``mode`` is "always"; "auto" keeps the constant start."""
    return btyd.no_purchase_name if btyd is not None and mode == "always" else None


def choose_boost(
    models: Sequence[ScoringModel], calibration_rows: pd.DataFrame
) -> tuple[ScoringModel, dict[str, float]]:
    """The model whose raw score ranks ``calibration_rows`` best (ROC AUC), and every
    candidate's AUC by its start ("constant" or the prior's feature name).

    The calibration cutoffs are later than every row the trees saw, and the calibrator is
    monotone, so ranking them is an honest validation; the test cutoff plays no part. A tie
    keeps the first candidate (``boost_candidates`` puts the constant first).
    """
    labels = calibration_rows["label"].to_numpy(dtype="int64")
    aucs = [float(roc_auc_score(labels, m.raw_score(calibration_rows))) for m in models]
    best = int(np.argmax(aucs))
    by_start = {(m.boost_from or "constant"): a for m, a in zip(models, aucs, strict=True)}
    return models[best], by_start
