"""Temporal splits of labelled cutoffs: train, then calibrate, then test — never random.

A cutoff ``t`` has a label window ``[t, t + horizon)``. With the embargo on, only cutoffs whose
window has closed by the first test cutoff may train or calibrate: a model deployed at the test
cutoff could not have seen later outcomes, so neither may the model we evaluate there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from training.tree_fit import ModelDataError


@dataclass(frozen=True)
class TemporalSplit:
    """Cutoffs of each part. Without a temporal test, ``test`` and ``calibration`` are empty,
    every cutoff trains and the calibration is cross-fitted (``training.refit``)."""

    train: tuple[datetime, ...]
    calibration: tuple[datetime, ...]
    test: tuple[datetime, ...]
    why_no_test: str | None = None  # why there is no temporal test (None when there is one)

    @property
    def has_test(self) -> bool:
        return bool(self.test)

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


def choose_split(
    cutoffs: Sequence[datetime],
    *,
    test: int,
    calibration: int,
    horizon: timedelta,
    embargo: bool,
    no_test: bool,
) -> TemporalSplit:
    """``split_cutoffs`` when a temporal test is possible and wanted; otherwise every cutoff
    trains, with no test (``why_no_test`` says why). Raises ``ModelDataError`` when even that
    is impossible: cross-fitted calibration needs at least 2 labelled cutoffs."""
    ordered = tuple(sorted(set(cutoffs)))
    why = "--no-test was given"
    if not no_test:
        try:
            return split_cutoffs(
                ordered, test=test, calibration=calibration, horizon=horizon, embargo=embargo
            )
        except ModelDataError as exc:
            why = str(exc)
    if len(ordered) < 2:
        raise ModelDataError(
            f"need at least 2 labelled cutoffs to train without a temporal test (calibration "
            f"cross-fitted across cutoffs); found {len(ordered)}"
        )
    return TemporalSplit(train=ordered, calibration=(), test=(), why_no_test=why)


def backtest_origins(cutoffs: Sequence[datetime], *, origins: int) -> list[datetime]:
    """The last ``origins`` labelled cutoffs, oldest first: each is tested on its own."""
    return sorted(set(cutoffs))[-origins:]
