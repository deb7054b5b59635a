"""The feature registry: every feature's name, dtype, description, family and unit, per task.

Training, the API and the reasons all read ``feature_specs``. Engineered features expand the
model's event vocabulary (``features.definitions.vocabulary``, learnt from the training export):
every kind of event gets the per-type families (window counts, recency, trends, and value sums where
its events carry money), events of any other type get the same families as "other", and "any event"
features count everything. For churn the purchase kind (the configured ``activity_types``) also
gets the cadence features. The column set therefore depends on the vocabulary, never on the
names of our own simulator. With an export, static attributes of the entity table and of
``accounts`` (joined by ``account_id``) are added: numeric ones as numbers, text ones as
categories, except ID-like columns (name ending in ``_id``, or more than half of the non-missing
values distinct). Outcome columns (``converted_at``, ``churned_at``, ``closed_lost_at``) are
contract columns, never attributes, and no feature reads them.

A description is a ``Wording`` (``features.definitions.wording``): a short label ("Days since
the last order": what model cards and feature lists show) and the sentences reps read, one per
case of the value (``missing``, ``=0``, ``=1``, ``<0``, ``other``). ``{value}`` is the feature's
value formatted by its unit (the magnitude in a ``<0`` case) and ``{<feature>}`` another
feature's value in the same row; "=0" and "=1" give the zero and singular forms ("No replies to
emails", "Replied to 1 email"), ``missing`` the sentence for a value that cannot exist yet
("Never ordered").

Adding a window count for every kind is one entry in ``WINDOWS_DAYS``; a family for one kind is
one line in ``_kind_definitions``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task, TaskTables
from features.definitions.aggregates import (
    ActivePeriods,
    Count,
    FirstTime,
    LastChannel,
    LastTime,
    MedianGap,
    TouchesBeforeFirstReply,
    ValueSum,
)
from features.definitions.btyd import BTYD_PREFIX, BtydFeatures
from features.definitions.event_table import DIRECTION_CODES, Code
from features.definitions.expressions import (
    CREATED,
    CUTOFF,
    Agg,
    DaysBetween,
    Definition,
    Scale,
    Text,
    above_usual,
    change,
    days_since,
    minus,
    share,
)
from features.definitions.vocabulary import OTHER_CODE, OTHER_WORDING, EventWording, Vocabulary
from features.definitions.wording import Wording

logger = logging.getLogger(__name__)

Dtype = Literal["numeric", "categorical"]
Unit = Literal["days", "count", "currency", "ratio", "category", "number"]

WINDOWS_DAYS: tuple[int, ...] = (7, 30, 90, 180, 365)
TREND_DAYS: tuple[int, ...] = (30, 90)

PURCHASES_WORDING = EventWording("purchase", "purchases")
ANY_WORDING = EventWording(
    "interaction",
    "interactions",
    since=(
        "No interactions yet",
        "Last interaction less than a day ago",
        "No interaction for {value}",
    ),
)

ID_DISTINCT_SHARE = 0.5
RESERVED_COLUMNS: frozenset[str] = frozenset({"entity_id", "cutoff", "label", "value", "owner_id"})

INBOUND, OUTBOUND = DIRECTION_CODES["inbound"], DIRECTION_CODES["outbound"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input column; ``description`` is how it reads (label and cases)."""

    name: str
    dtype: Dtype
    description: Wording
    family: str
    unit: Unit


def _with_cases(label: str, cases: Mapping[str, str]) -> Wording:
    """``label`` with one sentence per case of the value (see the module docstring)."""
    return Wording.of(label, cases)


def _count_description(label: str, wording: EventWording, days: int) -> Wording:
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


def _value_description(wording: EventWording, days: int) -> Wording:
    window = f"in the last {days} days"
    return _with_cases(
        f"Value of {wording.nouns} {window}",
        {
            "=0": f"No {wording.noun} value {window}",
            "other": f"{wording.nouns.capitalize()} worth {{value}} {window}",
        },
    )


