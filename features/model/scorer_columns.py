"""The columns of the registered MLflow model that scores raw entities
(``serving.champions.pyfunc``).

One definition for both sides: training logs the signature and input example from it
(``training.pyfunc``), serving's pyfunc reads and writes these columns. Names are the scoring
API's JSON fields (docs/serving.md), so a row is one entity of a ``/v1/.../score`` request plus
its ``as_of``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from features.contract.tasks import TASK_TABLES, Task

# The entity's value as the API's request names it, and its probability-weighted response.
REQUEST_VALUE = {Task.LEADS: "deal_value", Task.CHURN: "annual_value"}
RESPONSE_VALUE = {Task.LEADS: "expected_value", Task.CHURN: "value_at_risk"}
COLLECTION = "rows"  # how errors name a row: rows[3].events[0].occurred_at


def input_columns(task: Task) -> list[str]:
    """The input columns in order. Times are ISO 8601 text; ``attributes`` is a JSON object as
    text; the events are either ``events`` (a list of event objects) or ``events_json`` (that
    list as JSON text, for tools that pass flat strings), not both."""
    return [
        TASK_TABLES[task].key,
        "created_at",
        "owner_id",
        "account_id",
        REQUEST_VALUE[task],
        "attributes",
        "events",
        "events_json",
        "as_of",
    ]


def output_columns(task: Task) -> list[str]:
    """The output columns in order, one row per input row. ``score`` is 0-100; ``reasons``,
    ``warnings`` and ``error`` are JSON text as in the API's response; ``error`` is missing
    (and the score columns are filled) exactly when the row was scored."""
    return [
        TASK_TABLES[task].key,
        "probability",
        "score",
        "tier",
        RESPONSE_VALUE[task],
        "reasons",
        "warnings",
        "error",
    ]


def example_rows(task: Task, event_types: list[str], *, as_of: datetime) -> list[dict[str, Any]]:
    """Two made-up entities scored as of ``as_of`` (naive UTC): one with an event of each of
    ``event_types`` (one a day before ``as_of``) as a list, one with none as JSON text."""
    key = TASK_TABLES[task].key
    events = [
        {"occurred_at": _iso(as_of - timedelta(days=day + 1)), "type": kind}
        for day, kind in enumerate(event_types)
    ]
    common: dict[str, object] = {
        "created_at": _iso(as_of - timedelta(days=120)),
        "owner_id": "rep-1",
        "account_id": None,
        REQUEST_VALUE[task]: 1000.0,
        "attributes": "{}",
        "as_of": _iso(as_of),
    }
    rows: list[dict[str, object]] = [
        {key: "example-1", "events": events, "events_json": None},
        {key: "example-2", "events": None, "events_json": "[]"},
    ]
    return [{name: {**common, **row}[name] for name in input_columns(task)} for row in rows]


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"
