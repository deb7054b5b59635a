"""The feature registry: every feature's name, dtype, description, family and unit, per task.

Training, the API and the reasons all read ``feature_specs``. Engineered features are built over
a fixed list of known event types per task (``EVENT_TYPES``), so the column set never depends on
the data; event types outside the list still count in the "any event" features. With an export,
static attributes of the entity table and of ``accounts`` (joined by ``account_id``) are added:
numeric ones as numbers, text ones as categories, except ID-like columns (name ending in ``_id``,
or more than half of the non-missing values distinct). Outcome columns (``converted_at``,
``churned_at``, ``closed_lost_at``) are contract columns, never attributes, and no feature reads
them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from features.aggregates import Count
from features.definitions import (
    ActiveShare,
    CountTrend,
    DaysOverdue,
    Definition,
    FirstTouchDays,
    LastTouchChannel,
    MedianGapDays,
    Ratio,
    Recency,
    RecentVsUsual,
    Tenure,
    TouchesBeforeReply,
    ValueTrend,
    WindowCount,
    WindowValue,
)
from features.export import Export, quote
from features.history import DIRECTION_CODES
from features.tasks import TASK_TABLES, Task

logger = logging.getLogger(__name__)

Dtype = Literal["numeric", "categorical"]
Unit = Literal["days", "count", "currency", "ratio", "category", "number"]

WINDOWS_DAYS: tuple[int, ...] = (7, 30, 90, 180, 365)
TREND_DAYS: tuple[int, ...] = (30, 90)

# The known event types per task (exact, case-sensitive match) and how each reads in plural.
EVENT_TYPES: dict[Task, dict[str, str]] = {
    Task.LEADS: {
        "email_open": "Email opens",
        "email_reply": "Email replies",
        "call": "Calls",
        "meeting": "Meetings",
        "demo": "Demos",
        "sample_request": "Sample requests",
        "quote": "Quotes",
    },
    Task.CHURN: {
        "order": "Orders",
        "support_ticket": "Support tickets",
        "check_in": "Check-ins",
        "email_open": "Email opens",
        "portal_login": "Portal logins",
    },
}
# Event types whose ``value`` is money (quote amount, order amount).
VALUED_TYPES: dict[Task, tuple[str, ...]] = {Task.LEADS: ("quote",), Task.CHURN: ("order",)}

ID_DISTINCT_SHARE = 0.5
RESERVED_COLUMNS: frozenset[str] = frozenset({"entity_id", "cutoff", "label", "value", "owner_id"})

INBOUND, OUTBOUND = DIRECTION_CODES["inbound"], DIRECTION_CODES["outbound"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input column; ``description`` reads well followed by its value."""

    name: str
    dtype: Dtype
    description: str
    family: str
    unit: Unit


def type_code(task: Task, event_type: str) -> int:
    """The integer code of a known event type (1-based position in ``EVENT_TYPES[task]``)."""
    return list(EVENT_TYPES[task]).index(event_type) + 1


def _slug(event_type: str | None) -> str:
    return "event" if event_type is None else event_type


def _plural(task: Task, event_type: str | None) -> str:
    return "Interactions" if event_type is None else EVENT_TYPES[task][event_type]


def _singular(plural: str) -> str:
    word = plural.lower()
    return word[:-3] + "y" if word.endswith("ies") else word[:-1]


def _activity_definitions(task: Task) -> list[Definition]:
    """Counts, value sums, recency and trends, per known type and for any event."""
    out: list[Definition] = []
    types: list[str | None] = [None, *EVENT_TYPES[task]]
    for event_type in types:
        code = None if event_type is None else type_code(task, event_type)
        slug, plural = _slug(event_type), _plural(task, event_type)
        for days in WINDOWS_DAYS:
            out.append(
                WindowCount(
                    f"{slug}_count_{days}d",
                    f"{plural} in the last {days} days",
                    "activity",
                    "count",
                    code=code,
                    days=days,
                )
            )
        if event_type in VALUED_TYPES[task]:
            for days in WINDOWS_DAYS:
                out.append(
                    WindowValue(
                        f"{slug}_value_{days}d",
                        f"Value of {plural.lower()} in the last {days} days",
                        "activity",
                        "currency",
                        code=code,
                        days=days,
                    )
                )
        last = "any interaction" if event_type is None else f"the last {_singular(plural)}"
        out.append(
            Recency(f"days_since_last_{slug}", f"Days since {last}", "recency", "days", code=code)
        )
        for days in TREND_DAYS:
            out.append(
                CountTrend(
                    f"{slug}_trend_{days}d",
                    f"Change in {plural.lower()}, last {days} days vs the {days} days before",
                    "trend",
                    "number",
                    code=code,
                    days=days,
                )
            )
    return out


def _lead_definitions() -> list[Definition]:
    reply = type_code(Task.LEADS, "email_reply")
    return [
        Tenure("lead_age_days", "Days since the lead was created", "tenure", "days"),
        Ratio(
            "inbound_share_90d",
            "Share of interactions in the last 90 days that the lead started",
            "engagement",
            "ratio",
            numerator=Count(None, 90, INBOUND),
            denominator=Count(None, 90, OUTBOUND),
            add_numerator=True,
        ),
        Ratio(
            "reply_rate_90d",
            "Email replies per outbound touch in the last 90 days",
            "engagement",
            "ratio",
            numerator=Count(reply, 90),
            denominator=Count(None, 90, OUTBOUND),
        ),
        FirstTouchDays(
            "days_to_first_touch",
            "Days from lead creation to the first outbound touch",
            "responsiveness",
            "days",
            direction=OUTBOUND,
        ),
        TouchesBeforeReply(
            "touches_before_first_reply",
            "Outbound touches before the lead first replied (so far, if no reply yet)",
            "responsiveness",
            "count",
            reply_code=reply,
            outbound=OUTBOUND,
        ),
        LastTouchChannel(
            "last_touch_channel", "Channel of the latest touch", "engagement", "category"
        ),
    ]


