"""What a list row shows about an entity besides its score, read from the export at batch time.

Display fields: export columns a rep recognises an entity by (name, company, city...), named by
``SALESRADAR_DISPLAY_FIELDS`` or, when that is ``auto`` (the default), the export's name-like
columns (``NAME_LIKE_COLUMNS``) that it has. A column is looked up in the task's entity table,
then in ``accounts`` (joined by ``account_id``). Last activity: the latest order of a customer (its
events of the model's purchase types) or the latest touch of a lead (any event), strictly
before the run's as-of time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import iso_utc
from features.definitions.vocabulary import Vocabulary, normalise_event_type, raw_event_types
from features.errors import UserError

# Looked for when no display field is configured, in this order; those the export has are shown.
NAME_LIKE_COLUMNS: tuple[str, ...] = (
    "name",
    "full_name",
    "first_name",
    "last_name",
    "company",
    "company_name",
    "account_name",
    "city",
)
DisplayValue = str | int | float | bool | None


class UnknownDisplayField(UserError):
    """A configured display field that is a column of neither the entity table nor accounts."""


def _columns(export: Export, table: str) -> list[str]:
    return list(export.relation(table).columns)


def display_sources(
    export: Export, task: Task, configured: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(table, column) of each display field of ``task``'s entities, in the configured order.

    ``configured`` None means the ``NAME_LIKE_COLUMNS`` the export has (possibly none). A
    configured name found in neither table raises ``UnknownDisplayField`` naming it, the
    tables searched and the setting.
    """
    entity_table = TASK_TABLES[task].entity_table
    tables = {t: _columns(export, t) for t in (entity_table, "accounts")}
    names = NAME_LIKE_COLUMNS if configured is None else configured
    sources = []
    for name in names:
        table = next((t for t, columns in tables.items() if name in columns), None)
        if table is not None:
            sources.append((table, name))
        elif configured is not None:
            raise UnknownDisplayField(
                f"SALESRADAR_DISPLAY_FIELDS names {name!r}, which is a column of neither "
                f"{entity_table} nor accounts in {export.source} (scoring {task.value})"
            )
    return sources


def _plain(value: object) -> DisplayValue:
    """A cell as JSON-ready Python: times as ``iso_utc`` text, NaN as None."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_display(
    export: Export, task: Task, sources: Sequence[tuple[str, str]]
) -> dict[str, dict[str, DisplayValue]]:
    """Per entity id (as text), ``{column: value}`` of the ``display_sources``; empty dicts
    when there are none."""
    tables = TASK_TABLES[task]
    if not sources:
        return {}
    alias = {tables.entity_table: "e", "accounts": "a"}
    selected = ", ".join(f"{alias[t]}.{quote(c)}" for t, c in sources)
    rows = export.con.execute(
        f"SELECT CAST(e.{quote(tables.key)} AS VARCHAR), {selected} "
        f"FROM {quote(tables.entity_table)} e "
        "LEFT JOIN accounts a ON a.account_id = e.account_id"
    ).fetchall()
    names = [c for _, c in sources]
    return {
        entity_id: {n: _plain(v) for n, v in zip(names, values, strict=True)}
        for entity_id, *values in rows
    }


def read_last_activity(
    export: Export, task: Task, vocabulary: Vocabulary, *, as_of: datetime
) -> dict[str, datetime]:
    """Per entity id (as text), its latest event strictly before ``as_of`` (naive UTC): of the
    vocabulary's purchase types for churn (the last order), of any type for leads (the last
    touch). Entities without one are absent."""
    tables = TASK_TABLES[task]
    where = "occurred_at < ?"
    parameters: list[object] = [as_of]
    if task is Task.CHURN:
        purchase = set(vocabulary.activity_types)
        raw = raw_event_types(export, task=task)
        types = [t for t in raw if normalise_event_type(t) in purchase]
        if not types:
            return {}
        where += f" AND type IN ({', '.join('?' for _ in types)})"
        parameters += types
    rows = export.con.execute(
        f"SELECT CAST({quote(tables.key)} AS VARCHAR), max(occurred_at) "
        f"FROM {quote(tables.events_table)} WHERE {where} GROUP BY 1",
        parameters,
    ).fetchall()
    return {entity_id: moment for entity_id, moment in rows}
