"""The data-sufficiency plan, before anything is fitted: what this history supports.

Rows and positives per labelled cutoff, the split the run will use (or why there is no temporal
test), how many cutoffs each horizon leaves, the longest horizon that still allows a temporal
test, and — when the history falls short — what would work instead. Pure: the cutoff grid of
another horizon or spacing comes from a function the caller passes (``features.compute.snapshots.
default_cutoffs`` over the open export), so nothing here reads data or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from features.compute.snapshots import MONTHLY, CutoffSpacing
from features.contract.tasks import Task
from features.contract.times import iso_utc
from training.config import SplitConfig
from training.splits import TemporalSplit, choose_split, split_cutoffs
from training.trainer import check_train_positives
from training.tree_fit import ModelDataError

# Horizons the plan always reports, beside the requested one.
REPORTED_HORIZON_DAYS = (30, 60, 90, 182, 365)
# Spacings offered when the requested one falls short.
SUGGESTED_SPACINGS = (CutoffSpacing(7, "d"), CutoffSpacing(14, "d"), CutoffSpacing(1, "m"))

CutoffGrid = Callable[[timedelta, CutoffSpacing], list[datetime]]
# The default cutoffs of a horizon and spacing with their label counts: ``cutoff, rows,
# positives`` (``features.compute.snapshots.label_counts``), one row per cutoff where anyone is
# eligible.
LabelCounts = Callable[[timedelta, CutoffSpacing], pd.DataFrame]


@dataclass(frozen=True)
class CutoffCount:
    cutoff: datetime
    rows: int
    positives: int
    part: str  # train | calibration | test | embargoed (labelled, but unused by the evaluation)


@dataclass(frozen=True)
class HorizonSupport:
    horizon_days: int
    labelled: int  # cutoffs with a closed label window and someone eligible, as train counts
    temporal_test: bool  # a train/calibration/test split fits those cutoffs


@dataclass(frozen=True)
class DataPlan:
    task: Task
    horizon: timedelta
    every: CutoffSpacing | None  # None: the cutoffs were given explicitly
    as_of: datetime
    cutoffs: tuple[CutoffCount, ...]
    split: TemporalSplit | None  # None: nothing can be trained (``problem`` says why)
    problem: str | None
    horizons: tuple[HorizonSupport, ...]
    longest_tested_horizon_days: int | None  # None: no horizon allows a temporal test
    alternatives: tuple[str, ...]  # what would work, when the history falls short

    def error(self) -> str:
        """The one-line error when nothing can be trained: the problem, then what would work."""
        if not self.alternatives:
            return str(self.problem)
        return f"{self.problem}; what would work: " + "; ".join(self.alternatives)


def build_plan(
    frame: pd.DataFrame,
    *,
    task: Task,
    horizon: timedelta,
    every: CutoffSpacing | None,
    as_of: datetime,
    split_config: SplitConfig,
    no_test: bool,
    grid: CutoffGrid,
    counts: LabelCounts,
) -> DataPlan:
    """The plan for a training-set ``frame`` (``cutoff``, ``label``; may be empty).

    ``grid(horizon, spacing)`` lists the default cutoffs with closed label windows for another
    horizon or spacing, as of the same time, and ``counts(horizon, spacing)`` their label
    counts (only cutoffs where someone is eligible, as in a training set: the labelled
    cutoffs per horizon are counted from them). The split and the positives check are the
    ones ``train_task`` applies, so a plan without ``problem`` trains; so does every option
    its ``alternatives`` offer, which are checked the same way against ``counts`` before they
    are offered.
    """
    labelled = sorted(pd.to_datetime(frame["cutoff"].unique()).to_pydatetime())
    split, problem = None, None
    try:
        split = choose_split(
            labelled,
            test=split_config.test_cutoffs,
            calibration=split_config.calibration_cutoffs,
            horizon=horizon,
            embargo=split_config.embargo,
            no_test=no_test,
        )
        check_train_positives(frame, split, task=task, min_positives=split_config.min_positives)
    except ModelDataError as exc:
        text = str(exc)
        split, problem = None, text if text.startswith(f"{task}: ") else f"{task}: {text}"
    spacing = every or CutoffSpacing(1, "m")
    tested = _tested(split_config, embargo=split_config.embargo)
    counts = _remembered(counts)
    days = sorted({*REPORTED_HORIZON_DAYS, horizon.days})
    # Labelled as train counts them (a cutoff where nobody is eligible has no label row), so
    # the line never reports cutoffs that train would not find.
    horizons = tuple(
        HorizonSupport(d, len(cuts), tested(cuts, timedelta(days=d)))
        for d in days
        for cuts in [_cutoffs_of(counts(timedelta(days=d), spacing))]
    )
    # By time first (cheap: no query), which bounds the answer from above (the labelled cutoffs
    # are a subset of the grid's); then by the labelled cutoffs, as train and the line above
    # count them, under that bound.
    by_time = _longest_tested_horizon(lambda h: grid(h, spacing), tested)
    longest = (
        None
        if by_time is None
        else _longest_tested_horizon(
            lambda h: _cutoffs_of(counts(h, spacing)), tested, high=by_time
        )
    )
    alternatives = (
        _alternatives(
            counts,
            grid,
            horizon=horizon,
            every=every,
            config=split_config,
            no_test=no_test,
            trains=split is not None,
        )
        if split is None or not split.has_test
        else ()
    )
    return DataPlan(
        task=task,
        horizon=horizon,
        every=every,
        as_of=as_of,
        cutoffs=_counts(frame, labelled, split),
        split=split,
        problem=problem,
        horizons=horizons,
        longest_tested_horizon_days=longest,
        alternatives=alternatives,
    )


def _remembered(counts: LabelCounts) -> LabelCounts:
    """``counts`` computed once per horizon and spacing (the horizon line and the alternatives
    ask for the same ones)."""
    seen: dict[tuple[timedelta, CutoffSpacing], pd.DataFrame] = {}

    def remembered(horizon: timedelta, spacing: CutoffSpacing) -> pd.DataFrame:
        key = (horizon, spacing)
        if key not in seen:
            seen[key] = counts(horizon, spacing)
        return seen[key]

    return remembered


def _cutoffs_of(counts: pd.DataFrame) -> list[datetime]:
    """The cutoffs of a ``LabelCounts`` frame, as datetimes."""
    return list(pd.to_datetime(counts["cutoff"]).dt.to_pydatetime())


def _tested(
    config: SplitConfig, *, embargo: bool
) -> Callable[[Sequence[datetime], timedelta], bool]:
    def tested(cutoffs: Sequence[datetime], horizon: timedelta) -> bool:
        try:
            split_cutoffs(
                cutoffs,
                test=config.test_cutoffs,
                calibration=config.calibration_cutoffs,
                horizon=horizon,
                embargo=embargo,
            )
        except ModelDataError:
            return False
        return True

    return tested


def _longest_tested_horizon(
    cutoffs: Callable[[timedelta], Sequence[datetime]],
    tested: Callable[[Sequence[datetime], timedelta], bool],
    *,
    high: int = 3660,
) -> int | None:
    """The longest horizon in days, at most ``high``, whose ``cutoffs(horizon)`` allow a
    temporal test; None when even one day does not.

    A longer horizon leaves fewer cutoffs and a wider embargo, so the answer is found by
    bisection (about 12 calls of ``cutoffs``)."""
    if not tested(cutoffs(timedelta(days=1)), timedelta(days=1)):
        return None
    low = 1
    while low < high:
        middle = (low + high + 1) // 2
        if tested(cutoffs(timedelta(days=middle)), timedelta(days=middle)):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True)
class _Option:
    """One set of ``train`` options the plan checked against the history before offering it."""

    horizon: timedelta
    every: CutoffSpacing
    no_test: bool
    embargo: bool

    def command(self) -> str:
        options = f"--horizon {self.horizon.days}d --every {self.every}"
        options += " --no-test" if self.no_test else ""
        return options if self.embargo else f"{options} with config split.embargo = false"


def _trains(counts: pd.DataFrame, option: _Option, config: SplitConfig) -> TemporalSplit | None:
    """The split ``train`` would use with ``option`` over ``counts`` (``cutoff, rows,
    positives``), or None when it would refuse: the same ``choose_split`` and the same
    positives rule as ``check_train_positives``, read from counts instead of rows."""
    try:
        split = choose_split(
            _cutoffs_of(counts),
            test=config.test_cutoffs,
            calibration=config.calibration_cutoffs,
            horizon=option.horizon,
            embargo=option.embargo,
            no_test=option.no_test,
        )
    except ModelDataError:
        return None
    train = counts["cutoff"].isin(pd.to_datetime(list(split.train)))
    return split if int(counts.loc[train, "positives"].sum()) >= config.min_positives else None


def _alternatives(
    counts: LabelCounts,
    grid: CutoffGrid,
    *,
    horizon: timedelta,
    every: CutoffSpacing | None,
    config: SplitConfig,
    no_test: bool,
    trains: bool,
) -> tuple[str, ...]:
    """What would work instead, each clause naming the exact options, every one checked to
    train against its own label ``counts`` before it is offered.

    Per spacing: at most one option at the requested horizon (plain, else ``--no-test``) and
    one at a shorter horizon (the longest with a temporal test, else the longest that trains
    untested); then the embargo switch. When the request already ``trains`` (untested) only
    options with a temporal test are offered; when nothing tried trains, one clause says so.
    """

    def works(option: _Option) -> str | None:
        asked = _Option(horizon, every, no_test, config.embargo) if every else None
        if option == asked:
            return None
        frame = counts(option.horizon, option.every)
        split = _trains(frame, option, config)
        if split is None or ((trains or not option.embargo) and not split.has_test):
            return None
        test = "with a temporal test" if split.has_test else "without a temporal test"
        positives = int(frame.loc[frame["cutoff"].isin(split.train), "positives"].sum())
        return (
            f"{option.command()} trains {test} ({len(frame)} labelled cutoff(s), "
            f"{positives} training positive(s))"
        )

    def first(options: list[_Option]) -> list[str]:
        return next(([said] for said in map(works, options) if said is not None), [])

    spacings = list(dict.fromkeys([every or MONTHLY, *SUGGESTED_SPACINGS]))
    tested = _tested(config, embargo=config.embargo)
    found: list[str] = []
    for spacing in spacings:
        found += first([_Option(horizon, spacing, t, config.embargo) for t in (no_test, True)])
    for spacing in spacings:
        # By time only: every option built from it is checked against counts before it is offered.
        longest = _longest_tested_horizon(lambda h, s=spacing: grid(h, s), tested) or 0
        days = sorted({longest, *REPORTED_HORIZON_DAYS} - {0, horizon.days}, reverse=True)
        with_test = [timedelta(days=d) for d in days if d <= longest and not no_test]
        untested = [timedelta(days=d) for d in days if d < horizon.days]
        found += first(
            [_Option(h, spacing, False, config.embargo) for h in with_test]
            + [_Option(h, spacing, True, config.embargo) for h in untested]
        )
    if config.embargo and not no_test:
        found += first([_Option(horizon, every or MONTHLY, False, False)])
    if not found and not trains:
        found.append(
            "nothing the plan tried trains on this history (every "
            f"{', '.join(map(str, spacings))}; horizons of "
            f"{', '.join(map(str, REPORTED_HORIZON_DAYS))} days and the longest with a "
            "temporal test; with and without --no-test): too few "
            f"labelled cutoffs, or fewer than {config.min_positives} positives in the training "
            "cutoffs"
        )
    return tuple(found)


def _counts(
    frame: pd.DataFrame, labelled: Sequence[datetime], split: TemporalSplit | None
) -> tuple[CutoffCount, ...]:
    grouped = frame.groupby("cutoff")["label"].agg(["size", "sum"])
    parts: dict[datetime, str] = {}
    if split is not None:
        parts = {
            **dict.fromkeys(split.train, "train"),
            **dict.fromkeys(split.calibration, "calibration"),
            **dict.fromkeys(split.test, "test"),
        }
    return tuple(
        CutoffCount(
            cutoff=c,
            rows=int(grouped.loc[c, "size"]),
            positives=int(grouped.loc[c, "sum"]),
            part=parts.get(c, "embargoed" if split is not None else "-"),
        )
        for c in labelled
    )


def render_plan(plan: DataPlan, *, folds: int, refit: bool) -> list[str]:
    """The plan as plain text lines (the CLI prints them; the first says what was asked)."""
    spacing = f"every {plan.every}" if plan.every else "as given"
    lines = [
        f"plan: {plan.task}, {plan.horizon.days}-day horizon, cutoffs {spacing}, "
        f"as of {iso_utc(plan.as_of)}; {len(plan.cutoffs)} labelled cutoff(s)",
        f"  {'cutoff':<10}  {'rows':>8}  {'positives':>9}  part",
    ]
    lines += [
        f"  {c.cutoff:%Y-%m-%d}  {c.rows:>8,}  {c.positives:>9,}  {c.part}" for c in plan.cutoffs
    ]
    lines.append(
        f"labelled cutoffs per horizon (every {plan.every or '1m'}): "
        + ", ".join(
            f"{h.horizon_days}d {h.labelled}{' (temporal test)' if h.temporal_test else ''}"
            for h in plan.horizons
        )
    )
    longest = plan.longest_tested_horizon_days
    lines.append(
        f"longest horizon with a temporal test: {longest}d"
        if longest is not None
        else "longest horizon with a temporal test: none"
    )
    lines += _split_lines(plan, folds=folds, refit=refit)
    if plan.alternatives:
        lines.append("what would work otherwise: " + "; ".join(plan.alternatives))
    return lines


def _split_lines(plan: DataPlan, *, folds: int, refit: bool) -> list[str]:
    split = plan.split
    if split is None:
        return [f"split: none, nothing can be trained ({plan.problem})"]
    if not split.has_test:
        return [
            f"split: NO temporal test ({split.why_no_test}); all {len(split.train)} cutoff(s) "
            f"train, calibration cross-fitted over {min(folds, len(split.train))} blocks; "
            "ranking and calibration on later time will not be measured and this model is "
            "never promoted automatically",
        ]
    lines = [
        f"split: train {_span(split.train)}, calibration {_span(split.calibration)}, "
        f"test {_span(split.test)}",
    ]
    lines.append(
        "ships: trees refit on all labelled cutoffs, calibration cross-fitted over "
        f"{min(folds, len(plan.cutoffs))} blocks"
        if refit
        else "ships: the evaluated model"
    )
    return lines


def _span(cutoffs: Sequence[datetime]) -> str:
    if len(cutoffs) == 1:
        return f"{cutoffs[0]:%Y-%m-%d} (1)"
    return f"{cutoffs[0]:%Y-%m-%d}..{cutoffs[-1]:%Y-%m-%d} ({len(cutoffs)})"
