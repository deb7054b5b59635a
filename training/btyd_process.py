"""Purchase histories drawn from the BG/NBD process with known parameters, as a salesradar export.

What the churn model is judged against on transaction-only data (``tests/training/
test_btyd_process.py``, ``make bench-btyd``): when histories come from the BG/NBD process
(FHL 2005, section 3; see ``training.btyd``), the best possible score for "no purchase in the
next h days" is that process's own probability given each history, with the true parameters.

The export has what a retailer's order log has and nothing else: ``customers`` (``customer_id``,
``created_at`` = the first purchase, the BG/NBD trial; ``owner_id``) and ``customer_events`` with
one ``order`` event per purchase (``value``: an amount drawn independently of the process, so
it carries no signal). No ``churned_at``: BG/NBD deaths are never observed. No leads.
Deterministic for a seed: one numpy generator, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.contract.export import Export, export_from_frames
from features.definitions.btyd import BgNbdParameters

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class BgNbdCohort:
    """Who is simulated: ``customers`` whose trials fall uniformly in
    [``start``, ``start`` + ``acquisition_days``), observed until ``end`` (exclusive)."""

    params: BgNbdParameters
    customers: int
    start: datetime
    acquisition_days: float
    end: datetime
    owners: int = 20
    activity_type: str = "order"
    value_log_mean: float = 4.5  # order values ~ lognormal(4.5, 0.8): about 125 on average
    value_log_sd: float = 0.8

    @property
    def observed_days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


@dataclass
class BgNbdHistories:
    """The drawn histories: export-contract frames plus each customer's hidden truth.

    ``customers``: customer_id, created_at, owner_id. ``orders``: customer_id, occurred_at,
    type, value. ``truth``: customer_id, purchase_rate (per day), death_probability, died_at
    (NaT while alive at ``end``) — never part of the export.
    """

    cohort: BgNbdCohort
    customers: pd.DataFrame
    orders: pd.DataFrame
    truth: pd.DataFrame

    def export(self) -> Export:
        """The histories as an in-memory salesradar export (leads tables empty)."""
        no_leads = pd.DataFrame(
            {"lead_id": [], "created_at": pd.to_datetime([]), "owner_id": [], "converted_at": []}
        )
        no_lead_events = pd.DataFrame(
            {"lead_id": [], "occurred_at": pd.to_datetime([]), "type": []}
        )
        return export_from_frames(
            leads=no_leads,
            customers=self.customers,
            lead_events=no_lead_events,
            customer_events=self.orders,
        )


def simulate_bg_nbd(cohort: BgNbdCohort, *, seed: int) -> BgNbdHistories:
    """Draw every customer's purchases from the BG/NBD process (FHL 2005, assumptions i-v).

    Per customer: trial time uniform over the acquisition period; purchase rate
    lam ~ Gamma(r, rate alpha) per day; death probability p ~ Beta(a, b); repeat purchases at
    exponential(lam) gaps, each followed by death with probability p, until death or ``end``.
    Times are kept to the microsecond (the export's resolution).
    """
    params, n = cohort.params, cohort.customers
    rng = np.random.default_rng(seed)
    trial = rng.uniform(0.0, cohort.acquisition_days, n)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    death = rng.beta(params.a, params.b, n)
    died = np.full(n, np.nan)
    owners_of, times_of = [np.arange(n)], [trial]
    clock, active = trial.copy(), np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0 / rate[active])
        active = active[clock[active] < cohort.observed_days]
        owners_of.append(active)
        times_of.append(clock[active].copy())
        dies = rng.random(active.size) < death[active]
        died[active[dies]] = clock[active[dies]]
        active = active[~dies]
    who, when = np.concatenate(owners_of), np.concatenate(times_of)
    values = np.round(rng.lognormal(cohort.value_log_mean, cohort.value_log_sd, who.size), 2)
    ids = np.array([f"C{i:07d}" for i in range(n)], dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "created_at": _timestamps(cohort.start, trial),
            "owner_id": np.array(
                [f"owner-{i % cohort.owners:03d}" for i in range(n)], dtype=object
            ),
        }
    )
    orders = pd.DataFrame(
        {
            "customer_id": ids[who],
            "occurred_at": _timestamps(cohort.start, when),
            "type": np.full(who.size, cohort.activity_type, dtype=object),
            "value": values,
        }
    ).sort_values(["customer_id", "occurred_at"], ignore_index=True)
    truth = pd.DataFrame(
        {
            "customer_id": ids,
            "purchase_rate": rate,
            "death_probability": death,
            "died_at": _timestamps(cohort.start, died),
        }
    )
    return BgNbdHistories(cohort, customers, orders, truth)


def _timestamps(start: datetime, days: np.ndarray) -> pd.Series:
    """Naive-UTC microsecond timestamps ``start + days`` (NaN days give NaT)."""
    micros = np.round(days * _US_PER_DAY)
    base = np.datetime64(start, "us")
    out = pd.Series(pd.NaT, index=range(days.size), dtype="datetime64[us]")
    known = ~np.isnan(micros)
    out[known] = base + micros[known].astype("int64").astype("timedelta64[us]")
    return out
