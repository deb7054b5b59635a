"""Eligibility, realized labels and ground-truth probabilities per entity and monthly cutoff.

Definitions match ``features`` exactly. Leads: eligible at cutoff t if created at or before t
and neither converted nor closed-lost before t; label = converted in [t, t + H). Churn:
eligible at t if created at or before t, not churned before t and with an order before t;
label = churned in [t, t + H) or no order in [t, t + H). Cutoffs are 00:00 of grid days and no
simulated timestamp is ever at 00:00:00, so "before t" is "on an earlier day".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from features.synthetic.calendar import SECONDS_PER_DAY, HistoryCalendar, business_activity
from features.synthetic.chains import ChainPath
from features.synthetic.customers import CustomerWorld
from features.synthetic.events import EventBatch
from features.synthetic.leads import WON, LeadWorld
from features.synthetic.truth import exit_probability, silent_or_explicit_churn_probability


@dataclass(frozen=True)
class CutoffRows:
    """One row per eligible (entity, cutoff)."""

    entity: np.ndarray
    cutoff_day: np.ndarray
    probability: np.ndarray
    label: np.ndarray

    @classmethod
    def concat(cls, parts: list[CutoffRows]) -> CutoffRows:
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return cls(empty, empty, np.empty(0), empty)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__annotations__))


def _exit_in_window(path: ChainPath, rows: np.ndarray, day: int, horizon_days: int) -> np.ndarray:
    exit_day = path.exit_day[rows]
    return np.asarray((exit_day >= day) & (exit_day < day + horizon_days))


def build_lead_rows(
    world: LeadWorld, *, cutoff_days: list[int], horizon_days: int, truth: bool = True
) -> CutoffRows:
    """Eligible leads at each cutoff, the realized label and (if ``truth``) P(label = 1)."""
    parts = []
    for day in cutoff_days:
        states = world.path.state_on(day)
        rows = np.flatnonzero(states >= 0)
        won = world.path.exit_kind[rows] == WON
        label = (won & _exit_in_window(world.path, rows, day, horizon_days)).astype(np.int64)
        probability = (
            exit_probability(
                world.chain,
                rows=rows,
                states=states[rows],
                cutoff_day=day,
                horizon_days=horizon_days,
                exit_kind=WON,
            )
            if truth
            else np.full(rows.size, np.nan)
        )
        parts.append(CutoffRows(rows, np.full(rows.size, day), probability, label))
    return CutoffRows.concat(parts)


def _order_keys(events: EventBatch, order_code: int, n_days: int) -> np.ndarray:
    """Sorted ``entity * (n_days + 1) + day`` of every order (for window look-ups)."""
    orders = events.type == order_code
    day = events.second[orders] // SECONDS_PER_DAY
    return np.sort(events.entity[orders] * (n_days + 1) + day)


def build_churn_rows(
    world: CustomerWorld,
    *,
    order_code: int,
    n_days: int,
    days: np.ndarray,
    cutoff_days: list[int],
    horizon_days: int,
    truth: bool = True,
) -> CutoffRows:
    """Eligible customers at each cutoff, the realized label and (if ``truth``) P(label = 1)."""
    keys = _order_keys(world.events, order_code, n_days)
    base = np.arange(world.size) * (n_days + 1)
    season = business_activity(days)
    rates = world.order_rates()
    parts = []
    for day in cutoff_days:
        states = world.path.state_on(day)
        ordered_before = np.searchsorted(keys, base + day) > np.searchsorted(keys, base)
        rows = np.flatnonzero((states >= 0) & ordered_before)
        in_window = np.searchsorted(keys, base[rows] + day + horizon_days) - np.searchsorted(
            keys, base[rows] + day
        )
        label = (_exit_in_window(world.path, rows, day, horizon_days) | (in_window == 0)).astype(
            np.int64
        )
        probability = (
            silent_or_explicit_churn_probability(
                world.chain,
                rows=rows,
                states=states[rows],
                cutoff_day=day,
                horizon_days=horizon_days,
                order_rates=rates,
                order_season=season,
            )
            if truth
            else np.full(rows.size, np.nan)
        )
        parts.append(CutoffRows(rows, np.full(rows.size, day), probability, label))
    return CutoffRows.concat(parts)


def build_truth_table(
    rows: CutoffRows, ids: pa.Array, history: HistoryCalendar, horizon_days: int
) -> pa.Table:
    """The ground-truth file: entity_id, cutoff (00:00 UTC), horizon_days, probability."""
    origin = np.datetime64(history.start, "us")
    cutoffs = origin + rows.cutoff_day.astype("timedelta64[D]").astype("timedelta64[us]")
    return pa.table(
        {
            "entity_id": ids.take(pa.array(rows.entity)),
            "cutoff": pa.array(cutoffs, type=pa.timestamp("us")),
            "horizon_days": pa.array(np.full(rows.entity.size, horizon_days), type=pa.int64()),
            "probability": pa.array(rows.probability, type=pa.float64()),
        }
    )


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half); NaN with a single class."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    # Average ranks over ties.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], sorted_scores.size]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(average, ends - starts)
    rank_sum = ranks[labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))
