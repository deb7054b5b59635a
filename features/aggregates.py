"""Event aggregates: the building blocks every engineered feature is computed from.

Each aggregate is declared once and has two executions that must agree exactly (a hypothesis test
proves it): ``sql()``, a DuckDB aggregate over the events of one (entity, cutoff) pair, and
``evaluate(history)``, the same quantity in numpy over a ``History``. Both only ever see events
strictly before the cutoff; windows are ``[cutoff - days, cutoff)``.

In SQL, the event columns are those of the ``typed`` relation built by ``features.sql``: ``tc``
(type code), ``dc`` (direction code), ``kind`` (1 for events), ``occurred_at``, ``value``,
``channel`` and per-event columns (``gap_<code>``, ``replies_upto``) that are causal (each looks
only at events at or before its own time), so they never carry information from after a cutoff.
The cutoff is ``s.cutoff``. ``lookback_days`` is the longest look back of a windowed aggregate,
or None for an unbounded one (all history before the cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from features.history import US_PER_DAY, Code, History

AggregateValue = float | int | str | None


def _code_sql(code: Code | None) -> str:
    if code is None:
        return "any"
    return f"{code[0]}to{code[1]}" if isinstance(code, tuple) else str(code)


def code_predicate(code: Code, column: str) -> str:
    """SQL: ``column`` holds ``code`` (or a code in its inclusive range)."""
    if isinstance(code, tuple):
        return f"{column} BETWEEN {code[0]} AND {code[1]}"
    return f"{column} = {code}"


def _window_conditions(code: Code | None, days: int | None, direction: int | None) -> list[str]:
    conditions = []
    if code is not None:
        conditions.append(code_predicate(code, "e.tc"))
    if days is not None:
        conditions.append(f"e.occurred_at >= s.cutoff - INTERVAL {days} DAY")
    if direction is not None:
        conditions.append(f"e.dc = {direction}")
    return conditions


def _filtered(expression: str, conditions: list[str], over: str = "") -> str:
    if not conditions:
        return f"{expression}{over}"
    return f"{expression} FILTER (WHERE {' AND '.join(conditions)}){over}"


# Unbounded aggregates (``lookback_days`` None) run either as plain aggregates over the joined
# events (``over=""``) or as running window aggregates (``over=OVER``) over a timeline of events
# and spine rows (``kind`` 1 and 0); this condition keeps the spine rows out of them.
_EVENT_ROWS = "e.kind = 1"
OVER = " OVER w"


@dataclass(frozen=True)
class Count:
    """Number of events of a type (None: any) and direction, in a window (None: all history)."""

    code: Code | None
    days: int | None = None
    direction: int | None = None
    zero_when_empty: ClassVar[bool] = True

    @property
    def alias(self) -> str:
        return f"n_{_code_sql(self.code)}_{self.days or 'all'}_{self.direction or 'any'}"

    @property
    def lookback_days(self) -> int | None:
        return self.days

    def sql(self, over: str = OVER) -> str:
        conditions = _window_conditions(self.code, self.days, self.direction)
        if self.days is None:
            return _filtered("count(*)", [_EVENT_ROWS, *conditions], over)
        return _filtered("count(*)", conditions)

    def evaluate(self, history: History) -> AggregateValue:
        return int(np.count_nonzero(history.mask(self.code, self.days, self.direction)))


@dataclass(frozen=True)
class ValueSum:
    """Sum of event values (missing values count as nothing) of a type in a window."""

    code: Code | None
    days: int | None = None
    zero_when_empty: ClassVar[bool] = True

    @property
    def alias(self) -> str:
        return f"v_{_code_sql(self.code)}_{self.days or 'all'}"

    @property
    def lookback_days(self) -> int | None:
        if self.days is None:
            raise ValueError("an all-history value sum is not supported")
        return self.days

    def sql(self, over: str = OVER) -> str:
        return _filtered("sum(e.value)", _window_conditions(self.code, self.days, None))

    def evaluate(self, history: History) -> AggregateValue:
        selected = history.values[history.mask(self.code, self.days)]
        return float(np.nansum(selected)) if selected.size else 0.0


@dataclass(frozen=True)
class LastTime:
    """Time of the latest event of a type (None: any), as µs since the epoch; None if none."""

    code: Code | None
    zero_when_empty: ClassVar[bool] = False

    @property
    def alias(self) -> str:
        return f"last_{_code_sql(self.code)}"

    lookback_days: ClassVar[None] = None

    def sql(self, over: str = OVER) -> str:
        conditions = [_EVENT_ROWS, *_window_conditions(self.code, None, None)]
        return _filtered("max(e.occurred_at)", conditions, over)

    def evaluate(self, history: History) -> AggregateValue:
        times = history.times[history.mask(self.code)]
        return int(times[-1]) if times.size else None


@dataclass(frozen=True)
class FirstTime:
    """Time of the earliest event in a direction (None: any) of a type (None: any); None if none."""

    direction: int | None
    code: Code | None = None
    zero_when_empty: ClassVar[bool] = False

    @property
    def alias(self) -> str:
        kind = "" if self.code is None else f"_t{_code_sql(self.code)}"
        return f"first_dir_{self.direction or 'any'}{kind}"

    lookback_days: ClassVar[None] = None

    def sql(self, over: str = OVER) -> str:
        conditions = [_EVENT_ROWS, *_window_conditions(self.code, None, self.direction)]
        return _filtered("min(e.occurred_at)", conditions, over)

    def evaluate(self, history: History) -> AggregateValue:
        times = history.times[history.mask(self.code, None, self.direction)]
        return int(times[0]) if times.size else None


@dataclass(frozen=True)
class MedianGap:
    """Median days between consecutive events of a type, over the gaps that end in the last
    ``days`` days; None if no such gap (fewer than two events, or none recently).

    The SQL reads the per-event column ``gap_<code>`` (days since the previous event of the same
    type, a lag over the entity's own history), which only looks backwards in time. Limiting it
    to recent gaps keeps it a windowed aggregate and describes the customer's current rhythm.
    """

    code: Code
    days: int = 365
    zero_when_empty: ClassVar[bool] = False

    @property
    def alias(self) -> str:
        return f"median_gap_{_code_sql(self.code)}_{self.days}"

    @property
    def lookback_days(self) -> int | None:
        return self.days

    @property
    def event_column(self) -> str:
        return f"gap_{_code_sql(self.code)}"

    def sql(self, over: str = OVER) -> str:
        conditions = [*_window_conditions(self.code, self.days, None)]
        return _filtered(f"median(e.{self.event_column})", conditions)

    def evaluate(self, history: History) -> AggregateValue:
        selected = history.mask(self.code)
        times = history.times[selected]
        if times.size < 2:
            return None
        recent = history.mask(self.code, self.days)[selected][1:]
        gaps = np.diff(times)[recent]
        if gaps.size == 0:
            return None
        return float(np.median(gaps / float(US_PER_DAY)))


@dataclass(frozen=True)
class ActivePeriods:
    """Number of distinct ``period_days`` periods, among the last ``periods``, with an event."""

    code: Code
    period_days: int
    periods: int
    zero_when_empty: ClassVar[bool] = True

    @property
    def alias(self) -> str:
        return f"periods_{_code_sql(self.code)}_{self.period_days}x{self.periods}"

    @property
    def lookback_days(self) -> int | None:
        return self.period_days * self.periods

    def sql(self, over: str = OVER) -> str:
        period_us = self.period_days * US_PER_DAY
        bucket = f"ceil(date_diff('microsecond', e.occurred_at, s.cutoff) / {period_us}.0)"
        conditions = _window_conditions(self.code, self.period_days * self.periods, None)
        # A bit per period: bit_or is a cheap distributive aggregate, unlike count(DISTINCT).
        bits = _filtered(f"bit_or(1 << CAST({bucket} AS BIGINT))", conditions)
        return f"bit_count({bits})"

    def evaluate(self, history: History) -> AggregateValue:
        selected = history.mask(self.code, self.period_days * self.periods)
        ages = history.ages()[selected]
        return int(np.unique(np.ceil(ages / float(self.period_days * US_PER_DAY))).size)


@dataclass(frozen=True)
class TouchesBeforeFirstReply:
    """Outbound events strictly before the first event in ``reply_direction`` (an inbound
    response), read from the per-event column ``replies_upto``; all of them if none yet."""

    reply_direction: int
    outbound: int
    zero_when_empty: ClassVar[bool] = True

    @property
    def alias(self) -> str:
        return f"touches_before_reply_dir{self.reply_direction}"

    lookback_days: ClassVar[None] = None

    def sql(self, over: str = OVER) -> str:
        return f"count(*) FILTER (WHERE e.dc = {self.outbound} AND e.replies_upto = 0){over}"

    def evaluate(self, history: History) -> AggregateValue:
        replies = history.times[history.mask(None, None, self.reply_direction)]
        outbound = history.mask(None, None, self.outbound)
        if replies.size == 0:
            return int(np.count_nonzero(outbound))
        return int(np.count_nonzero(outbound & (history.times < replies[0])))


@dataclass(frozen=True)
class LastChannel:
    """Channel of the latest event that has one; ties in time go to the greatest channel name."""

    zero_when_empty: ClassVar[bool] = False
    lookback_days: ClassVar[None] = None

    @property
    def alias(self) -> str:
        return "last_channel"

    def sql(self, over: str = OVER) -> str:
        # max over (time, channel) pairs makes the tie-break deterministic under parallelism.
        return (
            "struct_extract(max({'t': e.occurred_at, 'c': e.channel}) "
            f"FILTER (WHERE e.channel IS NOT NULL){over}, 'c')"
        )

    def evaluate(self, history: History) -> AggregateValue:
        best: tuple[int, str] | None = None
        for time, channel in zip(history.times.tolist(), history.channels, strict=True):
            if channel is not None and (best is None or (time, channel) > best):
                best = (time, channel)
        return None if best is None else best[1]


Aggregate = (
    Count
    | ValueSum
    | LastTime
    | FirstTime
    | MedianGap
    | ActivePeriods
    | TouchesBeforeFirstReply
    | LastChannel
)
