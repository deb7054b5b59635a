"""Many entities' events as of one cutoff, in numpy: what the aggregates' numpy forms read.

An ``EventTable`` holds, for ``n`` entities, their distinct events strictly before the cutoff,
grouped by entity and ordered by time within it (ties broken deterministically by the caller,
``features.compute.online``). Times are integer microseconds since the Unix epoch (naive UTC), the
same integers DuckDB's ``date_diff('microsecond', ...)`` works on. Windows are ``[cutoff - days,
cutoff)``, as in the batch SQL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

US_PER_DAY = 86_400_000_000

DIRECTION_CODES: dict[str, int] = {"inbound": 1, "outbound": 2}
_DIRECTIONS = max(DIRECTION_CODES.values()) + 1  # direction codes, with 0 (unknown)

# One event type code, or an inclusive range of codes (several pooled purchase types).
Code = int | tuple[int, int]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def code_mask(codes: npt.NDArray[np.int16], code: Code) -> Bools:
    """Which of ``codes`` are ``code`` (or fall in its inclusive range)."""
    selected: Bools = (
        (codes >= code[0]) & (codes <= code[1]) if isinstance(code, tuple) else codes == code
    )
    return selected


class Column:
    """One aggregate for every entity: ``values`` where ``present`` (None: always present).

    Numeric aggregates hold numbers (times as µs since the epoch); text ones hold text in an
    object array. The aggregate of a one-entity table (most online requests) is held as one
    plain value instead (``Column.one``): no array is built for a single number. Read it with
    ``as_float`` (every entity), ``scalar`` (the one entity) or ``texts``.
    """

    __slots__ = ("_floats", "_one", "present", "values")

    def __init__(self, values: npt.NDArray[Any] | None, present: Bools | None = None) -> None:
        self.values = values
        self.present = present
        self._floats: Floats | None = None
        self._one: float | str | None = None

    @classmethod
    def one(cls, value: float | str | None) -> Column:
        """A one-entity table's aggregate: its value (a number, µs for a time, or text), None
        when absent."""
        column = cls(None)
        column._one = value
        return column

    def as_float(self) -> Floats:
        """Values as float64, NaN where absent; shared, never mutate it.

        Times in µs since the epoch stay exact: they are integers below 2**53 until year 2255.
        """
        if self._floats is None:
            if self.values is None:
                floats = np.array([self.scalar()], dtype=np.float64)
            else:
                floats = self.values.astype(np.float64)
                if self.present is not None:
                    floats[~self.present] = np.nan
            self._floats = floats
        return self._floats

    def scalar(self) -> float:
        """The first (for ``Column.one``, the only) entity's value as a float, NaN where absent."""
        if self.values is None:
            return math.nan if self._one is None else float(self._one)
        if self.present is not None and not self.present[0]:
            return math.nan
        return float(self.values[0])

    def texts(self) -> list[str | None]:
        """Values as text, None where absent (a text aggregate's column)."""
        if self.values is None:
            return [None if self._one is None else str(self._one)]
        return [None if v is None else str(v) for v in self.values.tolist()]


