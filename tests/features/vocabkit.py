"""The vocabulary of the synthetic CRM's event types, for tests that hand-write its events.

Production code never names these types: models learn their vocabulary from the export
(``features.definitions.vocabulary.learn_vocabulary``). Tests that build events by hand use this one
so their expectations read in familiar words.
"""

from __future__ import annotations

from functools import cache

from features.contract.tasks import Task
from features.definitions.vocabulary import Vocabulary
from training.config import DEFAULT_CONFIG_PATH, load_wording

SIM_TYPES: dict[Task, tuple[str, ...]] = {
    Task.LEADS: ("email_open", "email_reply", "call", "meeting", "demo", "sample_request", "quote"),
    Task.CHURN: ("order", "support_ticket", "check_in", "email_open", "portal_login"),
}
_VALUED = {Task.LEADS: ("quote",), Task.CHURN: ("order",)}


@cache
def sim_vocabulary(task: Task | str) -> Vocabulary:
    """The synthetic CRM's types as a vocabulary: churn pools ``order`` as the purchase kind."""
    task = Task(task)
    return Vocabulary.of_types(
        task,
        SIM_TYPES[task],
        valued=_VALUED[task],
        activity_types=("order",) if task is Task.CHURN else (),
        wording=load_wording(DEFAULT_CONFIG_PATH.with_name("wording.toml")),
    )
