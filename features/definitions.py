"""Engineered feature definitions: each combines event aggregates into one named value.

A definition is declared once and executes two ways: ``sql(ref)`` returns the DuckDB expression
over the aggregates of one (entity, cutoff) pair (``ref(aggregate)`` gives its column), and
``compute(get, history)`` returns the same value in Python from the numpy aggregates. Every
expression is written in the same arithmetic order in both, so values agree to the last bit
except where float summation order differs (sums, medians: within 1e-9).

Time semantics: everything is as of the cutoff (``s.cutoff`` / ``History.cutoff``) from events
strictly before it; day quantities are float days from integer microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from features.aggregates import (
    ActivePeriods,
    Aggregate,
    AggregateValue,
    Count,
    FirstTime,
    LastChannel,
    LastTime,
    MedianGap,
    TouchesBeforeFirstReply,
    ValueSum,
)
from features.history import US_PER_DAY, Code, History

FeatureValue = float | str | None
Ref = Callable[[Aggregate], str]
Get = Callable[[Aggregate], AggregateValue]

_DAYS_SQL = f"/ {US_PER_DAY}.0"


def _as_float(value: AggregateValue) -> float:
    if value is None or isinstance(value, str):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _days_sql(earlier: str, later: str) -> str:
    return f"date_diff('microsecond', {earlier}, {later}) {_DAYS_SQL}"


def _days(earlier: AggregateValue, later: int) -> float | None:
    if earlier is None:
        return None
    return (later - int(_as_float(earlier))) / float(US_PER_DAY)


@dataclass(frozen=True)
class Definition:
    """Name, how it reads in a reason, and its unit; subclasses say how it is computed."""

    name: str
    description: str
    family: str
    unit: str

    dtype = "numeric"

    def aggregates(self) -> tuple[Aggregate, ...]:
        return ()

    def sql(self, ref: Ref) -> str:
        raise NotImplementedError

    def compute(self, get: Get, history: History) -> FeatureValue:
        raise NotImplementedError


@dataclass(frozen=True)
class WindowCount(Definition):
    """Events of a type (None: any), optionally one direction, in the last ``days`` days."""

    code: Code | None = None
    days: int | None = None
    direction: int | None = None

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (Count(self.code, self.days, self.direction),)

    def sql(self, ref: Ref) -> str:
        return ref(self.aggregates()[0])

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _as_float(get(self.aggregates()[0]))


@dataclass(frozen=True)
class WindowValue(Definition):
    """Sum of event values of a type in the last ``days`` days."""

    code: Code | None = None
    days: int | None = None

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (ValueSum(self.code, self.days),)

    def sql(self, ref: Ref) -> str:
        return ref(self.aggregates()[0])

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _as_float(get(self.aggregates()[0]))


@dataclass(frozen=True)
class Recency(Definition):
    """Days from the latest event of a type (None: any) to the cutoff; NaN if there is none."""

    code: Code | None = None

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (LastTime(self.code),)

    def sql(self, ref: Ref) -> str:
        return _days_sql(ref(self.aggregates()[0]), "s.cutoff")

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _days(get(self.aggregates()[0]), history.cutoff)


@dataclass(frozen=True)
class SinceFirst(Definition):
    """Days from the earliest event of a type (None: any) to the cutoff; NaN if there is none."""

    code: Code | None = None

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (FirstTime(None, self.code),)

    def sql(self, ref: Ref) -> str:
        return _days_sql(ref(self.aggregates()[0]), "s.cutoff")

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _days(get(self.aggregates()[0]), history.cutoff)


@dataclass(frozen=True)
class Tenure(Definition):
    """Days from the entity's creation to the cutoff."""

    def sql(self, ref: Ref) -> str:
        return _days_sql("s.created_at", "s.cutoff")

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _days(history.created, history.cutoff)


@dataclass(frozen=True)
class Trend(Definition):
    """An aggregate over the last ``days`` days minus the same over the ``days`` days before.

    Subclasses choose the aggregate; ``2 * last(days) - last(2 * days)`` is that difference
    computed from two windows that both end at the cutoff.
    """

    code: Code | None = None
    days: int = 30
    aggregate: ClassVar[type[Count] | type[ValueSum]]

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (self.aggregate(self.code, self.days), self.aggregate(self.code, 2 * self.days))

    def sql(self, ref: Ref) -> str:
        recent, both = self.aggregates()
        return f"2 * {ref(recent)} - {ref(both)}"

    def compute(self, get: Get, history: History) -> FeatureValue:
        recent, both = self.aggregates()
        return 2 * _as_float(get(recent)) - _as_float(get(both))


@dataclass(frozen=True)
class CountTrend(Trend):
    """Events in the last ``days`` days minus events in the ``days`` days before those."""

    aggregate: ClassVar[type[Count] | type[ValueSum]] = Count


