"""Which tasks a batch run scores: asked-for tasks must be scorable, others are skipped."""

from __future__ import annotations

from typing import cast

import pytest

from features.contract.tasks import Task
from features.errors import UserError
from serving.champions.served import ServedModel
from serving.scoring.batch import TaskChoice, choose_tasks

LEADS_MODEL = cast(ServedModel, object())
NO_CHURN = "no churn model is served: no model named salesradar-churn is registered"
NO_LEAD_ROWS = "the export has no rows in leads and lead_events (x); it holds data for: churn"


def _choose(requested: list[Task], *, in_export: list[Task]) -> TaskChoice:
    return choose_tasks(
        requested,
        served={Task.LEADS: LEADS_MODEL, Task.CHURN: None},
        why_not_served={Task.CHURN: NO_CHURN},
        in_export=in_export,
        export_gaps={Task.LEADS: NO_LEAD_ROWS} if Task.LEADS not in in_export else {},
    )


def test_by_default_tasks_without_a_champion_are_skipped_in_one_line() -> None:
    choice = _choose([], in_export=[Task.LEADS, Task.CHURN])
    assert choice.scored == {Task.LEADS: LEADS_MODEL}
    assert choice.describe() == f"scoring leads; skipped churn ({NO_CHURN})"


def test_a_task_not_asked_for_is_said_to_leave_its_lists_empty() -> None:
    """The published run replaces every task's lists: --task leads alone empties churn's."""
    choice = _choose([Task.LEADS], in_export=[Task.LEADS, Task.CHURN])
    assert choice.scored == {Task.LEADS: LEADS_MODEL}
    assert choice.describe() == (
        "scoring leads; skipped churn (not asked for with --task: the published run holds no "
        "churn scores, so churn's lists are empty until a run scores it)"
    )


@pytest.mark.parametrize(
    ("requested", "in_export", "message"),
    [
        ([Task.CHURN], [Task.LEADS, Task.CHURN], f"cannot score churn: {NO_CHURN}"),
        ([Task.LEADS], [Task.CHURN], f"cannot score leads: {NO_LEAD_ROWS}"),
        ([], [Task.CHURN], f"nothing to score: leads: {NO_LEAD_ROWS}; churn: {NO_CHURN}"),
    ],
)
def test_a_task_asked_for_or_nothing_at_all_is_an_error(
    requested: list[Task], in_export: list[Task], message: str
) -> None:
    with pytest.raises(UserError) as raised:
        _choose(requested, in_export=in_export)
    assert str(raised.value) == message


BROKEN_CHURN = "the churn champion could not be loaded: salesradar-churn v3: bad file"


def test_by_default_a_champion_that_could_not_be_loaded_stops_the_run() -> None:
    # A run publishes for every task at once: skipping churn here would empty the churn lists.
    with pytest.raises(UserError) as raised:
        choose_tasks(
            [],
            served={Task.LEADS: LEADS_MODEL, Task.CHURN: None},
            why_not_served={Task.CHURN: BROKEN_CHURN},
            in_export=[Task.LEADS, Task.CHURN],
            export_gaps={},
            unloadable=[Task.CHURN],
        )
    assert str(raised.value) == (
        f"cannot score churn: {BROKEN_CHURN}; nothing was scored or published (a run without "
        "churn would empty its lists). Fix or roll back that champion, or score the others "
        "alone with --task leads"
    )


def test_a_champion_that_could_not_be_loaded_is_skipped_when_its_task_has_no_rows() -> None:
    choice = choose_tasks(
        [],
        served={Task.LEADS: LEADS_MODEL, Task.CHURN: None},
        why_not_served={Task.CHURN: BROKEN_CHURN},
        in_export=[Task.LEADS],
        export_gaps={},
        unloadable=[Task.CHURN],
    )
    assert choice.scored == {Task.LEADS: LEADS_MODEL}
