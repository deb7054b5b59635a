"""Compile the feature definitions into one DuckDB query over a spine of (entity, cutoff) pairs.

The query computes every (entity, cutoff) row of the spine in one statement: events are coded to
integers once and exact duplicates dropped (``SELECT DISTINCT`` over the coded events), then
events are joined to the spine on the entity code with ``occurred_at < cutoff``, given their age
at the cutoff once, and aggregated with ``FILTER`` clauses per window (see
``compile_feature_query`` for the two plans). The spine carries the integer entity code ``eid``
(``ENTITY_CODE``), computed once by whoever materialises the spine: on Spark a CTE is inlined
at each reference, and an unpartitioned ``dense_rank`` referenced four times ran four times.
It only reads the spine, the events table, and the attribute columns of the entity table and
``accounts``; it never names an outcome column. The SQL sticks to constructs that sqlglot
transpiles to Spark SQL (tested), the route for exports that outgrow one machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from features.contract.export import quote
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.aggregates import (
    Aggregate,
    MedianGap,
    TouchesBeforeFirstReply,
    code_predicate,
)
from features.definitions.event_table import DIRECTION_CODES, US_PER_DAY
from features.definitions.expressions import Definition
from features.definitions.registry import FeatureSpec

# The spine's integer entity code: one number per distinct entity id, so the events' dedup, joins
# and groups compare integers instead of text. Callers add it when they materialise the spine.
ENTITY_CODE = "dense_rank() OVER (ORDER BY entity_id) AS eid"


@dataclass(frozen=True)
class FeatureQuery:
    """Everything needed to compile a task's feature query against one export."""

    task: Task
    definitions: Sequence[Definition]
    # Static features: spec -> (table alias "ent" or "acc", or "" when absent, column name).
    statics: Sequence[tuple[FeatureSpec, str, str]]
    event_text_columns: Sequence[str]
    # (raw type, code, normalised-type id) for every raw type of the export's events table.
    type_coding: Sequence[tuple[str, int, int]] = ()
    # Every raw direction text of the export: how it normalises (``normalise_event_type``).
    directions: Sequence[tuple[str, str]] = ()


def _collect_aggregates(definitions: Sequence[Definition]) -> dict[str, Aggregate]:
    aggregates: dict[str, Aggregate] = {}
    for definition in definitions:
        for aggregate in definition.aggregates():
            aggregates.setdefault(aggregate.alias, aggregate)
    return aggregates


def _refs(timeline: bool) -> Callable[[Aggregate], str]:
    """How the final projection names an aggregate: ``a.`` (joined) or ``u.`` (timeline)."""

    def ref(aggregate: Aggregate) -> str:
        source = "u" if timeline and aggregate.lookback_days is None else "a"
        column = f"{source}.{aggregate.alias}"
        return f"coalesce({column}, 0)" if aggregate.zero_when_empty else column

    return ref


def _text_column(name: str, present: Sequence[str]) -> str:
    return f"r.{quote(name)}" if name in present else "CAST(NULL AS VARCHAR)"


def _type_codes(coding: Sequence[tuple[str, int, int]]) -> str:
    """A relation ``raw, tc, ti`` of the export's raw types (``type_coding``), written inline."""
    if not coding:
        return "SELECT CAST(NULL AS VARCHAR) AS raw, 0 AS tc, 0 AS ti WHERE 1 = 0"
    rows = ", ".join(f"({_literal(raw)}, {code}, {ident})" for raw, code, ident in coding)
    return f"SELECT * FROM (VALUES {rows}) AS v(raw, tc, ti)"


def _case(subject: str, branches: str, otherwise: str) -> str:
    return f"CASE {subject} {branches} ELSE {otherwise} END" if branches else otherwise


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def timestamp_literal(moment: datetime) -> str:
    """A naive UTC ``moment`` as a SQL timestamp literal (microseconds kept; sqlglot writes it
    for Spark as a cast of the same text)."""
    return f"TIMESTAMP '{moment.isoformat(sep=' ', timespec='microseconds')}'"