@dataclass
class EventTable:
    """Distinct events of ``n`` entities strictly before ``cutoff``, grouped by entity.

    ``created`` is per entity (µs since epoch); every other array is per event, ``entity``
    being the non-decreasing entity index of each event. ``codes`` are 1-based indexes into the
    vocabulary's kinds (0: any other type), ``directions`` ``DIRECTION_CODES`` (0: unknown),
    ``values`` NaN where an event has none.
    """

    cutoff: int
    created: Ints
    entity: Ints
    times: Ints
    codes: npt.NDArray[np.int16]
    values: Floats
    directions: npt.NDArray[np.int8]
    channels: list[str | None]
    _masks: dict[tuple[Code | None, int | None, int | None], Bools] = field(
        default_factory=dict, repr=False
    )
    _conditions: dict[tuple[str, Code], Bools] = field(default_factory=dict, repr=False)
    _cubes: dict[int | None, Ints] = field(default_factory=dict, repr=False)
    _value_cubes: dict[int, Floats] = field(default_factory=dict, repr=False)
    _one_cubes: dict[int | None, list[list[int]]] = field(default_factory=dict, repr=False)
    _one_value_cubes: dict[int, list[float]] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        """Number of entities."""
        return int(self.created.shape[0])

    def mask(
        self, code: Code | None, days: int | None = None, direction: int | None = None
    ) -> Bools:
        """Events of a type (None: any) in ``[cutoff - days, cutoff)`` (None: all), a direction
        (None: any). Cached per table: the aggregates of one request share their masks."""
        key = (code, days, direction)
        cached = self._masks.get(key)
        if cached is None:
            parts = []
            if code is not None:
                parts.append(self._condition(("code", code), lambda: code_mask(self.codes, code)))
            if days is not None:
                window = days * US_PER_DAY
                parts.append(self._condition(("days", days), lambda: self.ages <= window))
            if direction is not None:
                parts.append(
                    self._condition(("dir", direction), lambda: self.directions == direction)
                )
            cached = parts[0] if parts else np.ones(self.times.shape[0], dtype=bool)
            for part in parts[1:]:
                cached = cached & part
            self._masks[key] = cached
        return cached

    @cached_property
    def ages(self) -> Ints:
        """Microseconds from each event to the cutoff (always > 0)."""
        return self.cutoff - self.times

    def _condition(self, key: tuple[str, Code], build: Callable[[], Bools]) -> Bools:
        """One condition of ``mask``, shared by every mask that combines it with others."""
        cached = self._conditions.get(key)
        if cached is None:
            cached = self._conditions[key] = build()
        return cached

    def counts_within(self, days: int | None) -> Ints:
        """Events per (entity, type code, direction code) in ``[cutoff - days, cutoff)`` (None:
        all history): shape ``(n, codes, directions)``, one grouped pass over the events,
        shared by every count with that window (a slice of it, ``Count.numpy``)."""
        cached = self._cubes.get(days)
        if cached is None:
            codes = int(self.codes.max()) + 1 if self.codes.size else 1
            cell = (self.entity * codes + self.codes) * _DIRECTIONS + self.directions
            if days is not None:
                cell = cell[self.mask(None, days)]
            cached = np.bincount(cell, minlength=self.n * codes * _DIRECTIONS)
            cached = self._cubes[days] = cached.reshape(self.n, codes, _DIRECTIONS)
        return cached

    def one_entity_counts(self, days: int | None) -> list[list[int]]:
        """``counts_within`` of a one-entity table as nested lists ``[type code][direction
        code]``: its counts then add up in plain Python (``Count.numpy``)."""
        cached = self._one_cubes.get(days)
        if cached is None:
            cached = self._one_cubes[days] = self.counts_within(days)[0].tolist()
        return cached

    def one_entity_values(self, days: int) -> list[float]:
        """``values_within`` of a one-entity table as a list per type code."""
        cached = self._one_value_cubes.get(days)
        if cached is None:
            cached = self._one_value_cubes[days] = self.values_within(days)[0].tolist()
        return cached

    def values_within(self, days: int) -> Floats:
        """Sum of event values (missing as 0) per (entity, type code) in ``[cutoff - days,
        cutoff)``: shape ``(n, codes)``, one grouped pass, in event order."""
        cached = self._value_cubes.get(days)
        if cached is None:
            codes = int(self.codes.max()) + 1 if self.codes.size else 1
            selected = self.mask(None, days)
            cell = (self.entity * codes + self.codes)[selected]
            values = np.where(np.isnan(self.values), 0.0, self.values)[selected]
            sums = np.bincount(cell, weights=values, minlength=self.n * codes).astype(np.float64)
            cached = self._value_cubes[days] = sums.reshape(self.n, codes)
        return cached

    def count(self, selected: Bools) -> Ints:
        """Selected events per entity."""
        if self.n == 1:  # one entity (most online requests): no grouping to do
            return np.array([np.count_nonzero(selected)], dtype=np.int64)
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
