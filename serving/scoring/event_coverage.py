"""How much of an export's event history a served model can read, for batch ``score``.

A model codes the event types of its vocabulary; every other type counts as "other". The API
and the pyfunc scorer say so per request (``unknown_event_type``); a batch run says it per task:
one line per unknown type with its event count, and a task none of whose events is of a known
type is not scored at all (its features would be "no activity" for every entity: a plausible but
meaningless list, e.g. an export whose CRM names its event types in another language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from features.contract.export import Export
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.vocabulary import Vocabulary, type_counts

SHOWN_TYPES = 8  # unknown types named one per line; the rest are counted in one line


@dataclass(frozen=True)
class EventTypeCoverage:
    """Events of one task before the as-of time: how many are of a type the model knows, and
    per unknown type (the export's spelling, ``/``-joined when several normalise alike) its
    event count, most events first."""

    task: Task
    known_events: int
    unknown: tuple[tuple[str, int], ...]
    model_types: tuple[str, ...]  # the normalised types the model has a kind for

    @property
    def unusable(self) -> bool:
        """True when the task has events and none is of a type the model knows."""
        return self.known_events == 0 and bool(self.unknown)

    def warning_lines(self, *, shown: int = SHOWN_TYPES) -> list[str]:
        """One line per unknown type (at most ``shown``, then one "and N more" line)."""
        lines = [
            f"warning: {self.task.value}: event type {name!r} ({events} event(s)) is not in the "
            "model's vocabulary; counted as 'other'"
            for name, events in self.unknown[:shown]
        ]
        rest = self.unknown[shown:]
        if rest:
            lines.append(
                f"warning: {self.task.value}: and {len(rest)} more unknown event type(s) "
                f"({sum(events for _, events in rest)} event(s))"
            )
        return lines

    def gap(self) -> str | None:
        """Why the task cannot be scored (one sentence), or None when it can."""
        if not self.unusable:
            return None
        total = sum(events for _, events in self.unknown)
        known = ", ".join(self.model_types[:SHOWN_TYPES])
        more = len(self.model_types) - SHOWN_TYPES
        known += f" and {more} more" if more > 0 else ""
        return (
            f"none of the {total} event(s) in {TASK_TABLES[self.task].events_table} is of an "
            f"event type the model knows ({known}); retrain on this export or rename its types"
        )


def event_type_coverage(
    export: Export, *, task: Task, vocabulary: Vocabulary, as_of: datetime
) -> EventTypeCoverage:
    """Count ``task``'s events strictly before ``as_of`` (naive UTC: the events the features
    read) by whether ``vocabulary`` knows their type (``Vocabulary.knows``, after the type-name
    normalisation rule). Reads only the task's events table."""
    known = 0
    unknown: list[tuple[str, int]] = []
    for name, (events, _, spellings) in type_counts(export, task=task, before=as_of).items():
        if vocabulary.knows(name):
            known += events
        else:
            unknown.append(("/".join(sorted(spellings)), events))
    unknown.sort(key=lambda item: (-item[1], item[0]))
    model_types = tuple(t for kind in vocabulary.kinds for t in kind.types)
    return EventTypeCoverage(task, known, tuple(unknown), model_types)
