"""The registry's definitions evaluated for many entities at once, column by column in numpy.

``features.online`` computes each definition per entity (``Definition.compute`` over one
``History``): exact, but ~80 Python calls per entity. This module evaluates the same aggregates
and definitions over an ``EventTable`` holding every entity's events, one numpy pass per
aggregate, with the same arithmetic in the same order, so every value is bit-identical to the
per-entity path (a hypothesis test holds the two to exact equality). Medians, and sums of more
than two values, are left to numpy per entity exactly as the per-entity path computes them:
numpy's pairwise summation order is not the sequential one a grouped sum would use.

Definitions or aggregates this module does not know make ``compile_definitions`` return None;
the caller then falls back to the per-entity path, so a new definition type is never computed
wrongly, only more slowly until it gets a columnar twin here.

Time semantics are those of ``History``: only events strictly before the cutoff are in the table,
windows are ``[cutoff - days, cutoff)``, times are integer microseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from features.aggregates import (
    ActivePeriods,
    Aggregate,
    Count,
    FirstTime,
    LastChannel,
    LastTime,
    MedianGap,
    TouchesBeforeFirstReply,
    ValueSum,
)
from features.definitions import (
    ActiveShare,
    DaysOverdue,
    Definition,
    FirstTouchDays,
    LastTouchChannel,
    MedianGapDays,
    Ratio,
    Recency,
    RecentVsUsual,
    SinceFirst,
    Tenure,
    TouchesBeforeReply,
    Trend,
    WindowCount,
    WindowValue,
)
from features.history import US_PER_DAY, Code, code_mask

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Column:
    """One aggregate for every entity: ``values`` where ``present`` (None: always present)."""

    values: np.ndarray
    present: Bools | None = None

    def as_float(self) -> Floats:
        """Values as float64 (Python's ``float(int)``), NaN where absent; never mutate it."""
        return self._floats

    @cached_property
    def _floats(self) -> Floats:
        floats = self.values.astype(np.float64)
        if self.present is not None:
            floats[~self.present] = np.nan
        return floats


@dataclass
class EventTable:
    """Distinct events of ``n`` entities strictly before ``cutoff``, grouped by entity.

    Within an entity, events are in ``History`` order (time, then a deterministic tie-break);
    ``entity`` is the non-decreasing entity index of each event.
    """

    cutoff: int
    created: Ints  # per entity, µs since epoch
    entity: Ints  # per event
    times: Ints
    codes: npt.NDArray[np.int16]
    values: Floats
    directions: npt.NDArray[np.int8]
    channels: list[str | None]
    _masks: dict[tuple[Code | None, int | None, int | None], Bools] = field(
        default_factory=dict, repr=False
    )

    @property
    def n(self) -> int:
        return int(self.created.shape[0])

    def mask(
        self, code: Code | None, days: int | None = None, direction: int | None = None
    ) -> Bools:
        """Events of a type (None: any) in ``[cutoff - days, cutoff)`` (None: all), a direction."""
        key = (code, days, direction)
        cached = self._masks.get(key)
        if cached is None:
            cached = np.ones(self.times.shape[0], dtype=bool)
            if code is not None:
                cached &= code_mask(self.codes, code)
            if days is not None:
                cached &= (self.cutoff - self.times) <= days * US_PER_DAY
            if direction is not None:
                cached &= self.directions == direction
            self._masks[key] = cached
        return cached

    def count(self, selected: Bools) -> Ints:
        return np.bincount(self.entity[selected], minlength=self.n).astype(np.int64)

    def first_and_last(self, selected: Bools) -> tuple[Ints, Ints, Bools]:
        """Per entity, the position of its first and last selected event, and whether any."""
        positions = np.flatnonzero(selected)
        owners = self.entity[positions]
        first = np.zeros(self.n, dtype=np.int64)
        last = np.zeros(self.n, dtype=np.int64)
        # Positions ascend, so assigning in reverse leaves the first, in order the last.
        first[owners[::-1]] = positions[::-1]
        last[owners] = positions
        present = np.zeros(self.n, dtype=bool)
        present[owners] = True
        return first, last, present

    def times_at(self, positions: Ints) -> Ints:
        """Times at per-entity positions (from ``first_and_last``); 0 where a table is empty."""
        if self.times.size == 0:
            return np.zeros(positions.shape[0], dtype=np.int64)
        return self.times[positions]

    def segments(self, selected: Bools) -> list[tuple[int, npt.NDArray[np.intp]]]:
        """(entity, positions of its selected events) for entities with any selected event."""
        positions = np.flatnonzero(selected)
        if positions.size == 0:
            return []
        owners = self.entity[positions]
        cuts = np.flatnonzero(np.diff(owners)) + 1
        return [
            (int(owners[chunk[0]]), positions[chunk])
            for chunk in np.split(np.arange(positions.size), cuts)
        ]


def _count(table: EventTable, a: Count) -> Column:
    return Column(table.count(table.mask(a.code, a.days, a.direction)))


def _value_sum(table: EventTable, a: ValueSum) -> Column:
    selected = table.mask(a.code, a.days)
    counts = table.count(selected)
    values = np.where(np.isnan(table.values), 0.0, table.values)
    # Up to two terms, numpy's nansum is the plain sum in either order; beyond, its own order.
    sums = np.bincount(table.entity[selected], weights=values[selected], minlength=table.n)
    for owner, positions in table.segments(selected & (counts[table.entity] > 2)):
        sums[owner] = float(np.nansum(table.values[positions]))
    return Column(sums.astype(np.float64))


def _last_time(table: EventTable, a: LastTime) -> Column:
    _, last, present = table.first_and_last(table.mask(a.code))
    return Column(table.times_at(last), present)


def _first_time(table: EventTable, a: FirstTime) -> Column:
    first, _, present = table.first_and_last(table.mask(a.code, None, a.direction))
    return Column(table.times_at(first), present)


def _median_gap(table: EventTable, a: MedianGap) -> Column:
    out = np.zeros(table.n, dtype=np.float64)
    present = np.zeros(table.n, dtype=bool)
    positions = np.flatnonzero(table.mask(a.code))
    owners = table.entity[positions]
    # A gap joins consecutive events of the type of one entity and counts when its later event
    # is in the window; every entity's gaps at once, then sorted within the entity.
    keep = (owners[1:] == owners[:-1]) & table.mask(a.code, a.days)[positions[1:]]
    gaps = np.diff(table.times[positions])[keep] / float(US_PER_DAY)
    gap_owners = owners[1:][keep]
    if gaps.size == 0:
        return Column(out, present)
    order = np.lexsort((gaps, gap_owners))
    gaps, gap_owners = gaps[order], gap_owners[order]
    starts = np.flatnonzero(np.r_[True, gap_owners[1:] != gap_owners[:-1]])
    counts = np.diff(np.r_[starts, gaps.size])
    low, high = gaps[starts + (counts - 1) // 2], gaps[starts + counts // 2]
    # np.median's own arithmetic: the middle value, or the mean of the two middle ones.
    out[gap_owners[starts]] = np.where(counts % 2 == 1, low, (low + high) / 2.0)
    present[gap_owners[starts]] = True
    return Column(out, present)


def _active_periods(table: EventTable, a: ActivePeriods) -> Column:
    selected = table.mask(a.code, a.period_days * a.periods)
    ages = (table.cutoff - table.times[selected]) / float(a.period_days * US_PER_DAY)
    pairs = np.stack([table.entity[selected].astype(np.float64), np.ceil(ages)], axis=1)
    distinct = np.unique(pairs, axis=0) if pairs.size else pairs
    owners = distinct[:, 0].astype(np.int64)
    return Column(np.bincount(owners, minlength=table.n).astype(np.int64))


def _touches_before_first_reply(table: EventTable, a: TouchesBeforeFirstReply) -> Column:
    first, _, replied = table.first_and_last(table.mask(None, None, a.reply_direction))
    first_reply = np.where(replied, table.times_at(first), np.iinfo(np.int64).max)
    before = table.mask(None, None, a.outbound) & (table.times < first_reply[table.entity])
    return Column(table.count(before))


def _last_channel(table: EventTable, a: LastChannel) -> Column:
    best: list[tuple[int, str] | None] = [None] * table.n
    for owner, time, channel in zip(
        table.entity.tolist(), table.times.tolist(), table.channels, strict=True
    ):
        if channel is not None:
            current = best[owner]
            if current is None or (time, channel) > current:
                best[owner] = (time, channel)
    values = np.array([None if b is None else b[1] for b in best], dtype=object)
    return Column(values, np.array([b is not None for b in best], dtype=bool))


_AGGREGATES: dict[type, Callable[[EventTable, Aggregate], Column]] = {
    Count: _count,  # type: ignore[dict-item]
    ValueSum: _value_sum,  # type: ignore[dict-item]
    LastTime: _last_time,  # type: ignore[dict-item]
    FirstTime: _first_time,  # type: ignore[dict-item]
    MedianGap: _median_gap,  # type: ignore[dict-item]
    ActivePeriods: _active_periods,  # type: ignore[dict-item]
    TouchesBeforeFirstReply: _touches_before_first_reply,  # type: ignore[dict-item]
    LastChannel: _last_channel,  # type: ignore[dict-item]
}

Result = Floats | list[str | None]
Step = Callable[[Sequence[Column], EventTable], Result]


def _days_between(earlier: Ints | int, later: Ints | int, present: Bools | None) -> Floats:
    """``(later - earlier) / US_PER_DAY``: exact integer difference, then float days.

    As ``features.definitions`` computes it (Python int, then true division); NaN if absent.
    """
    days = np.asarray((later - np.asarray(earlier, dtype=np.int64)) / float(US_PER_DAY))
    if present is not None:
        days[~present] = np.nan
    return days.astype(np.float64)


def _step(d: Definition, at: Sequence[int]) -> Step | None:
    """The columnar form of ``d`` reading its aggregates at positions ``at``; None if unknown.

    Each form repeats ``Definition.compute``'s arithmetic in the same order (see the module
    docstring), with None as NaN.
    """
    kind = type(d)
    if kind in (WindowCount, WindowValue, TouchesBeforeReply, MedianGapDays):
        return lambda c, t: c[at[0]].as_float()
    if kind in (Recency, SinceFirst):
        return lambda c, t: _days_between(c[at[0]].values, t.cutoff, c[at[0]].present)
    if kind is Tenure:
        return lambda c, t: _days_between(t.created, t.cutoff, None)
    if isinstance(d, Trend):
        return lambda c, t: 2 * c[at[0]].as_float() - c[at[1]].as_float()
    if kind is DaysOverdue:
        return lambda c, t: (
            _days_between(c[at[0]].values, t.cutoff, c[at[0]].present) - c[at[1]].as_float()
        )
    if isinstance(d, ActiveShare):
        periods = float(d.periods)
        return lambda c, t: c[at[0]].as_float() / periods
    if isinstance(d, Ratio):
        return _ratio_step(d.add_numerator, at)
    if isinstance(d, RecentVsUsual):
        days, rest = float(d.days), float(d.baseline_days - d.days)
        return lambda c, t: (
            c[at[0]].as_float() - (c[at[1]].as_float() - c[at[0]].as_float()) * days / rest
        )
    if kind is FirstTouchDays:
        return lambda c, t: _days_between(t.created, c[at[0]].values, c[at[0]].present)
    if kind is LastTouchChannel:
        return lambda c, t: [None if v is None else str(v) for v in c[at[0]].values.tolist()]
    return None


def _ratio_step(add_numerator: bool, at: Sequence[int]) -> Step:
    def ratio(columns: Sequence[Column], table: EventTable) -> Floats:
        num, den = columns[at[0]].as_float(), columns[at[1]].as_float()
        if add_numerator:
            den = num + den
        out = np.full(num.shape, np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out

    return ratio


@dataclass(frozen=True)
class ColumnarPlan:
    """Definitions compiled once: the distinct aggregates, then one step per definition."""

    aggregates: tuple[Aggregate, ...]
    steps: tuple[tuple[str, Step], ...]

    def evaluate(self, table: EventTable) -> dict[str, Result]:
        """Every definition for every entity of ``table``.

        Numeric results are float64 arrays (NaN where the per-entity path gives None);
        categorical ones are lists of text or None.
        """
        columns = [_AGGREGATES[type(a)](table, a) for a in self.aggregates]
        return {name: step(columns, table) for name, step in self.steps}


def compile_definitions(definitions: Sequence[Definition]) -> ColumnarPlan | None:
    """A columnar plan for ``definitions``, or None if one of them has no columnar form here."""
    positions: dict[Aggregate, int] = {}
    steps = []
    for definition in definitions:
        at = []
        for aggregate in definition.aggregates():
            if type(aggregate) not in _AGGREGATES:
                return None
            at.append(positions.setdefault(aggregate, len(positions)))
        step = _step(definition, tuple(at))
        if step is None:
            return None
        steps.append((definition.name, step))
    return ColumnarPlan(tuple(positions), tuple(steps))
