"""Compile the feature definitions into one DuckDB query over a spine of (entity, cutoff) pairs.

The query computes every (entity, cutoff) row of the spine in one pass: exact duplicate events are
dropped (``SELECT DISTINCT *``), event types are coded to integers once, events are joined to the
spine on the entity with ``occurred_at < cutoff`` and aggregated with ``FILTER`` clauses per window.
It only reads the spine, the events table, and the attribute columns of the entity table and
``accounts``; it never names an outcome column. The SQL sticks to constructs that sqlglot
transpiles to Spark SQL (tested), the route for exports that outgrow one machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from features.aggregates import Aggregate, MedianGap, TouchesBeforeFirstReply
from features.definitions import Definition
from features.export import quote
from features.history import DIRECTION_CODES, US_PER_DAY
from features.registry import EVENT_TYPES, FeatureSpec, type_code
from features.tasks import TASK_TABLES, Task


@dataclass(frozen=True)
class FeatureQuery:
    """Everything needed to compile a task's feature query against one export."""

    task: Task
    definitions: Sequence[Definition]
    # Static features: spec -> (table alias "ent" or "acc", column name).
    statics: Sequence[tuple[FeatureSpec, str, str]]
    event_text_columns: Sequence[str]


def _collect_aggregates(definitions: Sequence[Definition]) -> dict[str, Aggregate]:
    aggregates: dict[str, Aggregate] = {}
    for definition in definitions:
        for aggregate in definition.aggregates():
            aggregates.setdefault(aggregate.alias, aggregate)
    return aggregates


def _ref(aggregate: Aggregate) -> str:
    column = f"a.{aggregate.alias}"
    return f"coalesce({column}, 0)" if aggregate.zero_when_empty else column


def _text_column(name: str, present: Sequence[str]) -> str:
    return f"r.{quote(name)}" if name in present else "CAST(NULL AS VARCHAR)"


def _coded_events(query: FeatureQuery) -> str:
    tables = TASK_TABLES[query.task]
    cases = " ".join(
        f"WHEN '{name}' THEN {type_code(query.task, name)}" for name in EVENT_TYPES[query.task]
    )
    directions = " ".join(f"WHEN '{name}' THEN {code}" for name, code in DIRECTION_CODES.items())
    direction = _text_column("direction", query.event_text_columns)
    return (
        "SELECT k.eid, r.occurred_at, r.value, "
        f"CASE r.type {cases} ELSE 0 END AS tc, "
        f"CASE {direction} {directions} ELSE 0 END AS dc, "
        f"{_text_column('channel', query.event_text_columns)} AS channel "
        f"FROM raw r JOIN keys k ON r.{quote(tables.key)} = k.entity_id "
        "WHERE r.occurred_at < (SELECT max(cutoff) FROM spine)"
    )


def _per_event_columns(aggregates: Mapping[str, Aggregate]) -> list[str]:
    """Causal per-event columns: each looks only at the entity's events up to its own time."""
    columns = []
    for aggregate in aggregates.values():
        if isinstance(aggregate, MedianGap):
            lag = "lag(occurred_at) OVER (PARTITION BY eid, tc ORDER BY occurred_at)"
            columns.append(
                f"CASE WHEN tc = {aggregate.code} THEN "
                f"date_diff('microsecond', {lag}, occurred_at) / {US_PER_DAY}.0 END "
                f"AS {aggregate.event_column}"
            )
        elif isinstance(aggregate, TouchesBeforeFirstReply):
            columns.append(
                f"count(*) FILTER (WHERE tc = {aggregate.reply_code}) OVER (PARTITION BY eid "
                "ORDER BY occurred_at RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
                "AS replies_upto"
            )
    return columns


def _feature_column(definition: Definition) -> str:
    sql_type = "VARCHAR" if definition.dtype == "categorical" else "DOUBLE"
    return f"CAST({definition.sql(_ref)} AS {sql_type}) AS {quote(definition.name)}"


def _static_column(spec: FeatureSpec, alias: str, column: str) -> str:
    sql_type = "VARCHAR" if spec.dtype == "categorical" else "DOUBLE"
    return f"CAST({alias}.{quote(column)} AS {sql_type}) AS {quote(spec.name)}"


def compile_feature_query(query: FeatureQuery, *, spine: str, carry: Sequence[str]) -> str:
    """SQL returning ``entity_id, cutoff, <carry>, <features>`` for every row of ``spine``.

    ``spine`` names a relation with columns ``entity_id``, ``cutoff``, ``created_at`` and the
    ``carry`` columns (passed through untouched). Rows come ordered by cutoff, then entity id.
    Every feature uses only events with ``occurred_at < cutoff``.
    """
    tables = TASK_TABLES[query.task]
    aggregates = _collect_aggregates(query.definitions)
    per_event = ", ".join(["*", *_per_event_columns(aggregates)])
    aggregate_sql = ", ".join(f"{a.sql()} AS {alias}" for alias, a in aggregates.items())
    outputs = ["s.entity_id", "s.cutoff", *(f"s.{quote(c)}" for c in carry)]
    outputs += [_feature_column(d) for d in query.definitions]
    outputs += [_static_column(spec, alias, column) for spec, alias, column in query.statics]
    accounts_join = ""
    if any(alias == "acc" for _, alias, _ in query.statics):
        accounts_join = "LEFT JOIN accounts acc ON acc.account_id = ent.account_id "
    return (
        f"WITH spine AS (SELECT *, dense_rank() OVER (ORDER BY entity_id) AS eid FROM {spine}), "
        "keys AS (SELECT DISTINCT entity_id, eid FROM spine), "
        f"raw AS (SELECT DISTINCT * FROM {quote(tables.events_table)}), "
        f"coded AS ({_coded_events(query)}), "
        f"typed AS (SELECT {per_event} FROM coded), "
        f"agg AS (SELECT s.eid, s.cutoff, {aggregate_sql} "
        "FROM spine s JOIN typed e ON e.eid = s.eid AND e.occurred_at < s.cutoff "
        "GROUP BY s.eid, s.cutoff) "
        f"SELECT {', '.join(outputs)} "
        "FROM spine s LEFT JOIN agg a ON a.eid = s.eid AND a.cutoff = s.cutoff "
        f"LEFT JOIN {quote(tables.entity_table)} ent ON ent.{quote(tables.key)} = s.entity_id "
        f"{accounts_join}"
        "ORDER BY s.cutoff, s.entity_id"
    )
