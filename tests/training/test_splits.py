"""Temporal splits: test on the latest cutoff, calibrate before it, embargo open windows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from training.splits import backtest_origins, split_cutoffs
from training.tree_fit import ModelDataError

MONTHS = [datetime(2024, m, 1) for m in range(1, 13)]
H = timedelta(days=90)


def test_embargo_keeps_only_closed_label_windows() -> None:
    split = split_cutoffs(MONTHS, test=1, calibration=1, horizon=H, embargo=True)
    assert split.test == (datetime(2024, 12, 1),)
    # 2024-09-01 + 90 days = 2024-11-30 <= 2024-12-01; 2024-10-01 + 90 days is later.
    assert split.calibration == (datetime(2024, 9, 1),)
    assert split.train == tuple(MONTHS[:8])
    assert split.fit == tuple(MONTHS[:9])


def test_without_embargo_calibration_is_the_cutoff_just_before_test() -> None:
    split = split_cutoffs(MONTHS, test=2, calibration=1, horizon=H, embargo=False)
    assert split.test == (datetime(2024, 11, 1), datetime(2024, 12, 1))
    assert split.calibration == (datetime(2024, 10, 1),)
    assert split.train == tuple(MONTHS[:9])


def test_order_and_duplicates_of_the_input_do_not_matter() -> None:
    shuffled = MONTHS[::-1] + MONTHS[:3]
    assert split_cutoffs(shuffled, test=1, calibration=1, horizon=H, embargo=True) == (
        split_cutoffs(MONTHS, test=1, calibration=1, horizon=H, embargo=True)
    )


def test_too_few_cutoffs_say_how_many() -> None:
    with pytest.raises(ModelDataError, match=r"found 1$"):
        split_cutoffs(MONTHS[:4], test=1, calibration=1, horizon=H, embargo=True)
    with pytest.raises(ModelDataError, match=r"found 1$"):
        split_cutoffs(MONTHS[:1], test=1, calibration=1, horizon=H, embargo=True)


def test_backtest_origins_are_the_latest_cutoffs_oldest_first() -> None:
    assert backtest_origins(MONTHS[::-1], origins=3) == MONTHS[-3:]
