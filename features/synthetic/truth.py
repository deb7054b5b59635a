"""Exact label probabilities from the hidden state at a cutoff (the ground truth).

Both tasks are forecasts of the chain in ``features.synthetic.chains`` over the label window,
the days ``c .. c + H - 1`` for a cutoff at 00:00 of day ``c``. They are computed by backward
recursion over those days from the state at 00:00 of day ``c``; everything after the cutoff is
treated as unknown, everything about the entity's hidden parameters as known.
"""

from __future__ import annotations

import numpy as np

from features.synthetic.chains import ChainModel

CHUNK = 32_768  # entities per recursion batch: keeps the working arrays in cache


def exit_probability(
    model: ChainModel,
    *,
    rows: np.ndarray,
    states: np.ndarray,
    cutoff_day: int,
    horizon_days: int,
    exit_kind: int,
) -> np.ndarray:
    """P(the entity leaves through ``exit_kind`` within the window | its state at the cutoff)."""
    out = np.empty(rows.size)
    for lo in range(0, rows.size, CHUNK):
        r = rows[lo : lo + CHUNK]
        exits = model.exits[r]
        advance = model.advance[r]
        k = advance.shape[1]
        # hit[:, x]: probability of the exit from state x on the remaining days; column k pads.
        hit = np.zeros((r.size, k + 1))
        for day in range(cutoff_day + horizon_days - 1, cutoff_day - 1, -1):
            today = exits * model.exit_season[:, day]
            stay = 1.0 - today.sum(axis=2) - advance
            hit[:, :k] = today[:, :, exit_kind] + advance * hit[:, 1:] + stay * hit[:, :k]
        out[lo : lo + r.size] = hit[np.arange(r.size), states[lo : lo + CHUNK]]
    return out


def silent_or_explicit_churn_probability(
    model: ChainModel,
    *,
    rows: np.ndarray,
    states: np.ndarray,
    cutoff_day: int,
    horizon_days: int,
    order_rates: np.ndarray,
    order_season: np.ndarray,
) -> np.ndarray:
    """P(any exit within the window, or no order in it | state at the cutoff).

    Orders on a day are Poisson with mean ``order_rates[entity, state] * order_season[day]``,
    independent of that day's transition draw. With ``kept`` = P(no exit) and ``quiet`` = P(no
    exit and no order), the probability of the churn label is ``1 - (kept - quiet)``.
    """
    out = np.empty(rows.size)
    k = model.n_states
    for lo in range(0, rows.size, CHUNK):
        r = rows[lo : lo + CHUNK]
        exits = [np.ascontiguousarray(model.exits[r, x, :]) for x in range(k)]
        advance = [model.advance[r, x] for x in range(k)]
        rates = [order_rates[r, x] for x in range(k)]
        # One column per state plus a padding state that is never reached (advance is 0).
        kept = [np.ones(r.size) for _ in range(k + 1)]
        quiet = [np.ones(r.size) for _ in range(k + 1)]
        for day in range(cutoff_day + horizon_days - 1, cutoff_day - 1, -1):
            season = model.exit_season[:, day]
            for x in range(k):
                stay = 1.0 - exits[x] @ season - advance[x]
                no_order = np.exp(rates[x] * -order_season[day])
                kept[x] = advance[x] * kept[x + 1] + stay * kept[x]
                quiet[x] = no_order * (advance[x] * quiet[x + 1] + stay * quiet[x])
        state = states[lo : lo + CHUNK]
        kept_at = np.choose(state, kept[:k])
        quiet_at = np.choose(state, quiet[:k])
        out[lo : lo + r.size] = 1.0 - (kept_at - quiet_at)
    return out