def _recency_description(wording: EventWording, *, any_event: bool) -> Wording:
    never, under_a_day, other = wording.since or (
        f"No {wording.nouns} yet",
        f"Last {wording.noun} less than a day ago",
        f"Last {wording.noun} {{value}} ago",
    )
    last = "any interaction" if any_event else f"the last {wording.noun}"
    return _with_cases(f"Days since {last}", {"missing": never, "=0": under_a_day, "other": other})


def _trend_description(label: str, wording: EventWording, days: int) -> Wording:
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


def _family(
    slug: str, code: Code | None, wording: EventWording, *, valued: bool
) -> list[Definition]:
    """Window counts, value sums (``valued``), recency and count trends of one kind of event."""
    plural = wording.nouns.capitalize()
    out: list[Definition] = [
        Definition(
            f"{slug}_count_{days}d",
            _count_description(plural, wording, days),
            "activity",
            "count",
            Agg(Count(code, days)),
        )
        for days in WINDOWS_DAYS
    ]
    if valued:
        out += [
            Definition(
                f"{slug}_value_{days}d",
                _value_description(wording, days),
                "activity",
                "currency",
                Agg(ValueSum(code, days)),
            )
            for days in WINDOWS_DAYS
        ]
    out.append(
        Definition(
            f"days_since_last_{slug}",
            _recency_description(wording, any_event=code is None),
            "recency",
            "days",
            days_since(LastTime(code)),
        )
    )
    out += [
        Definition(
            f"{slug}_trend_{days}d",
            _trend_description(plural, wording, days),
            "trend",
            "number",
            change(Count(code, days), Count(code, 2 * days)),
        )
        for days in TREND_DAYS
    ]
    return out


def _activity_definitions(vocabulary: Vocabulary) -> list[Definition]:
    """The families for any event, for each kind of the vocabulary, and for other types."""
    out = _family("event", None, ANY_WORDING, valued=False)
    for code, kind in enumerate(vocabulary.kinds, start=1):
        out += _family(kind.slug, code, kind.wording, valued=kind.valued)
    if vocabulary.purchase_span > 1:  # several purchase types: their pool has a family too
        pooled = vocabulary.kinds[: vocabulary.purchase_span]
        valued = any(k.valued for k in pooled)
        out += _family("purchase", vocabulary.purchase_code, PURCHASES_WORDING, valued=valued)
    return out + _family("other", OTHER_CODE, OTHER_WORDING, valued=False)


def _inbound_share_description(who: str) -> Wording:
    return _with_cases(
        f"Share of interactions in the last 90 days that the {who} started",
        {
            "missing": "No inbound or outbound interactions in the last 90 days",
            "=0": "Every interaction in the last 90 days was started by us",
            "=1": f"The {who} started every interaction in the last 90 days",
            "other": f"The {who} started {{value}} of the interactions in the last 90 days",
        },
    )


def _inbound_share(who: str) -> Definition:
    return Definition(
        "inbound_share_90d",
        _inbound_share_description(who),
        "engagement",
        "ratio",
        share(Count(None, 90, INBOUND), Count(None, 90, OUTBOUND)),
    )


def _recent_vs_usual_description(slug: str, wording: EventWording) -> Wording:
    # The count beside it, "(3 in all)", reads right for 0, 1 and many events.
    count = f"{{{slug}_count_90d}} in all"
    tail = f"than usual in the last 90 days ({count})"
    return _with_cases(
        f"{wording.nouns.capitalize()} in the last 90 days above the usual number per 90 days",
        {
            "=0": f"Usual number of {wording.nouns} in the last 90 days ({count})",
            "=1": f"1 more {wording.noun} {tail}",
            "=-1": f"1 fewer {wording.noun} {tail}",
            "<0": f"{{value}} fewer {wording.nouns} {tail}",
            "other": f"{{value}} more {wording.nouns} {tail}",
        },
    )