def _churn_definitions() -> list[Definition]:
    order = type_code(Task.CHURN, "order")
    ticket = type_code(Task.CHURN, "support_ticket")
    return [
        Tenure("customer_tenure_days", "Days as a customer", "tenure", "days"),
        MedianGapDays(
            "median_days_between_orders",
            "Usual days between orders over the last year",
            "cadence",
            "days",
            code=order,
        ),
        DaysOverdue(
            "days_overdue_vs_order_cadence",
            "Days past the customer's usual order gap",
            "cadence",
            "days",
            code=order,
        ),
        ValueTrend(
            "order_value_trend_90d",
            "Change in order value, last 90 days vs the 90 days before",
            "cadence",
            "currency",
            code=order,
            days=90,
        ),
        ActiveShare(
            "share_of_months_with_order_12m",
            "Share of the last 12 months (30-day periods) with an order",
            "cadence",
            "ratio",
            code=order,
        ),
        Ratio(
            "inbound_share_90d",
            "Share of interactions in the last 90 days that the customer started",
            "engagement",
            "ratio",
            numerator=Count(None, 90, INBOUND),
            denominator=Count(None, 90, OUTBOUND),
            add_numerator=True,
        ),
        RecentVsUsual(
            "support_tickets_90d_vs_usual",
            "Support tickets in the last 90 days above the usual number per 90 days",
            "support",
            "number",
            code=ticket,
        ),
    ]


def engineered_definitions(task: Task) -> list[Definition]:
    """Every event-derived feature of a task, in registry order (names are unique)."""
    task = Task(task)
    specific = _lead_definitions() if task is Task.LEADS else _churn_definitions()
    return [*_activity_definitions(task), *specific]


def _spec(definition: Definition) -> FeatureSpec:
    return FeatureSpec(
        definition.name,
        definition.dtype,  # type: ignore[arg-type]
        definition.description,
        definition.family,
        definition.unit,  # type: ignore[arg-type]
    )


def value_spec(task: Task) -> FeatureSpec:
    """The entity's own revenue figure (``expected_value`` / ``annual_value``) as a feature."""
    column = TASK_TABLES[Task(task)].value_column
    what = "Expected deal value" if Task(task) is Task.LEADS else "Annual value"
    return FeatureSpec(column, "numeric", what, "attribute", "currency")


def _is_id_like(export: Export, entity_table: str, table: str, name: str) -> bool:
    """Named like an ID, or more than half of its values (as seen per entity) distinct."""
    if name.lower().endswith("_id") or name.lower() == "id":
        return True
    # Account attributes are judged per entity row: 2 accounts with 2 industries are not IDs.
    source = (
        f"{quote(entity_table)} ent JOIN accounts x ON x.account_id = ent.account_id"
        if table == "accounts"
        else f"{quote(table)} x"
    )
    rows = export.con.execute(
        f"SELECT count(DISTINCT x.{quote(name)}), count(x.{quote(name)}) FROM {source}"
    ).fetchall()
    distinct, present = rows[0] if rows else (0, 0)
    return bool(distinct > 1 and distinct > ID_DISTINCT_SHARE * present)


def attribute_specs(task: Task, export: Export) -> list[FeatureSpec]:
    """Static attributes of the task's entity table and of ``accounts``, usable as features.

    Entity-table attributes come first; an account attribute whose name is already taken is
    skipped (the API's ``record`` carries attributes by plain column name).
    """
    tables = TASK_TABLES[Task(task)]
    taken = {s.name for s in map(_spec, engineered_definitions(task))} | RESERVED_COLUMNS
    taken.add(tables.value_column)
    out: list[FeatureSpec] = []
    for table in (tables.entity_table, "accounts"):
        for attribute in export.attributes.get(table, ()):
            if attribute.name in taken:
                logger.warning("attribute %s.%s skipped: name already used", table, attribute.name)
                continue
            if not attribute.numeric and _is_id_like(
                export, tables.entity_table, table, attribute.name
            ):
                logger.info("attribute %s.%s skipped: ID-like", table, attribute.name)
                continue
            if attribute.numeric and attribute.name.lower().endswith("_id"):
                continue
            taken.add(attribute.name)
            source = "account" if table == "accounts" else tables.entity_table[:-1]
            label = attribute.name.replace("_", " ").capitalize()
            out.append(
                FeatureSpec(
                    attribute.name,
                    "numeric" if attribute.numeric else "categorical",
                    f"{label} ({source} attribute)",
                    "attribute",
                    "number" if attribute.numeric else "category",
                )
            )
    return out


def feature_specs(task: Task | str, export: Export | None = None) -> list[FeatureSpec]:
    """The ordered feature columns of a task; with an export, its usable attributes too."""
    task = Task(task)
    specs = [_spec(d) for d in engineered_definitions(task)] + [value_spec(task)]
    if export is not None:
        specs += attribute_specs(task, export)
    return specs
