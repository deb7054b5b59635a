"""The data-sufficiency plan: split, counts per cutoff, horizons, and what would work instead."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd
import pytest

from features.compute.snapshots import MONTHLY, CutoffSpacing, default_cutoffs
from features.contract.export import Export
from features.contract.tasks import Task
from tests.features.test_features_support import make_export
from training.config import TrainingConfig
from training.plan import build_plan, render_plan

H = timedelta(days=90)
WEEK_ONE = datetime(2026, 1, 6)  # the first midnight at or after the first lead's creation


@pytest.fixture(scope="module")
def cohort() -> Export:
    """Leads created over one month (2026-01-05 to 2026-01-28)."""
    leads = [
        {
            "lead_id": f"L{day}",
            "created_at": datetime(2026, 1, day, 9),
            "owner_id": "o1",
            "converted_at": None,
            "closed_lost_at": None,
            "expected_value": 10.0,
        }
        for day in (5, 12, 28)
    ]
    return make_export(Task.LEADS, leads, [])


def _frame(cutoffs: list[datetime], rows: int, positives: int) -> pd.DataFrame:
    labels = ([1] * positives + [0] * (rows - positives)) * len(cutoffs)
    return pd.DataFrame(
        {
            "cutoff": pd.to_datetime([c for c in cutoffs for _ in range(rows)]),
            "label": labels,
        }
    )


def _plan(export: Export, frame: pd.DataFrame, config: TrainingConfig, **kwargs: object):  # type: ignore[no-untyped-def]
    """The plan of ``frame``; every other horizon and spacing has ``rows`` rows and
    ``positives`` positives per default cutoff (100 and 20 unless given)."""
    as_of = kwargs.pop("as_of", datetime(2026, 5, 15))
    every = kwargs.pop("every", MONTHLY)
    rows, positives = kwargs.pop("rows", 100), kwargs.pop("positives", 20)

    def grid(h: timedelta, s: CutoffSpacing) -> list[datetime]:
        return default_cutoffs(export, task=Task.LEADS, horizon=h, as_of=as_of, every=s)  # type: ignore[arg-type]

    def counts(h: timedelta, s: CutoffSpacing) -> pd.DataFrame:
        cuts = grid(h, s)
        return pd.DataFrame(
            {"cutoff": pd.to_datetime(cuts), "rows": rows, "positives": positives},
            index=range(len(cuts)),
        )

    return build_plan(
        frame,
        task=Task.LEADS,
        horizon=kwargs.pop("horizon", H),  # type: ignore[arg-type]
        every=every,  # type: ignore[arg-type]
        as_of=as_of,  # type: ignore[arg-type]
        split_config=config.split,
        no_test=bool(kwargs.pop("no_test", False)),
        grid=grid,
        counts=counts,
    )


def _weekly(cohort: Export, config: TrainingConfig, *, cutoffs: int, horizon: timedelta):  # type: ignore[no-untyped-def]
    """The plan of ``cutoffs`` weekly cutoffs from WEEK_ONE, 100 rows and 20 positives each."""
    weekly = [WEEK_ONE + timedelta(days=7 * i) for i in range(cutoffs)]
    frame = _frame(weekly, rows=100, positives=20)
    return weekly, _plan(cohort, frame, config, every=CutoffSpacing(7, "d"), horizon=horizon)


def test_a_one_month_cohort_says_what_would_work(cohort: Export, config: TrainingConfig) -> None:
    # Monthly: only 2026-02-01's 90-day window closes by 2026-05-15.
    frame = _frame([datetime(2026, 2, 1)], rows=100, positives=60)
    plan = _plan(cohort, frame, config, positives=60)
    assert plan.split is None
    # Weekly cutoffs from 2026-01-06; the last whose window closes by 2026-05-15 is 2026-02-09.
    # Monthly, 2026-03-01 + 31 days = 2026-04-01 is the test cutoff of the longest horizon.
    # Weekly cutoffs from 2026-01-06; the last whose window closes by 2026-05-15 is 2026-02-09.
    # Monthly at 31 days: test 2026-04-01, calibration 2026-03-01, train 2026-02-01.
    assert plan.error() == (
        "leads: need at least 2 labelled cutoffs to train without a temporal test (calibration "
        "cross-fitted across cutoffs); found 1; what would work: --horizon 90d --every 7d trains "
        "without a temporal test (6 labelled cutoff(s), 360 training positive(s)); --horizon 90d "
        "--every 14d trains without a temporal test (3 labelled cutoff(s), 180 training "
        "positive(s)); --horizon 31d --every 1m trains with a temporal test (3 labelled "
        "cutoff(s), 60 training positive(s)); --horizon 59d --every 7d trains with a temporal "
        "test (11 labelled cutoff(s), 60 training positive(s)); --horizon 56d --every 14d trains "
        "with a temporal test (6 labelled cutoff(s), 60 training positive(s))"
    )


def _follow(cohort: Export, config: TrainingConfig, advice: str, positives: int) -> list[str]:
    """Each option set the advice offers, planned again as offered: the ones that fail."""
    failed = []
    for days, every, no_test in re.findall(
        r"--horizon (\d+)d --every (\d+[dm])( --no-test)?", advice
    ):
        spacing = CutoffSpacing(int(every[:-1]), every[-1])  # type: ignore[arg-type]
        horizon = timedelta(days=int(days))
        as_of = datetime(2026, 5, 15)
        cuts = default_cutoffs(cohort, task=Task.LEADS, horizon=horizon, as_of=as_of, every=spacing)
        frame = _frame(cuts, rows=100, positives=positives)
        plan = _plan(
            cohort, frame, config, every=spacing, horizon=horizon, no_test=bool(no_test),
            positives=positives,
        )  # fmt: skip
        if plan.split is None:
            failed.append(f"{days}d {every}{no_test}: {plan.problem}")
    return failed


@pytest.mark.parametrize("positives", [10, 25])
def test_every_option_offered_trains_when_followed(
    cohort: Export, config: TrainingConfig, positives: int
) -> None:
    # 10 or 25 positives per cutoff: some horizons and spacings hold the 50 training positives
    # the config needs and some do not; only the ones that do may be offered.
    frame = _frame([datetime(2026, 2, 1)], rows=100, positives=positives)
    plan = _plan(cohort, frame, config, positives=positives)
    assert plan.split is None and plan.alternatives
    assert _follow(cohort, config, plan.error(), positives) == []
    offered = re.findall(r"--horizon \S+ --every \S+(?: --no-test)?", plan.error())
    assert len(offered) == len(plan.alternatives) >= 1


def test_too_few_positives_anywhere_says_plainly_that_nothing_trains(
    cohort: Export, config: TrainingConfig
) -> None:
    plan = _plan(cohort, _frame([datetime(2026, 2, 1)], rows=100, positives=1), config, positives=1)
    assert plan.split is None
    assert plan.alternatives == (
        "nothing the plan tried trains on this history (every 1m, 7d, 14d; horizons of 30, 60, "
        "90, 182, 365 days and the longest with a temporal test; with and without --no-test): "
        "too few labelled cutoffs, or fewer than 50 positives in the training cutoffs",
    )


def test_too_short_for_a_test_trains_untested_and_says_why(
    cohort: Export, config: TrainingConfig
) -> None:
    weekly, plan = _weekly(cohort, config, cutoffs=6, horizon=H)
    assert plan.problem is None
    assert plan.split is not None and plan.split.test == ()
    assert plan.split.train == tuple(weekly)
    lines = render_plan(plan, folds=5, refit=True)
    assert lines[0] == (
        "plan: leads, 90-day horizon, cutoffs every 7d, as of 2026-05-15T00:00:00Z; "
        "6 labelled cutoff(s)"
    )
    assert lines[2] == "  2026-01-06       100         20  train"
    assert lines[8] == (
        "labelled cutoffs per horizon (every 7d): 30d 15 (temporal test), 60d 10, 90d 6, "
        "182d 0, 365d 0"
    )
    # 59 days: test 2026-03-17, and 2026-01-06 and 2026-01-13 close by then; at 60 days the
    # test cutoff is 2026-03-10 and only 2026-01-06 closes by it.
    assert lines[9] == "longest horizon with a temporal test: 59d"
    assert lines[10] == (
        "split: NO temporal test (need at least 2 cutoff(s) whose 90-day label window closes by "
        "the first test cutoff 2026-02-10; found 0); all 6 cutoff(s) train, calibration "
        "cross-fitted over 5 blocks; ranking and calibration on later time will not be measured "
        "and this model is never promoted automatically"
    )


def test_the_horizon_line_counts_labelled_cutoffs_as_train_does(
    cohort: Export, config: TrainingConfig
) -> None:
    # Cutoffs whose windows close by the as-of, but nobody eligible at any of them (a churn
    # export without its purchase type, say): train finds no labelled cutoff, nor does the line.
    as_of = datetime(2026, 5, 15)
    grid_sizes = []

    def grid(h: timedelta, s: CutoffSpacing) -> list[datetime]:
        cuts = default_cutoffs(cohort, task=Task.LEADS, horizon=h, as_of=as_of, every=s)  # type: ignore[arg-type]
        grid_sizes.append(len(cuts))
        return cuts

    def counts(h: timedelta, s: CutoffSpacing) -> pd.DataFrame:
        grid(h, s)  # the cutoffs exist by time ...
        return pd.DataFrame({"cutoff": pd.to_datetime([]), "rows": [], "positives": []})

    plan = build_plan(
        _frame([], rows=0, positives=0),
        task=Task.LEADS,
        horizon=H,
        every=MONTHLY,
        as_of=as_of,
        split_config=config.split,
        no_test=False,
        grid=grid,
        counts=counts,
    )
    assert max(grid_sizes) > 0
    lines = render_plan(plan, folds=5, refit=True)
    assert lines[0].endswith("; 0 labelled cutoff(s)")
    assert lines[2] == (
        "labelled cutoffs per horizon (every 1m): 30d 0, 60d 0, 90d 0, 182d 0, 365d 0"
    )
    # By time alone a horizon of weeks has a temporal test; by the labelled cutoffs none does.
    assert lines[3] == "longest horizon with a temporal test: none"


def test_the_longest_tested_horizon_counts_labelled_cutoffs_as_train_does(
    cohort: Export, config: TrainingConfig
) -> None:
    # Weekly cutoffs, nobody eligible at the first two (their rows dropped from the counts):
    # the longest horizon said must give a temporal test when planned, one day more must not.
    as_of, weekly = datetime(2026, 5, 15), CutoffSpacing(7, "d")

    def grid(h: timedelta, s: CutoffSpacing) -> list[datetime]:
        return default_cutoffs(cohort, task=Task.LEADS, horizon=h, as_of=as_of, every=s)  # type: ignore[arg-type]

    def counts(h: timedelta, s: CutoffSpacing) -> pd.DataFrame:
        cuts = grid(h, s)[2:]
        return pd.DataFrame(
            {"cutoff": pd.to_datetime(cuts), "rows": 100, "positives": 60}, index=range(len(cuts))
        )

    def plan(days: int):  # type: ignore[no-untyped-def]
        horizon = timedelta(days=days)
        frame = _frame(grid(horizon, weekly)[2:], rows=100, positives=60)
        return build_plan(
            frame, task=Task.LEADS, horizon=horizon, every=weekly, as_of=as_of,
            split_config=config.split, no_test=False, grid=grid, counts=counts,
        )  # fmt: skip

    longest = plan(30).longest_tested_horizon_days
    assert longest is not None and longest < 59  # 59d by time alone (the test above)
    assert plan(longest).split.has_test
    assert plan(longest + 1).split is None or not plan(longest + 1).split.has_test


def test_a_history_long_enough_shows_the_split_and_the_embargo_gap(
    cohort: Export, config: TrainingConfig
) -> None:
    _, plan = _weekly(cohort, config, cutoffs=15, horizon=timedelta(days=30))
    assert plan.split is not None
    assert plan.split.test == (datetime(2026, 4, 14),)
    # 2026-03-10 + 30 days = 2026-04-09 <= 2026-04-14; 2026-03-17 + 30 days is later.
    assert plan.split.calibration == (datetime(2026, 3, 10),)
    assert [c.part for c in plan.cutoffs[-7:]] == [
        "train",
        "calibration",
        "embargoed",
        "embargoed",
        "embargoed",
        "embargoed",
        "test",
    ]
    assert plan.alternatives == ()
    assert render_plan(plan, folds=5, refit=True)[-2:] == [
        "split: train 2026-01-06..2026-03-03 (9), calibration 2026-03-10 (1), test 2026-04-14 (1)",
        "ships: trees refit on all labelled cutoffs, calibration cross-fitted over 5 blocks",
    ]