def _lead_definitions() -> list[Definition]:
    return [
        Definition(
            "lead_age_days",
            _with_cases(
                "Days since the lead was created",
                {"=0": "Lead created less than a day ago", "other": "Lead is {value} old"},
            ),
            "tenure",
            "days",
            DaysBetween(CREATED, CUTOFF),
        ),
        _inbound_share("lead"),
        Definition(
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
            DaysBetween(CREATED, Agg(FirstTime(OUTBOUND))),
        ),
        # A reply is any inbound event: every export marks direction, few name replies alike.
        Definition(
            "touches_before_first_reply",
            _with_cases(
                "Outbound touches before the lead first got in touch (so far, if not yet)",
                {
                    "=0": "No outbound touches before the lead first got in touch (or none yet)",
                    "=1": "1 outbound touch before the lead first got in touch"
                    " (or so far, if not yet)",
                    "other": "{value} outbound touches before the lead first got in touch"
                    " (or so far, if not yet)",
                },
            ),
            "responsiveness",
            "count",
            Agg(TouchesBeforeFirstReply(INBOUND, OUTBOUND)),
        ),
        Definition(
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
            Text(LastChannel()),
        ),
    ]


def _purchase_definitions(wording: EventWording, code: Code, *, valued: bool) -> list[Definition]:
    """Cadence of the purchase types (``code``: one code or a range): usual gap, overdue, value
    trend, active months, and the buy-till-you-die inputs (purchases ever, days since the first
    one)."""
    noun, nouns = wording.noun, wording.nouns
    out: list[Definition] = [
        Definition(
            "median_days_between_purchases",
            _with_cases(
                f"Usual days between {nouns} over the last year",
                {
                    "missing": f"No repeat {nouns} in the last year, so no usual gap",
                    "=0": f"Usually more than one {noun} a day",
                    "=1": f"Usually one {noun} every day",
                    "other": f"Usually one {noun} every {{value}}",
                },
            ),
            "cadence",
            "days",
            Agg(MedianGap(code)),
        ),
        Definition(
            "days_overdue_vs_purchase_cadence",
            _with_cases(
                f"Days past the customer's usual gap between {nouns}",
                {
                    "missing": f"No repeat {nouns} in the last year, so no usual gap to compare"
                    " with",
                    # Not yet due: "No order for 5 days" would read as a warning.
                    "<0": f"Last {noun} {{days_since_last_purchase}} ago;"
                    f" usually one {noun} every {{median_days_between_purchases}}",
                    "other": f"No {noun} for {{days_since_last_purchase}};"
                    f" usually one {noun} every {{median_days_between_purchases}}",
                },
            ),
            "cadence",
            "days",
            minus(days_since(LastTime(code)), Agg(MedianGap(code))),
        ),
        Definition(
            "share_of_months_with_purchase_12m",
            _with_cases(
                "Share of the last 12 months (30-day periods) with a purchase",
                {
                    "=0": f"No {nouns} in the last 12 months",
                    "=1": f"At least one {noun} in every one of the last 12 months",
                    "other": f"At least one {noun} in {{value}} of the last 12 months",
                },
            ),
            "cadence",
            "ratio",
            Scale(Agg(ActivePeriods(code, 30, 12)), divide=12),
        ),
        Definition(
            "purchase_count_all",
            _with_cases(
                f"{nouns.capitalize()} ever",
                {"=0": f"No {nouns} yet", "=1": f"1 {noun} so far", "other": f"{{value}} {nouns}"},
            ),
            "cadence",
            "count",
            Agg(Count(code)),
        ),
        Definition(
            "days_since_first_purchase",
            _with_cases(
                f"Days since the first {noun}",
                {
                    "missing": f"No {nouns} yet",
                    "=0": f"First {noun} less than a day ago",
                    "other": f"First {noun} {{value}} ago",
                },
            ),
            "cadence",
            "days",
            days_since(FirstTime(None, code)),
        ),
    ]
    if valued:
        out.append(
            Definition(
                "purchase_value_trend_90d",
                _with_cases(
                    f"Change in the value of {nouns}, last 90 days vs the 90 days before",
                    {
                        "=0": f"Same value of {nouns} in the last 90 days as in the 90 days before",
                        "<0": f"{nouns.capitalize()} worth {{value}} less in the last 90 days"
                        " than in the 90 days before",
                        "other": f"{nouns.capitalize()} worth {{value}} more in the last 90 days"
                        " than in the 90 days before",
                    },
                ),
                "cadence",
                "currency",
                change(ValueSum(code, 90), ValueSum(code, 180)),
            )
        )
    return out


