"""Online features: the registry's definitions evaluated in numpy for one request's entities.

Same columns, dtypes and values as ``build_scoring_table`` / ``build_training_set`` (a hypothesis
test holds the two paths to each other): events at or after ``as_of`` are ignored, exact
duplicate events are dropped, and attribute values come from each entity's ``record``. Missing or
unknown attributes become NaN; a malformed value raises
``OnlineInputError`` naming the JSON field.

Engineered features come from the numpy backend of the definitions
(``features.definitions.expressions.evaluate_definitions``): one numpy pass per aggregate over every
entity's events of the request at once, one entity or many.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter

import numpy as np
import pandas as pd

from features.compute.rows import FeatureRows
from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import to_naive_utc
from features.definitions.btyd import is_btyd_feature
from features.definitions.event_table import DIRECTION_CODES, EventTable
from features.definitions.expressions import Definition, FeatureColumn, evaluate_definitions
from features.definitions.registry import FeatureSpec, engineered_definitions, feature_specs
from features.definitions.vocabulary import Vocabulary, normalise_event_type
from features.identity_memo import IdentityMemo
from features.model.categories import OTHER

FeatureValue = float | str | None

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_KNOWN_EVENT_KEYS = frozenset(("occurred_at", "type", "value", "channel", "direction", "outcome"))


class OnlineInputError(ValueError):
    """A request field that cannot be read; ``field`` is its JSON path, ``reason`` says why
    without quoting the value (the API repeats it to callers, and input is never echoed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class OnlineEntity:
    """One entity of a request: its record (entity and account fields) and its events."""

    entity_id: str
    record: Mapping[str, object]
    events: Sequence[Mapping[str, object]]


@dataclass(frozen=True)
class _Plan:
    specs: tuple[FeatureSpec, ...]
    definitions: dict[str, Definition]
    type_codes: dict[str, int]  # normalised type -> code; absent: 0, "any other type"
    static: tuple[FeatureSpec, ...]  # the specs read from the record, not from events
    names: tuple[str, ...]


@lru_cache(maxsize=32)
def _plan(task: Task, specs: tuple[FeatureSpec, ...], vocabulary: Vocabulary) -> _Plan:
    # Derived BTYD features are neither definitions nor record attributes: the caller adds
    # them to the finished rows (features.definitions.btyd.add_btyd_features), as batch scoring
    # does.
    specs = tuple(s for s in specs if not is_btyd_feature(s.name))
    by_name = {d.name: d for d in engineered_definitions(task, vocabulary)}
    used = {s.name: by_name[s.name] for s in specs if s.name in by_name}
    codes = {t: code for code, kind in enumerate(vocabulary.kinds, start=1) for t in kind.types}
    static = tuple(s for s in specs if s.name not in used)
    return _Plan(specs, used, codes, static, tuple(s.name for s in specs))


# Found by identity first: the service passes the same model-held specs and vocabulary on every
# request, and ``lru_cache``'s lookup by equality hashes every spec with its wording (~85 µs).
_plan_of = IdentityMemo(_plan, size=32)


def _microseconds(value: object, field: str) -> int:
    """µs since the epoch of a naive-UTC instant given as a datetime or ISO 8601 text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise OnlineInputError(field, "not an ISO 8601 timestamp") from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise OnlineInputError(field, f"expected a timestamp, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - _EPOCH) // _MICROSECOND


def _optional_text(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise OnlineInputError(field, f"expected text, got {type(value).__name__}")


def _optional_number(value: object, field: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OnlineInputError(field, f"expected a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise OnlineInputError(field, "expected a finite number")
    return number


_EventKey = tuple[
    int, str | None, float | None, str | None, str | None, str | None, tuple[tuple[str, str], ...]
]


def _event_key(event: object, where: str, position: int) -> _EventKey:
    """The normalised event, used both to compute features and to spot exact duplicates.

    The type is normalised (``features.definitions.vocabulary.normalise_event_type``), so two
    spellings of one type at one instant are one event, as in the batch SQL.

    The common case (a plain dict of contract fields with plain values, as the API hands over)
    is checked inline; anything else takes the path that names the offending field.
    """
    if type(event) is dict and event.keys() <= _KNOWN_EVENT_KEYS:
        at, kind, value = event.get("occurred_at"), event.get("type"), event.get("value")
        channel, direction = event.get("channel"), event.get("direction")
        outcome = event.get("outcome")
        if (
            type(at) is datetime
            and at.tzinfo is None
            and (
                value is None
                or type(value) is int
                or (type(value) is float and math.isfinite(value))
            )
            and (kind is None or type(kind) is str)
            and (channel is None or type(channel) is str)
            and (direction is None or type(direction) is str)
            and (outcome is None or type(outcome) is str)
        ):
            number = None if value is None else float(value)
            if kind is not None:
                kind = normalise_event_type(kind)
            if direction is not None:
                direction = normalise_event_type(direction)
            return ((at - _EPOCH) // _MICROSECOND, kind, number, channel, direction, outcome, ())
    return _checked_event_key(event, f"{where}.events[{position}]")


def _checked_event_key(event: object, field: str) -> _EventKey:
    if not isinstance(event, Mapping):
        raise OnlineInputError(field, "expected an object")
    if event.get("occurred_at") is None:
        raise OnlineInputError(f"{field}.occurred_at", "is required")
    at = _microseconds(event["occurred_at"], f"{field}.occurred_at")
    extras: tuple[tuple[str, str], ...] = ()
    if not event.keys() <= _KNOWN_EVENT_KEYS:  # fields beyond the contract still tell apart
        extras = tuple(sorted((k, repr(v)) for k, v in event.items() if k not in _KNOWN_EVENT_KEYS))
    value = _optional_number(event.get("value"), f"{field}.value")
    kind = _optional_text(event.get("type"), f"{field}.type")
    direction = _optional_text(event.get("direction"), f"{field}.direction")
    return (
        at,
        None if kind is None else normalise_event_type(kind),
        None if math.isnan(value) else value,
        _optional_text(event.get("channel"), f"{field}.channel"),
        None if direction is None else normalise_event_type(direction),
        _optional_text(event.get("outcome"), f"{field}.outcome"),
        extras,
    )


def _distinct_events(
    entity: OnlineEntity, *, cutoff: int, where: str
) -> tuple[int, list[_EventKey]]:
    """The entity's creation time and its distinct events strictly before ``cutoff``, in order.

    Order is by time, ties broken by the text of the rest of the event: deterministic whatever
    the request order, which fixes the summation order of values.
    """
    if "created_at" not in entity.record or entity.record["created_at"] is None:
        raise OnlineInputError(f"{where}.record.created_at", "is required")
    created = _microseconds(entity.record["created_at"], f"{where}.record.created_at")
    kept: set[_EventKey] = set()
    for position, event in enumerate(entity.events):
        key = _event_key(event, where, position)  # every event is checked, used or not
        if key[0] < cutoff:
            kept.add(key)
    rows = sorted(kept, key=itemgetter(0))
    if any(rows[i][0] == rows[i + 1][0] for i in range(len(rows) - 1)):
        # Same-time events: the full key (same order as sorting on it from the start).
        rows.sort(key=lambda k: (k[0], repr(k[1:])))
    return created, rows


def _code(codes: Mapping[str, int], name: str | None) -> int:
    """The code of a normalised name; 0 for a missing or unknown one."""
    return 0 if name is None else codes.get(name, 0)


def _event_table(
    plan: _Plan, entities: Sequence[tuple[int, list[_EventKey]]], *, cutoff: int
) -> EventTable:
    """Every entity's distinct events in one table, in ``_distinct_events`` order."""
    rows = [r for _, entity_rows in entities for r in entity_rows]
    return EventTable(
        cutoff=cutoff,
        created=np.array([created for created, _ in entities], dtype=np.int64),
        entity=np.repeat(
            np.arange(len(entities), dtype=np.int64), [len(r) for _, r in entities]
        ).astype(np.int64),
        times=np.array([r[0] for r in rows], dtype=np.int64),
        codes=np.array([_code(plan.type_codes, r[1]) for r in rows], dtype=np.int16),
        values=np.array([math.nan if r[2] is None else r[2] for r in rows], dtype=np.float64),
        directions=np.array([_code(DIRECTION_CODES, r[4]) for r in rows], dtype=np.int8),
        channels=[r[3] for r in rows],
    )


def _engineered_columns(
    plan: _Plan, events: Sequence[tuple[int, list[_EventKey]]], *, cutoff: int
) -> dict[str, FeatureColumn]:
    """Every engineered feature for every entity (``evaluate_definitions``, the numpy backend)."""
    table = _event_table(plan, events, cutoff=cutoff)
    return evaluate_definitions(list(plan.definitions.values()), table)


def _float_column(values: Sequence[FeatureValue] | np.ndarray | float) -> np.ndarray:
    # one entity's value (features.definitions.expressions.Env.scalar)
    if isinstance(values, float):
        return np.array([values])
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


# How a JSON attribute value was read for the model, besides "as sent".
COERCED = "coerced_attribute"  # converted losslessly to the attribute's training type
UNREADABLE = "unreadable_attribute"  # no reading in that type: taken as missing
UNSEEN = "unseen_level"  # a categorical level the model did not learn: read as "other"
# The export's text of a boolean cell: a Parquet boolean column becomes the categorical levels
# "true" / "false" (DuckDB's cast to text), and booleans are never numeric (docs/contract.md).
_BOOLEAN_TEXT = {True: "true", False: "false"}
_BOOLEAN_INPUTS: dict[object, bool] = {1: True, 0: False, "1": True, "0": False}


def _boolean_levels(levels: Collection[str]) -> dict[bool, str] | None:
    """The learnt spelling of true and false if ``levels`` are a boolean column's, else None."""
    spelled = {level.lower(): level for level in levels if level != OTHER}
    if not spelled or not set(spelled) <= {"true", "false"}:
        return None
    return {flag: spelled.get(text, text) for flag, text in _BOOLEAN_TEXT.items()}


def _as_flag(value: object) -> bool | None:
    """JSON true/false, 1/0 and the texts "true"/"false"/"1"/"0" (any case) as a flag."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        return {"true": True, "false": False}.get(lowered, _BOOLEAN_INPUTS.get(lowered))
    if type(value) is int:
        return _BOOLEAN_INPUTS.get(value)
    return None


def read_attribute(
    dtype: str, value: object, levels: Collection[str] = (), *, grouped: Collection[str] = ()
) -> tuple[FeatureValue, tuple[str, ...]]:
    """One JSON attribute value read in the type its export column had at training.

    The column's type at training is the truth (``dtype`` from the model's feature specs,
    ``levels`` the categorical levels the model learnt, empty if unknown). Returns the value
    the model reads (float or NaN for numeric, text or None for categorical) and the notes
    that say how it differs from what was sent (``COERCED``, ``UNREADABLE``, ``UNSEEN``):

    - numeric: a JSON number as it is; text holding a finite number (``"120"``, as a CSV
      cell would) is coerced; anything else (a boolean, other text) is missing + unreadable.
    - boolean (a categorical whose learnt levels are only true/false, in any case): JSON
      true/false as the learnt spelling; 1/0 and the texts "true"/"false"/"1"/"0" in any
      case are coerced; anything else is missing + unreadable.
    - other categorical: text as it is; an integer as its decimal text and a boolean as the
      export's "true"/"false", both coerced; a float or anything else is missing + unreadable.
      A level outside ``levels`` adds ``UNSEEN``, unless it is one of ``grouped`` (levels
      training saw but grouped as rare into "other": known, and read as "other" as then).

    None is missing everywhere, with no note: a missing attribute is reported by the caller.
    Never raises; nothing here echoes the value.
    """
    if value is None:
        return (math.nan if dtype == "numeric" else None), ()
    if dtype == "numeric":
        if type(value) is float and math.isfinite(value):
            return value, ()
        if type(value) is int and abs(value) <= sys.float_info.max:
            return float(value), ()
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return number, (COERCED,)
        return math.nan, (UNREADABLE,)
    spelling = _boolean_levels(levels)
    if spelling is not None:
        flag = _as_flag(value)
        if flag is None:
            return None, (UNREADABLE,)
        exact = isinstance(value, bool) or value == spelling[flag]
        return spelling[flag], (() if exact else (COERCED,))
    notes: tuple[str, ...] = ()
    if isinstance(value, bool):
        value, notes = _BOOLEAN_TEXT[value], (COERCED,)
    elif type(value) is int:
        value, notes = str(value), (COERCED,)
    elif not isinstance(value, str):
        return None, (UNREADABLE,)
    if levels and value not in levels and value not in grouped:
        notes += (UNSEEN,)
    return value, notes


def read_attribute_column(
    dtype: str, column: pd.Series, levels: Collection[str] = (), *, grouped: Collection[str] = ()
) -> tuple[pd.Series, dict[str, int]]:
    """An export column read by ``read_attribute``'s rule, as batch scoring reads it.

    ``column``: one attribute's cells (n rows); ``dtype``, ``levels`` and ``grouped`` as for
    ``read_attribute``. Returns the column the model reads (n rows, same index) and, per note
    (``COERCED``, ``UNREADABLE``, ``UNSEEN``), the number of rows it applies to. Each distinct
    value is read once, so the cost is in the number of levels, not rows. A numeric column the
    export already typed as numbers is returned as it is (nothing to read differently).
    """
    numbers = pd.api.types.is_numeric_dtype(column.dtype)
    if dtype == "numeric" and numbers and not pd.api.types.is_bool_dtype(column.dtype):
        return column, {}
    notes: dict[str, int] = {}
    readings: dict[object, FeatureValue] = {}
    for value, rows in column.value_counts(dropna=True).items():
        plain = value.item() if isinstance(value, np.generic) else value
        readings[value], value_notes = read_attribute(dtype, plain, levels, grouped=grouped)
        for note in value_notes:
            notes[note] = notes.get(note, 0) + int(rows)
    missing = math.nan if dtype == "numeric" else None
    read = pd.Series(
        [missing if pd.isna(v) else readings[v] for v in column.tolist()],
        index=column.index,
        dtype=float if dtype == "numeric" else object,
    )
    return read, notes


def _static_value(
    spec: FeatureSpec,
    record: Mapping[str, object],
    where: str,
    *,
    value_column: str,
    levels: Mapping[str, Collection[str]],
) -> FeatureValue:
    value = record.get(spec.name)
    if spec.name != value_column:
        return read_attribute(spec.dtype, value, levels.get(spec.name, ()))[0]
    # The value column is a contract amount, checked strictly (the API validated it already).
    return _optional_number(value, f"{where}.record.{spec.name}")


def online_feature_frame(
    task: Task | str,
    entities: Sequence[OnlineEntity],
    *,
    as_of: datetime,
    vocabulary: Vocabulary,
    specs: Sequence[FeatureSpec] | None = None,
) -> pd.DataFrame:
    """Feature rows for ``entities`` as of ``as_of``, one per entity in input order.

    ``vocabulary`` and ``specs`` are the model's (default specs: ``feature_specs(task,
    vocabulary)``, engineered features and the value column). Only events strictly before
    ``as_of`` count. Derived BTYD specs are left out
    (``features.definitions.btyd.add_btyd_features`` appends them from the model's parameters).
    """
    rows = online_feature_rows(task, entities, as_of=as_of, vocabulary=vocabulary, specs=specs)
    return rows.to_frame()


def online_feature_rows(
    task: Task | str,
    entities: Sequence[OnlineEntity],
    *,
    as_of: datetime,
    vocabulary: Vocabulary,
    specs: Sequence[FeatureSpec] | None = None,
    levels: Mapping[str, Collection[str]] | None = None,
) -> FeatureRows:
    """``online_feature_frame`` before pandas, as the scoring service reads it
    (features.compute.rows).

    Attributes are read by ``read_attribute`` in their training type; ``levels`` (the model's
    learnt categorical levels per attribute) lets a boolean attribute take its learnt spelling.
    """
    task = Task(task)
    value_column = TASK_TABLES[task].value_column
    known = levels or {}
    if specs is None:
        chosen = tuple(feature_specs(task, vocabulary))
    else:  # the caller's own tuple when it is one, so repeated requests find it by identity
        chosen = specs if isinstance(specs, tuple) else tuple(specs)
    plan = _plan_of(task, chosen, vocabulary)
    cutoff = _microseconds(to_naive_utc(as_of, what="as_of"), "as_of")
    static = plan.static
    events: list[tuple[int, list[_EventKey]]] = []
    columns: dict[str, Sequence[FeatureValue] | np.ndarray | float] = {s.name: [] for s in static}
    for i, entity in enumerate(entities):
        # Per entity: its events, then its record, so the first error is the same as ever.
        where = f"entities[{i}]"
        events.append(_distinct_events(entity, cutoff=cutoff, where=where))
        for spec in static:
            value = _static_value(
                spec, entity.record, where, value_column=value_column, levels=known
            )
            columns[spec.name].append(value)  # type: ignore[union-attr]
    columns.update(_engineered_columns(plan, events, cutoff=cutoff))
    text = {
        position: list(columns[spec.name])  # type: ignore[arg-type]
        for position, spec in enumerate(plan.specs)
        if spec.dtype != "numeric"
    }
    return FeatureRows(
        entity_ids=tuple(str(e.entity_id) for e in entities),
        names=plan.names,
        numeric=_numeric_matrix(plan, columns, len(entities)),
        text=text,
    )


def _numeric_matrix(
    plan: _Plan, columns: Mapping[str, Sequence[FeatureValue] | np.ndarray | float], rows: int
) -> np.ndarray:
    """Every numeric column side by side, categorical ones NaN: ``(rows, len(plan.specs))``."""
    if rows == 1:  # one entity: one row list, one array (engineered values are plain floats)
        row = [
            _first(columns[spec.name]) if spec.dtype == "numeric" else None for spec in plan.specs
        ]
        return np.array([row], dtype=np.float64)  # None becomes NaN
    matrix = np.full((rows, len(plan.specs)), np.nan)
    for position, spec in enumerate(plan.specs):
        if spec.dtype == "numeric":
            matrix[:, position] = _float_column(columns[spec.name])
    return matrix


def _first(values: Sequence[FeatureValue] | np.ndarray | float) -> object:
    """The one entity's value of a column."""
    return values if isinstance(values, float) else values[0]