def _coded_events(query: FeatureQuery, latest: str) -> str:
    """Distinct events of spine entities, with integer codes for entity, type and direction.

    ``SELECT DISTINCT`` over the coded columns drops exact duplicate events: the coding is
    one-to-one up to the normalisation of type names (``ti`` numbers the normalised names, so
    two spellings of one type are one event; directions are normalised alike and one outside
    the known list is kept, normalised, beside code 0, and every other text column of the
    table takes part), and comparing
    integers is much cheaper than comparing the raw text columns of millions of rows.
    ``latest`` is SQL for the latest cutoff of the spine: no event at or after it is read.
    """
    tables = TASK_TABLES[query.task]
    direction = _text_column("direction", query.event_text_columns)
    codes = " ".join(
        f"WHEN {_literal(raw)} THEN {DIRECTION_CODES[name]}"
        for raw, name in query.directions
        if name in DIRECTION_CODES
    )
    unknown = " ".join(
        f"WHEN {_literal(raw)} THEN {_literal(name)}"
        for raw, name in query.directions
        if name not in DIRECTION_CODES
    )
    others = [
        f"r.{quote(c)} AS {quote('text_' + c)}"
        for c in query.event_text_columns
        if c not in ("channel", "direction")
    ]
    return (
        "SELECT DISTINCT k.eid, r.occurred_at, 1 AS kind, r.value, "
        "coalesce(m.tc, 0) AS tc, coalesce(m.ti, 0) AS ti, "
        f"{_case(direction, codes, '0')} AS dc, "
        f"{_text_column('channel', query.event_text_columns)} AS channel, "
        f"{_case(direction, unknown, 'CAST(NULL AS VARCHAR)')} "
        f"AS other_direction{''.join(', ' + o for o in others)} "
        f"FROM {quote(tables.events_table)} r JOIN keys k ON r.{quote(tables.key)} = k.entity_id "
        "LEFT JOIN type_codes m ON m.raw = r.type "
        f"WHERE r.occurred_at < {latest}"
    )


def _per_event_columns(aggregates: Mapping[str, Aggregate]) -> list[str]:
    """Causal per-event columns: each looks only at the entity's events up to its own time."""
    first: list[str] = []
    for aggregate in aggregates.values():
        if isinstance(aggregate, MedianGap):
            within = code_predicate(aggregate.code, "tc")
            lag = f"lag(occurred_at) OVER (PARTITION BY eid, {within} ORDER BY occurred_at)"
            first.append(
                f"CASE WHEN {within} THEN "
                f"date_diff('microsecond', {lag}, occurred_at) / {US_PER_DAY}.0 END "
                f"AS {aggregate.event_column}"
            )
        elif isinstance(aggregate, TouchesBeforeFirstReply):
            first.append(
                f"count(*) FILTER (WHERE dc = {aggregate.reply_direction}) OVER (PARTITION BY eid "
                "ORDER BY occurred_at RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
                "AS replies_upto"
            )
    return first


def _feature_column(definition: Definition, ref: Callable[[Aggregate], str]) -> str:
    sql_type = "VARCHAR" if definition.dtype == "categorical" else "DOUBLE"
    return f"CAST({definition.sql(ref)} AS {sql_type}) AS {quote(definition.name)}"


def _static_column(spec: FeatureSpec, alias: str, column: str) -> str:
    """The column ``alias.column`` typed as the spec says; no alias: missing for every row."""
    sql_type = "VARCHAR" if spec.dtype == "categorical" else "DOUBLE"
    source = f"{alias}.{quote(column)}" if alias else "NULL"
    return f"CAST({source} AS {sql_type}) AS {quote(spec.name)}"


def _timeline_columns(aggregates: Mapping[str, Aggregate]) -> tuple[str, str]:
    """Column lists (events, spine rows) for the UNION ALL timeline of the unbounded part."""
    extra: list[str] = []
    for aggregate in aggregates.values():
        if isinstance(aggregate, TouchesBeforeFirstReply):
            extra.append("replies_upto")
    events = ", ".join(["eid", "occurred_at", "kind", "tc", "dc", "channel", *extra])
    nulls = [f"CAST(NULL AS {t}) AS {c}" for c, t in (("tc", "INTEGER"), ("dc", "INTEGER"))]
    nulls.append("CAST(NULL AS VARCHAR) AS channel")
    nulls += [f"NULL AS {c}" for c in extra]
    spine = ", ".join(["eid", "cutoff AS occurred_at", "0 AS kind", *nulls])
    return events, spine


def _joined_events(lookback: int | None) -> str:
    """Spine rows joined to their entity's events before the cutoff (with ``lookback``: only
    those of the last ``lookback`` days), each event with its age at that cutoff (``age_us``)."""
    window = "" if lookback is None else f"AND e.occurred_at >= s.cutoff - INTERVAL {lookback} DAY "
    return (
        "(SELECT s.cutoff, e.*, date_diff('microsecond', e.occurred_at, s.cutoff) AS age_us "
        f"FROM spine s JOIN typed e ON e.eid = s.eid AND e.occurred_at < s.cutoff {window}) e"
    )