def btyd_specs(vocabulary: Vocabulary, btyd: BtydFeatures) -> list[FeatureSpec]:
    """The derived BG/NBD features of a churn model (``features.definitions.btyd``), worded with its
    purchase kind; computed after the engineered ones by
    ``features.definitions.btyd.add_btyd_features``, from parameters the model carries. Raises
    ``ValueError`` without a purchase kind."""
    if vocabulary.task is not Task.CHURN or not vocabulary.purchase:
        raise ValueError("BTYD features need a churn vocabulary with a purchase kind")
    wording = vocabulary.kinds[0].wording
    noun, nouns = wording.noun, wording.nouns
    p_alive, expected, quiet = btyd.names
    window = f"in the next {btyd.horizon_days} days"
    judged = f"judging by past {nouns}"
    none_yet = f"No {nouns} yet, so no buying pattern"
    return [
        FeatureSpec(
            p_alive,
            "numeric",
            _with_cases(
                f"Chance the customer is still buying, from the pattern of past {nouns}",
                {
                    "missing": none_yet,
                    "=0": f"Has almost surely stopped buying, {judged}",
                    "=1": f"Almost surely still buying, {judged}",
                    "other": f"{{value}} chance the customer is still buying, {judged}",
                },
            ),
            "cadence",
            "ratio",
        ),
        FeatureSpec(
            expected,
            "numeric",
            _with_cases(
                f"{nouns.capitalize()} expected {window}, from the pattern of past {nouns}",
                {
                    "missing": none_yet,
                    "=0": f"No {nouns} expected {window}, {judged}",
                    "=1": f"About 1 {noun} expected {window}, {judged}",
                    "other": f"About {{value}} {nouns} expected {window}, {judged}",
                },
            ),
            "cadence",
            "number",
        ),
        FeatureSpec(
            quiet,
            "numeric",
            _with_cases(
                f"Chance of no {noun} {window}, from the pattern of past {nouns}",
                {
                    "missing": none_yet,
                    "=0": f"Almost surely another {noun} {window}, {judged}",
                    "=1": f"Almost surely no {noun} {window}, {judged}",
                    "other": f"{{value}} chance of no {noun} {window}, {judged}",
                },
            ),
            "cadence",
            "ratio",
        ),
    ]


def _churn_definitions(vocabulary: Vocabulary) -> list[Definition]:
    out: list[Definition] = [
        Definition(
            "customer_tenure_days",
            _with_cases(
                "Days as a customer",
                {"=0": "Customer for less than a day", "other": "Customer for {value}"},
            ),
            "tenure",
            "days",
            DaysBetween(CREATED, CUTOFF),
        ),
        _inbound_share("customer"),
    ]
    if vocabulary.purchase_span == 1:
        purchase = vocabulary.kinds[0]
        out += _purchase_definitions(purchase.wording, 1, valued=purchase.valued)
    elif vocabulary.purchase_span > 1:
        valued = any(k.valued for k in vocabulary.kinds[: vocabulary.purchase_span])
        out += _purchase_definitions(PURCHASES_WORDING, vocabulary.purchase_code, valued=valued)
    for code, kind in enumerate(vocabulary.kinds, start=1):
        if vocabulary.purchase_span == 1 and code == 1:
            continue
        out.append(
            Definition(
                f"{kind.slug}_90d_vs_usual",
                _recent_vs_usual_description(kind.slug, kind.wording),
                "trend",
                "number",
                above_usual(Count(code, 90), 90, Count(code, 365), 365),
            )
        )
    return out


