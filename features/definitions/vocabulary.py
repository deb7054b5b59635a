"""The event vocabulary of a model: which event types get features of their own, learnt from the
training export and carried with the model.

A CRM export names its activities in its own words (``webinar``, ``Zq Email Open``,
``opportunity_created``). At training time ``learn_vocabulary`` counts the events of every type
before the as-of time; each type with at least ``min_events`` events (at most ``max_types`` of
them, the most frequent first) becomes an ``EventKind`` with the per-type feature families
(window counts, recency, trends; value sums where most of its events carry a value). Rarer types,
and at scoring time types the model never saw, pool into code 0, "any other type", which has a
family of its own. For churn, the ``activity_types`` (what counts as "a purchase": the cadence
features and the silent-churn label) come first: one activity type is the kind ``purchase``;
several each keep a kind of their own (whatever their count) and the purchase features read the
range of their codes, so a subscription export whose every type is "activity" keeps its
per-type features.

Type names are compared after one normalisation rule (``normalise_event_type``): lower case,
every run of whitespace, hyphens and underscores becomes one ``_``, leading and trailing ``_``
dropped. ``Email_Reply``, ``email reply `` and ``EMAIL-REPLY`` are one type. Validation, batch
(the SQL maps each distinct raw type of an export through this Python function) and online
scoring all use it, so there is exactly one implementation.

The vocabulary is plain data (``to_dict`` / ``from_dict``) saved in the model's manifest: batch
and online scoring expand it into the same feature definitions the model was trained on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from features.contract.export import Export, quote
from features.contract.tables import EVENT_TYPE_SEPARATOR_CHARACTERS
from features.contract.tasks import DEFAULT_ACTIVITY_TYPES, TASK_TABLES, Task
from features.definitions.event_table import Code

# Whitespace (Unicode's, the no-break spaces too), hyphens and underscores: one separator each run.
_SEPARATORS = re.compile(f"[{EVENT_TYPE_SEPARATOR_CHARACTERS}]+")
# Feature names: letters and digits joined by single "_" (LightGBM refuses JSON punctuation).
_NOT_NAME = re.compile(r"[^a-z0-9]+")
OTHER_CODE = 0
# Feature-name stems the registry uses for its own families; a learnt type never takes them.
RESERVED_SLUGS = frozenset({"event", "other", "purchase"})
PURCHASE_SLUG = "purchase"


class VocabularyError(ValueError):
    """The export cannot give the vocabulary asked for (e.g. an activity type never occurs)."""


@lru_cache(maxsize=4096)
def normalise_event_type(text: str) -> str:
    """One event type name in its canonical form: ``" Email-Reply "`` -> ``"email_reply"``.

    Takes any text; returns lower case with each run of whitespace, ``-`` and ``_`` as one ``_``
    and none at either end (possibly the empty string for a name of separators only).
    """
    return _SEPARATORS.sub("_", text.lower()).strip("_")


def _plural(noun: str) -> str:
    """English plural of the last word: ``quote`` -> ``quotes``, ``reply`` -> ``replies``."""
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    return noun + "s"


@dataclass(frozen=True)
class EventWording:
    """How one kind of event reads in a reason sentence.

    ``counted`` is (none, one, many) for "N events in the last D days", ``many`` holding
    ``{value}``; ``since`` is (never, under a day, other) for "days since the last event",
    ``other`` holding ``{value}`` (already "1 day" / "64 days"). Both default from the nouns.
    """

    noun: str
    nouns: str
    counted: tuple[str, str, str] | None = None
    since: tuple[str, str, str] | None = None

    @classmethod
    def for_type(cls, event_type: str) -> EventWording:
        """The default wording of a normalised type with no wording of its own: ``beantwoord``
        -> "beantwoord event(s)". Learnt names may be in any language, so the name is never
        inflected (an English plural made "beantwoords"): "event(s)" carries the number."""
        name = event_type.replace("_", " ")
        return cls(f"{name} event", f"{name} events") if name else cls("event", "events")

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"noun": self.noun, "nouns": self.nouns}
        if self.counted is not None:
            out["counted"] = list(self.counted)
        if self.since is not None:
            out["since"] = list(self.since)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, where: str) -> EventWording:
        """From ``to_dict`` output or a wording file entry; raises ``VocabularyError``."""
        unknown = set(data) - {"noun", "nouns", "counted", "since"}
        if unknown:
            raise VocabularyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        noun = data.get("noun")
        if not isinstance(noun, str) or not noun:
            raise VocabularyError(f"{where}.noun: expected text")
        nouns = data.get("nouns", _plural(noun))
        if not isinstance(nouns, str) or not nouns:
            raise VocabularyError(f"{where}.nouns: expected text")
        return cls(noun, nouns, _triple(data, "counted", where), _triple(data, "since", where))


def _triple(data: Mapping[str, object], key: str, where: str) -> tuple[str, str, str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not (isinstance(value, list | tuple) and len(value) == 3):
        raise VocabularyError(f"{where}.{key}: expected a list of 3 sentences")
    if not all(isinstance(v, str) and v for v in value):
        raise VocabularyError(f"{where}.{key}: expected a list of 3 sentences")
    return (value[0], value[1], value[2])


OTHER_WORDING = EventWording("event of another type", "events of other types")


@dataclass(frozen=True)
class EventKind:
    """One coded kind of event: the normalised ``types`` it covers, its feature-name ``slug``,
    whether its events carry money (``valued``) and how it reads (``wording``)."""

    slug: str
    types: tuple[str, ...]
    valued: bool
    wording: EventWording
    events: int = 0  # events seen at training (informational; model cards)

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "types": list(self.types),
            "valued": self.valued,
            "wording": self.wording.to_dict(),
            "events": self.events,
        }


@dataclass(frozen=True)
class Vocabulary:
    """The event kinds of one task's model; kind ``i`` has type code ``i + 1``, 0 is "other".

    ``purchase_span``: how many leading kinds are churn's purchase types (``activity_types``;
    0 for leads). One such kind is named ``purchase``; several keep their own names and the
    purchase features read codes ``1..purchase_span``.
    """

    task: Task
    kinds: tuple[EventKind, ...]
    purchase_span: int = 0
    _codes: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slugs = [k.slug for k in self.kinds]
        if len(set(slugs)) != len(slugs):
            raise VocabularyError(f"duplicate feature stems in vocabulary: {slugs}")
        for code, kind in enumerate(self.kinds, start=1):
            for event_type in kind.types:
                if event_type in self._codes:
                    raise VocabularyError(f"event type {event_type!r} is in two kinds")
                self._codes[event_type] = code

    @property
    def purchase(self) -> bool:
        """Whether the vocabulary has purchase types (churn's cadence features and label)."""
        return self.purchase_span > 0

    @property
    def purchase_code(self) -> Code:
        """The code (one kind) or inclusive code range (several) of the purchase types."""
        return 1 if self.purchase_span == 1 else (1, self.purchase_span)

    @property
    def activity_types(self) -> tuple[str, ...]:
        """The normalised types that count as a purchase (churn); empty for leads."""
        return tuple(t for kind in self.kinds[: self.purchase_span] for t in kind.types)

    def code(self, event_type: str | None) -> int:
        """The code of a raw (not yet normalised) type: 1.. for a kind, 0 for any other type."""
        if event_type is None:
            return OTHER_CODE
        return self._codes.get(normalise_event_type(event_type), OTHER_CODE)

    def knows(self, event_type: str) -> bool:
        """Whether a raw type has a kind of its own (False: it counts as "other")."""
        return normalise_event_type(event_type) in self._codes

    def to_dict(self) -> dict[str, object]:
        return {
            "task": str(self.task),
            "purchase_span": self.purchase_span,
            "kinds": [k.to_dict() for k in self.kinds],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Vocabulary:
        """The inverse of ``to_dict``; raises ``VocabularyError`` on a malformed entry."""
        try:
            kinds = tuple(
                EventKind(
                    slug=str(k["slug"]),
                    types=tuple(str(t) for t in k["types"]),
                    valued=bool(k["valued"]),
                    wording=EventWording.from_dict(k["wording"], where=f"kinds[{i}].wording"),
                    events=int(k.get("events", 0)),
                )
                # Unchecked JSON: a malformed entry fails in here with KeyError or TypeError.
                for i, k in enumerate(cast("Iterable[Mapping[str, Any]]", data["kinds"]))
            )
            span = int(data["purchase_span"])  # type: ignore[call-overload]
            return cls(Task(str(data["task"])), kinds, purchase_span=span)
        except (KeyError, TypeError, ValueError) as error:
            raise VocabularyError(f"malformed vocabulary: {error}") from None

    @classmethod
    def of_types(
        cls,
        task: Task | str,
        types: Sequence[str],
        *,
        valued: Iterable[str] = (),
        activity_types: Sequence[str] = (),
        wording: Mapping[str, EventWording] | None = None,
    ) -> Vocabulary:
        """A vocabulary from type names given by hand (tests, tools): each type its own kind,
        ``activity_types`` first as the purchase types (churn only)."""
        task = Task(task)
        wording = wording or {}
        valued_set = {normalise_event_type(v) for v in valued}
        counts = {normalise_event_type(t): 0 for t in [*activity_types, *types]}
        return _build(task, counts, valued_set, activity_types, wording, min_events=0, cap=None)


@dataclass(frozen=True)
class VocabularySettings:
    """How a vocabulary is learnt (``[vocabulary]`` in the training config).

    ``min_events``: a type needs at least this many events before the as-of to get features of
    its own; ``max_types``: at most this many such types (most frequent first); ``valued_share``:
    share of a type's events with a value from which it gets value features; ``activity_types``:
    the types that mean "a purchase" for churn; ``wording``: nicer wording per normalised type.
    """

    min_events: int = 50
    max_types: int = 30
    valued_share: float = 0.5
    activity_types: tuple[str, ...] = DEFAULT_ACTIVITY_TYPES
    wording: Mapping[str, EventWording] = field(default_factory=dict)


def type_counts(
    export: Export, *, task: Task, before: datetime
) -> dict[str, tuple[int, int, set[str]]]:
    """Per normalised type: (events, events with a value, raw spellings), events before ``before``.

    ``before`` is naive UTC. Reads only the task's events table.
    """
    table = TASK_TABLES[task].events_table
    rows = export.con.execute(
        f"SELECT type, count(*), count(value) FROM {quote(table)} "
        "WHERE occurred_at < ? AND type IS NOT NULL GROUP BY type",
        [before],
    ).fetchall()
    out: dict[str, tuple[int, int, set[str]]] = {}
    for raw, events, with_value in rows:
        name = normalise_event_type(str(raw))
        seen = out.get(name, (0, 0, set()))
        out[name] = (seen[0] + int(events), seen[1] + int(with_value), seen[2] | {str(raw)})
    return out


def learn_vocabulary(
    export: Export, *, task: Task | str, before: datetime, settings: VocabularySettings
) -> Vocabulary:
    """The vocabulary of ``task`` learnt from the export's events strictly before ``before``.

    ``before`` (naive UTC) is the training as-of time: no later event is read. Raises
    ``VocabularyError`` when a churn activity type does not occur (naming the types that do).
    """
    task = Task(task)
    seen = type_counts(export, task=task, before=before)
    counts = {name: events for name, (events, _, _) in seen.items() if name}
    valued = {
        name
        for name, (events, with_value, _) in seen.items()
        if events and with_value / events >= settings.valued_share
    }
    activity = tuple(settings.activity_types) if task is Task.CHURN else ()
    missing = [a for a in activity if normalise_event_type(a) not in counts]
    if missing:
        common = sorted(counts, key=lambda n: (-counts[n], n))[:12]
        raise VocabularyError(
            f"activity type(s) {', '.join(map(repr, missing))} (what counts as a purchase for "
            f"churn) do not occur in {TASK_TABLES[task].events_table} before "
            f"{before:%Y-%m-%d}; types seen: {', '.join(common) or 'none'}. "
            "Set [vocabulary] activity_types in the training config or pass --activity-types"
        )
    return _build(
        task,
        counts,
        valued,
        activity,
        settings.wording,
        min_events=settings.min_events,
        cap=settings.max_types,
    )


def _build(
    task: Task,
    counts: Mapping[str, int],
    valued: set[str],
    activity_types: Sequence[str],
    wording: Mapping[str, EventWording],
    *,
    min_events: int,
    cap: int | None,
) -> Vocabulary:
    kinds: list[EventKind] = []
    taken = set(RESERVED_SLUGS)
    pooled = tuple(dict.fromkeys(normalise_event_type(a) for a in activity_types))
    if len(pooled) == 1:
        # One activity type is the purchase kind, reading in its own words ("order").
        name = pooled[0]
        words = wording.get(name) or EventWording.for_type(name)
        kinds.append(EventKind(PURCHASE_SLUG, pooled, name in valued, words, counts.get(name, 0)))
    else:
        # Several: each keeps its own features (every count, however small: they are purchases).
        for name in pooled:
            slug = _unique_slug(name, taken)
            words = wording.get(name) or EventWording.for_type(name)
            kinds.append(EventKind(slug, (name,), name in valued, words, counts.get(name, 0)))
    rest = [n for n in counts if n not in pooled and counts[n] >= min_events]
    rest.sort(key=lambda n: (-counts[n], n))
    for name in rest[:cap] if cap is not None else rest:
        slug = _unique_slug(name, taken)
        words = wording.get(name) or EventWording.for_type(name)
        kinds.append(EventKind(slug, (name,), name in valued, words, counts[name]))
    return Vocabulary(task, tuple(kinds), purchase_span=len(pooled))


def _unique_slug(name: str, taken: set[str]) -> str:
    base = _NOT_NAME.sub("_", name).strip("_") or "type"
    slug = base if base not in RESERVED_SLUGS else f"{base}_type"
    n = 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def raw_event_types(export: Export, *, task: Task | str) -> list[str]:
    """Every distinct raw ``type`` text in the task's events table, sorted (no NULL)."""
    return distinct_event_texts(export, task=task, column="type")


def distinct_event_texts(export: Export, *, task: Task | str, column: str) -> list[str]:
    """Every distinct non-NULL text of ``column`` in the task's events table, sorted; empty
    when the table has no such column."""
    table = TASK_TABLES[Task(task)].events_table
    if column != "type" and column not in export.event_text_columns.get(table, ()):
        return []
    rows = export.con.execute(
        f"SELECT DISTINCT {quote(column)} FROM {quote(table)} "
        f"WHERE {quote(column)} IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def type_coding(vocabulary: Vocabulary, raw_types: Sequence[str]) -> list[tuple[str, int, int]]:
    """(raw type, code, normalised-type id) per raw type: how the batch SQL codes events.

    The id (1.., one per distinct normalised name) tells event types apart when exact
    duplicates are dropped, so two spellings of one type are one type and two pooled types
    (code shared) stay two.
    """
    ids: dict[str, int] = {}
    out = []
    for raw in raw_types:
        name = normalise_event_type(raw)
        out.append((raw, vocabulary.code(raw), ids.setdefault(name, len(ids) + 1)))
    return out