@dataclass(frozen=True)
class ValueTrend(Trend):
    """Value of a type in the last ``days`` days minus its value in the ``days`` days before."""

    days: int = 90
    aggregate: ClassVar[type[Count] | type[ValueSum]] = ValueSum


@dataclass(frozen=True)
class MedianGapDays(Definition):
    """Median days between consecutive events of a type, over gaps ending in the last year."""

    code: Code = 0

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (MedianGap(self.code),)

    def sql(self, ref: Ref) -> str:
        return ref(self.aggregates()[0])

    def compute(self, get: Get, history: History) -> FeatureValue:
        value = get(self.aggregates()[0])
        return None if value is None else _as_float(value)


@dataclass(frozen=True)
class DaysOverdue(Definition):
    """Days since the last event of a type minus its recent median gap; NaN without a cadence."""

    code: Code = 0

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (LastTime(self.code), MedianGap(self.code))

    def sql(self, ref: Ref) -> str:
        last, gap = self.aggregates()
        return f"{_days_sql(ref(last), 's.cutoff')} - {ref(gap)}"

    def compute(self, get: Get, history: History) -> FeatureValue:
        last, gap = self.aggregates()
        since, usual = _days(get(last), history.cutoff), get(gap)
        if since is None or usual is None:
            return None
        return since - _as_float(usual)


@dataclass(frozen=True)
class ActiveShare(Definition):
    """Share of the last ``periods`` periods of ``period_days`` days with an event of a type."""

    code: Code = 0
    period_days: int = 30
    periods: int = 12

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (ActivePeriods(self.code, self.period_days, self.periods),)

    def sql(self, ref: Ref) -> str:
        return f"{ref(self.aggregates()[0])} / {self.periods}.0"

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _as_float(get(self.aggregates()[0])) / float(self.periods)


@dataclass(frozen=True)
class Ratio(Definition):
    """``numerator / denominator`` of two window counts; NaN when the denominator is 0.

    With ``add_numerator`` the denominator is ``numerator + denominator`` (a share of two parts).
    """

    numerator: Count = field(default_factory=lambda: Count(None))
    denominator: Count = field(default_factory=lambda: Count(None))
    add_numerator: bool = False

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (self.numerator, self.denominator)

    def sql(self, ref: Ref) -> str:
        num, den = ref(self.numerator), ref(self.denominator)
        if self.add_numerator:
            den = f"({num} + {den})"
        return f"CASE WHEN {den} > 0 THEN CAST({num} AS DOUBLE) / {den} END"

    def compute(self, get: Get, history: History) -> FeatureValue:
        num, den = _as_float(get(self.numerator)), _as_float(get(self.denominator))
        if self.add_numerator:
            den = num + den
        return num / den if den > 0 else None


@dataclass(frozen=True)
class RecentVsUsual(Definition):
    """Events in the last ``days`` days minus the usual number per ``days`` over the year before."""

    code: Code = 0
    days: int = 90
    baseline_days: int = 365

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (Count(self.code, self.days), Count(self.code, self.baseline_days))

    def _scale(self) -> str:
        return f"{self.days}.0 / {self.baseline_days - self.days}.0"

    def sql(self, ref: Ref) -> str:
        recent, year = (ref(a) for a in self.aggregates())
        return f"{recent} - ({year} - {recent}) * {self._scale()}"

    def compute(self, get: Get, history: History) -> FeatureValue:
        recent, year = (_as_float(get(a)) for a in self.aggregates())
        return recent - (year - recent) * float(self.days) / float(self.baseline_days - self.days)


@dataclass(frozen=True)
class FirstTouchDays(Definition):
    """Days from the entity's creation to its first event in a direction; NaN if none yet."""

    direction: int = 2

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (FirstTime(self.direction),)

    def sql(self, ref: Ref) -> str:
        return _days_sql("s.created_at", ref(self.aggregates()[0]))

    def compute(self, get: Get, history: History) -> FeatureValue:
        first = get(self.aggregates()[0])
        if first is None:
            return None
        return (int(_as_float(first)) - history.created) / float(US_PER_DAY)


@dataclass(frozen=True)
class TouchesBeforeReply(Definition):
    """Outbound touches before the first event in ``reply_direction`` (all so far if none)."""

    reply_direction: int = 1
    outbound: int = 2

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (TouchesBeforeFirstReply(self.reply_direction, self.outbound),)

    def sql(self, ref: Ref) -> str:
        return ref(self.aggregates()[0])

    def compute(self, get: Get, history: History) -> FeatureValue:
        return _as_float(get(self.aggregates()[0]))


@dataclass(frozen=True)
class LastTouchChannel(Definition):
    """Channel of the latest event with a channel; missing if none."""

    dtype = "categorical"

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (LastChannel(),)

    def sql(self, ref: Ref) -> str:
        return ref(self.aggregates()[0])

    def compute(self, get: Get, history: History) -> FeatureValue:
        value = get(self.aggregates()[0])
        return None if value is None else str(value)