def engineered_definitions(task: Task | str, vocabulary: Vocabulary) -> list[Definition]:
    """Every event-derived feature of a task over ``vocabulary``, in registry order.

    Names are unique (``VocabularyError`` from the vocabulary keeps stems apart). Raises
    ``ValueError`` when the vocabulary belongs to another task.
    """
    task = Task(task)
    if vocabulary.task is not task:
        raise ValueError(f"vocabulary of task {vocabulary.task} used for task {task}")
    specific = _lead_definitions() if task is Task.LEADS else _churn_definitions(vocabulary)
    return [*_activity_definitions(vocabulary), *specific]


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
    # The user's own spelling after the first letter: str.capitalize made "Umsatz Mio" and
    # "MRR" read "Umsatz mio" and "Mrr".
    capitalised = words[:1].upper() + words[1:]
    source = "account" if table == "accounts" else tables.entity_table[:-1]
    said = f"Account {words}" if table == "accounts" else capitalised
    cases = {"missing": f"{said} not known", "other": f"{said}: {{value}}"}
    return FeatureSpec(
        name,
        "numeric" if numeric else "categorical",
        _with_cases(f"{capitalised} ({source} attribute)", cases),
        "attribute",
        "number" if numeric else "category",
    )


def attribute_specs(task: Task, export: Export, vocabulary: Vocabulary) -> list[FeatureSpec]:
    """Static attributes of the task's entity table and of ``accounts``, usable as features.

    Entity-table attributes come first; an account attribute whose name is already taken is
    skipped (the API's ``record`` carries attributes by plain column name).
    """
    return select_attributes(task, export, vocabulary)[0]


def _reserved_reason(name: str) -> str:
    """Why an attribute named like a training-set column (``RESERVED_COLUMNS``) is left out."""
    names = ", ".join(sorted(RESERVED_COLUMNS))
    return f"{name!r} is a reserved column name ({names}); rename the column to use it as a feature"


def select_attributes(
    task: Task, export: Export, vocabulary: Vocabulary
) -> tuple[list[FeatureSpec], list[tuple[str, str]]]:
    """The usable attributes (``attribute_specs``) and every other one as ("table.column",
    why it is not used), in export order: what ``salesradar train`` lists."""
    tables = TASK_TABLES[Task(task)]
    engineered = engineered_definitions(task, vocabulary)
    taken = {s.name for s in map(_spec, engineered)} | RESERVED_COLUMNS
    taken.add(tables.value_column)
    out: list[FeatureSpec] = []
    unused: list[tuple[str, str]] = []
    for table in (tables.entity_table, "accounts"):
        for attribute in export.attributes.get(table, ()):
            where = f"{table}.{attribute.name}"
            if attribute.name in RESERVED_COLUMNS:
                unused.append((where, _reserved_reason(attribute.name)))
            elif attribute.name.startswith(BTYD_PREFIX):
                unused.append(
                    (
                        where,
                        f"names starting with {BTYD_PREFIX!r} are reserved for the "
                        "BG/NBD features; rename the column to use it as a feature",
                    )
                )
            elif attribute.name in taken:
                unused.append((where, "its name is already a feature or an earlier attribute"))
            elif not attribute.numeric and _is_id_like(
                export, tables.entity_table, table, attribute.name
            ):
                unused.append((where, "ID-like: named *_id, or most values distinct"))
            elif attribute.numeric and attribute.name.lower().endswith("_id"):
                unused.append((where, "ID-like: a number named *_id"))
            else:
                taken.add(attribute.name)
                out.append(_attribute_spec(attribute.name, attribute.numeric, tables, table))
    return out, unused


def feature_specs(
    task: Task | str, vocabulary: Vocabulary, export: Export | None = None
) -> list[FeatureSpec]:
    """The ordered feature columns of a task over ``vocabulary`` (engineered, then the value
    column); with an export, its usable attributes too."""
    task = Task(task)
    specs = [_spec(d) for d in engineered_definitions(task, vocabulary)] + [value_spec(task)]
    if export is not None:
        specs += attribute_specs(task, export, vocabulary)
    return specs
