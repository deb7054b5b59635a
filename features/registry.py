"""The feature registry: every feature's name, dtype, description, family and unit, per task.

Training, the API and the reasons all read ``feature_specs``. Engineered features are built over
a fixed list of known event types per task (``EVENT_TYPES``), so the column set never depends on
the data; event types outside the list still count in the "any event" features. With an export,
static attributes of the entity table and of ``accounts`` (joined by ``account_id``) are added:
numeric ones as numbers, text ones as categories, except ID-like columns (name ending in ``_id``,
or more than half of the non-missing values distinct). Outcome columns (``converted_at``,
``churned_at``, ``closed_lost_at``) are contract columns, never attributes, and no feature reads
them.

A description is a short label ("Days since the last order": what model cards and feature lists
show) optionally followed by the sentences reps read, one per case of the value, in the grammar
``features.reasons.phrase`` understands: ``"label | missing: ... | =0: ... | =1: ... | <0: ... |
other: ..."``. ``{value}`` is the feature's value formatted by its unit (the magnitude in a
``<0`` case) and ``{<feature>}`` another feature's value in the same row; "=0" and "=1" give the
zero and singular forms ("No replies to emails", "Replied to 1 email"), ``missing`` the sentence
for a value that cannot exist yet ("Never ordered").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
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
from features.tasks import TASK_TABLES, Task, TaskTables

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

# Must match ``features.reasons.CASE_SEPARATOR`` (not imported: the registry stays model-free).
CASE_SEPARATOR = " | "


@dataclass(frozen=True)
class EventWording:
    """How one event type reads in a reason sentence.

    ``counted`` is (none, one, many) for "N events in the last D days", ``many`` holding
    ``{value}``; ``since`` is (never, under a day, other) for "days since the last event",
    ``other`` holding ``{value}`` (already "1 day" / "64 days"). Both default from the nouns.
    """

    noun: str
    nouns: str
    counted: tuple[str, str, str] | None = None
    since: tuple[str, str, str] | None = None


# Keyed by event type (None: any event); the same type reads the same for leads and customers.
EVENT_WORDING: dict[str | None, EventWording] = {
    None: EventWording(
        "interaction",
        "interactions",
        since=(
            "No interactions yet",
            "Last interaction less than a day ago",
            "No interaction for {value}",
        ),
    ),
    "email_open": EventWording(
        "email open",
        "email opens",
        counted=("No emails opened", "Opened 1 email", "Opened {value} emails"),
        since=(
            "Never opened an email",
            "Opened an email less than a day ago",
            "Last opened an email {value} ago",
        ),
    ),
    "email_reply": EventWording(
        "email reply",
        "email replies",
        counted=("No replies to emails", "Replied to 1 email", "Replied to {value} emails"),
        since=(
            "Never replied to an email",
            "Replied to an email less than a day ago",
            "Last replied to an email {value} ago",
        ),
    ),
    "call": EventWording("call", "calls"),
    "meeting": EventWording("meeting", "meetings"),
    "demo": EventWording("demo", "demos"),
    "sample_request": EventWording("sample request", "sample requests"),
    "quote": EventWording("quote", "quotes"),
    "order": EventWording(
        "order",
        "orders",
        since=("Never ordered", "Ordered less than a day ago", "No order for {value}"),
    ),
    "support_ticket": EventWording("support ticket", "support tickets"),
    "check_in": EventWording("check-in", "check-ins"),
    "portal_login": EventWording(
        "portal login",
        "portal logins",
        counted=(
            "No portal logins",
            "Logged in to the portal once",
            "Logged in to the portal {value} times",
        ),
        since=(
            "Never logged in to the portal",
            "Logged in to the portal less than a day ago",
            "Last portal login {value} ago",
        ),
    ),
}

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


def _with_cases(label: str, cases: Mapping[str, str]) -> str:
    """``label`` followed by one sentence per case of the value (see the module docstring)."""
    return CASE_SEPARATOR.join([label, *(f"{key}: {text}" for key, text in cases.items())])


def _count_description(label: str, wording: EventWording, days: int) -> str:
    none, one, many = wording.counted or (
        f"No {wording.nouns}",
        f"1 {wording.noun}",
        f"{{value}} {wording.nouns}",
    )
    window = f"in the last {days} days"
    return _with_cases(
        f"{label} {window}",
        {"=0": f"{none} {window}", "=1": f"{one} {window}", "other": f"{many} {window}"},
    )


def _value_description(wording: EventWording, days: int) -> str:
    window = f"in the last {days} days"
    return _with_cases(
        f"Value of {wording.nouns} {window}",
        {
            "=0": f"No {wording.noun} value {window}",
            "other": f"{wording.nouns.capitalize()} worth {{value}} {window}",
        },
    )


def _recency_description(event_type: str | None, wording: EventWording) -> str:
    never, under_a_day, other = wording.since or (
        f"No {wording.nouns} yet",
        f"Last {wording.noun} less than a day ago",
        f"Last {wording.noun} {{value}} ago",
    )
    last = "any interaction" if event_type is None else f"the last {wording.noun}"
    return _with_cases(f"Days since {last}", {"missing": never, "=0": under_a_day, "other": other})


def _trend_description(label: str, wording: EventWording, days: int) -> str:
    # The value is recent minus earlier, so the sign picks "more" or "fewer".
    recent, earlier = f"in the last {days} days", f"the {days} days before"
    return _with_cases(
        f"Change in {label.lower()}, last {days} days vs {earlier}",
        {
            "=0": f"Same number of {wording.nouns} {recent} as in {earlier}",
            "=1": f"1 more {wording.noun} {recent} than in {earlier}",
            "=-1": f"1 fewer {wording.noun} {recent} than in {earlier}",
            "<0": f"{{value}} fewer {wording.nouns} {recent} than in {earlier}",
            "other": f"{{value}} more {wording.nouns} {recent} than in {earlier}",
        },
    )


def _activity_definitions(task: Task) -> list[Definition]:
    """Counts, value sums, recency and trends, per known type and for any event."""
    out: list[Definition] = []
    types: list[str | None] = [None, *EVENT_TYPES[task]]
    for event_type in types:
        code = None if event_type is None else type_code(task, event_type)
        slug, plural = _slug(event_type), _plural(task, event_type)
        wording = EVENT_WORDING[event_type]
        for days in WINDOWS_DAYS:
            out.append(
                WindowCount(
                    f"{slug}_count_{days}d",
                    _count_description(plural, wording, days),
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
                        _value_description(wording, days),
                        "activity",
                        "currency",
                        code=code,
                        days=days,
                    )
                )
        out.append(
            Recency(
                f"days_since_last_{slug}",
                _recency_description(event_type, wording),
                "recency",
                "days",
                code=code,
            )
        )
        for days in TREND_DAYS:
            out.append(
                CountTrend(
                    f"{slug}_trend_{days}d",
                    _trend_description(plural, wording, days),
                    "trend",
                    "number",
                    code=code,
                    days=days,
                )
            )
    return out


def _inbound_share_description(who: str) -> str:
    return _with_cases(
        f"Share of interactions in the last 90 days that the {who} started",
        {
            "missing": "No inbound or outbound interactions in the last 90 days",
            "=0": "Every interaction in the last 90 days was started by us",
            "=1": f"The {who} started every interaction in the last 90 days",
            "other": f"The {who} started {{value}} of the interactions in the last 90 days",
        },
    )


def _support_trend_description() -> str:
    # The count beside it, "(3 in all)", reads right for 0, 1 and many tickets.
    tail = "than usual in the last 90 days ({support_ticket_count_90d} in all)"
    return _with_cases(
        "Support tickets in the last 90 days above the usual number per 90 days",
        {
            "=0": "Usual number of support tickets in the last 90 days"
            " ({support_ticket_count_90d} in all)",
            "=1": f"1 more support ticket {tail}",
            "=-1": f"1 fewer support ticket {tail}",
            "<0": f"{{value}} fewer support tickets {tail}",
            "other": f"{{value}} more support tickets {tail}",
        },
    )


def _lead_definitions() -> list[Definition]:
    reply = type_code(Task.LEADS, "email_reply")
    return [
        Tenure(
            "lead_age_days",
            _with_cases(
                "Days since the lead was created",
                {"=0": "Lead created less than a day ago", "other": "Lead is {value} old"},
            ),
            "tenure",
            "days",
        ),
        Ratio(
            "inbound_share_90d",
            _inbound_share_description("lead"),
            "engagement",
            "ratio",
            numerator=Count(None, 90, INBOUND),
            denominator=Count(None, 90, OUTBOUND),
            add_numerator=True,
        ),
        Ratio(
            "reply_rate_90d",
            _with_cases(
                "Email replies per outbound touch in the last 90 days",
                {
                    "missing": "No outbound touches in the last 90 days",
                    "=0": "No email replies in the last 90 days",
                    "other": "Replied to {value} of outbound touches in the last 90 days",
                },
            ),
            "engagement",
            "ratio",
            numerator=Count(reply, 90),
            denominator=Count(None, 90, OUTBOUND),
        ),
        FirstTouchDays(
            "days_to_first_touch",
            _with_cases(
                "Days from lead creation to the first outbound touch",
                {
                    "missing": "Not contacted yet",
                    "=0": "First contacted within a day of coming in",
                    "<0": "First contacted {value} before the lead was created",
                    "other": "First contacted {value} after the lead came in",
                },
            ),
            "responsiveness",
            "days",
            direction=OUTBOUND,
        ),
        TouchesBeforeReply(
            "touches_before_first_reply",
            _with_cases(
                "Outbound touches before the lead first replied (so far, if no reply yet)",
                {
                    "=0": "No outbound touches before the first reply (or none yet)",
                    "=1": "1 outbound touch before the first reply (or so far, if no reply yet)",
                    "other": "{value} outbound touches before the first reply"
                    " (or so far, if no reply yet)",
                },
            ),
            "responsiveness",
            "count",
            reply_code=reply,
            outbound=OUTBOUND,
        ),
        LastTouchChannel(
            "last_touch_channel",
            _with_cases(
                "Channel of the latest touch",
                {
                    "missing": "No touches with a known channel yet",
                    "other": "Latest touch via {value}",
                },
            ),
            "engagement",
            "category",
        ),
    ]


def _churn_definitions() -> list[Definition]:
    order = type_code(Task.CHURN, "order")
    ticket = type_code(Task.CHURN, "support_ticket")
    return [
        Tenure(
            "customer_tenure_days",
            _with_cases(
                "Days as a customer",
                {"=0": "Customer for less than a day", "other": "Customer for {value}"},
            ),
            "tenure",
            "days",
        ),
        MedianGapDays(
            "median_days_between_orders",
            _with_cases(
                "Usual days between orders over the last year",
                {
                    "missing": "No repeat orders in the last year, so no usual order gap",
                    "=0": "Usually orders more than once a day",
                    "=1": "Usually orders every day",
                    "other": "Usually orders every {value}",
                },
            ),
            "cadence",
            "days",
            code=order,
        ),
        DaysOverdue(
            "days_overdue_vs_order_cadence",
            _with_cases(
                "Days past the customer's usual order gap",
                {
                    "missing": "No repeat orders in the last year, so no usual gap to compare with",
                    # Not yet due: "No order for 5 days" would read as a warning.
                    "<0": "Last order {days_since_last_order} ago;"
                    " usually orders every {median_days_between_orders}",
                    "other": "No order for {days_since_last_order};"
                    " usually orders every {median_days_between_orders}",
                },
            ),
            "cadence",
            "days",
            code=order,
        ),
        ValueTrend(
            "order_value_trend_90d",
            _with_cases(
                "Change in order value, last 90 days vs the 90 days before",
                {
                    "=0": "Same order value in the last 90 days as in the 90 days before",
                    "<0": "Ordered {value} less in the last 90 days than in the 90 days before",
                    "other": "Ordered {value} more in the last 90 days than in the 90 days before",
                },
            ),
            "cadence",
            "currency",
            code=order,
            days=90,
        ),
        ActiveShare(
            "share_of_months_with_order_12m",
            _with_cases(
                "Share of the last 12 months (30-day periods) with an order",
                {
                    "=0": "No orders in the last 12 months",
                    "=1": "Ordered in every one of the last 12 months",
                    "other": "Ordered in {value} of the last 12 months",
                },
            ),
            "cadence",
            "ratio",
            code=order,
        ),
        Ratio(
            "inbound_share_90d",
            _inbound_share_description("customer"),
            "engagement",
            "ratio",
            numerator=Count(None, 90, INBOUND),
            denominator=Count(None, 90, OUTBOUND),
            add_numerator=True,
        ),
        RecentVsUsual(
            "support_tickets_90d_vs_usual",
            _support_trend_description(),
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
    if Task(task) is Task.LEADS:
        cases = {
            "missing": "Expected deal value not known",
            "other": "Expected deal value of {value}",
        }
        description = _with_cases("Expected deal value", cases)
    else:
        cases = {"missing": "Annual value not known", "other": "Worth {value} a year"}
        description = _with_cases("Annual value", cases)
    return FeatureSpec(column, "numeric", description, "attribute", "currency")


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


def _attribute_spec(name: str, numeric: bool, tables: TaskTables, table: str) -> FeatureSpec:
    """An export attribute as a feature: labelled with where it comes from, read in plain words.

    The label keeps the provenance ("Industry (account attribute)", for model cards); the
    sentence a rep reads does not: "Account industry: retail", "Source: Referral".
    """
    words = name.replace("_", " ")
    source = "account" if table == "accounts" else tables.entity_table[:-1]
    said = f"Account {words}" if table == "accounts" else words.capitalize()
    cases = {"missing": f"{said} not known", "other": f"{said}: {{value}}"}
    return FeatureSpec(
        name,
        "numeric" if numeric else "categorical",
        _with_cases(f"{words.capitalize()} ({source} attribute)", cases),
        "attribute",
        "number" if numeric else "category",
    )


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
            out.append(_attribute_spec(attribute.name, attribute.numeric, tables, table))
    return out


def feature_specs(task: Task | str, export: Export | None = None) -> list[FeatureSpec]:
    """The ordered feature columns of a task; with an export, its usable attributes too."""
    task = Task(task)
    specs = [_spec(d) for d in engineered_definitions(task)] + [value_spec(task)]
    if export is not None:
        specs += attribute_specs(task, export)
    return specs
