"""The simulated history: a grid of whole UTC days ending at ``as_of``, and its seasonality.

Day ``d`` of the grid covers ``[start + d days, start + d + 1 days)``; the last day ends exactly
at ``as_of``. Monthly cutoffs fall at 00:00 UTC on a day boundary, so "before the cutoff" is
"on an earlier day" and the label window ``[t, t + H)`` is exactly the days ``t .. t + H - 1``
(no simulated timestamp ever falls on 00:00:00).
"""

from __future__ import annotations

import calendar as std_calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class HistoryCalendar:
    """The day grid of one generated export."""

    start: datetime
    as_of: datetime
    days: np.ndarray  # datetime64[D], one per simulated day

    @property
    def n_days(self) -> int:
        return int(self.days.size)

    def day_index(self, moment: datetime) -> int:
        """The grid day that starts at ``moment`` (which must be 00:00 UTC)."""
        return (moment - self.start).days

    def moment(self, day: int) -> datetime:
        return self.start + timedelta(days=day)


def subtract_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved back by whole calendar months (day clamped to the month's length)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month0 = divmod(index, 12)
    day = min(moment.day, std_calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def build_calendar(*, as_of: datetime, months: int) -> HistoryCalendar:
    """The grid of the ``months`` calendar months of history that end at ``as_of`` (00:00 UTC)."""
    start = subtract_months(as_of, months)
    days = np.arange(np.datetime64(start.date(), "D"), np.datetime64(as_of.date(), "D"))
    return HistoryCalendar(start=start, as_of=as_of, days=days)


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weekday with Monday = 0, month 1-12, day of month 1-31) of each day."""
    day_numbers = days.astype(np.int64)
    weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday
    month_starts = days.astype("datetime64[M]")
    month = month_starts.astype(np.int64) % 12 + 1
    day_of_month = (days - month_starts.astype("datetime64[D]")).astype(np.int64) + 1
    return weekday, month, day_of_month


def business_activity(days: np.ndarray) -> np.ndarray:
    """Multiplier of everyday commercial activity (orders, calls, emails) on each day.

    Offices buy on weekdays; late December is dead, August is slow, September (back to school)
    and the second half of March (fiscal-year end: budgets get spent) are busy.
    """
    weekday, month, dom = _date_parts(days)
    factor = np.select([weekday < 5, weekday == 5], [1.0, 0.15], default=0.08)
    factor = factor * np.where(month == 9, 1.3, 1.0)
    factor = factor * np.where(month == 8, 0.8, 1.0)
    factor = factor * np.where((month == 3) & (dom >= 15), 1.25, 1.0)
    holidays = ((month == 12) & (dom >= 20)) | ((month == 1) & (dom <= 2))
    return factor * np.where(holidays, 0.35, 1.0)


def deal_closing(days: np.ndarray) -> np.ndarray:
    """Multiplier of the daily probability that a negotiated deal is signed.

    Deals close on weekdays, cluster before the fiscal-year end (second half of March) and in
    the early-December budget flush, and stall over the holidays and in August.
    """
    weekday, month, dom = _date_parts(days)
    factor = np.select([weekday < 5, weekday == 5], [1.0, 0.2], default=0.1)
    factor = factor * np.where((month == 3) & (dom >= 15), 1.5, 1.0)
    factor = factor * np.where((month == 12) & (dom < 20), 1.3, 1.0)
    factor = factor * np.where(month == 8, 0.75, 1.0)
    holidays = ((month == 12) & (dom >= 20)) | ((month == 1) & (dom <= 2))
    return factor * np.where(holidays, 0.3, 1.0)


def monthly_cutoff_days(history: HistoryCalendar, *, horizon_days: int) -> list[int]:
    """Grid days of the monthly cutoffs (the 1st, 00:00 UTC) whose label window ends by as_of."""
    _, _, dom = _date_parts(history.days)
    last = history.n_days - horizon_days
    return [int(d) for d in np.flatnonzero(dom == 1) if 0 < d <= last]
