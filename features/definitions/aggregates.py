"""Event aggregates: the building blocks every engineered feature is computed from.

Aggregates are the only hand-written kernels: each class holds its two forms side by side.
``sql()`` is a DuckDB aggregate over the events of one (entity, cutoff) pair (the batch path and,
through sqlglot, Spark); ``numpy(table)`` is the same quantity for every entity of an
``EventTable`` at once (the online path). The batch SQL run over a request's events is the
reference the numpy forms are tested against (hypothesis parity: numbers within 1e-9, text
exact). Both only ever see events strictly before the cutoff; windows are ``[cutoff - days,
cutoff)``. A new aggregate is one class here, added to the ``Aggregate`` union.

The numpy forms of the aggregates a one-entity request reads many of (counts, value sums, first
and last times, the median gap) reduce that entity's events to a plain value (``Column.one``)
instead of grouping: numpy's cost per call, not per event, dominates a single entity's request.

In SQL, the event columns are those of the ``typed`` relation built by ``features.compute.sql``:
``tc`` (type code), ``dc`` (direction code), ``kind`` (1 for events), ``occurred_at``, ``value``,
``channel`` and per-event columns (``gap_<code>``, ``replies_upto``) that are causal (each looks
only at events at or before its own time), so they never carry information from after a cutoff.
Windowed aggregates read ``age_us``, the event's age at the joined row's cutoff in microseconds
(``cutoff - occurred_at``, positive): ``occurred_at >= cutoff - INTERVAL d DAY`` is exactly
``age_us <= d * US_PER_DAY`` on naive UTC timestamps, and one integer comparison per filter is
cheaper than timestamp arithmetic repeated in every filter (measured: ~9% of the one-cutoff
query's CPU with ~50 filtered aggregates). ``lookback_days`` is the longest look back of a
windowed aggregate, or None for an unbounded one (all history before the cutoff).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from features.definitions.event_table import US_PER_DAY, Code, Column, EventTable, Ints


def _code_sql(code: Code | None) -> str:
    if code is None:
        return "any"
    return f"{code[0]}to{code[1]}" if isinstance(code, tuple) else str(code)


def _span(code: Code | None) -> slice:
    """The codes ``code`` covers as a slice of a per-code axis (None: every code)."""
    if code is None:
        return slice(None)
    low, high = code if isinstance(code, tuple) else (code, code)
    return slice(low, high + 1)


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
        conditions.append(f"e.age_us <= {days * US_PER_DAY}")
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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the count (int64, always present): a slice of the window's counts."""
        if table.n == 1:
            cells = table.one_entity_counts(self.days)[_span(self.code)]
            return Column.one(sum(sum(row[_span(self.direction)]) for row in cells))
        counts = table.counts_within(self.days)[:, _span(self.code), _span(self.direction)]
        return Column(counts.sum(axis=(1, 2)))


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the float sum (0.0 without events): a slice of the window's sums."""
        if self.days is None:
            raise ValueError("an all-history value sum is not supported")
        if table.n == 1:
            return Column.one(sum(table.one_entity_values(self.days)[_span(self.code)]))
        sums = table.values_within(self.days)[:, _span(self.code)]
        return Column(sums.sum(axis=1))


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the latest time (µs), absent without events."""
        if table.n == 1:
            times = table.times[table.mask(self.code)]
            return Column.one(int(times[-1]) if times.size else None)
        _, last, present = table.first_and_last(table.mask(self.code))
        return Column(table.times_at(last), present)


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the earliest time (µs), absent without events."""
        if table.n == 1:
            times = table.times[table.mask(self.code, None, self.direction)]
            return Column.one(int(times[0]) if times.size else None)
        first, _, present = table.first_and_last(table.mask(self.code, None, self.direction))
        return Column(table.times_at(first), present)


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the median gap in float days, absent without a gap in the window."""
        if table.n == 1:
            selected = table.mask(self.code)
            recent = table.mask(self.code, self.days)[selected][1:]
            gaps = (np.diff(table.times[selected])[recent] / float(US_PER_DAY)).tolist()
            # statistics.median: the middle value or the mean of the two middle ones, as below.
            return Column.one(statistics.median(gaps) if gaps else None)
        out = np.zeros(table.n, dtype=np.float64)
        present = np.zeros(table.n, dtype=bool)
        positions = np.flatnonzero(table.mask(self.code))
        owners = table.entity[positions]
        # A gap joins consecutive events of the type of one entity and counts when its later
        # event is in the window; every entity's gaps at once, then sorted within the entity.
        keep = (owners[1:] == owners[:-1]) & table.mask(self.code, self.days)[positions[1:]]
        gaps = np.diff(table.times[positions])[keep] / float(US_PER_DAY)
        gap_owners = owners[1:][keep]
        if gaps.size == 0:
            return Column(out, present)
        order = np.lexsort((gaps, gap_owners))
        gaps, gap_owners = gaps[order], gap_owners[order]
        starts = np.flatnonzero(np.r_[True, gap_owners[1:] != gap_owners[:-1]])
        counts = np.diff(np.r_[starts, gaps.size])
        low, high = gaps[starts + (counts - 1) // 2], gaps[starts + counts // 2]
        # The middle value, or the mean of the two middle ones (DuckDB's median on doubles).
        out[gap_owners[starts]] = np.where(counts % 2 == 1, low, (low + high) / 2.0)
        present[gap_owners[starts]] = True
        return Column(out, present)


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
        bucket = f"ceil(e.age_us / {period_us}.0)"
        conditions = _window_conditions(self.code, self.period_days * self.periods, None)
        # A bit per period: bit_or is a cheap distributive aggregate, unlike count(DISTINCT).
        bits = _filtered(f"bit_or(1 << CAST({bucket} AS BIGINT))", conditions)
        return f"bit_count({bits})"

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the number of periods with an event (int64, always present)."""
        selected = table.mask(self.code, self.period_days * self.periods)
        ages = (table.cutoff - table.times[selected]) / float(self.period_days * US_PER_DAY)
        # Ages lie in (0, periods], so each (entity, period) pair is one integer key.
        keys = table.entity[selected] * (self.periods + 1) + np.ceil(ages).astype(np.int64)
        owners = np.unique(keys) // (self.periods + 1)
        return Column(np.bincount(owners, minlength=table.n).astype(np.int64))


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the count (int64, always present)."""
        first, _, replied = table.first_and_last(table.mask(None, None, self.reply_direction))
        first_reply = np.where(replied, table.times_at(first), np.iinfo(np.int64).max)
        before = table.mask(None, None, self.outbound) & (table.times < first_reply[table.entity])
        return Column(table.count(before))


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

    def numpy(self, table: EventTable) -> Column:
        """Per entity, the channel (text in an object array), absent without one."""
        positions = np.array([i for i, c in enumerate(table.channels) if c is not None], dtype=int)
        names = np.array([table.channels[i] for i in positions], dtype=object)
        # Sorted distinct names rank channels as text compares; the last event of each entity
        # in (time, rank) order is its latest, ties going to the greatest name.
        levels, ranks = np.unique(names.astype(str), return_inverse=True)
        owners = table.entity[positions]
        order = np.lexsort((ranks, table.times[positions], owners))
        best: Ints = np.zeros(table.n, dtype=np.int64)
        best[owners[order]] = ranks[order]
        present = np.zeros(table.n, dtype=bool)
        present[owners] = True
        values = np.full(table.n, None, dtype=object)
        values[present] = np.array(levels.tolist(), dtype=object)[best[present]]
        return Column(values, present)


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
