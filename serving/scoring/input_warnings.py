"""Warnings for inputs a model reads differently than the caller may think: never silent.

A scoring request may name event types the model never saw (they count as "any other type"),
give an event a direction other than inbound/outbound (it counts as neither),
attributes the model does not use (ignored), leave out attributes the model was trained on
(read as unknown), or send an attribute in another type than its export column had at
training (``features.compute.online.read_attribute``: coerced when lossless, else read as unknown),
or a categorical level training never saw (read as "other"; a level training saw too rarely
to learn is read as "other" too, as at training, and is not warned about), or send events at
or after ``as_of`` (features read events strictly before it, so those are ignored). The score
is still given;
each such input is listed in the entity's ``warnings`` with the field it concerns, a stable
``code`` and a sentence.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from features.compute.online import COERCED, UNREADABLE, UNSEEN, read_attribute
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.event_table import DIRECTION_CODES
from features.definitions.vocabulary import Vocabulary, normalise_event_type
from features.identity_memo import IdentityMemo

_SHOWN = 64  # characters of a caller's type name repeated back, at most


def _attribute_dtypes(task: Task, specs: tuple[Any, ...]) -> Mapping[str, str]:
    value_column = TASK_TABLES[task].value_column
    return MappingProxyType(
        {s.name: s.dtype for s in specs if s.family == "attribute" and s.name != value_column}
    )


# Read per entity: found by identity of the model's own specs tuple (``features.identity_memo``).
_attribute_dtypes_of = IdentityMemo(_attribute_dtypes, size=16)


def model_attribute_dtypes(task: Task, model: object) -> Mapping[str, str]:
    """The export attributes a model was trained on (not its value column), with each one's
    dtype (``numeric`` or ``categorical``)."""
    return _attribute_dtypes_of(task, tuple(getattr(model, "feature_specs", ())))


def model_attributes(task: Task, model: object) -> frozenset[str]:
    """The export attributes a model was trained on (not its value column)."""
    return frozenset(model_attribute_dtypes(task, model))


def model_levels(model: object) -> dict[str, Collection[str]]:
    """The categorical levels the model learnt, per feature (its encoder's ``levels_``)."""
    return dict(getattr(_encoder(model), "levels_", {}))


def model_grouped_levels(model: object) -> dict[str, Collection[str]]:
    """The levels training saw but grouped as rare into "other", per feature (its grouper's
    ``grouped_levels_``): known, unlike a level training never saw. Empty for models fitted
    before those were recorded."""
    grouped = getattr(getattr(_encoder(model), "grouper_", None), "grouped_levels_", {})
    return {name: frozenset(levels) for name, levels in grouped.items()}


def _encoder(model: object) -> object:
    pipeline = getattr(model, "pipeline", None)
    return pipeline.steps[0][1] if pipeline is not None else None


_ATTRIBUTE_MESSAGES = {
    COERCED: "sent as another JSON type than its training column; converted without loss",
    UNREADABLE: "cannot be read in its training column's type; read as unknown",
    UNSEEN: "a level training never saw; read as 'other'",
}


def input_warnings(
    task: Task,
    model: object,
    vocabulary: Vocabulary,
    *,
    attributes: Mapping[str, object],
    events: Sequence[Mapping[str, object]],
    as_of: datetime,
) -> list[dict[str, str]]:
    """``{field, code, message}`` for the events at or after ``as_of`` (one warning,
    ``events_after_as_of``: see ``late_event_warnings``), per unknown event type and unknown
    direction (first occurrence of each value), attribute read
    otherwise than sent (``coerced_attribute``, ``unreadable_attribute``, ``unseen_level``),
    unused attribute and missing model attribute, in that order; empty when the input is read
    as sent. ``as_of`` is the moment scored, naive UTC like the validated events'
    ``occurred_at`` (``serving.api.schemas.fields``)."""
    out = late_event_warnings(events, as_of=as_of)
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
    out.extend(_direction_warnings(events))
    dtypes = model_attribute_dtypes(task, model)
    expected = frozenset(dtypes)
    levels, grouped = model_levels(model), model_grouped_levels(model)
    for name in sorted(expected.intersection(attributes)):
        _, notes = read_attribute(
            dtypes[name], attributes[name], levels.get(name, ()), grouped=grouped.get(name, ())
        )
        out.extend(
            {"field": f"attributes.{name}", "code": note, "message": _ATTRIBUTE_MESSAGES[note]}
            for note in notes
        )
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


def late_event_warnings(
    events: Sequence[Mapping[str, object]], *, as_of: datetime
) -> list[dict[str, str]]:
    """One ``events_after_as_of`` warning, at the first event whose ``occurred_at`` is at or
    after ``as_of``, counting all of them; empty when every event is before ``as_of``.

    Features are computed from events strictly before ``as_of`` (``features.compute.online``),
    so such events are ignored: the API refuses an entity *created* after ``as_of``, but an
    event after it is ordinary when a CRM replays history, so it is scored and warned about.
    ``events`` are validated events (``occurred_at`` a naive UTC ``datetime``, as ``as_of``).
    """
    late = [i for i, event in enumerate(events) if _at_or_after(event.get("occurred_at"), as_of)]
    if not late:
        return []
    return [
        {
            "field": f"events[{late[0]}].occurred_at",
            "code": "events_after_as_of",
            "message": f"{len(late)} event(s) at or after as_of; features read only events "
            "strictly before as_of, so they were ignored",
        }
    ]


def _at_or_after(occurred_at: object, as_of: datetime) -> bool:
    return isinstance(occurred_at, datetime) and occurred_at >= as_of


def _direction_warnings(events: Sequence[Mapping[str, object]]) -> list[dict[str, str]]:
    """``unknown_direction`` per direction value (first occurrence) that is neither inbound nor
    outbound after the type-name rule: the export contract keeps ``direction`` free text, so the
    API does not refuse it either, but the features count such an event as neither."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for position, event in enumerate(events):
        direction = event.get("direction")
        if not isinstance(direction, str) or direction in seen:
            continue
        seen.add(direction)
        if normalise_event_type(direction) not in DIRECTION_CODES:
            out.append(
                {
                    "field": f"events[{position}].direction",
                    "code": "unknown_direction",
                    "message": "not inbound or outbound; the event counts as neither",
                }
            )
    return out
