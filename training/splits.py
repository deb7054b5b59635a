"""Temporal splits of labelled cutoffs: train, then calibrate, then test — never random.

A cutoff ``t`` has a label window ``(t, t + horizon]``. With the embargo on, only cutoffs whose
window has closed by the first test cutoff may train or calibrate: a model deployed at the test
cutoff could not have seen later outcomes, so neither may the model we evaluate there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from features.model import ModelDataError


@dataclass(frozen=True)
class TemporalSplit:
    train: tuple[datetime, ...]
    calibration: tuple[datetime, ...]
    test: tuple[datetime, ...]

    @property
    def fit(self) -> tuple[datetime, ...]:
        """Train then calibration cutoffs, in time order (what ``fit_scoring_model`` takes)."""
        return self.train + self.calibration


def split_cutoffs(
    cutoffs: Sequence[datetime],
    *,
    test: int,
    calibration: int,
    horizon: timedelta,
    embargo: bool,
) -> TemporalSplit:
    """The last ``test`` cutoffs test; the last ``calibration`` usable cutoffs before them
    calibrate; every earlier usable cutoff trains."""
    ordered = sorted(set(cutoffs))
    if len(ordered) <= test:
        raise ModelDataError(
            f"need more than {test} labelled cutoff(s) to hold out a test set; found {len(ordered)}"
        )
    test_cutoffs = tuple(ordered[-test:])
    earlier = ordered[:-test]
    if embargo:
        earlier = [c for c in earlier if c + horizon <= test_cutoffs[0]]
    if len(earlier) < calibration + 1:
        raise ModelDataError(
            f"need at least {calibration + 1} cutoff(s) whose {horizon.days}-day label window "
            f"closes by the first test cutoff {test_cutoffs[0]:%Y-%m-%d}; found {len(earlier)}"
        )
    return TemporalSplit(
        train=tuple(earlier[:-calibration]),
        calibration=tuple(earlier[-calibration:]),
        test=test_cutoffs,
    )


def backtest_origins(cutoffs: Sequence[datetime], *, origins: int) -> list[datetime]:
    """The last ``origins`` labelled cutoffs, oldest first: each is tested on its own."""
    return sorted(set(cutoffs))[-origins:]
