"""Does a loaded model fit the slot it is about to fill? Task, vocabulary and input columns.

Hashes prove a file is the one training recorded, not that it is the right model: a
``salesradar-leads`` version whose artifact is a churn model verifies, loads and warms up (the
online path reads every column it does not compute as a missing attribute), and would then
score every lead with the churn model. So before a model is swapped in, its own description is
checked against the slot (the task it will serve); the manifest's ``format_version`` is already
checked by ``features.model.scoring_model.ScoringModel.load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.model.scoring_model import ScoringModel

# Features of this family are export attributes read from the request, not computed from events.
ATTRIBUTE_FAMILY = "attribute"


class SlotMismatch(ValueError):
    """A verified model is not a model of the slot's task, or its columns do not fit the slot.

    The message names the version and what does not fit, and holds no file path.
    """


def check_model_fits(task: Task, model: ScoringModel, *, name: str, version: str) -> None:
    """Raise ``SlotMismatch`` unless ``model`` can serve ``task``.

    Checks, in order: the model's own task, the task of the event vocabulary it ships with, that
    its estimator reads exactly the columns its feature list names (in order), and that every
    engineered (non-attribute) feature is one the slot's task computes over that vocabulary with
    the same dtype (derived BG/NBD features only where the model carries their parameters).
    """
    where = f"{name} v{version}"
    own = _task_of(getattr(model, "task", None))
    if own is not task:
        raise SlotMismatch(f"{where} is a {own or 'unknown-task'} model; this slot serves {task}")
    vocabulary_task = _task_of(getattr(model.vocabulary, "task", None))
    if vocabulary_task is not task:
        raise SlotMismatch(f"{where} ships a {vocabulary_task} event vocabulary, not a {task} one")
    specs: Sequence[Any] = tuple(getattr(model, "feature_specs", ()))
    _check_estimator_columns(where, model, [str(s.name) for s in specs])
    computed = {s.name: s.dtype for s in feature_specs(task, model.vocabulary)}
    btyd = getattr(model, "btyd", None)
    derived = set(btyd.names) if btyd is not None else set()
    for spec in specs:
        if spec.family == ATTRIBUTE_FAMILY or spec.name in derived:
            continue
        if computed.get(spec.name) != spec.dtype:
            raise SlotMismatch(
                f"{where} reads {spec.dtype} feature {spec.name!r}, which {task} scoring does "
                "not compute"
            )


def _task_of(value: object) -> Task | None:
    try:
        return Task(str(value))
    except ValueError:
        return None


def _check_estimator_columns(where: str, model: ScoringModel, listed: list[str]) -> None:
    """The fitted estimator's input columns are the feature list, in order (its signature)."""
    pipeline = getattr(model, "pipeline", None)
    fitted = getattr(pipeline, "feature_names_in_", None)
    if fitted is None:
        raise SlotMismatch(f"{where}: the estimator does not name its input columns")
    columns = [str(c) for c in fitted]
    if columns != listed:
        extra = sorted(set(columns) - set(listed))
        missing = sorted(set(listed) - set(columns))
        raise SlotMismatch(
            f"{where}: the estimator reads other columns than the model lists "
            f"(not listed: {extra or 'none'}; not read: {missing or 'none'}; or another order)"
        )
