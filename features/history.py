"""One entity's event history as of a cutoff, in numpy: the online path's view of the events.

A ``History`` holds only events strictly before its cutoff, exact duplicates already removed and
sorted by time. Times are integer microseconds since the Unix epoch (naive UTC), the same integers
DuckDB's ``date_diff('microsecond', ...)`` works on, so day arithmetic is bit-identical to the
batch SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

US_PER_DAY = 86_400_000_000

DIRECTION_CODES: dict[str, int] = {"inbound": 1, "outbound": 2}

# One event type code, or an inclusive range of codes (several pooled purchase types).
Code = int | tuple[int, int]


def code_mask(codes: npt.NDArray[np.int16], code: Code) -> npt.NDArray[np.bool_]:
    """Which of ``codes`` are ``code`` (or fall in its inclusive range)."""
    if isinstance(code, tuple):
        return (codes >= code[0]) & (codes <= code[1])
    equal: npt.NDArray[np.bool_] = codes == code  # numpy types ``==`` on arrays as Any
    return equal


@dataclass
class History:
    """Events of one entity strictly before ``cutoff`` (µs since epoch), oldest first."""

    cutoff: int
    created: int
    times: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int16]  # index+1 into the task's known event types, 0 = other
    values: npt.NDArray[np.float64]  # NaN where the event has no value
    directions: npt.NDArray[np.int8]  # DIRECTION_CODES, 0 = unknown
    channels: list[str | None]
    _masks: dict[tuple[Code | None, int | None, int | None], npt.NDArray[np.bool_]] = field(
        default_factory=dict, repr=False
    )
    # Single-condition masks, shared by the combined ones above (one comparison each).
    _parts: dict[tuple[str, Code | None], npt.NDArray[np.bool_]] = field(
        default_factory=dict, repr=False
    )

    def ages(self) -> npt.NDArray[np.int64]:
        """Microseconds from each event to the cutoff (always > 0)."""
        return self.cutoff - self.times

    def mask(
        self, code: Code | None, days: int | None = None, direction: int | None = None
    ) -> npt.NDArray[np.bool_]:
        """Events of a type (None: any) in the window [cutoff - days, cutoff) (None: all)."""
        key = (code, days, direction)
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        selected: npt.NDArray[np.bool_] | None = None
        for kind, value in (("code", code), ("days", days), ("direction", direction)):
            if value is not None:
                condition = self._part(kind, value)
                selected = condition if selected is None else selected & condition
        if selected is None:
            selected = np.ones(self.times.shape[0], dtype=bool)
        self._masks[key] = selected
        return selected

    def _part(self, kind: str, value: Code) -> npt.NDArray[np.bool_]:
        cached = self._parts.get((kind, value))
        if cached is None:
            if kind == "code":
                cached = code_mask(self.codes, value)
            elif kind == "days":
                cached = self.ages() <= value * US_PER_DAY
            else:
                cached = self.directions == value
            self._parts[(kind, value)] = cached
        return cached
