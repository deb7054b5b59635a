"""Warnings for inputs a model reads differently than the caller may think: never silent.

A scoring request may name event types the model never saw (they count as "any other type"),
attributes the model does not use (ignored), or leave out attributes the model was trained on
(read as unknown). The score is still given; each such input is listed in the entity's
``warnings`` with the field it concerns, a stable ``code`` and a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from features.tasks import TASK_TABLES, Task
from features.vocabulary import Vocabulary

_SHOWN = 64  # characters of a caller's type name repeated back, at most


@lru_cache(maxsize=16)
def _model_attributes(task: Task, specs: tuple[Any, ...]) -> frozenset[str]:
    value_column = TASK_TABLES[task].value_column
    return frozenset(s.name for s in specs if s.family == "attribute" and s.name != value_column)


def model_attributes(task: Task, model: object) -> frozenset[str]:
    """The export attributes a model was trained on (not its value column)."""
    return _model_attributes(task, tuple(getattr(model, "feature_specs", ())))


def input_warnings(
    task: Task,
    model: object,
    vocabulary: Vocabulary,
    *,
    attributes: Mapping[str, object],
    events: Sequence[Mapping[str, object]],
) -> list[dict[str, str]]:
    """``{field, code, message}`` per unknown event type (first occurrence), unused attribute
    and missing model attribute, in that order; empty when the input is read as sent."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for position, event in enumerate(events):
        kind = event.get("type")
        if isinstance(kind, str) and kind not in seen and not vocabulary.knows(kind):
            seen.add(kind)
            shown = kind if len(kind) <= _SHOWN else kind[:_SHOWN] + "…"
            out.append(
                {
                    "field": f"events[{position}].type",
                    "code": "unknown_event_type",
                    "message": f"event type {shown!r} is not in the model's vocabulary; "
                    "counted as 'other'",
                }
            )
    expected = model_attributes(task, model)
    for name in sorted(set(attributes) - expected):
        out.append(
            {
                "field": f"attributes.{name}",
                "code": "unused_attribute",
                "message": "the model was not trained on this attribute; ignored",
            }
        )
    for name in sorted(expected - set(attributes)):
        out.append(
            {
                "field": f"attributes.{name}",
                "code": "missing_attribute",
                "message": "the model was trained on this attribute; read as unknown",
            }
        )
    return out