def compile_feature_query(
    query: FeatureQuery,
    *,
    spine: str,
    carry: Sequence[str],
    timeline: bool = False,
    cutoff: datetime | None = None,
    ordered: bool = True,
) -> str:
    """SQL returning ``entity_id, cutoff, <carry>, <features>`` for every row of ``spine``.

    ``spine`` names a relation with columns ``entity_id``, ``eid`` (an integer code of the
    entity, e.g. ``ENTITY_CODE``), ``cutoff``, ``created_at`` and the ``carry`` columns (passed
    through untouched). Every feature uses only events with ``occurred_at < cutoff``.

    ``cutoff``: the spine's only cutoff (a naive UTC time), when the caller knows it (scoring as
    of one time); it is then written into the query as a literal instead of being read back
    from the spine (a job of its own on Spark). With several cutoffs leave it None. Passing a
    time other than the spine's latest cutoff is the caller's bug: rows at a later cutoff would
    miss events.
    ``ordered``: rows come ordered by cutoff, then entity id; False leaves the order to the
    engine, for callers that sort or write the rows themselves (a sort of the whole table
    saved).

    Without ``timeline`` every aggregate comes from one join of each spine row to all its events
    before the cutoff: cheapest for one or two cutoffs. With it, windowed aggregates come from
    joining each spine row only to its events in ``[cutoff - lookback, cutoff)`` (lookback: the
    longest window) and unbounded ones (latest event, first touch) from running window aggregates
    over a timeline of events and spine rows, in which a spine row sorts before events at the same
    instant, so it sees exactly the events strictly before its cutoff. That avoids joining every
    cutoff to each entity's whole history, which is what makes many cutoffs expensive.
    """
    tables = TASK_TABLES[query.task]
    aggregates = _collect_aggregates(query.definitions)
    windowed: dict[str, Aggregate] = {
        k: a for k, a in aggregates.items() if a.lookback_days is not None
    }
    unbounded: dict[str, Aggregate] = {
        k: a for k, a in aggregates.items() if a.lookback_days is None
    }
    if not timeline:
        windowed, unbounded = dict(aggregates), {}
    first = _per_event_columns(aggregates)
    lookback = max((a.lookback_days or 0 for a in windowed.values()), default=0)
    windowed_sql = ", ".join(f"{a.sql(over='')} AS {alias}" for alias, a in windowed.items())
    unbounded_sql = ", ".join(f"{a.sql()} AS {alias}" for alias, a in unbounded.items())
    timeline_events, timeline_spine = _timeline_columns(aggregates)
    outputs = ["s.entity_id", "s.cutoff", *(f"s.{quote(c)}" for c in carry)]
    outputs += [_feature_column(d, _refs(timeline)) for d in query.definitions]
    outputs += [_static_column(spec, alias, column) for spec, alias, column in query.statics]
    accounts_join = ""
    if any(alias == "acc" for _, alias, _ in query.statics):
        accounts_join = "LEFT JOIN accounts acc ON acc.account_id = ent.account_id "
    latest = "(SELECT max(cutoff) FROM spine)" if cutoff is None else timestamp_literal(cutoff)
    ctes = [
        f"spine AS (SELECT * FROM {spine})",
        "keys AS (SELECT DISTINCT entity_id, eid FROM spine)",
        f"type_codes AS ({_type_codes(query.type_coding)})",
        f"coded AS ({_coded_events(query, latest)})",
        f"typed AS (SELECT {', '.join(['*', *first])} FROM coded)",
    ]
    joins = ""
    if windowed:
        ctes.append(
            f"agg AS (SELECT e.eid, e.cutoff, {windowed_sql} "
            f"FROM {_joined_events(lookback if timeline else None)} GROUP BY e.eid, e.cutoff)"
        )
        joins += "LEFT JOIN agg a ON a.eid = s.eid AND a.cutoff = s.cutoff "
    if unbounded:
        ctes.append(
            f"timeline AS (SELECT {timeline_events} FROM typed "
            f"UNION ALL SELECT {timeline_spine} FROM spine)"
        )
        ctes.append(
            "unbounded AS (SELECT eid, occurred_at AS cutoff, "
            f"{', '.join(unbounded)} FROM (SELECT eid, occurred_at, kind, {unbounded_sql} "
            "FROM timeline e WINDOW w AS (PARTITION BY eid ORDER BY occurred_at, kind "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) t WHERE kind = 0)"
        )
        joins += "LEFT JOIN unbounded u ON u.eid = s.eid AND u.cutoff = s.cutoff "
    return (
        f"WITH {', '.join(ctes)} "
        f"SELECT {', '.join(outputs)} FROM spine s {joins}"
        f"LEFT JOIN {quote(tables.entity_table)} ent ON ent.{quote(tables.key)} = s.entity_id "
        f"{accounts_join}" + ("ORDER BY s.cutoff, s.entity_id" if ordered else "")
    ).rstrip()
